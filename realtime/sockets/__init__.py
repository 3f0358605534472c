"""The WebSocket side: the endpoint, each socket's outbox and event filter, and the
``message`` frame of a stored message."""
