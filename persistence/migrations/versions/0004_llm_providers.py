"""Assessments name one of the operator's LLM providers; endpoints and keys leave them.

Before this, ``ai_config.llm`` held a ``base_url`` and the name of an environment variable
whose value was sent to it as the key: any instructor could send any of the server's
variables to any address. Now an assessment names a provider (``provider`` and ``model``)
of the server's ``TUTORCHAT_LLM_PROVIDERS``. A stored ``llm`` of the old form becomes
``{"provider": "legacy", "model": ...}`` (its sampling settings kept, its endpoint, key
variable and timeouts dropped): it speaks through a provider named ``legacy`` if the
operator configures one, and through the built-in tutor otherwise.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LEGACY_PROVIDER = "legacy"
KEPT = ("temperature", "max_tokens")
CHOICE = ("provider", "model", *KEPT)  # the fields of the new form

configs = sa.table(
    "assessment_configs",
    sa.column("id", sa.Text),
    sa.column("ai_config", sa.JSON().with_variant(JSONB(), "postgresql")),
)


def upgrade() -> None:
    bind = op.get_bind()
    for config_id, ai_config in bind.execute(sa.select(configs.c.id, configs.c.ai_config)).all():
        converted = _without_endpoint(ai_config)
        if converted is not None:
            bind.execute(
                configs.update().where(configs.c.id == config_id).values(ai_config=converted)
            )


def downgrade() -> None:
    pass  # the endpoints were dropped: there is nothing to put back


def _without_endpoint(ai_config: Any) -> dict[str, Any] | None:
    """The configuration with an old-form ``llm`` converted, or None if it has none."""
    if not isinstance(ai_config, dict):
        return None
    llm = ai_config.get("llm")
    if not isinstance(llm, dict) or set(llm) <= set(CHOICE):
        return None  # none, or one of the new form already
    model = llm.get("model")
    provider = llm.get("provider") if isinstance(llm.get("provider"), str) else LEGACY_PROVIDER
    choice = {"provider": provider, "model": model if isinstance(model, str) else "unknown"}
    choice |= {key: llm[key] for key in KEPT if key in llm}
    return ai_config | {"llm": choice}
