"""The fault campaign: real servers under steady students, a fault injected again and
again, and every student's history checked against the database afterwards.

Usage: ``python bench/faults.py [--rounds 100] [--students 30] [--storm-students 1000]
[--scenario NAME ...] [--json FILE]``

Scenarios (``--scenario`` to pick; all by default): ``sigkill-sqlite`` and
``sigkill-postgresql`` (the only process killed mid-reply and restarted),
``sigkill-one-of-two`` (each of two processes in turn), ``sigterm-sqlite``
(a graceful stop mid-reply, a fifth as many rounds), ``postgres-restart`` (PostgreSQL's
fast shutdown and start under two processes), ``postgres-cut`` (the server's connections
ended by ``pg_terminate_backend``), ``redis-restart`` and ``redis-pause`` (two processes),
``disk-full`` (SQLite's file system filled mid-reply, then freed), ``restart-storm``
(``--storm-students`` sockets lost and back at once, a tenth as many rounds).

PostgreSQL runs as a cluster of the campaign's own (initdb in a temporary folder), so it
may be restarted; Redis likewise. Per scenario it prints the faults injected, the turns
acknowledged, what the check found (lost, duplicated, unanswered, left streaming, gaps,
mismatched, progress wrong, and what the clients saw on the wire: all zero when nothing
went wrong), the turns refused while the server could not store them, and the time from
a socket lost to the next welcome (p50/p99). It exits 1 if any check found something.
With ``TUTORCHAT_FAULTS_LOGS=DIR`` the servers' logs are written to DIR.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from campaign.processes import PostgresCluster
from campaign.scenarios import SCENARIOS, run

# The rounds of a scenario, as a share of --rounds: a graceful stop waits out its
# grace; a storm moves a thousand sockets each time.
SHARE = {"sigterm-sqlite": 0.2, "restart-storm": 0.1}
NEEDS_POSTGRES = {name for name, (engine, _) in SCENARIOS.items() if engine == "postgresql"}


async def campaign(
    names: list[str], rounds: int, students: int, storm_students: int
) -> dict[str, dict[str, Any]]:
    """Each scenario's report, in order."""
    reports: dict[str, dict[str, Any]] = {}
    postgres = PostgresCluster() if NEEDS_POSTGRES & set(names) else None
    with tempfile.TemporaryDirectory(prefix="tutorchat-faults-") as tmp:
        try:
            if postgres is not None:
                await postgres.create()
            for name in names:
                folder = Path(tmp) / name
                folder.mkdir()
                count = storm_students if name == "restart-storm" else students
                share = max(1, round(rounds * SHARE.get(name, 1.0)))
                reports[name] = await run(name, folder, share, count, postgres)
                print(json.dumps({name: reports[name]}), flush=True)
        finally:
            if postgres is not None:
                await postgres.remove()
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--storm-students", type=int, default=1000)
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    names = args.scenario or list(SCENARIOS)
    reports = asyncio.run(campaign(names, args.rounds, args.students, args.storm_students))
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2) + "\n")
    found = [name for name, r in reports.items() if not r.get("clean", True)]
    if found:
        print(f"faults found something in: {', '.join(found)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
