"""Running the application on uvicorn, with the protocol's graceful shutdown.

uvicorn, asked to stop, closes WebSockets (1012) before the application hears of it.
The protocol wants replies in flight to finish first (up to the grace period), the rest
to end ``interrupted``, and only then the sockets closed with 1012: :class:`Server`
drains the hub before uvicorn's own shutdown.
"""

from __future__ import annotations

import socket

import uvicorn
from starlette.applications import Starlette

from realtime.hub import Hub
from realtime.settings import Settings
from realtime.transport_limits import bounded_http_protocol, bounded_websocket_protocol

__all__ = ["Server", "uvicorn_config"]


def uvicorn_config(app: Starlette, settings: Settings, **options: object) -> uvicorn.Config:
    """uvicorn settings for the application: sansio WebSockets, uvloop, httptools, each
    protocol with the bounds of :mod:`realtime.transport_limits`."""
    return uvicorn.Config(
        app,
        ws=bounded_websocket_protocol(settings.write_timeout),
        loop="uvloop",
        http=bounded_http_protocol(
            request_timeout=settings.request_timeout,
            max_header_bytes=settings.max_header_bytes,
            write_timeout=settings.write_timeout,
        ),
        ws_max_size=settings.max_frame_bytes,
        ws_per_message_deflate=settings.per_message_deflate,
        ws_ping_interval=None,  # the protocol has its own heartbeat
        timeout_graceful_shutdown=int(settings.shutdown_grace) + 5,
        lifespan="on",
        **options,  # type: ignore[arg-type]
    )


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
