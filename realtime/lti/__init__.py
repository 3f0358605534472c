"""LTI 1.3: the tool side of a launch from a course platform (an LMS)."""
