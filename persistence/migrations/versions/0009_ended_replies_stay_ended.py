"""PostgreSQL: a reply's text and status change only while it is streaming, as on
SQLite, so that a process that lost a conversation to another (which ended the reply
``interrupted`` with the text its clients were sent) cannot overwrite that end with its
own late save or end.

The turn batch function of 0008, replaced with that one condition added.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_SCORES = importlib.import_module("persistence.migrations.versions.0008_score_of_open_attempts")
_EARLIER: str = _SCORES.FUNCTION
_UPDATE = "        WHERE id = item->>'id';\n"
_UPDATE_WHILE_STREAMING = (
    "        WHERE id = item->>'id'\n"
    "          AND (status = 'streaming' OR NOT (item ? 'content' OR item ? 'status'));\n"
)
if _EARLIER.count(_UPDATE) != 1:
    raise RuntimeError("0008's turn batch function is not the one this migration changes")
FUNCTION = _EARLIER.replace(_UPDATE, _UPDATE_WHILE_STREAMING)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_SCORES.replacing(FUNCTION))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_SCORES.replacing(_EARLIER))
