"""Scale-out benchmark: ``steady`` against two server processes and against one, on the
same PostgreSQL and Redis, in the same run, on this machine.

Usage: ``python bench/scale_bench.py [--sweep 500,1000,1500,2000] [--duration 15]``

For each number of students in the sweep, and at each for one process and then two, a
fresh database and an empty Redis database, then the processes (each its own
``tutorchat serve``, ``REDIS_URL`` set in both cases so that one process pays for
Redis too), then ``tutorchat loadtest steady`` with the students spread over them as a
round-robin load balancer would. The highest turn rate within issue 5's latency limits
(p99 ack 25 ms, p99 first delta 50 ms, no errors) is found for each, and their ratio
reported. Prints JSON, and writes it to ``--json`` if given.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as redis
from load_bench import cpu_seconds, loadtest, start_server, within_limits

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "tutorchat_bench"
REDIS_URL = "redis://127.0.0.1:6379/15"
FIRST_PORT = 8921


async def _fresh_services() -> None:
    admin = await asyncpg.connect(f"{POSTGRES}/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(f"{POSTGRES}/{DATABASE}")
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    client = redis.Redis.from_url(REDIS_URL)
    await client.flushdb()
    await client.aclose()


def _run(folder: Path, processes: int, students: int, options: list[str]) -> dict[str, Any]:
    asyncio.run(_fresh_services())
    env = {"DATABASE_URL": f"{POSTGRES}/{DATABASE}", "REDIS_URL": REDIS_URL}
    ports = [FIRST_PORT + n for n in range(processes)]
    servers = []
    try:
        for port in ports:  # one after the other: the first migrates the database
            servers.append(start_server(folder, port, **env))
        urls = ",".join(f"http://127.0.0.1:{port}" for port in ports)
        report = loadtest(urls, "steady", "--students", str(students), *options)
        report["server_cpu_seconds"] = [cpu_seconds(s.pid) for s in servers]
        return report
    finally:
        for server in servers:
            server.terminate()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sweep",
        type=lambda text: [int(n) for n in text.split(",") if n],
        default=[500, 1000, 1500, 2000],
        help="student counts, comma-separated",
    )
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    options = ["--think", "2", "--duration", str(args.duration), "--ramp", "5"]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Interleaved, one and two processes at each load in turn: the machine's speed
        # drifts over minutes, and both sides of the ratio should see the same drift.
        for students in args.sweep:
            for processes in (1, 2):
                name = f"{processes}p_{students}"
                folder = Path(tmp) / name
                folder.mkdir()
                results[name] = _run(folder, processes, students, options)
                print(json.dumps({name: results[name]}), flush=True)
    best = {
        processes: max(
            (
                report["turns_per_second"]
                for name, report in results.items()
                if name.startswith(f"{processes}p_") and within_limits(report)
            ),
            default=None,
        )
        for processes in (1, 2)
    }
    results["summary"] = {
        "highest_turns_per_second_within_limits": {"1": best[1], "2": best[2]},
        "ratio": None if not best[1] or not best[2] else round(best[2] / best[1], 2),
    }
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
