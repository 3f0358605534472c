"""The on-demand task: there while work comes, gone after the linger, nothing dropped."""

from __future__ import annotations

import asyncio

from realtime.on_demand import OnDemand


class _Queue:
    def __init__(self) -> None:
        self.items: list[int] = []
        self.done: list[int] = []
        self._changed = asyncio.Event()

    async def until_done(self, items: list[int]) -> None:
        while self.done != items:
            self._changed.clear()
            await self._changed.wait()

    async def step(self, final: bool) -> bool:
        if not self.items:
            return False
        self.done.append(self.items.pop(0))
        self._changed.set()
        await asyncio.sleep(0)  # a real step awaits (a send, a commit)
        return True


async def test_a_kick_starts_one_task_that_ends_after_the_linger() -> None:
    queue = _Queue()
    worker = OnDemand(queue.step, linger=0.01, name="t")
    assert not worker.running
    queue.items += [1, 2]
    worker.kick()
    task = worker.task
    assert task is not None
    queue.items.append(3)
    worker.kick()  # the same task takes it
    assert worker.task is task
    async with asyncio.timeout(5):
        await task
    assert queue.done == [1, 2, 3]
    assert not worker.running


async def test_work_kicked_while_it_lingers_wakes_the_same_task() -> None:
    queue = _Queue()
    worker = OnDemand(queue.step, linger=60, name="t")
    queue.items.append(1)
    worker.kick()
    task = worker.task
    assert task is not None
    async with asyncio.timeout(5):
        await queue.until_done([1])
        queue.items.append(2)
        worker.kick()
        await queue.until_done([1, 2])
    assert worker.task is task
    worker.cancel()
    async with asyncio.timeout(5):
        await asyncio.gather(task, return_exceptions=True)
    assert not worker.running


async def test_work_that_comes_as_the_linger_expires_is_not_dropped() -> None:
    queue = _Queue()
    worker = OnDemand(queue.step, linger=0, name="t")
    worker.kick()
    first = worker.task
    assert first is not None
    # Let the linger's timer fire, then add work before the task has run again.
    loop = asyncio.get_running_loop()
    fired = loop.create_future()
    loop.call_later(0.001, fired.set_result, None)
    async with asyncio.timeout(5):
        await fired
        queue.items.append(7)
        worker.kick()
        await first
        if worker.task is not None:
            await worker.task
    assert queue.done == [7]


async def test_the_last_look_may_await_and_work_kicked_meanwhile_is_taken() -> None:
    queue = _Queue()
    released: list[bool] = []

    async def step(final: bool) -> bool:
        if await queue.step(final):
            return True
        if final:
            released.append(True)
            await asyncio.sleep(0)  # letting go of a lease awaits Redis
            if len(released) == 1:
                queue.items.append(9)
                worker.kick()
        return False

    worker = OnDemand(step, linger=0, name="t")
    worker.kick()
    async with asyncio.timeout(5):
        while worker.task is not None:
            await worker.task
    assert queue.done == [9]
    assert len(released) == 2
