"""Real processes for the scale-out tests: a Redis server of the test's own (so a test
may restart it), and ``tutorchat serve`` processes that a test may kill. They are the
fault campaign's (bench/campaign/processes.py).

Without the ``redis-server`` program the tests skip, except under ``CI=true``, where they
fail.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tests.required import unavailable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from campaign.processes import (
    PostgresCluster,
    RedisServer,
    ServerProcess,
    free_port,
    started,
)

__all__ = [
    "PostgresCluster",
    "RedisServer",
    "ServerProcess",
    "free_port",
    "require_redis_server",
    "started",
]


def require_redis_server() -> str:
    """The redis-server program; skips without it (fails under CI)."""
    program = shutil.which("redis-server")
    if program is not None:
        return program
    unavailable("redis-server is not installed (apt-get install redis-server)")
