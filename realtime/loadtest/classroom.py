"""The students of a run: their assessment and conversations, their sockets, and the
server's record of what they were sent."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence

import httpx

from realtime.auth import mint
from realtime.loadtest.config import CONNECT_CONCURRENCY, WAIT, LoadConfig
from realtime.loadtest.student import Stats, Student

__all__ = ["close_all", "connect_all", "server_cpu", "server_memory", "setup", "verify"]

MAX_ITEMS = 2000


async def setup(config: LoadConfig, count: int) -> list[Student]:
    """An assessment of many items, and a conversation for each student."""
    run_id = f"{int(time.time() * 1000):x}"
    teacher = mint(
        config.secret,
        user_id="load-teacher",
        course_id="load",
        platform_id="load",
        roles=["Instructor"],
    )
    items = [
        {"id": f"i{n}", "text": f"{n} + 1 = ___", "answers": [str(n + 1)]}
        for n in range(item_count(config))
    ]
    async with httpx.AsyncClient(
        base_url=config.url, timeout=WAIT, limits=httpx.Limits(max_connections=CONNECT_CONCURRENCY)
    ) as http:
        response = await http.put(
            "/api/assessments",
            headers={"authorization": f"Bearer {teacher}"},
            json={
                "platform_id": "load",
                "resource_link_id": f"load-{run_id}",
                "assessment_type": "fill_blank",
                "grading_schema": "mastery",
                "ai_config": {"items": items, "max_attempts": 1, "retry_rounds": 0},
            },
        )
        response.raise_for_status()
        assessment = response.json()["id"]
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def student(number: int) -> Student:
            token = mint(
                config.secret,
                user_id=f"load-{run_id}-{number}",
                course_id="load",
                platform_id="load",
            )
            url = config.urls[number % len(config.urls)]
            # Opening a conversation is idempotent (the student's active one comes back),
            # so a request lost with a pooled connection the server had closed is retried.
            for attempt in range(3):
                try:
                    async with gate:
                        created = await http.post(
                            f"{url}/api/assessments/{assessment}/conversations",
                            headers={"authorization": f"Bearer {token}"},
                        )
                    break
                except httpx.TransportError:
                    if attempt == 2:
                        raise
            created.raise_for_status()
            return Student(number, token, created.json()["id"], url)

        return list(await asyncio.gather(*(student(n) for n in range(count))))


def item_count(config: LoadConfig) -> int:
    """Enough items that no student finishes during the run: four times the turns one
    would make at the mean think time (at least 20 ms a turn), and 50 more. No more than
    that: every join reads the conversation's plan, one id per item."""
    turns = (config.ramp + config.duration) / max(config.think, 0.02)
    return min(MAX_ITEMS, 50 + int(4 * turns))


async def connect_all(config: LoadConfig, students: Sequence[Student], stats: Stats) -> None:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(student: Student) -> None:
        async with gate:
            await student.connect(stats)
            await student.until_idle(stats)

    await asyncio.gather(*(one(s) for s in students))


async def close_all(students: Sequence[Student]) -> None:
    """Close every student's socket."""
    for student in students:
        await student.close()


async def verify(config: LoadConfig, students: Sequence[Student]) -> int:
    """Conversations whose client-held messages differ from the server's history."""
    mismatched = 0
    async with httpx.AsyncClient(base_url=config.url, timeout=WAIT) as http:
        for s in students:
            response = await http.get(
                f"{s.url}/api/conversations/{s.conversation}/messages",
                params={"limit": 1000},
                headers={"authorization": f"Bearer {s.token}"},
            )
            history = {m["seq"]: m for m in response.json()["messages"]}
            held = s.messages
            if sorted(history) != sorted(held) or any(
                held[seq]["id"] != m["id"]
                or (held[seq]["content"] is not None and held[seq]["content"] != m["content"])
                or held[seq]["status"] != m["status"]
                for seq, m in history.items()
            ):
                mismatched += 1
    return mismatched


async def server_memory(config: LoadConfig) -> float | None:
    """The (first) server's resident memory in bytes, from its metrics."""
    return await _metric(config.url, "process_resident_memory_bytes")


async def server_cpu(config: LoadConfig) -> float | None:
    """The CPU seconds (user and system) the servers have used so far, all of them."""
    readings = [await _metric(url, "process_cpu_seconds_total") for url in config.urls]
    return None if None in readings else sum(r for r in readings if r is not None)


async def _metric(url: str, name: str) -> float | None:
    """One of a server's process metrics (Prometheus text format)."""
    async with httpx.AsyncClient(base_url=url, timeout=WAIT) as http:
        text = (await http.get("/metrics")).text
    found = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None
