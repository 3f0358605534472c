"""The real databases the tests run on: a SQLite file, and PostgreSQL when it answers.

``TUTORCHAT_TEST_POSTGRES_URL`` names the PostgreSQL server (default: the local one, user
postgres). Each run of the suite makes a database of its own on it, with a random name
after the URL's database (``tutorchat_test_<hex>``), so that runs side by side never
touch each other's tables, and drops it at the end. Without PostgreSQL reachable the
PostgreSQL tests skip, except under ``CI=true``, where a missing service fails them.
"""

from __future__ import annotations

import asyncio
import os
import secrets

import asyncpg
from sqlalchemy.engine import URL, make_url

from tests.required import unavailable

__all__ = ["drop_run_database", "fresh_postgres_url", "require_postgres"]

_SERVER_URL = make_url(
    os.environ.get(
        "TUTORCHAT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/tutorchat_test"
    )
)
# This run's database: made on first use, dropped by drop_run_database.
_RUN_URL = _SERVER_URL.set(database=f"{_SERVER_URL.database}_{secrets.token_hex(4)}")


def _asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin() -> asyncpg.Connection:
    return await asyncpg.connect(_asyncpg_dsn(_SERVER_URL.set(database="postgres")), timeout=5)


async def _create_run_database() -> None:
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{_RUN_URL.database}"')
    finally:
        await admin.close()


_checked: list[str | None] = []


async def _postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can (checked once per run)."""
    if not _checked:
        try:
            await _create_run_database()
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            _checked.append(f"PostgreSQL at {_SERVER_URL.host} is not reachable: {error}")
        else:
            _checked.append(None)
    return _checked[0]


async def require_postgres() -> None:
    """Skip the test without PostgreSQL, or fail it under CI."""
    problem = await _postgres_problem()
    if problem is None:
        return
    unavailable(problem)


async def fresh_postgres_url() -> str:
    """This run's database, emptied: its public schema dropped and made again."""
    conn = await asyncpg.connect(_asyncpg_dsn(_RUN_URL), timeout=5)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    return _RUN_URL.render_as_string(hide_password=False)


def drop_run_database() -> None:
    """Drop this run's database, if it was made (its connections are ended first)."""
    if _checked != [None]:
        return

    async def drop() -> None:
        admin = await _admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{_RUN_URL.database}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(drop())
