"""Prepared statements on the SQLite driver's cursor: the SQL SQLAlchemy compiles, an IN
list spread in place, types converted as SQLAlchemy converts them, errors raised as
SQLAlchemy raises them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    create_engine,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from persistence.prepared import Prepared

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Text, primary_key=True),
    Column("n", Integer),
    Column("doc", JSON),
    Column("at", DateTime(timezone=True)),
)
_insert = Prepared(insert(things).values({k: bindparam(k) for k in ("id", "n", "doc", "at")}))
_some = Prepared(
    select(things.c.id, things.c.n)
    .where(things.c.id.in_(bindparam("ids", expanding=True)), things.c.n >= bindparam("low"))
    .order_by(things.c.id)
)
_bump = Prepared(update(things).where(things.c.id == bindparam("key")).values(n=bindparam("to")))
_bump_small = Prepared(
    update(things).where(things.c.id == bindparam("key"), things.c.n < 3).values(n=bindparam("to"))
)
WHEN = datetime(2026, 12, 3, 12, 30, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    made = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    metadata.create_all(made)
    return made


def test_what_it_writes_reads_back_through_sqlalchemy_as_sqlalchemy_wrote_it(
    engine: Engine,
) -> None:
    rows = [
        {"id": "a", "n": 1, "doc": {"x": [1, "é"]}, "at": WHEN},
        {"id": "b", "n": 2, "doc": None, "at": WHEN},
    ]
    with engine.begin() as conn:
        _insert.execute_many(conn, rows)
        conn.execute(insert(things), [{"id": "c", "n": 3, "doc": {"x": [1, "é"]}, "at": WHEN}])
    with engine.connect() as conn:
        stored = conn.execute(select(things).order_by(things.c.id)).mappings().all()
        raw = conn.exec_driver_sql("SELECT doc, at FROM things ORDER BY id").all()
    assert [dict(r) for r in stored][:2] == [
        {"id": "a", "n": 1, "doc": {"x": [1, "é"]}, "at": WHEN.replace(tzinfo=None)},
        {"id": "b", "n": 2, "doc": None, "at": WHEN.replace(tzinfo=None)},
    ]
    assert raw[0] == raw[2]  # byte for byte as SQLAlchemy's own insert stores them


def test_an_in_list_of_any_length_and_an_update(engine: Engine) -> None:
    with engine.begin() as conn:
        _insert.execute_many(
            conn, [{"id": k, "n": i, "doc": None, "at": WHEN} for i, k in enumerate("abcde")]
        )
        assert _some.execute(conn, {"ids": ["e", "a", "c"], "low": 1}) == [("c", 2), ("e", 4)]
        assert _some.execute(conn, {"ids": ["b"], "low": 0}) == [("b", 1)]
        _bump.execute_many(conn, [{"key": "a", "to": 10}, {"key": "b", "to": 20}])
        assert _some.execute(conn, {"ids": ["a", "b"], "low": 10}) == [("a", 10), ("b", 20)]


def test_a_value_written_into_the_statement_is_bound_as_written(engine: Engine) -> None:
    with engine.begin() as conn:
        _insert.execute_many(
            conn, [{"id": k, "n": n, "doc": None, "at": WHEN} for k, n in (("a", 1), ("b", 5))]
        )
        _bump_small.execute_many(conn, [{"key": "a", "to": 7}, {"key": "b", "to": 7}])
        assert _some.execute(conn, {"ids": ["a", "b"], "low": 0}) == [("a", 7), ("b", 5)]


def test_a_refused_row_raises_sqlalchemys_integrity_error(engine: Engine) -> None:
    row = {"id": "a", "n": 1, "doc": None, "at": WHEN}
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _insert.execute_many(conn, [row, row])
    with engine.connect() as conn:  # the transaction rolled back whole
        assert conn.execute(select(things)).all() == []
