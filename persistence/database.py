"""The database connection: one async engine, and the rule for each engine's transactions.

SQLite (the embedded default) runs in WAL mode with ``synchronous=NORMAL``, a busy
timeout and foreign keys on. Write transactions start with ``BEGIN IMMEDIATE`` so that a
transaction never has to upgrade a read lock (which fails at once with "database is
locked" instead of waiting), and within one process they take turns on an asyncio lock
instead of spinning in SQLite's busy handler. PostgreSQL needs neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql import Executable

__all__ = [
    "DEFAULT_DATABASE_URL",
    "SQLITE_PRAGMAS",
    "Database",
    "database_url_from_env",
    "normalize_url",
]

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///tutorchat.db"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Applied to every SQLite connection. A batch of turns from many conversations dirties
# an index page per conversation in each of three indexes; checkpointing every 10,000
# pages (about 40 MiB of WAL) instead of SQLite's 1,000 writes each such page back once
# per many commits instead of once per commit (+20% turns/s at 100,000 turns). The page
# cache stays at SQLite's default: a larger one gained nothing in the store benchmark,
# and every pooled connection has its own.
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "foreign_keys=ON",
    "wal_autocheckpoint=10000",
)
_BEGIN_OPTION = "tutorchat_begin"


def normalize_url(url: str) -> str:
    """Choose the async driver for a plain ``sqlite://`` or ``postgres(ql)://`` URL."""
    parsed = make_url(url)
    backend = parsed.drivername.split("+")[0]
    if parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def database_url_from_env(url: str | None = None) -> str:
    """``url``, else ``DATABASE_URL`` from the environment, else the SQLite file default."""
    return normalize_url(url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)


def _json_dumps(value: object) -> str:
    return orjson.dumps(value).decode()


class Database:
    """An async engine and its transaction discipline.

    Args:
        url: a SQLAlchemy URL; plain ``sqlite://`` and ``postgresql://`` get async drivers.
        pool_size: connections kept open to PostgreSQL (SQLite uses the default pool).
    """

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = make_url(self.url).get_backend_name() == "sqlite"
        options: dict[str, Any] = {
            "json_serializer": _json_dumps,
            "json_deserializer": orjson.loads,
        }
        if not self.is_sqlite:
            options |= {"pool_size": pool_size, "max_overflow": pool_size, "pool_pre_ping": True}
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        self._writer_engine = self.engine
        self._write_turn: asyncio.Lock | None = None
        if self.is_sqlite:
            _configure_sqlite(self.engine)
            self._writer_engine = self.engine.execution_options(
                **{_BEGIN_OPTION: "BEGIN IMMEDIATE"}
            )
            self._write_turn = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        async with contextlib.AsyncExitStack() as stack:
            if self._write_turn is not None:
                await stack.enter_async_context(self._write_turn)
            conn = await stack.enter_async_context(self._writer_engine.begin())
            yield conn

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """One read transaction, so that several queries see one snapshot."""
        async with self.engine.begin() as conn:
            yield conn

    async def fetch_one(self, query: Executable) -> RowMapping | None:
        """The one row ``query`` finds, or None; it must not find more."""
        async with self.read() as conn:
            return (await conn.execute(query)).mappings().one_or_none()

    async def fetch_all(self, query: Executable) -> Sequence[RowMapping]:
        """Every row ``query`` finds."""
        async with self.read() as conn:
            return (await conn.execute(query)).mappings().all()

    def upsert(self, table: Table) -> sqlite.Insert | postgresql.Insert:
        """An INSERT with this engine's ``ON CONFLICT`` clauses (the two spell them alike)."""
        if self.is_sqlite:
            return sqlite.insert(table)
        return postgresql.insert(table)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Set the pragmas on each new connection and take over ``BEGIN`` from pysqlite."""

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite would otherwise open transactions itself, lazily and always deferred.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))
