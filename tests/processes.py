"""Real processes for the scale-out tests: a Redis server of the test's own (so a test
may restart it), and ``tutorchat serve`` processes that a test may kill.

Each is waited for by the line it prints when ready, never by sleeping. Without the
``redis-server`` program the tests skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from tests.limits import TIMEOUT
from tests.required import unavailable

__all__ = ["RedisServer", "ServerProcess", "free_port", "require_redis_server"]

TUTORCHAT = str(Path(sys.executable).with_name("tutorchat"))
KEEP_NOTHING = ("--save", "", "--appendonly", "no")


def require_redis_server() -> str:
    """The redis-server program; skips without it (fails under CI)."""
    program = shutil.which("redis-server")
    if program is not None:
        return program
    unavailable("redis-server is not installed (apt-get install redis-server)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Process:
    """A child process whose output is read as it comes, line by line."""

    def __init__(self, command: list[str], ready: str, env: Mapping[str, str] | None) -> None:
        self.command = command
        self._ready = ready
        self._env = None if env is None else dict(env)
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self.output: list[str] = []

    async def start(self) -> None:
        ready = asyncio.Event()
        self._process = await asyncio.create_subprocess_exec(
            *self.command,
            env=self._env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read(self._process, ready))
        async with asyncio.timeout(TIMEOUT):
            await ready.wait()

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


class RedisServer(_Process):
    """``redis-server`` on a free port, keeping nothing on disk (as the service does)."""

    def __init__(self, program: str) -> None:
        self.port = free_port()
        super().__init__(
            [program, "--port", str(self.port), "--bind", "127.0.0.1", *KEEP_NOTHING],
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


class ServerProcess(_Process):
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

    async def kill(self) -> None:
        """SIGKILL: no shutdown, nothing flushed, no lease released."""
        await self.signal(signal.SIGKILL)

    async def stop(self) -> None:
        """SIGTERM: a graceful stop."""
        await self.signal(signal.SIGTERM)


@contextlib.asynccontextmanager
async def started(*processes: _Process) -> AsyncIterator[None]:
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
