"""What every HTTP answer carries and every request is held to: security headers, and
the body size limit.

Both are plain ASGI middleware, so that they cost a WebSocket nothing (they pass
``websocket`` scopes through untouched) and an HTTP request one wrapper each.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DATA_HEADERS", "BodyLimit", "SecurityHeaders", "framed_page_policy"]

# A page: its scripts, styles and sockets only from this server, never framed. An API
# answer or a file: nothing at all (it is data, never a document to render).
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def framed_page_policy(ancestors: Iterable[str], form_action: str | None = None) -> str:
    """The page policy of a page an LMS frames (an LTI launch): framed only by
    ``ancestors`` (origins), never by anyone else; its forms post here, or also to
    ``form_action`` (an origin: the platform a deep linking answer goes back to)."""
    allowed = " ".join(sorted(set(ancestors))) or "'none'"
    policy = PAGE_POLICY.replace("frame-ancestors 'none'", f"frame-ancestors {allowed}")
    if form_action:
        policy = policy.replace("form-action 'self'", f"form-action 'self' {form_action}")
    return policy


DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"
# The headers of an answer that is not a page, for answers made outside the middleware
# (the server error handler's, a WebSocket's denial).
DATA_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": DATA_POLICY,
}


class SecurityHeaders:
    """Adds ``X-Content-Type-Options``, ``Referrer-Policy`` and a Content Security
    Policy to every HTTP response (a response with a policy of its own keeps it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                page = any(
                    name == b"content-type" and value.startswith(b"text/html")
                    for name, value in headers
                )
                # A page that set its own policy (a framed LTI page) keeps it.
                own = next((v for n, v in headers if n == b"content-security-policy"), None)
                headers = [(n, v) for n, v in headers if n != b"content-security-policy"]
                policy = PAGE_POLICY if page else DATA_POLICY
                headers += _headers(own.decode() if own is not None else policy)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _headers(policy: str) -> Iterable[tuple[bytes, bytes]]:
    fixed = {**DATA_HEADERS, "content-security-policy": policy}
    return [(name.encode(), value.encode()) for name, value in fixed.items()]


# How much of a refused body is read (and dropped) before the answer, in limits.
DRAIN_FACTOR = 16


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuses a request body over ``max_bytes`` with 413: at once when its
    ``Content-Length`` says so, else as soon as that many bytes have arrived (chunked).

    Args:
        max_bytes: the largest body accepted.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await self._refuse(receive, send)
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except _TooLarge:
            if not started:
                await self._refuse(receive, send)

    async def _refuse(self, receive: Receive, send: Send) -> None:
        # Read what the client is still sending (and drop it), up to a bound: a client
        # answered before its body is read sees its connection reset, not the 413.
        budget = DRAIN_FACTOR * self.max_bytes
        more = True
        while more and budget > 0:
            message = await receive()
            budget -= len(message.get("body", b""))
            more = message["type"] == "http.request" and message.get("more_body", False)
        body = orjson.dumps({"error": f"the body is over {self.max_bytes} bytes"})
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
