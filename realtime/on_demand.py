"""A task that exists only while it has work, and lingers a little after.

Every held socket has an outbox and every live conversation a job queue, and most of
them are empty most of the time. A task waiting on each costs about 1.5 KiB (its
coroutine frames and its wait); at 10,000 held sockets that is a sixth of the memory.
An :class:`OnDemand` starts its task when work arrives and lets it end once there has
been none for ``linger`` seconds, so a busy socket or conversation keeps one task
(no task per frame or per turn) and an idle one keeps none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

__all__ = ["OnDemand"]


class OnDemand:
    """Runs ``step`` in a task of its own while ``step`` finds work.

    Args:
        step: does one piece of work and returns True, or returns False when there is
            none. Its argument is True on the last look before the task ends (after the
            linger), when it may also let go of what it holds (a lease); work kicked
            while it awaits is not lost.
        linger: how long the task waits for more work before it ends.
        name: the task's name (in logs and task dumps).
    """

    __slots__ = ("_kicked", "_linger", "_name", "_step", "_task", "_waiter")

    def __init__(
        self, step: Callable[[bool], Awaitable[bool]], *, linger: float, name: str
    ) -> None:
        self._step = step
        self._linger = linger
        self._name = name
        self._task: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[bool] | None = None
        self._kicked = False

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The running task, if there is one."""
        return self._task

    @property
    def running(self) -> bool:
        """Whether a task runs (or lingers) now."""
        return self._task is not None

    def kick(self) -> None:
        """There is work: wake the task, or start one."""
        self._kicked = True
        if self._waiter is not None:
            if not self._waiter.done():
                self._waiter.set_result(True)
        elif self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    def cancel(self) -> None:
        """Stop the task, if one runs."""
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        lingered = False
        try:
            while True:
                self._kicked = False
                if await self._step(lingered):
                    lingered = False
                    continue
                if self._kicked:  # work came while the step awaited
                    lingered = False
                    continue
                if lingered:
                    return  # nothing awaits between the last look and the end
                self._waiter = waiter = loop.create_future()
                timer = loop.call_later(self._linger, _lingered, waiter)
                try:
                    lingered = not await waiter
                finally:
                    timer.cancel()
                    self._waiter = None
        finally:
            self._task = None


def _lingered(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)
