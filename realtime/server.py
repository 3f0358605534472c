"""Running the application on uvicorn, with the protocol's graceful shutdown.

uvicorn, asked to stop, closes WebSockets (1012) before the application hears of it.
The protocol wants replies in flight to finish first (up to the grace period), the rest
to end ``interrupted``, and only then the sockets closed with 1012: :class:`Server`
drains the hub before uvicorn's own shutdown.
"""

from __future__ import annotations

import asyncio
import socket

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from realtime.hub import Hub
from realtime.settings import Settings

__all__ = ["Server", "uvicorn_config", "with_request_deadline"]


def uvicorn_config(app: Starlette, settings: Settings, **options: object) -> uvicorn.Config:
    """uvicorn settings for the application: sansio WebSockets, uvloop, httptools."""
    return uvicorn.Config(
        app,
        ws="websockets-sansio",
        loop="uvloop",
        http=with_request_deadline(settings.request_timeout),
        ws_max_size=settings.max_frame_bytes,
        ws_per_message_deflate=settings.per_message_deflate,
        ws_ping_interval=None,  # the protocol has its own heartbeat
        timeout_graceful_shutdown=int(settings.shutdown_grace) + 5,
        lifespan="on",
        **options,  # type: ignore[arg-type]
    )


def with_request_deadline(seconds: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol, with a deadline for each request to arrive whole.

    uvicorn times out only idle keep-alive connections: a client that sends half a
    request's headers, or trickles its body, holds its socket (a file descriptor) for
    ever, and a thousand such use them all up. Here a request's headers and body must
    arrive within ``seconds`` of its first byte (or of the connection), else the
    connection is closed. A WebSocket upgrade leaves the deadline at its headers: the
    socket has the protocol's ``hello`` timeout from then on.
    """

    class DeadlineProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._deadline is None:
                self._arm()

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            if self.parser.should_upgrade() and self._should_upgrade():
                self._disarm()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._deadline = self.loop.call_later(seconds, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return DeadlineProtocol


class Server(uvicorn.Server):
    """uvicorn's server, draining the hub before it closes connections."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        app = self.config.loaded_app
        hub: Hub | None = getattr(getattr(_unwrap(app), "state", None), "hub", None)
        if hub is not None:
            await hub.drain()
        await super().shutdown(sockets)


def _unwrap(app: object) -> object:
    """The application under uvicorn's middleware wrappers."""
    while hasattr(app, "app"):
        app = app.app
    return app
