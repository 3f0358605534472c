"""The instructor console: assessments archived (closed to new attempts, kept with their
results), and the scores instructors set by hand, each with its reason.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("assessment_configs", sa.Column("archived_at", sa.DateTime(timezone=True)))
    op.create_table(
        "score_overrides",
        sa.Column("id", sa.Text()),
        sa.Column("conversation_id", sa.Text(), nullable=False),
        sa.Column("platform_id", sa.Text(), nullable=False),
        sa.Column("course_id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("previous_score", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            ondelete="CASCADE",
            name=op.f("fk_score_overrides_conversation_id"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_overrides")),
    )
    op.create_index("idx_score_override_conversation", "score_overrides", ["conversation_id"])


def downgrade() -> None:
    op.drop_table("score_overrides")
    with op.batch_alter_table("assessment_configs") as table:
        table.drop_column("archived_at")
