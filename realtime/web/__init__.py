"""The HTTP side: the JSON API, and the widget's files and the demo page."""
