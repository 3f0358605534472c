"""A deployment to break: one or two ``tutorchat serve`` processes on SQLite, or on a
PostgreSQL cluster of the campaign's own (with a Redis of its own for two), and the
students who use it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

from campaign.history import Findings, check
from campaign.learner import Learner
from campaign.processes import TIMEOUT, PostgresCluster, RedisServer, ServerProcess
from realtime.loadtest.classroom import setup
from realtime.loadtest.config import LoadConfig
from realtime.loadtest.student import Stats

__all__ = ["Deployment", "deployed"]

SECRET = "faults-secret-" + "f" * 64
THINK = (1.0, 2.0)  # seconds between a student's turns
SETTLE_SECONDS = 180.0  # the longest the students may take to settle: to start, to finish
TURNS_BETWEEN = 5  # turns acknowledged after a fault before the next: the students are back


class Deployment:
    """The servers, what they stand on, and the students using them."""

    def __init__(self, database_url: str, *, processes: int, redis: RedisServer | None) -> None:
        self.database_url = database_url
        self.redis = redis
        env = {
            "DATABASE_URL": database_url,
            "TUTORCHAT_SECRET": SECRET,
            "TUTORCHAT_RATE_LIMIT_TURNS": "1000000",
            # Replies that take a while to stream, so that a fault finds them mid-way.
            "TUTORCHAT_TUTOR_PACE": "40",
            "TUTORCHAT_SHUTDOWN_GRACE": "2",
            "TUTORCHAT_LEASE_SECONDS": "2",
            "REDIS_URL": "" if redis is None else redis.url,
        }
        self.servers = [ServerProcess(env) for _ in range(processes)]
        self.learners: list[Learner] = []
        self.stats = Stats()
        self.pulse = asyncio.Event()  # set on every acknowledgement and reply start
        self._until = asyncio.Event()
        self._running: list[asyncio.Task[None]] = []
        self._recoveries: list[float] = []  # seconds, one per fault
        self._faulted: list[tuple[float, float]] = []  # each fault, from injected to over

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(server.base_url for server in self.servers)

    async def enrol(self, count: int) -> None:
        """``count`` students, each with a conversation, answering from now on."""
        config = LoadConfig(urls=self.urls, secret=SECRET, duration=3600, think=THINK[0])
        for student in await setup(config, count):
            learner = Learner(student, THINK, self.pulse)
            n = len(self.urls)
            learner.urls = [self.urls[(student.number + k) % n] for k in range(n)]
            self.learners.append(learner)
        self._running = [
            asyncio.create_task(learner.run(self._until, self.stats)) for learner in self.learners
        ]

    async def until(self, done: Callable[[], bool], within: float = TIMEOUT * 4) -> None:
        """Wait (at most ``within`` seconds) until ``done()``, looking again at each
        pulse."""
        async with asyncio.timeout(within):
            while not done():
                self.pulse.clear()
                await self.pulse.wait()

    async def campaign(
        self, rounds: int, fault: Callable[[int], Awaitable[None]]
    ) -> dict[str, Any]:
        """Inject ``fault`` ``rounds`` times, each mid-reply once the students are all
        answering; then let them finish, and the report."""
        await self.until(lambda: all(learner.acked for learner in self.learners), SETTLE_SECONDS)
        for round_number in range(rounds):
            await self.until(lambda: any(learner.streaming() for learner in self.learners))
            injected = time.perf_counter()
            await fault(round_number)
            self._faulted.append((injected, time.perf_counter()))
            await self._recovered()
            self._recoveries.append(time.perf_counter() - injected)
        return self.report(rounds, await self.finish())

    async def _recovered(self) -> None:
        """Every student back on a socket, and turns acknowledged again: as many as
        there are students, at most ``TURNS_BETWEEN``."""
        await self.until(
            lambda: all(learner.connected() for learner in self.learners), SETTLE_SECONDS
        )
        target = self.acked() + min(TURNS_BETWEEN, len(self.learners))
        await self.until(lambda: self.acked() >= target)

    def acked(self) -> int:
        return sum(len(learner.acked) for learner in self.learners)

    async def finish(self) -> Findings:
        """Let every student end its assessment, then check the histories."""
        self._until.set()
        _, stuck = await asyncio.wait(self._running, timeout=SETTLE_SECONDS)
        for task in stuck:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        findings = await check(self.database_url, self.learners)
        for learner in self.learners:
            if not learner.completed:
                findings.add("stuck", 1, learner.describe())
        return findings

    def refused(self) -> dict[str, int]:
        """The turns the server refused, by error code."""
        codes: dict[str, int] = {}
        for learner in self.learners:
            for code, n in learner.refused.items():
                codes[code] = codes.get(code, 0) + n
        return codes

    def refusals(self) -> int:
        return sum(self.refused().values())

    def report(self, faults: int, findings: Findings) -> dict[str, Any]:
        return {
            "faults": faults,
            "clean": findings.clean,
            **findings.counts(),
            "refused": self.refused(),
            # Turns acknowledged while a fault was in progress (a graceful stop's grace):
            # the check finds each of them answered, or counts it unanswered.
            "acked_during_faults": sum(
                any(start <= at <= end for start, end in self._faulted)
                for learner in self.learners
                for at in learner.acked_at.values()
            ),
            # From the fault to every student back and turns acknowledged again.
            "recover_ms": _percentiles(self._recoveries),
            # From a student's socket lost to the welcome of its next.
            "reconnect_ms": _percentiles(
                [
                    r.welcomed - r.dropped
                    for learner in self.learners
                    for r in learner.recoveries
                    if r.welcomed is not None
                ]
            ),
            "examples": findings.examples,
            "server_problems": self.server_problems(10),
        }

    def server_problems(self, most: int) -> list[str]:
        """The servers' last ``most`` warnings and errors, with where each was raised
        (the lines of this project in their tracebacks): what explains a finding."""
        lines = [
            line
            for server in self.servers
            for line in server.output
            if "level=warning" in line or "level=error" in line or "/realtime/" in line
        ]
        return lines[-most:]


def _percentiles(seconds: list[float]) -> dict[str, float | int | None]:
    """The median and 99th percentile of ``seconds``, in ms, and how many there were."""
    if not seconds:
        return {"p50": None, "p99": None, "count": 0}
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    median = statistics.median(ordered)
    return {"p50": round(1000 * median, 1), "p99": round(1000 * p99, 1), "count": len(ordered)}


@contextlib.asynccontextmanager
async def deployed(
    folder: Path,
    engine: str,
    *,
    processes: int = 1,
    postgres: PostgresCluster | None = None,
    sqlite_folder: Path | None = None,
) -> AsyncIterator[Deployment]:
    """A running deployment: SQLite in ``sqlite_folder`` (default ``folder``), or a new
    database on ``postgres``; two or more processes get a Redis of their own."""
    database = f"faults_{secrets.token_hex(4)}"
    if engine == "sqlite":
        url = f"sqlite:///{sqlite_folder or folder}/{database}.db"
    else:
        assert postgres is not None
        admin = await asyncpg.connect(postgres.url().replace("postgresql://", "postgres://"))
        try:
            await admin.execute(f'CREATE DATABASE "{database}"')
        finally:
            await admin.close()
        url = postgres.url(database)
    redis = RedisServer() if processes > 1 else None
    deployment = Deployment(url, processes=processes, redis=redis)
    try:
        if redis is not None:
            await redis.start()
        for server in deployment.servers:
            await server.start()
        yield deployment
    except BaseException:
        print("--- the servers' warnings and errors", *deployment.server_problems(200), sep="\n")
        raise
    finally:
        for server in deployment.servers:
            await server.kill()
        if redis is not None:
            await redis.stop()
        if logs := os.environ.get("TUTORCHAT_FAULTS_LOGS"):
            for server in deployment.servers:
                path = Path(logs) / f"{folder.name}-server-{server.port}.log"
                path.write_text("\n".join(server.output) + "\n")
