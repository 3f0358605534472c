"""The faults, one scenario each: a deployment under steady students, the fault injected
``rounds`` times (each once the students' turns are flowing again), then the students
finish and their histories are checked. Each returns its report: faults injected, turns
acknowledged, the check's counts (all zero but ``acked`` when nothing went wrong), the
turns the server refused while it could not store them, and the time from a student's
socket lost to its next welcome."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import asyncpg
import redis.asyncio as redis

from campaign.deployment import Deployment, deployed
from campaign.processes import PostgresCluster

__all__ = ["SCENARIOS", "Skipped", "run"]


class Skipped(Exception):
    """The scenario cannot run on this machine; the message says why."""


Scenario = Callable[[Path, int, int, PostgresCluster | None], Awaitable[dict[str, Any]]]
Fault = Callable[[int], Awaitable[None]]  # injects the fault of round N
# Makes a deployment's fault; what it opens (a connection) goes on the stack, to close.
MakeFault = Callable[[Deployment, contextlib.AsyncExitStack], Awaitable[Fault]]


async def _campaign(
    folder: Path,
    engine: str,
    rounds: int,
    students: int,
    make_fault: MakeFault,
    *,
    processes: int = 1,
    postgres: PostgresCluster | None = None,
    sqlite_folder: Path | None = None,
) -> dict[str, Any]:
    """The deployment, its students, the fault ``rounds`` times, and the report."""
    async with deployed(
        folder, engine, processes=processes, postgres=postgres, sqlite_folder=sqlite_folder
    ) as deployment:
        await deployment.enrol(students)
        async with contextlib.AsyncExitStack() as stack:
            fault = await make_fault(deployment, stack)
            return await deployment.campaign(rounds, fault)


def _engine(postgres: PostgresCluster | None) -> str:
    return "sqlite" if postgres is None else "postgresql"


async def sigkill(
    folder: Path, rounds: int, students: int, postgres: PostgresCluster | None
) -> dict[str, Any]:
    """SIGKILL of the only process mid-reply, restarted at once."""

    async def make(deployment: Deployment, _: contextlib.AsyncExitStack) -> Fault:
        async def fault(_: int) -> None:
            await deployment.servers[0].kill()
            await deployment.servers[0].start()

        return fault

    return await _campaign(folder, _engine(postgres), rounds, students, make, postgres=postgres)


async def sigkill_one_of_two(
    folder: Path, rounds: int, students: int, postgres: PostgresCluster | None
) -> dict[str, Any]:
    """SIGKILL of one of two processes mid-reply, each in turn, restarted at once: its
    students come back through the other, which takes its conversations over once their
    leases expire."""

    async def make(deployment: Deployment, _: contextlib.AsyncExitStack) -> Fault:
        async def fault(round_number: int) -> None:
            server = deployment.servers[round_number % 2]
            await server.kill()
            await server.start()

        return fault

    return await _campaign(
        folder, "postgresql", rounds, students, make, processes=2, postgres=postgres
    )


async def sigterm(
    folder: Path, rounds: int, students: int, postgres: PostgresCluster | None
) -> dict[str, Any]:
    """SIGTERM mid-reply: the graceful stop (grace 2 s), then a start."""

    async def make(deployment: Deployment, _: contextlib.AsyncExitStack) -> Fault:
        async def fault(_: int) -> None:
            await deployment.servers[0].stop()
            await deployment.servers[0].start()

        return fault

    return await _campaign(folder, _engine(postgres), rounds, students, make, postgres=postgres)


async def postgres_restart(
    folder: Path, rounds: int, students: int, postgres: PostgresCluster | None
) -> dict[str, Any]:
    """PostgreSQL's fast shutdown and start under two processes (every connection cut,
    transactions in flight rolled back)."""
    assert postgres is not None

    async def make(_: Deployment, __: contextlib.AsyncExitStack) -> Fault:
        async def fault(_: int) -> None:
            await postgres.restart()

        return fault

    return await _campaign(
        folder, "postgresql", rounds, students, make, processes=2, postgres=postgres
    )


async def postgres_cut(
    folder: Path, rounds: int, students: int, postgres: PostgresCluster | None
) -> dict[str, Any]:
    """Every connection of the server cut by ``pg_terminate_backend`` mid-reply."""
    assert postgres is not None

    async def make(deployment: Deployment, stack: contextlib.AsyncExitStack) -> Fault:
        database = deployment.database_url.rsplit("/", 1)[1]
        admin = await asyncpg.connect(postgres.url())
        stack.push_async_callback(admin.close)

        async def fault(_: int) -> None:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                database,
            )

        return fault

    return await _campaign(folder, "postgresql", rounds, students, make, postgres=postgres)


async def redis_restart(
    folder: Path, rounds: int, students: int, postgres: PostgresCluster | None
) -> dict[str, Any]:
    """Redis restarted (everything it held gone) under two processes."""

    async def make(deployment: Deployment, _: contextlib.AsyncExitStack) -> Fault:
        server = deployment.redis
        assert server is not None

        async def fault(_: int) -> None:
            await server.restart()

        return fault

    return await _campaign(
        folder, "postgresql", rounds, students, make, processes=2, postgres=postgres
    )


async def redis_pause(
    folder: Path, rounds: int, students: int, postgres: PostgresCluster | None
) -> dict[str, Any]:
    """Redis stalls under two processes: ``CLIENT PAUSE`` of 2 s and ``DEBUG SLEEP`` of
    1 s, in turn."""

    async def make(deployment: Deployment, stack: contextlib.AsyncExitStack) -> Fault:
        assert deployment.redis is not None
        admin = redis.Redis.from_url(deployment.redis.url)
        stack.push_async_callback(admin.aclose)

        async def fault(round_number: int) -> None:
            if round_number % 2:
                # redis-py has no typed DEBUG SLEEP; the server allows it locally.
                await cast(Any, admin).execute_command("DEBUG", "SLEEP", "1")
            else:
                await admin.client_pause(2000, all=True)

        return fault

    return await _campaign(
        folder, "postgresql", rounds, students, make, processes=2, postgres=postgres
    )


async def disk_full(
    folder: Path, rounds: int, students: int, postgres: PostgresCluster | None
) -> dict[str, Any]:
    """SQLite on a small file system filled to the last byte mid-reply, then freed once
    some turn has been refused: a turn that cannot be stored is refused, never acked."""
    mount = Path(tempfile.mkdtemp(prefix="tutorchat-full-"))
    failed = await _command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount))
    if failed:
        shutil.rmtree(mount, ignore_errors=True)
        raise Skipped(f"cannot mount a small file system: {failed}")

    async def make(deployment: Deployment, _: contextlib.AsyncExitStack) -> Fault:
        filler = mount / "filler"

        async def fault(_: int) -> None:
            before = deployment.refusals()
            _fill(filler)
            try:
                await deployment.until(lambda: deployment.refusals() > before)
            finally:
                filler.unlink()

        return fault

    try:
        return await _campaign(folder, "sqlite", rounds, students, make, sqlite_folder=mount)
    finally:
        await _command("umount", "-l", str(mount))
        shutil.rmtree(mount, ignore_errors=True)


async def _command(*command: str) -> str | None:
    """Run ``command``; None if it succeeded, else what it printed."""
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    return output.decode(errors="replace").strip() or "failed" if process.returncode else None


def _fill(filler: Path) -> None:
    """Take every free byte of the file system ``filler`` is on (unbuffered: a buffer
    left to flush would fail the close)."""
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for block in (b"\0" * (1 << 20), b"\0" * 4096, b"\0"):
            try:
                while True:
                    os.write(descriptor, block)
            except OSError:
                pass
    finally:
        os.close(descriptor)


async def restart_storm(
    folder: Path, rounds: int, students: int, postgres: PostgresCluster | None
) -> dict[str, Any]:
    """Every student's socket lost at once as the server is killed, and all of them
    reconnecting while it starts again: ``sigkill`` with as many students as given
    (``--storm-students``, 1,000 in the full campaign)."""
    return await sigkill(folder, rounds, students, postgres)


SCENARIOS: dict[str, tuple[str, Scenario]] = {
    "sigkill-sqlite": ("sqlite", sigkill),
    "sigkill-postgresql": ("postgresql", sigkill),
    "sigkill-one-of-two": ("postgresql", sigkill_one_of_two),
    "sigterm-sqlite": ("sqlite", sigterm),
    "postgres-restart": ("postgresql", postgres_restart),
    "postgres-cut": ("postgresql", postgres_cut),
    "redis-restart": ("postgresql", redis_restart),
    "redis-pause": ("postgresql", redis_pause),
    "disk-full": ("sqlite", disk_full),
    "restart-storm": ("sqlite", restart_storm),
}


async def run(
    name: str, folder: Path, rounds: int, students: int, postgres: PostgresCluster | None
) -> dict[str, Any]:
    """One scenario's report (``skipped`` with the reason where it cannot run)."""
    engine, scenario = SCENARIOS[name]
    try:
        report = await scenario(folder, rounds, students, postgres if engine != "sqlite" else None)
    except Skipped as skipped:
        return {"skipped": str(skipped)}
    return {"students": students, **report}
