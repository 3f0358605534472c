"""Every CHECK, UNIQUE, NOT NULL and foreign key refuses bad rows with a clear error."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Table
from sqlalchemy.exc import IntegrityError

from persistence import migrate
from persistence.database import Database
from persistence.errors import constraint_violation
from persistence.schema import (
    analytics_snapshots,
    assessment_configs,
    conversation_messages,
    conversations,
    generated_content,
    student_progress,
)

CONFIG = {
    "id": "a1",
    "platform_id": "p",
    "resource_link_id": "r",
    "assessment_type": "chat",
    "grading_schema": "mastery",
    "created_by": "i",
}
CONVERSATION = {
    "id": "c1",
    "assessment_config_id": "a1",
    "user_id": "u",
    "course_id": "k",
    "status": "active",
}
MESSAGE = {
    "id": "m1",
    "conversation_id": "c1",
    "role": "user",
    "content": "x",
    "seq": 1,
    "client_msg_id": "cm1",
}
PROGRESS = {"id": "p1", "user_id": "u", "course_id": "k"}
CONTENT = {"id": "g1", "assessment_config_id": "a1", "content_hash": "h", "content": {}}
SNAPSHOT = {"id": "s1", "course_id": "k", "snapshot_data": {}}

# (table, the valid row to insert first or None, the bad row, what the error must name:
# (on SQLite, on PostgreSQL)).
CASES: dict[str, tuple[Table, dict[str, Any] | None, dict[str, Any], tuple[str, str]]] = {
    "unknown assessment type": (
        assessment_configs,
        None,
        CONFIG | {"id": "a2", "resource_link_id": "r2", "assessment_type": "essay"},
        ("ck_assessment_configs_assessment_type",) * 2,
    ),
    "unknown grading schema": (
        assessment_configs,
        None,
        CONFIG | {"id": "a2", "resource_link_id": "r2", "grading_schema": "curve"},
        ("ck_assessment_configs_grading_schema",) * 2,
    ),
    "second config of a resource link": (
        assessment_configs,
        CONFIG,
        CONFIG | {"id": "a2"},
        (
            "assessment_configs.platform_id, assessment_configs.resource_link_id",
            "uq_assessment_configs_platform_id_resource_link_id",
        ),
    ),
    "config without creator": (
        assessment_configs,
        None,
        CONFIG | {"id": "a2", "resource_link_id": "r2", "created_by": None},
        ("NOT NULL constraint failed: assessment_configs.created_by", '"created_by"'),
    ),
    "unknown conversation status": (
        conversations,
        None,
        CONVERSATION | {"id": "c2", "status": "paused"},
        ("ck_conversations_status",) * 2,
    ),
    "score over 100": (
        conversations,
        None,
        CONVERSATION | {"id": "c2", "mastery_score": 101},
        ("ck_conversations_mastery_score",) * 2,
    ),
    "conversation of an unknown assessment": (
        conversations,
        None,
        CONVERSATION | {"id": "c2", "assessment_config_id": "missing"},
        ("FOREIGN KEY constraint failed", "fk_conversations_assessment_config_id"),
    ),
    "second active attempt": (
        conversations,
        CONVERSATION,
        CONVERSATION | {"id": "c2"},
        (
            "conversations.assessment_config_id, conversations.user_id",
            "uq_conversations_one_active",
        ),
    ),
    "unknown role": (
        conversation_messages,
        None,
        MESSAGE | {"role": "bot"},
        ("ck_conversation_messages_role",) * 2,
    ),
    "unknown message status": (
        conversation_messages,
        None,
        MESSAGE | {"status": "done"},
        ("ck_conversation_messages_status",) * 2,
    ),
    "seq zero": (
        conversation_messages,
        None,
        MESSAGE | {"seq": 0},
        ("ck_conversation_messages_seq",) * 2,
    ),
    "seq reused": (
        conversation_messages,
        MESSAGE,
        MESSAGE | {"id": "m2", "client_msg_id": "cm2"},
        (
            "conversation_messages.conversation_id, conversation_messages.seq",
            "uq_conversation_messages_conversation_id_seq",
        ),
    ),
    "client_msg_id reused": (
        conversation_messages,
        MESSAGE,
        MESSAGE | {"id": "m2", "seq": 2},
        (
            "conversation_messages.conversation_id, conversation_messages.client_msg_id",
            "uq_conversation_messages_conversation_id_client_msg_id",
        ),
    ),
    "message of an unknown conversation": (
        conversation_messages,
        None,
        MESSAGE | {"conversation_id": "missing"},
        ("FOREIGN KEY constraint failed", "fk_conversation_messages_conversation_id"),
    ),
    "message without content": (
        conversation_messages,
        None,
        MESSAGE | {"content": None},
        ("NOT NULL constraint failed: conversation_messages.content", '"content"'),
    ),
    "second progress row": (
        student_progress,
        PROGRESS,
        PROGRESS | {"id": "p2"},
        (
            "student_progress.platform_id, student_progress.user_id, student_progress.course_id",
            "uq_student_progress_platform_id_user_id_course_id",
        ),
    ),
    "content cached twice": (
        generated_content,
        CONTENT,
        CONTENT | {"id": "g2"},
        (
            "generated_content.assessment_config_id, generated_content.content_hash",
            "uq_generated_content_assessment_config_id_content_hash",
        ),
    ),
    "content of an unknown assessment": (
        generated_content,
        None,
        CONTENT | {"assessment_config_id": "missing"},
        ("FOREIGN KEY constraint failed", "fk_generated_content_assessment_config_id"),
    ),
    "snapshot without data": (
        analytics_snapshots,
        None,
        SNAPSHOT | {"snapshot_data": None},
        ("NOT NULL constraint failed: analytics_snapshots.snapshot_data", '"snapshot_data"'),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_bad_row_is_refused_naming_the_constraint(db: Database, case: str) -> None:
    """The database refuses the row and the store's error names what was violated."""
    table, first, bad, (on_sqlite, on_postgres) = CASES[case]
    await migrate.upgrade(db)
    async with db.write() as conn:
        await conn.execute(assessment_configs.insert(), CONFIG)
        await conn.execute(conversations.insert(), CONVERSATION)
        if first is not None and table not in (assessment_configs, conversations):
            await conn.execute(table.insert(), first)
    with pytest.raises(IntegrityError) as refused:
        async with db.write() as conn:
            await conn.execute(table.insert(), bad)
    message = str(constraint_violation(refused.value))
    assert message.startswith("refused by the database: ")
    assert (on_sqlite if db.is_sqlite else on_postgres) in message
