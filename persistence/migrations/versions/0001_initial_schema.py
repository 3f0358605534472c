"""The initial schema: the seed's six tables, plus what the protocol needs.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the column types this revision creates; later revisions own theirs.
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
ACTIVE = sa.text("status = 'active'")


def _now(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.func.current_timestamp(),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "assessment_configs",
        sa.Column("id", sa.Text()),
        sa.Column("platform_id", sa.Text(), nullable=False),
        sa.Column("resource_link_id", sa.Text(), nullable=False),
        sa.Column("assessment_type", sa.Text()),
        sa.Column("mastery_threshold", sa.Float(), server_default=sa.text("80")),
        sa.Column("grading_schema", sa.Text()),
        sa.Column("ai_config", JSON),
        sa.Column("created_by", sa.Text(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.CheckConstraint(
            "assessment_type IN ('chat', 'flashcards', 'fill_blank')",
            name=op.f("ck_assessment_configs_assessment_type"),
        ),
        sa.CheckConstraint(
            "grading_schema IN ('mastery', 'percentage', 'engagement')",
            name=op.f("ck_assessment_configs_grading_schema"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_configs")),
        sa.UniqueConstraint(
            "platform_id",
            "resource_link_id",
            name=op.f("uq_assessment_configs_platform_id_resource_link_id"),
        ),
    )

    op.create_table(
        "conversations",
        sa.Column("id", sa.Text()),
        sa.Column("assessment_config_id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("course_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text()),
        _now("started_at"),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("mastery_score", sa.Float(), server_default=sa.text("0")),
        sa.Column("metadata", JSON),
        sa.Column("last_seq", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _now("last_activity_at", nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'completed', 'abandoned')",
            name=op.f("ck_conversations_status"),
        ),
        sa.CheckConstraint(
            "mastery_score BETWEEN 0 AND 100", name=op.f("ck_conversations_mastery_score")
        ),
        sa.CheckConstraint("last_seq >= 0", name=op.f("ck_conversations_last_seq")),
        sa.ForeignKeyConstraint(
            ["assessment_config_id"],
            ["assessment_configs.id"],
            name=op.f("fk_conversations_assessment_config_id"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
    )
    op.create_index("idx_user_course", "conversations", ["user_id", "course_id"])
    op.create_index("idx_status", "conversations", ["status"])
    op.create_index("idx_status_activity", "conversations", ["status", "last_activity_at"])
    op.create_index(
        "uq_conversations_one_active",
        "conversations",
        ["assessment_config_id", "user_id", "course_id"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )

    op.create_table(
        "conversation_messages",
        sa.Column("id", sa.Text()),
        sa.Column("conversation_id", sa.Text(), nullable=False),
        sa.Column("role", sa.Text()),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("metadata", JSON),
        _now("created_at"),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'complete'"), nullable=False),
        sa.Column("client_msg_id", sa.Text()),
        sa.CheckConstraint(
            "role IN ('user', 'assistant', 'system')",
            name=op.f("ck_conversation_messages_role"),
        ),
        sa.CheckConstraint(
            "status IN ('complete', 'streaming', 'cancelled', 'error', 'interrupted')",
            name=op.f("ck_conversation_messages_status"),
        ),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_conversation_messages_seq")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_messages_conversation_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_messages")),
        sa.UniqueConstraint(
            "conversation_id", "seq", name=op.f("uq_conversation_messages_conversation_id_seq")
        ),
        sa.UniqueConstraint(
            "conversation_id",
            "client_msg_id",
            name=op.f("uq_conversation_messages_conversation_id_client_msg_id"),
        ),
    )
    op.create_index("idx_conversation", "conversation_messages", ["conversation_id"])

    op.create_table(
        "student_progress",
        sa.Column("id", sa.Text()),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("course_id", sa.Text(), nullable=False),
        sa.Column("total_assessments", sa.Integer(), server_default=sa.text("0")),
        sa.Column("average_mastery", sa.Float(), server_default=sa.text("0")),
        sa.Column("struggle_patterns", JSON),
        _now("last_activity"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_student_progress")),
        sa.UniqueConstraint(
            "user_id", "course_id", name=op.f("uq_student_progress_user_id_course_id")
        ),
    )
    op.create_index("idx_course", "student_progress", ["course_id"])

    op.create_table(
        "generated_content",
        sa.Column("id", sa.Text()),
        sa.Column("assessment_config_id", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text()),
        sa.Column("content", JSON, nullable=False),
        sa.Column("approved", sa.Boolean(), server_default=sa.false()),
        _now("created_at"),
        sa.ForeignKeyConstraint(
            ["assessment_config_id"],
            ["assessment_configs.id"],
            name=op.f("fk_generated_content_assessment_config_id"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generated_content")),
        sa.UniqueConstraint(
            "assessment_config_id",
            "content_hash",
            name=op.f("uq_generated_content_assessment_config_id_content_hash"),
        ),
    )

    op.create_table(
        "analytics_snapshots",
        sa.Column("id", sa.Text()),
        sa.Column("course_id", sa.Text(), nullable=False),
        sa.Column("assignment_id", sa.Text()),
        sa.Column("snapshot_data", JSON, nullable=False),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_snapshots")),
    )
    op.create_index("idx_course_assignment", "analytics_snapshots", ["course_id", "assignment_id"])


def downgrade() -> None:
    for table in (
        "analytics_snapshots",
        "generated_content",
        "student_progress",
        "conversation_messages",
        "conversations",
        "assessment_configs",
    ):
        op.drop_table(table)
