"""A socket's heartbeat, and the end of its token's authority.

The server pings every interval with a random nonce; the matching pong must come back
within the timeout, or the socket closes 4408. At the token's ``exp`` the socket closes
4401 (the client reconnects with a fresh token). One timer on the loop serves both, not
a task: every held socket has one, and it is the next of the two that is due.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable

from protocol.errors import CLOSE_SLOW, CLOSE_UNAUTHENTICATED
from protocol.messages import ServerPing
from realtime.settings import Settings
from realtime.sockets.connection import Connection

__all__ = ["Heartbeat"]


class Heartbeat:
    """Pings, waits for pongs, and closes the socket when its token expires.

    Args:
        expires_at: the token's ``exp``, in seconds since the epoch.
    """

    __slots__ = ("_conn", "_expires", "_loop", "_settings", "_timer", "_waiting")

    def __init__(self, conn: Connection, settings: Settings, *, expires_at: float) -> None:
        self._conn = conn
        self._settings = settings
        self._loop = asyncio.get_running_loop()
        # On the loop's clock, which timers use (the wall clock may step).
        self._expires = self._loop.time() + (expires_at - time.time())
        self._waiting: str | None = None
        self._timer = self._after(settings.heartbeat_interval, self._ping)

    def answered(self, nonce: object) -> None:
        """A pong came: the next ping is due an interval from now."""
        if self._waiting is not None and nonce == self._waiting:
            self._waiting = None
            self._timer.cancel()
            self._timer = self._after(self._settings.heartbeat_interval, self._ping)

    def stop(self) -> None:
        self._timer.cancel()

    def _after(self, delay: float, then: Callable[[], None]) -> asyncio.TimerHandle:
        """A timer for ``then`` in ``delay`` seconds, or for the token's end if sooner."""
        left = self._expires - self._loop.time()
        if left <= delay:
            return self._loop.call_later(max(0.0, left), self._conn.close, CLOSE_UNAUTHENTICATED)
        return self._loop.call_later(delay, then)

    def _ping(self) -> None:
        # Unpredictable (the protocol says so): a client that could foresee nonces could
        # answer pings without reading, and hold a socket whose outbox never drains.
        self._waiting = secrets.token_hex(8)
        self._conn.send(ServerPing(nonce=self._waiting))
        self._timer = self._after(self._settings.heartbeat_timeout, self._silent)

    def _silent(self) -> None:
        self._conn.close(CLOSE_SLOW)
