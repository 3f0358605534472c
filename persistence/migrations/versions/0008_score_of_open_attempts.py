"""PostgreSQL: a graded reply sets its conversation's score only while the attempt is
open, as on SQLite, so that a reply landing after the attempt closed leaves its final
score (or a teacher's override) alone.

The turn batch function of 0003, replaced with that one condition added.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_EARLIER: str = importlib.import_module(
    "persistence.migrations.versions.0003_turn_batch_function"
).FUNCTION
_SCORE = "UPDATE conversations SET mastery_score = (item->>'score')::float WHERE id = item->>'c'"
_SCORE_WHILE_OPEN = _SCORE + " AND status = 'active'"
if _EARLIER.count(_SCORE) != 1:
    raise RuntimeError("0003's turn batch function is not the one this migration changes")
FUNCTION = _EARLIER.replace(_SCORE, _SCORE_WHILE_OPEN)


def replacing(function: str) -> str:
    return function.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(replacing(FUNCTION))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(replacing(_EARLIER))
