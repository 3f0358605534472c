"""Fixtures for end-to-end tests: a running server on each database engine."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from realtime.settings import Settings
from tests.processes import RedisServer, require_redis_server, started
from tests.realtime.harness import Running, running

SECRET = "e2e-secret-" + "z" * 64


@pytest.fixture
def settings(database_url: str, llm_providers: str) -> Settings:
    """Settings of a server on the test database, heartbeats out of the way; a test
    that uses the fake LLM endpoint (``llm``) gets it as the provider ``fake``."""
    return server_settings(database_url, llm_providers)


def server_settings(database_url: str, llm_providers: str = "") -> Settings:
    """The end-to-end tests' settings (the ``settings`` fixture's)."""
    return Settings(
        database_url=database_url,
        secrets=(SECRET,),
        allowed_origins=("http://allowed.example",),
        heartbeat_interval=3600,
        shutdown_grace=0.5,
        llm_providers=llm_providers,
    )


@pytest.fixture
async def run(settings: Settings) -> AsyncIterator[Running]:
    """The server, running."""
    async with running(settings) as server:
        yield server


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """A Redis server of the test's own, running."""
    server = RedisServer(require_redis_server())
    async with started(server):
        yield server.url
