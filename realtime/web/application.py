"""The Starlette application, with the conversation socket ahead of its layers.

A WebSocket keeps every ASGI layer it passed through on its stack for its whole life: a
coroutine frame each for the error and exception middleware, this project's security
headers and body limit, CORS, the router and the route. None of them does anything for
a socket (the middleware pass ``websocket`` scopes through untouched; the router only
finds the route), yet together they cost a held socket about 3 KiB. So the socket's
route is matched first and its endpoint called directly; every other request, and a
WebSocket on any other path, goes through the whole stack as usual.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import Match, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

__all__ = ["Application"]


class Application(Starlette):
    """Starlette, serving the WebSocket route ``socket`` before its middleware.

    Args:
        socket: the route of the long-lived sockets (also among the router's routes, so
            that ``url_for`` and the route listing know it).
        options: as for :class:`Starlette`.
    """

    def __init__(self, *, socket: WebSocketRoute, **options: Any) -> None:
        options["routes"] = [socket, *options.get("routes", ())]
        super().__init__(**options)
        self._socket = socket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            match, child_scope = self._socket.matches(scope)
            if match is Match.FULL:
                scope["app"] = self
                scope.update(child_scope)
                await self._socket.endpoint(WebSocket(scope, receive, send))
                return
        await super().__call__(scope, receive, send)
