"""The server: the HTTP API, the WebSocket endpoint and the conversation rooms."""
