"""Checkpoints of a SQLite write-ahead log, taken off the write path.

SQLite's automatic checkpoint runs inside the commit that passes the threshold: that
commit, and every turn queued behind it, waits while the WAL is copied back and synced
(about 30 ms every second or so at 500 turns/s, which was most of the p99 ack). Here a
thread of its own, on a connection of its own, runs a ``PASSIVE`` checkpoint every
interval: it copies what it can without waiting for readers or writers, and the writer
goes on appending meanwhile. Once a checkpoint has copied everything, the next write
starts the WAL over, so it stays small and the automatic checkpoint (kept as a safety
net) is not reached.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator

__all__ = ["CHECKPOINT_SECONDS", "WalCheckpointer"]

logger = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 0.25


class WalCheckpointer:
    """Checkpoints the WAL of one SQLite file every ``interval`` seconds while running.

    Args:
        path: the database file.
        busy_timeout_ms: how long the checkpoint's connection waits for a lock.
        interval: seconds between checkpoints.
    """

    def __init__(
        self, path: str, *, busy_timeout_ms: int, interval: float = CHECKPOINT_SECONDS
    ) -> None:
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._interval = interval
        self._connection: sqlite3.Connection | None = None
        self.checkpointed = asyncio.Event()  # set after each background checkpoint

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Checkpoint in the background until the block ends."""
        loop = asyncio.get_running_loop()
        with concurrent.futures.ThreadPoolExecutor(1, "sqlite-checkpoint") as thread:
            task = asyncio.create_task(self._run(loop, thread), name="wal-checkpoint")
            try:
                yield
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                await loop.run_in_executor(thread, self._close)

    async def _run(
        self, loop: asyncio.AbstractEventLoop, thread: concurrent.futures.Executor
    ) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await loop.run_in_executor(thread, self.checkpoint)
            except sqlite3.Error as error:
                logger.warning("WAL checkpoint failed: %s", error)
            else:
                self.checkpointed.set()

    def checkpoint(self) -> tuple[int, int, int]:
        """Run one passive checkpoint (blocking).

        Returns:
            SQLite's answer: busy (1 if it could not start), frames in the WAL, frames
            copied back.
        """
        if self._connection is None:
            self._connection = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False
            )
            self._connection.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        busy, frames, copied = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy), int(frames), int(copied)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
