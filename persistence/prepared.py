"""Statements compiled once and run on the SQLite driver's own connection.

The turn batch is the hot path of the writer thread: a few statements per batch, one
parameter set per turn. SQLAlchemy's work per execution (a cache key for the statement,
parameters processed through its result and type machinery, result metadata) cost about
as much as SQLite's own work there. A :class:`Prepared` statement is the same SQL, compiled by
SQLAlchemy for SQLite once (an ``IN`` list's placeholders made once per length), with
each parameter's type conversion looked up once, executed with ``sqlite3``'s cursor
inside the transaction SQLAlchemy began on that connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

__all__ = ["Prepared"]

Processor = Callable[[Any], Any] | None


class Prepared:
    """``statement`` ready to run with positional parameters on SQLite.

    Args:
        statement: a Core statement whose parameters are named bind parameters (or
            values written into it); an expanding ``IN`` parameter is spread in place,
            its items in the list's order.
    """

    def __init__(self, statement: Executable) -> None:
        assert isinstance(statement, ClauseElement)
        self._statement = statement
        self._compiled: _Compiled | None = None
        self._sql: dict[tuple[int, ...], str] = {}  # by the lengths of the IN lists

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """Run once with ``params``; the rows it returns (tuples: columns by position).
        On another engine, through SQLAlchemy as written."""
        if conn.dialect.name != "sqlite":
            result = conn.execute(self._statement, params)
            return list(result) if result.returns_rows else []
        compiled = self._compile(conn.dialect)
        sql = self._text(compiled, params)
        values = compiled.values(params)
        cursor = _driver(conn).cursor()
        try:
            cursor.execute(sql, values)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows
        except sqlite3.Error as error:
            raise _wrapped(sql, values, error) from error
        finally:
            cursor.close()

    def execute_many(self, conn: Connection, params: Sequence[Mapping[str, Any]]) -> None:
        """Run once per parameter set (a statement without ``IN`` lists)."""
        if not params:
            return
        if conn.dialect.name != "sqlite":
            conn.execute(self._statement, list(params))
            return
        compiled = self._compile(conn.dialect)
        assert not compiled.expanding, "executemany takes no IN lists"
        rows = [compiled.values(one) for one in params]
        cursor = _driver(conn).cursor()
        try:
            cursor.executemany(compiled.sql, rows)
        except sqlite3.Error as error:
            raise _wrapped(compiled.sql, rows, error) from error
        finally:
            cursor.close()

    def _compile(self, dialect: Dialect) -> _Compiled:
        if self._compiled is None:
            self._compiled = _Compiled(self._statement, dialect)
        return self._compiled

    def _text(self, compiled: _Compiled, params: Mapping[str, Any]) -> str:
        if not compiled.expanding:
            return compiled.sql
        lengths = tuple(len(params[name]) for name in compiled.expanding)
        sql = self._sql.get(lengths)
        if sql is None:
            sql = compiled.sql
            for name, length in zip(compiled.expanding, lengths, strict=True):
                sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * length))
            self._sql[lengths] = sql
        return sql


class _Compiled:
    """A statement's SQL for SQLite, its parameters in order and their conversions."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        self.names = list(compiled.positiontup or [])
        self.expanding = [n for n in self.names if compiled.binds[n].expanding]
        # Values written into the statement (``status == "active"``): bound by SQLAlchemy
        # under names of its own, taken here when the caller's parameters lack them.
        self.fixed: dict[str, Any] = {
            name: bind.value for name, bind in compiled.binds.items() if not bind.required
        }
        self.processors: list[Processor] = [
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in self.names
        ]

    def values(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        """The positional values of ``params``, each converted as its type says."""
        values: list[Any] = []
        for name, process in zip(self.names, self.processors, strict=True):
            value: Any = params[name] if name in params else self.fixed[name]
            if name in self.expanding:
                values.extend(value if process is None else [process(v) for v in value])
            else:
                values.append(value if process is None else process(value))
        return tuple(values)


def _wrapped(sql: str, params: Any, error: sqlite3.Error) -> StatementError:
    """The error as SQLAlchemy raises it (``IntegrityError`` for a unique index), so its
    callers tell a refused batch from any other failure as they do for its own."""
    return DBAPIError.instance(sql, params, error, sqlite3.Error)


def _driver(conn: Connection) -> Any:
    """The ``sqlite3`` connection under ``conn`` (in the transaction it began)."""
    return conn.connection.driver_connection
