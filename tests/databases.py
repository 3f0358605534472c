"""The real databases the tests run on: a SQLite file, and PostgreSQL when it answers.

``TUTORCHAT_TEST_POSTGRES_URL`` names the PostgreSQL server (default: the local one, user
postgres, database ``tutorchat_test``, created if missing). Without it reachable the
PostgreSQL tests skip, except under ``CI=true``, where a missing service fails them.
"""

from __future__ import annotations

import os

import asyncpg
import pytest
from sqlalchemy.engine import make_url

__all__ = ["POSTGRES_URL", "fresh_postgres_url", "require_postgres"]

POSTGRES_URL = os.environ.get(
    "TUTORCHAT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/tutorchat_test"
)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _ensure_database() -> None:
    url = make_url(POSTGRES_URL)
    admin = await asyncpg.connect(_asyncpg_dsn(str(url.set(database="postgres"))), timeout=5)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", url.database)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{url.database}"')
    finally:
        await admin.close()


_checked: list[str | None] = []


async def _postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can (checked once per run)."""
    if not _checked:
        try:
            await _ensure_database()
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            _checked.append(f"PostgreSQL at {POSTGRES_URL} is not reachable: {error}")
        else:
            _checked.append(None)
    return _checked[0]


async def require_postgres() -> None:
    """Skip the test without PostgreSQL, or fail it under CI."""
    problem = await _postgres_problem()
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{problem} (CI=true: services are required)")
    pytest.skip(problem)


async def fresh_postgres_url() -> str:
    """The test database, emptied: its public schema dropped and made again."""
    conn = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=5)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    return POSTGRES_URL
