"""Connection settings: driver choice, and SQLite's pragmas."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from persistence.database import (
    DEFAULT_DATABASE_URL,
    Database,
    database_url_from_env,
    normalize_url,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///tutorchat.db", "sqlite+aiosqlite:///tutorchat.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u:p@h:5432/d", "postgresql+asyncpg://u:p@h:5432/d"),
        ("postgres://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql+asyncpg://u@h/d", "postgresql+asyncpg://u@h/d"),
    ],
)
def test_plain_urls_get_async_drivers(given: str, expected: str) -> None:
    """Operators may write plain URLs; the async driver is chosen for them."""
    assert normalize_url(given) == expected


def test_the_default_database_is_a_sqlite_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without DATABASE_URL the server uses the SQLite file tutorchat.db."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert database_url_from_env() == DEFAULT_DATABASE_URL
    monkeypatch.setenv("DATABASE_URL", "postgresql://h/d")
    assert database_url_from_env() == "postgresql+asyncpg://h/d"


async def test_sqlite_runs_in_wal_with_normal_sync_busy_timeout_and_foreign_keys(
    tmp_path: object,
) -> None:
    """Every SQLite connection has the pragmas the write path relies on."""
    db = Database(f"sqlite:///{tmp_path}/p.db")
    try:
        async with db.read() as conn:
            pragmas = {
                name: await conn.scalar(text(f"PRAGMA {name}"))
                for name in (
                    "journal_mode",
                    "synchronous",
                    "busy_timeout",
                    "foreign_keys",
                    "wal_autocheckpoint",
                )
            }
    finally:
        await db.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "busy_timeout": 10000,
        "foreign_keys": 1,
        "wal_autocheckpoint": 10000,
    }
