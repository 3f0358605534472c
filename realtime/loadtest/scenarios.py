"""The scenarios: steady (and slow), idle and storm, each returning its report."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import websockets

from realtime.loadtest.classroom import (
    close_all,
    connect_all,
    server_cpu,
    server_memory,
    setup,
    verify,
)
from realtime.loadtest.config import CONNECT_CONCURRENCY, LoadConfig
from realtime.loadtest.report import mib, percentiles
from realtime.loadtest.student import Stats, Student

__all__ = ["run_loadtest"]


async def run_loadtest(config: LoadConfig) -> dict[str, Any]:
    """Run the scenario and return the report."""
    scenarios: dict[str, Callable[[LoadConfig], Awaitable[dict[str, Any]]]] = {
        "steady": _steady,
        "slow": _steady,
        "idle": _idle,
        "storm": _storm,
    }
    if config.scenario not in scenarios:
        raise ValueError(f"unknown scenario {config.scenario!r}: {', '.join(scenarios)}")
    started = time.perf_counter()
    with _collector_paused():
        report = await scenarios[config.scenario](config)
    report = {"scenario": config.scenario, "students": config.students, **report}
    report["wall_seconds"] = round(time.perf_counter() - started, 2)
    return report


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Run without the cycle collector. Its pauses would stall every student at once and
    be measured as the server's latency: at 500 students a full collection of the
    generator's own objects took 140 ms. Reference counting still frees nearly all of
    them; what cycles remain are collected when the run ends."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


async def _steady(config: LoadConfig) -> dict[str, Any]:
    slow_count = int(config.students * config.slow_fraction) if config.scenario == "slow" else 0
    students = await setup(config, config.students + slow_count)
    stats = Stats()
    await connect_all(config, students, stats)
    readers, slow = students[: config.students], students[config.students :]
    memory_before = await server_memory(config)
    deadline = time.perf_counter() + config.ramp + config.duration
    measure_from = time.perf_counter() + config.ramp
    cpu_before = time.process_time()

    async def drive(student: Student) -> None:
        await asyncio.sleep(random.uniform(0, config.ramp))
        while time.perf_counter() < deadline:
            try:
                if config.think > 0:
                    # A think that would end past the deadline ends at it: the run's
                    # length, and so its turn rate, must not depend on the longest one.
                    pause = random.expovariate(1 / config.think)
                    await student.think(min(pause, deadline - time.perf_counter()), stats)
                    if time.perf_counter() >= deadline:
                        return
                await student.turn_once(random.random() < config.correct, stats)
            except (websockets.ConnectionClosed, TimeoutError) as error:
                stats.errors[type(error).__name__] += 1
                return

    stop_progress = asyncio.Event()
    progress = asyncio.create_task(_progress(stats, stop_progress)) if config.progress else None
    for s in slow:  # connected, then never read again: their outboxes fill
        await s.send({"type": "send", "client_msg_id": "slow", "content": "x"})
    turns_at_start = 0
    server_cpu_at_start: float | None = None

    async def mark_start() -> None:
        nonlocal turns_at_start, server_cpu_at_start
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        turns_at_start = stats.turns
        server_cpu_at_start = await server_cpu(config)
        stats.ack.clear()
        stats.first_delta.clear()
        stats.full_reply.clear()

    await asyncio.gather(mark_start(), *(drive(s) for s in readers))
    stop_progress.set()
    if progress is not None:
        await progress
    measured = time.perf_counter() - measure_from
    server_cpu_at_end = await server_cpu(config)
    memory_after = await server_memory(config)
    await close_all(students)
    turns = stats.turns - turns_at_start
    # The servers' CPU over the measured window only (not the setup), per turn: the
    # figure that holds across days when latency moves with the machine.
    cpu_ms_per_turn = None
    if server_cpu_at_start is not None and server_cpu_at_end is not None and turns:
        cpu_ms_per_turn = round(1000 * (server_cpu_at_end - server_cpu_at_start) / turns, 3)
    return {
        "turns": turns,
        "server_cpu_ms_per_turn": cpu_ms_per_turn,
        "turns_per_second": round((stats.turns - turns_at_start) / measured, 1),
        "frames_received_per_second": round(stats.frames / (measured + config.ramp), 1),
        "ack_ms": percentiles(stats.ack),
        "first_delta_ms": percentiles(stats.first_delta),
        "full_reply_ms": percentiles(stats.full_reply),
        "errors": dict(stats.errors),
        "slow_clients": len(slow),
        "server_rss_mib": mib(memory_after),
        "server_rss_before_mib": mib(memory_before),
        "client_cpu_seconds": round(time.process_time() - cpu_before, 2),
    }


async def _idle(config: LoadConfig) -> dict[str, Any]:
    memory_before = await server_memory(config)
    students = await setup(config, config.students)
    memory_conversations = await server_memory(config)
    stats = Stats()
    await connect_all(config, students, stats)
    memory_sockets = await server_memory(config)

    async def hold(student: Student) -> None:
        with contextlib.suppress(TimeoutError, websockets.ConnectionClosed):
            async with asyncio.timeout(config.duration):
                while True:
                    await student.recv(stats)

    await asyncio.gather(*(hold(s) for s in students))
    memory_after = await server_memory(config)
    await close_all(students)
    per_socket = None
    if memory_sockets is not None and memory_conversations is not None:
        per_socket = round((memory_sockets - memory_conversations) / config.students / 1024, 1)
    return {
        "sockets": len(students),
        "server_rss_before_mib": mib(memory_before),
        "server_rss_with_conversations_mib": mib(memory_conversations),
        "server_rss_with_sockets_mib": mib(memory_sockets),
        "server_rss_after_hold_mib": mib(memory_after),
        "kib_per_socket": per_socket,
        "errors": dict(stats.errors),
    }


async def _storm(config: LoadConfig) -> dict[str, Any]:
    students = await setup(config, config.students)
    stats = Stats()
    await connect_all(config, students, stats)
    for s in students:  # every student sends a turn; its reply is on its way
        await s.send({"type": "send", "client_msg_id": "storm", "content": "1"})
    for s in students:
        frame = await s.recv(stats)
        s.hold(frame)
    for s in students:  # the storm: every socket cut at once
        assert s.ws is not None
        s.ws.transport.abort()
    cut = time.perf_counter()
    resumed: list[float] = []

    async def resume(student: Student) -> None:
        # With several processes, each student comes back through the next one.
        student.url = config.urls[(student.number + 1) % len(config.urls)]
        try:
            await student.connect(stats)
            await student.until_idle(stats)
            while not _has_reply(student):
                student.hold(await student.recv(stats))
            resumed.append(time.perf_counter() - cut)
        except (websockets.ConnectionClosed, TimeoutError, OSError) as error:
            stats.errors[type(error).__name__] += 1

    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def gated(student: Student) -> None:
        async with gate:
            await resume(student)

    await asyncio.gather(*(gated(s) for s in students))
    mismatches = await verify(config, students)
    await close_all(students)
    return {
        "resumed": len(resumed),
        "all_resumed_seconds": round(max(resumed), 3) if resumed else None,
        "resume_ms": percentiles(resumed),
        "mismatched_conversations": mismatches,
        "errors": dict(stats.errors),
    }


def _has_reply(student: Student) -> bool:
    """The reply to the storm turn is held whole (the last message is a complete reply)."""
    if not student.messages:
        return False
    last = student.messages[max(student.messages)]
    return (
        max(student.messages) >= 3 and last["status"] != "streaming" and last["content"] is not None
    )


async def _progress(stats: Stats, stop: asyncio.Event) -> None:
    last = 0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await stop.wait()
        p99 = percentiles(stats.ack[-2000:])["p99"]
        errors = sum(stats.errors.values())
        rate = stats.turns - last
        sys.stderr.write(f"\rturns {stats.turns} (+{rate}/s) ack p99 {p99} ms errors {errors}   ")
        last = stats.turns
    sys.stderr.write("\n")
