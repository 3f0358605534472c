"""LTI benchmark: what a launch and a score sent to the gradebook cost the server.

A real platform (``lti1p3platform``, tests/lti/platform.py) runs in this process; the
server is ``tutorchat serve`` on SQLite in a process of its own, so that its CPU time
(utime + stime from /proc) is its own. In one run:

- baseline: ``--launches`` learners each open a conversation through the API with a
  token minted here (``POST /api/assessments/{id}/conversations``), ``--concurrency`` at
  a time;
- launches: as many other learners launch from the platform, the whole OIDC flow (the
  platform's link, the tool's login, the platform's authorization, the tool's launch,
  which verifies the id_token and opens the conversation);
- grades: those learners answer and complete while the platform's score service is down,
  then it comes back, and the outbox drains: the time until every score is in the
  platform's gradebook, and the server's CPU per score sent.

Usage: ``python bench/lti_bench.py [--launches 200] [--concurrency 10] [--json FILE]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' peer platform

from load_bench import SECRET, start_server

from realtime.auth import mint
from tests.lti.flow import launch
from tests.lti.platform import INSTRUCTOR, LaunchSpec, PeerPlatform
from tests.servers import serve

ADMIN_KEY = "bench-admin-" + "a" * 40
ASSESSMENT = {
    "items": [{"id": "i1", "text": "The capital of France is ___.", "answers": ["Paris"]}]
}


def cpu(pid: int) -> float:
    """The process's CPU seconds so far (user and system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def timed(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> list[float]:
    """Run ``one(i)`` for each i, ``concurrency`` at a time; each one's seconds."""
    gate = asyncio.Semaphore(concurrency)
    times: list[float] = []

    async def run(number: int) -> None:
        async with gate:
            started = time.perf_counter()
            await one(number)
            times.append(time.perf_counter() - started)

    await asyncio.gather(*(run(number) for number in range(count)))
    return times


def summary(times: list[float], cpu_seconds: float, count: int) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1),
        "cpu_ms_each": round(1000 * cpu_seconds / count, 2),
    }


async def complete(base: str, conversation: str, token: str) -> None:
    """Answer the one item; the attempt completes."""
    async with websockets.connect(
        base.replace("http", "ws") + f"/ws/conversations/{conversation}"
    ) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token, "last_seq": 0}))
        await ws.send(json.dumps({"type": "send", "client_msg_id": "a1", "content": "Paris"}))
        async for raw in ws:
            if json.loads(raw)["type"] == "completed":
                return


async def bench(launches: int, concurrency: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="lti-bench-"))
    port = free_port()
    server = start_server(
        folder,
        port,
        TUTORCHAT_ADMIN_KEY=ADMIN_KEY,
        TUTORCHAT_MAX_CONVERSATIONS_PER_USER="1000000",
    )
    base = f"http://127.0.0.1:{port}"
    platform = PeerPlatform(base)
    try:
        async with (
            serve(platform.app()) as url,
            httpx.AsyncClient(base_url=base, timeout=30) as client,
        ):
            platform.url = url
            admin = {"authorization": f"Bearer {ADMIN_KEY}"}
            registered = await client.post(
                "/api/admin/lti/platforms", json=platform.registration_body, headers=admin
            )
            registered.raise_for_status()
            teacher = LaunchSpec(user_id="teacher", roles=[INSTRUCTOR], grades=True)
            page = await launch(base, platform, teacher)
            data = json.loads(page.text.split('id="tutorchat-launch">')[1].split("</script>")[0])
            saved = await client.put(
                "/api/assessments",
                headers={"authorization": f"Bearer {data['token']}"},
                json={
                    "platform_id": data["platformId"],
                    "resource_link_id": "link-1",
                    "assessment_type": "fill_blank",
                    "grading_schema": "mastery",
                    "ai_config": ASSESSMENT,
                },
            )
            saved.raise_for_status()
            assessment = saved.json()["id"]

            async def open_plain(number: int) -> None:
                token = mint(
                    SECRET,
                    user_id=f"plain-{number}",
                    course_id="course-1",
                    platform_id=data["platformId"],
                )
                opened = await client.post(
                    f"/api/assessments/{assessment}/conversations",
                    headers={"authorization": f"Bearer {token}"},
                )
                opened.raise_for_status()

            before = cpu(server.pid)
            plain = timed(launches, concurrency, open_plain)
            plain_times = await plain
            plain_cpu = cpu(server.pid) - before

            opened: dict[int, dict[str, Any]] = {}

            async def launch_one(number: int) -> None:
                answer = await launch(
                    base, platform, LaunchSpec(user_id=f"learner-{number}", grades=True)
                )
                answer.raise_for_status()
                opened[number] = json.loads(
                    answer.text.split('id="tutorchat-launch">')[1].split("</script>")[0]
                )

            before = cpu(server.pid)
            launch_times = await timed(launches, concurrency, launch_one)
            launch_cpu = cpu(server.pid) - before

            platform.gradebook.failing = "down"
            await timed(
                launches,
                concurrency,
                lambda n: complete(base, opened[n]["conversationId"], opened[n]["token"]),
            )
            before_drain = cpu(server.pid)
            platform.gradebook.failing = None
            started = time.perf_counter()
            await platform.gradebook.taken.until(launches)
            drained = time.perf_counter() - started
            drain_cpu = cpu(server.pid) - before_drain
    finally:
        server.terminate()
        server.wait()
    plain_summary = summary(plain_times, plain_cpu, launches)
    launch_summary = summary(launch_times, launch_cpu, launches)
    return {
        "launches": launches,
        "concurrency": concurrency,
        "baseline_open": plain_summary,
        "lti_launch": launch_summary,
        "launch_cpu_vs_open": round(
            launch_summary["cpu_ms_each"] / plain_summary["cpu_ms_each"], 2
        ),
        "grades": {
            "scores": launches,
            "drain_seconds": round(drained, 2),
            "scores_per_second": round(launches / drained, 1),
            "cpu_ms_per_score": round(1000 * drain_cpu / launches, 2),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    report = asyncio.run(bench(args.launches, args.concurrency))
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
