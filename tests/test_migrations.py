"""The migrations build the seed's schema, plus the protocol's columns, on both engines."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection

from persistence import migrate
from persistence.database import Database
from persistence.schema import assessment_configs, metadata

# seed/schema.md, table by table: column -> NOT NULL in the seed.
SEED_COLUMNS = {
    "assessment_configs": {
        "id": True,
        "platform_id": True,
        "resource_link_id": True,
        "assessment_type": False,
        "mastery_threshold": False,
        "grading_schema": False,
        "ai_config": False,
        "created_by": True,
        "created_at": False,
        "updated_at": False,
    },
    "conversations": {
        "id": True,
        "assessment_config_id": True,
        "user_id": True,
        "course_id": True,
        "status": False,
        "started_at": False,
        "completed_at": False,
        "mastery_score": False,
        "metadata": False,
    },
    "conversation_messages": {
        "id": True,
        "conversation_id": True,
        "role": False,
        "content": True,
        "metadata": False,
        "created_at": False,
    },
    "student_progress": {
        "id": True,
        "user_id": True,
        "course_id": True,
        "total_assessments": False,
        "average_mastery": False,
        "struggle_patterns": False,
        "last_activity": False,
    },
    "generated_content": {
        "id": True,
        "assessment_config_id": True,
        "content_hash": True,
        "content_type": False,
        "content": True,
        "approved": False,
        "created_at": False,
    },
    "analytics_snapshots": {
        "id": True,
        "course_id": True,
        "assignment_id": False,
        "snapshot_data": True,
        "created_at": False,
    },
}
SEED_DEFAULTS = {
    ("assessment_configs", "mastery_threshold"),
    ("assessment_configs", "created_at"),
    ("assessment_configs", "updated_at"),
    ("conversations", "started_at"),
    ("conversations", "mastery_score"),
    ("conversation_messages", "created_at"),
    ("student_progress", "total_assessments"),
    ("student_progress", "average_mastery"),
    ("student_progress", "last_activity"),
    ("generated_content", "approved"),
    ("generated_content", "created_at"),
    ("analytics_snapshots", "created_at"),
}
SEED_JSON = {
    ("assessment_configs", "ai_config"),
    ("conversations", "metadata"),
    ("conversation_messages", "metadata"),
    ("student_progress", "struggle_patterns"),
    ("generated_content", "content"),
    ("analytics_snapshots", "snapshot_data"),
}
SEED_CHECKS = {
    "assessment_configs": {"assessment_type", "grading_schema"},
    "conversations": {"status"},
    "conversation_messages": {"role"},
}
SEED_UNIQUES = {
    "assessment_configs": ("platform_id", "resource_link_id"),
    # The seed's (user_id, course_id), with the tenant's platform (migration 0005).
    "student_progress": ("platform_id", "user_id", "course_id"),
    "generated_content": ("assessment_config_id", "content_hash"),
}
SEED_FOREIGN_KEYS = {
    ("conversations", "assessment_config_id"): ("assessment_configs", None),
    ("conversation_messages", "conversation_id"): ("conversations", "CASCADE"),
    ("generated_content", "assessment_config_id"): ("assessment_configs", None),
}
SEED_INDEXES: dict[str, tuple[str, list[str]]] = {
    "idx_user_course": ("conversations", ["user_id", "course_id"]),
    "idx_status": ("conversations", ["status"]),
    "idx_conversation": ("conversation_messages", ["conversation_id"]),
    "idx_course": ("student_progress", ["course_id"]),
    "idx_course_assignment": ("analytics_snapshots", ["course_id", "assignment_id"]),
}


def _describe(conn: Connection) -> dict[str, Any]:
    inspector = inspect(conn)
    described: dict[str, Any] = {}
    for table in inspector.get_table_names():
        described[table] = {
            "columns": {column["name"]: column for column in inspector.get_columns(table)},
            "checks": {check["name"] for check in inspector.get_check_constraints(table)},
            "uniques": {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)},
            "foreign_keys": inspector.get_foreign_keys(table),
            "indexes": {index["name"]: index for index in inspector.get_indexes(table)},
        }
    return described


async def _migrated(db: Database) -> dict[str, Any]:
    await migrate.upgrade(db)
    async with db.read() as conn:
        return await conn.run_sync(_describe)


async def test_upgrade_creates_every_seed_table_and_column(db: Database) -> None:
    """Every seed column exists, with the seed's NOT NULL, defaults and JSON types."""
    schema = await _migrated(db)
    assert set(SEED_COLUMNS) <= set(schema)
    for table, columns in SEED_COLUMNS.items():
        found = schema[table]["columns"]
        for name, not_null in columns.items():
            assert name in found, f"{table}.{name} is missing"
            if not_null:
                assert not found[name]["nullable"], f"{table}.{name} must be NOT NULL"
    for table, column in SEED_DEFAULTS:
        assert schema[table]["columns"][column]["default"] is not None, f"{table}.{column}"
    for table, column in SEED_JSON:
        type_name = type(schema[table]["columns"][column]["type"]).__name__
        expected = "JSON" if db.is_sqlite else "JSONB"
        assert type_name == expected, f"{table}.{column} is {type_name}"


async def test_upgrade_creates_every_seed_constraint_and_index(db: Database) -> None:
    """The seed's CHECKs, UNIQUEs, foreign keys and indexes are all there."""
    schema = await _migrated(db)
    for table, checks in SEED_CHECKS.items():
        assert {f"ck_{table}_{name}" for name in checks} <= schema[table]["checks"]
    for table, columns in SEED_UNIQUES.items():
        assert columns in schema[table]["uniques"]
    for (table, column), (target, ondelete) in SEED_FOREIGN_KEYS.items():
        (key,) = [
            fk for fk in schema[table]["foreign_keys"] if fk["constrained_columns"] == [column]
        ]
        assert key["referred_table"] == target
        assert key["referred_columns"] == ["id"]
        assert (key.get("options") or {}).get("ondelete") == ondelete
    for name, (table, indexed) in SEED_INDEXES.items():
        assert schema[table]["indexes"][name]["column_names"] == indexed


