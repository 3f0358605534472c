"""Flashcard scheduling state (FSRS) per student and card.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "flashcard_states",
        sa.Column("id", sa.Text()),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("assessment_config_id", sa.Text(), nullable=False),
        sa.Column("card_id", sa.Text(), nullable=False),
        sa.Column("state", JSON, nullable=False),
        sa.Column("due", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.current_timestamp(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["assessment_config_id"],
            ["assessment_configs.id"],
            name=op.f("fk_flashcard_states_assessment_config_id"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flashcard_states")),
        sa.UniqueConstraint(
            "user_id",
            "assessment_config_id",
            "card_id",
            name=op.f("uq_flashcard_states_user_id_assessment_config_id_card_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("flashcard_states")
