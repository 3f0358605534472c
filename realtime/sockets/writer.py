"""A socket's writer: it sends the connection's outbox, then the close.

It runs in a task only while there is something to send (see :class:`OnDemand`), so an
idle socket holds no task of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from realtime.on_demand import OnDemand
from realtime.sockets.connection import Connection

__all__ = ["WRITER_LINGER_SECONDS", "Writer", "close_socket"]

# A socket in a conversation that is talking keeps its writer task between frames.
WRITER_LINGER_SECONDS = 2.0


class Writer:
    """Sends the connection's outbox, then the close, from a task that runs only while
    there is something to send. Once the close is sent it stops the socket's reader,
    which may be waiting for a client that never answers."""

    __slots__ = (
        "_close_timeout",
        "_conn",
        "_finished",
        "_reader",
        "_sender",
        "_websocket",
        "closed",
        "kick",
    )

    def __init__(self, websocket: WebSocket, conn: Connection, *, close_timeout: float) -> None:
        self._websocket = websocket
        self._close_timeout = close_timeout
        self._conn = conn
        self._reader: asyncio.Task[Any] | None = asyncio.current_task()
        self._sender = OnDemand(self._step, linger=WRITER_LINGER_SECONDS, name=f"writer-{conn.id}")
        self.kick = self._sender.kick
        self.closed = False
        self._finished: asyncio.Future[None] | None = None

    async def _step(self, _final: bool) -> bool:
        if self.closed:
            return False
        try:
            text = self._conn.next_text()
            if text is not None:
                await self._websocket.send_text(text)
                return True
            if self._conn.close_code is None:
                return False
            await close_socket(self._websocket, self._conn.close_code, "")
        except WebSocketDisconnect:
            pass  # the client has gone: nothing more can be sent, the close included
        self.closed = True
        if self._reader is not None:
            self._reader.cancel()
        if self._finished is not None:
            self._finished.set_result(None)
        return False

    async def finish(self) -> None:
        """The reader is done: send what is left and the close, for a bounded time."""
        self._reader = None
        if not self.closed:
            # Made only now: a future held by every socket would cost memory for nothing.
            self._finished = asyncio.get_running_loop().create_future()
            self._conn.close(1000)  # a no-op if a code is set already (the first one wins)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._close_timeout):
                    await self._finished
        self._sender.cancel()  # it is lingering, or stuck on a client that reads nothing


async def close_socket(websocket: WebSocket, code: int, reason: str) -> None:
    """Close the socket with ``code``, unless the client closed it already."""
    try:
        await websocket.close(code, reason)
    except RuntimeError:
        pass  # already closed by the client