async def test_upgrade_adds_what_the_protocol_needs(db: Database) -> None:
    """seq, status and client_msg_id on messages, unique per conversation; last_seq."""
    schema = await _migrated(db)
    messages = schema["conversation_messages"]
    assert {"seq", "status", "client_msg_id"} <= set(messages["columns"])
    assert ("conversation_id", "seq") in messages["uniques"]
    assert ("conversation_id", "client_msg_id") in messages["uniques"]
    assert "ck_conversation_messages_status" in messages["checks"]
    assert not schema["conversations"]["columns"]["last_seq"]["nullable"]


async def test_migrated_schema_matches_the_table_definitions(db: Database) -> None:
    """Alembic finds no difference between the migrated database and schema.py."""
    await migrate.upgrade(db)

    def differences(conn: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))

    async with db.read() as conn:
        assert await conn.run_sync(differences) == []


async def test_upgrade_is_idempotent_and_records_the_head(db: Database) -> None:
    """A second upgrade changes nothing, and the database is at the newest revision."""
    assert await migrate.current_revision(db) is None
    await migrate.upgrade(db)
    await migrate.upgrade(db)
    assert await migrate.current_revision(db) == migrate.head_revision()


async def test_downgrade_removes_every_table(db: Database) -> None:
    """The initial revision can be undone, leaving only Alembic's own table."""
    await migrate.upgrade(db)
    async with db.write() as conn:
        await conn.run_sync(lambda sync: command.downgrade(migrate.alembic_config(sync), "base"))
    async with db.read() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    assert tables == ["alembic_version"]


async def test_an_assessment_llm_endpoint_becomes_the_legacy_provider(db: Database) -> None:
    """Stored before providers were the operator's: its endpoint and key variable go, its
    model and sampling stay, under the provider named legacy; others are untouched."""
    await migrate.upgrade(db, "0003")
    old = {
        "objectives": [],
        "llm": {
            "base_url": "http://attacker.example/v1",
            "model": "m1",
            "api_key_env": "TUTORCHAT_SECRET",
            "temperature": 0.5,
            "idle_timeout": 3,
        },
    }
    plain: dict[str, Any] = {"items": []}
    mixed = {"objectives": [], "llm": {"provider": "p", "model": "m", "base_url": "http://x"}}
    async with db.write() as conn:
        for config_id, ai_config in (("a1", old), ("a2", plain), ("a3", mixed)):
            await conn.execute(
                assessment_configs.insert().values(
                    id=config_id,
                    platform_id="p",
                    resource_link_id=config_id,
                    assessment_type="chat",
                    ai_config=ai_config,
                    created_by="t",
                )
            )
    await migrate.upgrade(db)
    async with db.read() as conn:
        result = await conn.execute(select(assessment_configs.c.id, assessment_configs.c.ai_config))
        rows = {config_id: ai_config for config_id, ai_config in result}
    assert rows["a1"] == {
        "objectives": [],
        "llm": {"provider": "legacy", "model": "m1", "temperature": 0.5},
    }
    assert rows["a2"] == plain
    assert rows["a3"] == {"objectives": [], "llm": {"provider": "p", "model": "m"}}


async def test_rows_get_their_tenant_and_a_course_of_two_platforms_gets_none(
    db: Database,
) -> None:
    """Assessments take the course of their conversations, conversations their
    assessment's platform; progress of a course id that two platforms have is left
    to the operator (an empty platform), of a course of one platform takes it."""
    await migrate.upgrade(db, "0004")
    async with db.write() as conn:
        for config_id, platform, link in (
            ("a1", "p1", "l1"),
            ("a2", "p2", "l2"),
            ("a3", "p1", "l3"),
        ):
            await conn.execute(
                text(
                    "INSERT INTO assessment_configs (id, platform_id, resource_link_id, "
                    "assessment_type, ai_config, created_by) VALUES (:i, :p, :l, 'chat', "
                    "'{}', 't')"
                ),
                {"i": config_id, "p": platform, "l": link},
            )
        for conversation, config_id, course in (
            ("c1", "a1", "k1"),
            ("c2", "a2", "k1"),
            ("c3", "a3", "k2"),
        ):
            await conn.execute(
                text(
                    "INSERT INTO conversations (id, assessment_config_id, user_id, course_id, "
                    "status) VALUES (:c, :a, 'u', :k, 'active')"
                ),
                {"c": conversation, "a": config_id, "k": course},
            )
        for progress, course in (("g1", "k1"), ("g2", "k2")):
            await conn.execute(
                text("INSERT INTO student_progress (id, user_id, course_id) VALUES (:g, 'u', :k)"),
                {"g": progress, "k": course},
            )
    await migrate.upgrade(db)
    columns = {}
    async with db.read() as conn:
        for table, column in (
            ("assessment_configs", "course_id"),
            ("conversations", "platform_id"),
            ("student_progress", "platform_id"),
        ):
            result = await conn.execute(text(f"SELECT id, {column} FROM {table}"))
            columns[table] = {row_id: value for row_id, value in result}
    assert columns["assessment_configs"] == {"a1": "k1", "a2": "k1", "a3": "k2"}
    assert columns["conversations"] == {"c1": "p1", "c2": "p2", "c3": "p1"}
    assert columns["student_progress"] == {"g1": "", "g2": "p1"}
