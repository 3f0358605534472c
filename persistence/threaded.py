"""A synchronous engine on a SQLite file, used from threads of its own.

A unit of work runs whole in one of the engine's threads: one hop between the event loop
and that thread, where aiosqlite makes one hop per cursor call (15 for a batch of turns,
4 for a one-row read), each waiting for the loop and the thread to hand the GIL over.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.engine import Engine

__all__ = ["ThreadedEngine"]

T = TypeVar("T")


class ThreadedEngine:
    """``engine``, with ``threads`` threads to run work on it.

    Args:
        engine: a synchronous engine whose pool holds at least ``threads`` connections.
        threads: how many units of work may run at once.
        name: the threads' name prefix.
    """

    def __init__(self, engine: Engine, *, threads: int, name: str) -> None:
        self.engine = engine
        self._threads = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix=name)

    async def run(self, work: Callable[[], T]) -> T:
        """The result of ``work()``, run in one of the threads."""
        return await asyncio.get_running_loop().run_in_executor(self._threads, work)

    async def dispose(self) -> None:
        """Close the pooled connections from the threads that use them, then the threads."""
        await self.run(self.engine.dispose)
        self._threads.shutdown()
