"""The security tests drive the same running server as the end-to-end tests, with the
operator's admin API on (so that its refusals are the matrix's, not a 404)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from realtime.settings import Settings
from tests.realtime.conftest import server_settings
from tests.realtime.harness import Running, running

__all__ = ["ADMIN_KEY", "run", "settings"]

ADMIN_KEY = "matrix-operator-key-" + "m" * 40


@pytest.fixture
def settings(database_url: str, llm_providers: str) -> Settings:
    return dataclasses.replace(server_settings(database_url, llm_providers), admin_key=ADMIN_KEY)


@pytest.fixture
async def run(settings: Settings) -> AsyncIterator[Running]:
    async with running(settings) as server:
        yield server
