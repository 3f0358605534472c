"""Scale-out benchmark: what predicts scaling on a bigger machine, measured here side by
side in one run. Two processes cannot run faster than one on two shared cores; what
they cost per turn can be measured.

Usage: ``python bench/scale_bench.py [--students 500] [--duration 15] [--rounds 1]
[--json FILE]``

At the same load (``steady``, think 2 s), one after another and alternating over the
rounds: one process on SQLite, one on PostgreSQL, and two on PostgreSQL with Redis (the
students spread over them as a round-robin balancer would). PostgreSQL is a cluster of
the benchmark's own with ``pg_stat_statements``; Redis a server of its own. For each:
the servers' CPU per turn (utime and stime of every process over the measured window),
the turn rate and latency, and over the whole run the PostgreSQL statements (round
trips) and Redis commands per stored turn (``tutorchat_turns_total``), by kind. Prints
JSON, and writes it to ``--json`` if given.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import tempfile
from typing import Any

import asyncpg
import httpx
import redis.asyncio as redis
from campaign.processes import PostgresCluster, RedisServer, ServerProcess
from load_bench import SECRET, loadtest

DEPLOYMENTS = ("sqlite-1", "postgresql-1", "postgresql-2")


async def _turns_stored(urls: list[str]) -> float:
    total = 0.0
    async with httpx.AsyncClient(timeout=30) as http:
        for url in urls:
            text = (await http.get(f"{url}/metrics")).text
            found = re.search(r"^tutorchat_turns_total ([0-9.e+]+)$", text, re.MULTILINE)
            total += float(found.group(1)) if found else 0.0
    return total


async def _statements(db: asyncpg.Connection) -> dict[str, int]:
    """The statements run on ``db``'s database since the reset, by text (this
    benchmark's own left out)."""
    rows = await db.fetch(
        "SELECT query, calls FROM pg_stat_statements"
        " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND query NOT LIKE '%pg_stat_statements%'"
    )
    return {row["query"]: row["calls"] for row in rows}


async def _commands(client: redis.Redis) -> dict[str, int]:
    stats = await client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def _per_turn(counts: dict[str, int], turns: float, top: int) -> dict[str, float]:
    ordered = sorted(counts.items(), key=lambda item: -item[1])[:top]
    return {" ".join(name.split())[:90]: round(n / turns, 2) for name, n in ordered if n}


async def _run(
    name: str, students: int, options: list[str], postgres: PostgresCluster, number: int
) -> dict[str, Any]:
    engine, processes = name.split("-")
    database = f"scale_{engine}_{processes}_{number}"
    redis_server = RedisServer() if int(processes) > 1 else None
    env = {"TUTORCHAT_SECRET": SECRET, "TUTORCHAT_RATE_LIMIT_TURNS": "1000000"}
    admin = await asyncpg.connect(postgres.url())
    if engine == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='tutorchat-scale-')}/bench.db"
    else:
        await admin.execute(f'CREATE DATABASE "{database}"')
        env["DATABASE_URL"] = postgres.url(database)
    servers: list[ServerProcess] = []
    try:
        if redis_server is not None:
            await redis_server.start()
            env["REDIS_URL"] = redis_server.url
        for _ in range(int(processes)):  # one after the other: the first migrates
            servers.append(ServerProcess(env))
            await servers[-1].start()
        urls = [server.base_url for server in servers]
        return await _measure(urls, engine, students, options, postgres.url(database), redis_server)
    finally:
        for server in servers:
            await server.kill()
        if redis_server is not None:
            await redis_server.stop()
        await admin.close()


async def _measure(
    urls: list[str],
    engine: str,
    students: int,
    options: list[str],
    database_url: str,
    redis_server: RedisServer | None,
) -> dict[str, Any]:
    """One ``steady`` run against ``urls``, and what it cost per turn."""
    client = None if redis_server is None else redis.Redis.from_url(redis_server.url)
    db = await asyncpg.connect(database_url) if engine == "postgresql" else None
    try:
        if db is not None:
            await db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            await db.execute("SELECT pg_stat_statements_reset()")
        commands_before = {} if client is None else await _commands(client)
        turns_before = await _turns_stored(urls)
        report = await asyncio.to_thread(
            loadtest, ",".join(urls), "steady", "--students", str(students), *options
        )
        turns = await _turns_stored(urls) - turns_before
        row: dict[str, Any] = {
            "turns_stored": int(turns),
            "cpu_ms_per_turn": report["server_cpu_ms_per_turn"],
            "turns_per_second": report["turns_per_second"],
            "ack_p99_ms": report["ack_ms"]["p99"],
            "first_delta_p99_ms": report["first_delta_ms"]["p99"],
            "errors": report["errors"],
        }
        if db is not None:
            statements = await _statements(db)
            row["postgres_statements_per_turn"] = round(sum(statements.values()) / turns, 2)
            row["postgres_statements"] = _per_turn(statements, turns, 8)
        if client is not None:
            after = await _commands(client)
            used = {k: n - commands_before.get(k, 0) for k, n in after.items()}
            used.pop("info", None)  # this benchmark's own
            row["redis_commands_per_turn"] = round(sum(used.values()) / turns, 2)
            row["redis_commands"] = _per_turn(used, turns, 8)
        return row
    finally:
        if db is not None:
            await db.close()
        if client is not None:
            await client.aclose()


async def _main(students: int, duration: float, rounds: int) -> dict[str, Any]:
    options = ["--think", "2", "--duration", str(duration), "--ramp", "5"]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in DEPLOYMENTS}
    postgres = PostgresCluster(settings=("shared_preload_libraries=pg_stat_statements",))
    await postgres.create()
    try:
        for number in range(rounds):
            for name in DEPLOYMENTS:
                row = await _run(name, students, options, postgres, number)
                runs[name].append(row)
                print(json.dumps({name: row}), flush=True)
    finally:
        await postgres.remove()
    median = {
        name: statistics.median(row["cpu_ms_per_turn"] for row in rows)
        for name, rows in runs.items()
    }
    return {
        "students": students,
        "runs": runs,
        "cpu_ms_per_turn_median": median,
        "cluster_over_single_postgresql": round(median["postgresql-2"] / median["postgresql-1"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", type=argparse.FileType("w"))
    args = parser.parse_args()
    results = asyncio.run(_main(args.students, args.duration, args.rounds))
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
