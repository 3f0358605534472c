"""What a callback was given, waited for without sleeping."""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

from tests.limits import TIMEOUT

__all__ = ["Inbox"]

T = TypeVar("T")


class Inbox(Generic[T]):
    """Collects what ``deliver`` is called with; ``until`` waits for a count of them."""

    def __init__(self) -> None:
        self.events: list[T] = []
        self._changed = asyncio.Event()

    def deliver(self, event: T) -> None:
        self.events.append(event)
        self._changed.set()

    async def until(self, count: int) -> list[T]:
        """Everything delivered, once there are ``count`` (within the test timeout)."""
        async with asyncio.timeout(TIMEOUT):
            while len(self.events) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.events
