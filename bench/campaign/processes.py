"""Real processes a test or the fault campaign may kill: ``tutorchat serve``, a Redis
server and a PostgreSQL cluster of its own.

Each is waited for by the line it prints when ready, never by sleeping, and every wait
is under :data:`TIMEOUT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

__all__ = [
    "TIMEOUT",
    "PostgresCluster",
    "Process",
    "RedisServer",
    "ServerProcess",
    "free_port",
    "started",
]

TIMEOUT = 30.0  # seconds: the longest a process may take to start or to stop
TUTORCHAT = str(Path(sys.executable).with_name("tutorchat"))
KEEP_NOTHING = ("--save", "", "--appendonly", "no")
DEBUG = ("--enable-debug-command", "local")  # DEBUG SLEEP, for the fault campaign


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Process:
    """A child process whose output is read as it comes, line by line."""

    def __init__(
        self,
        command: list[str],
        ready: str,
        env: Mapping[str, str] | None,
        *,
        user: str | None = None,
    ) -> None:
        self.command = command
        self._ready = ready
        self._env = None if env is None else dict(env)
        self._user = user  # run as this user (this process must be root)
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self.output: list[str] = []

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        ready = asyncio.Event()
        self._process = await asyncio.create_subprocess_exec(
            *self.command,
            env=self._env,
            user=self._user,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read(self._process, ready))
        async with asyncio.timeout(TIMEOUT):
            # Whichever comes first: ready, or the reader's exit (with its error).
            waiting = asyncio.ensure_future(ready.wait())
            await asyncio.wait({waiting, self._reader}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if not ready.is_set():
                await self._reader

    async def _read(self, process: asyncio.subprocess.Process, ready: asyncio.Event) -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            text = line.decode(errors="replace").rstrip()
            self.output.append(text)
            if self._ready in text:
                ready.set()
        if not ready.is_set():
            raise RuntimeError("exited before ready:\n" + "\n".join(self.output[-30:]))

    async def signal(self, number: int) -> None:
        """Send ``number`` and wait for the process to end."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.send_signal(number)
        async with asyncio.timeout(TIMEOUT):
            await process.wait()
            if self._reader is not None:
                await asyncio.gather(self._reader, return_exceptions=True)


class RedisServer(Process):
    """``redis-server`` on a free port, keeping nothing on disk (as the service does)."""

    def __init__(self, program: str = "redis-server") -> None:
        self.port = free_port()
        super().__init__(
            [program, "--port", str(self.port), "--bind", "127.0.0.1", *KEEP_NOTHING, *DEBUG],
            ready="Ready to accept connections",
            env=None,
        )

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def restart(self) -> None:
        """Stop it (everything it held is gone) and start it again on the same port."""
        await self.stop()
        await self.start()

    async def stop(self) -> None:
        await self.signal(signal.SIGTERM)


class ServerProcess(Process):
    """``tutorchat serve`` on a free port, with ``env`` added to this environment."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.port = free_port()
        super().__init__(
            [TUTORCHAT, "serve", "--port", str(self.port)],
            ready="Application startup complete",
            env=os.environ | dict(env),
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def kill(self) -> None:
        """SIGKILL: no shutdown, nothing flushed, no lease released."""
        await self.signal(signal.SIGKILL)

    async def stop(self) -> None:
        """SIGTERM: a graceful stop."""
        await self.signal(signal.SIGTERM)


class PostgresCluster(Process):
    """A PostgreSQL cluster of its own in a temporary folder, on a free port, so that it
    may be restarted without touching the machine's. PostgreSQL refuses to run as root:
    run by root, the cluster's files and processes are the ``postgres`` user's."""

    def __init__(self, *, settings: tuple[str, ...] = ()) -> None:
        """``settings``: more of the server's ``name=value`` settings."""
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="tutorchat-pg-"))
        self._user = "postgres" if os.geteuid() == 0 else None
        bin_dir = _postgres_bin()
        self._initdb = str(bin_dir / "initdb")
        data = self.folder / "data"
        super().__init__(
            [
                str(bin_dir / "postgres"),
                *("-D", str(data), "-p", str(self.port), "-k", str(self.folder)),
                *("-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"),
                *(option for setting in settings for option in ("-c", setting)),
            ],
            ready="database system is ready to accept connections",
            env=None,
            user=self._user,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    async def create(self) -> None:
        """Make the cluster's files (initdb), then start it."""
        if self._user is not None:
            shutil.chown(self.folder, self._user, self._user)
        command = [self._initdb, "-D", str(self.folder / "data")]
        command += ["-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]
        init = await asyncio.create_subprocess_exec(
            *command,
            user=self._user,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(TIMEOUT * 2):
            _, error = await init.communicate()
        if init.returncode:
            raise RuntimeError(f"initdb failed: {error.decode(errors='replace')}")
        await self.start()

    async def restart(self) -> None:
        """A fast shutdown (every connection cut, work in progress rolled back), then a
        start on the same files and port."""
        await self.signal(signal.SIGINT)
        await self.start()

    async def remove(self) -> None:
        await self.signal(signal.SIGINT)
        shutil.rmtree(self.folder, ignore_errors=True)


def _postgres_bin() -> Path:
    """The newest installed PostgreSQL's programs (Debian keeps them off the PATH)."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
    if versions:
        return versions[-1]
    found = shutil.which("postgres")
    if found is None:
        raise FileNotFoundError("PostgreSQL's server programs are not installed")
    return Path(found).parent


@contextlib.asynccontextmanager
async def started(*processes: Process) -> AsyncIterator[None]:
    """Start each process; stop any still running when the block ends."""
    try:
        for process in processes:
            await process.start()
        yield
    except BaseException:
        for process in processes:  # shown by pytest beside the failure
            print(f"--- {' '.join(process.command[:2])}", *process.output[-60:], sep="\n")
        raise
    finally:
        for process in reversed(processes):
            await process.signal(signal.SIGKILL)
