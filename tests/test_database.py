"""Connection settings: driver choice, and SQLite's pragmas."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from persistence.checkpoint import WalCheckpointer
from persistence.database import (
    DEFAULT_DATABASE_URL,
    Database,
    database_url_from_env,
    normalize_url,
)
from tests.limits import TIMEOUT


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


async def test_run_write_commits_what_returns_and_rolls_back_what_raises(
    database_url: str,
) -> None:
    """A unit of work passed to run_write is one transaction, on both engines."""
    db = Database(database_url)
    try:
        await db.run_write(lambda conn: conn.exec_driver_sql("CREATE TABLE t (x INTEGER)"))
        await db.run_write(lambda conn: conn.exec_driver_sql("INSERT INTO t VALUES (1)"))

        def insert_then_fail(conn: Connection) -> None:
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
            raise RuntimeError("refused")

        with pytest.raises(RuntimeError, match="refused"):
            await db.run_write(insert_then_fail)
        async with db.read() as conn:
            rows = (await conn.execute(text("SELECT x FROM t"))).scalars().all()
    finally:
        await db.dispose()
    assert rows == [1]


async def test_the_background_checkpoint_copies_the_wal_back(tmp_path: Path) -> None:
    """While the checkpointer runs, committed rows reach the database file itself."""
    path = tmp_path / "c.db"
    db = Database(f"sqlite:///{path}")
    checkpointer = WalCheckpointer(str(path), busy_timeout_ms=1000, interval=0.01)
    try:
        await db.run_write(lambda conn: conn.exec_driver_sql("CREATE TABLE t (x INTEGER)"))
        for _ in range(20):
            await db.run_write(lambda conn: conn.exec_driver_sql("INSERT INTO t VALUES (1)"))
        assert _rows_in_file_alone(path, tmp_path / "before.db") is None  # all in the WAL
        async with checkpointer.running():
            await asyncio.wait_for(checkpointer.checkpointed.wait(), TIMEOUT)
        assert _rows_in_file_alone(path, tmp_path / "after.db") == 20
    finally:
        await db.dispose()


def _rows_in_file_alone(path: Path, copy: Path) -> int | None:
    """The rows of t in a copy of the database file without its WAL (None: no table)."""
    copy.write_bytes(path.read_bytes())
    with contextlib.closing(sqlite3.connect(copy)) as check:
        try:
            return int(check.execute("SELECT count(*) FROM t").fetchone()[0])
        except sqlite3.OperationalError:
            return None
