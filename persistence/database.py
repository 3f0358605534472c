"""The database connection: one async engine, and the rule for each engine's transactions.

SQLite (the embedded default) runs in WAL mode with ``synchronous=NORMAL``, a busy
timeout and foreign keys on. Write transactions start with ``BEGIN IMMEDIATE`` so that a
transaction never has to upgrade a read lock (which fails at once with "database is
locked" instead of waiting), and within one process they take turns on an asyncio lock
instead of spinning in SQLite's busy handler. PostgreSQL needs neither.

On a SQLite file the hot paths run on synchronous engines in threads of their own
(:mod:`persistence.threaded`): a unit of work (:meth:`Database.run_write`, a batch of
turns) or a query (:meth:`Database.fetch_one`, :meth:`Database.fetch_all`) is one hop
between the event loop and a thread, where aiosqlite makes one per cursor call. On
PostgreSQL the same functions run through the async engine (``run_sync`` for writes).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

import orjson
from sqlalchemy import Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, RowMapping, make_url
from sqlalchemy.exc import MultipleResultsFound
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql import Executable

from persistence.checkpoint import WalCheckpointer
from persistence.threaded import ThreadedEngine

__all__ = [
    "DEFAULT_DATABASE_URL",
    "SQLITE_PRAGMAS",
    "Database",
    "database_url_from_env",
    "normalize_url",
]

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///tutorchat.db"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Applied to every SQLite connection. The WAL is checkpointed in the background (see
# persistence/checkpoint.py); the automatic checkpoint is only a safety net, at 10,000
# pages (about 40 MiB of WAL) rather than SQLite's 1,000, because the commit that
# reaches it waits for the copy. The page cache stays at SQLite's default: a larger one
# gained nothing in the store benchmark, and every pooled connection has its own.
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "foreign_keys=ON",
    "wal_autocheckpoint=10000",
)
_BEGIN_OPTION = "tutorchat_begin"
# Threads (and connections) that serve reads on a SQLite file: WAL lets readers run
# beside the writer, and two keep one slow query from holding up the others.
READERS = 2

T = TypeVar("T")


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
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        options: dict[str, Any] = {
            "json_serializer": _json_dumps,
            "json_deserializer": orjson.loads,
        }
        if not self.is_sqlite:
            # No pre-ping: it is a round trip on every checkout (1.4 ms of a 3 ms read
            # here). A connection the server dropped fails its one statement and the
            # pool is invalidated, so the next checkout reconnects.
            options |= {"pool_size": pool_size, "max_overflow": pool_size}
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        # A single query needs no transaction of its own: no BEGIN and ROLLBACK around it.
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._writer_engine = self.engine
        self._write_turn: asyncio.Lock | None = None
        self._writer: ThreadedEngine | None = None
        self._reader: ThreadedEngine | None = None
        self._checkpointer: WalCheckpointer | None = None
        if self.is_sqlite:
            _configure_sqlite(self.engine.sync_engine)
            self._writer_engine = self.engine.execution_options(
                **{_BEGIN_OPTION: "BEGIN IMMEDIATE"}
            )
            self._write_turn = asyncio.Lock()
            if parsed.database not in (None, "", ":memory:"):
                # A file: more engines on it see the same data (an in-memory database
                # would be another one, so it keeps the async path).
                self._writer = ThreadedEngine(
                    _sync_sqlite_engine(parsed, options, connections=1, begin="BEGIN IMMEDIATE"),
                    threads=1,
                    name="sqlite-writer",
                )
                self._reader = ThreadedEngine(
                    _sync_sqlite_engine(parsed, options, connections=READERS, begin="BEGIN"),
                    threads=READERS,
                    name="sqlite-reader",
                )
                self._checkpointer = WalCheckpointer(
                    parsed.database, busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS
                )

    @contextlib.asynccontextmanager
    async def maintained(self) -> AsyncIterator[None]:
        """Run the database's background upkeep (SQLite's WAL checkpoints) for the block."""
        if self._checkpointer is None:
            yield
            return
        async with self._checkpointer.running():
            yield

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        async with contextlib.AsyncExitStack() as stack:
            if self._write_turn is not None:
                await stack.enter_async_context(self._write_turn)
            conn = await stack.enter_async_context(self._writer_engine.begin())
            yield conn

    async def run_write(self, work: Callable[[Connection], T], *, one_statement: bool = False) -> T:
        """Run ``work`` in one write transaction, committed if it returns.

        Args:
            work: a plain function of a synchronous connection; it must not block on
                anything but the database.
            one_statement: ``work`` runs a single statement. PostgreSQL makes that a
                transaction of its own, so it runs without the round trips of BEGIN
                and COMMIT around it.
        """
        if one_statement and not self.is_sqlite:
            async with self._autocommit.connect() as conn:
                return await conn.run_sync(work)
        if self._writer is None:
            async with self.write() as conn:
                return await conn.run_sync(work)
        assert self._write_turn is not None
        async with self._write_turn:
            return await self._writer.run(functools.partial(_in_transaction, self._writer, work))

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """One read transaction, so that several queries see one snapshot."""
        async with self.engine.begin() as conn:
            yield conn

    async def fetch_one(self, query: Executable) -> RowMapping | None:
        """The one row ``query`` finds, or None; it must not find more."""
        if self._reader is not None:
            rows = await self._reader.run(functools.partial(_fetch, self._reader, query))
            if len(rows) > 1:
                raise MultipleResultsFound("the query found more than one row")
            return rows[0] if rows else None
        async with self._autocommit.connect() as conn:
            return (await conn.execute(query)).mappings().one_or_none()

    async def fetch_all(self, query: Executable) -> Sequence[RowMapping]:
        """Every row ``query`` finds."""
        if self._reader is not None:
            return await self._reader.run(functools.partial(_fetch, self._reader, query))
        async with self._autocommit.connect() as conn:
            return (await conn.execute(query)).mappings().all()

    def upsert(self, table: Table) -> sqlite.Insert | postgresql.Insert:
        """An INSERT with this engine's ``ON CONFLICT`` clauses (the two spell them alike)."""
        if self.is_sqlite:
            return sqlite.insert(table)
        return postgresql.insert(table)

    async def dispose(self) -> None:
        """Close every pooled connection, and the SQLite threads."""
        for threaded in (self._writer, self._reader):
            if threaded is not None:
                await threaded.dispose()
        await self.engine.dispose()


def _in_transaction(threaded: ThreadedEngine, work: Callable[[Connection], T]) -> T:
    with threaded.engine.begin() as conn:
        return work(conn)


def _fetch(threaded: ThreadedEngine, query: Executable) -> Sequence[RowMapping]:
    with threaded.engine.connect() as conn:
        return conn.execute(query).mappings().all()


def _sync_sqlite_engine(
    url: URL, options: dict[str, Any], *, connections: int, begin: str
) -> Engine:
    """An engine on the same file through the standard ``sqlite3``, for threads."""
    engine = create_engine(
        url.set(drivername="sqlite+pysqlite"),
        pool_size=connections,
        max_overflow=0,
        # Each connection is used by one thread at a time, but not always the same one.
        connect_args={"check_same_thread": False},
        execution_options={_BEGIN_OPTION: begin},
        **options,
    )
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    """Set the pragmas on each new connection and take over ``BEGIN`` from pysqlite."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite would otherwise open transactions itself, lazily and always deferred.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))
