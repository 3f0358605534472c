"""LTI 1.3: registered platforms and their deployments, the tool's keys, OIDC logins in
flight, what launches said of each resource link, and the outbox of scores on their way
to the platforms' gradebooks.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _created(name: str = "created_at") -> sa.Column[object]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.func.current_timestamp(), nullable=False
    )


def _of_platform(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["platform_id"],
        ["lti_platforms.id"],
        ondelete="CASCADE",
        name=op.f(f"fk_{table}_platform_id"),
    )


def upgrade() -> None:
    op.create_table(
        "lti_platforms",
        sa.Column("id", sa.Text()),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("auth_login_url", sa.Text(), nullable=False),
        sa.Column("auth_token_url", sa.Text(), nullable=False),
        sa.Column("jwks_url", sa.Text(), nullable=False),
        sa.Column("token_audience", sa.Text()),
        _created(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_platforms")),
        sa.UniqueConstraint("issuer", "client_id", name=op.f("uq_lti_platforms_issuer_client_id")),
    )
    op.create_table(
        "lti_deployments",
        sa.Column("id", sa.Text()),
        sa.Column("platform_id", sa.Text(), nullable=False),
        sa.Column("deployment_id", sa.Text(), nullable=False),
        _created(),
        _of_platform("lti_deployments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_deployments")),
        sa.UniqueConstraint(
            "platform_id",
            "deployment_id",
            name=op.f("uq_lti_deployments_platform_id_deployment_id"),
        ),
    )
    op.create_table(
        "lti_tool_keys",
        sa.Column("kid", sa.Text()),
        sa.Column("private_key", sa.Text(), nullable=False),
        _created(),
        sa.Column("retired_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_lti_tool_keys")),
    )
    op.create_table(
        "lti_launch_states",
        sa.Column("state", sa.Text()),
        sa.Column("platform_id", sa.Text(), nullable=False),
        sa.Column("nonce", sa.Text(), nullable=False),
        sa.Column("storage_target", sa.Text()),
        _created(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _of_platform("lti_launch_states"),
        sa.PrimaryKeyConstraint("state", name=op.f("pk_lti_launch_states")),
    )
    op.create_index("idx_launch_state_expiry", "lti_launch_states", ["expires_at"])
    op.create_table(
        "lti_resource_links",
        sa.Column("id", sa.Text()),
        sa.Column("platform_id", sa.Text(), nullable=False),
        sa.Column("course_id", sa.Text(), nullable=False),
        sa.Column("resource_link_id", sa.Text(), nullable=False),
        sa.Column("deployment_id", sa.Text(), nullable=False),
        sa.Column("title", sa.Text()),
        sa.Column("lineitem_url", sa.Text()),
        sa.Column("lineitems_url", sa.Text()),
        sa.Column("ags_scopes", sa.JSON().with_variant(JSONB(), "postgresql")),
        sa.Column("memberships_url", sa.Text()),
        _created("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_resource_links")),
        sa.UniqueConstraint(
            "platform_id",
            "resource_link_id",
            name=op.f("uq_lti_resource_links_platform_id_resource_link_id"),
        ),
    )
    op.create_table(
        "grade_outbox",
        sa.Column("id", sa.Text()),
        sa.Column("platform_id", sa.Text(), nullable=False),
        sa.Column("course_id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("conversation_id", sa.Text(), nullable=False),
        sa.Column("resource_link_id", sa.Text(), nullable=False),
        sa.Column("score_given", sa.Float(), nullable=False),
        sa.Column("score_maximum", sa.Float(), nullable=False),
        sa.Column("activity_progress", sa.Text(), nullable=False),
        sa.Column("grading_progress", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False, server_default=sa.text("'pending'")),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        _created(),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'superseded', 'failed')",
            name=op.f("ck_grade_outbox_status"),
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            ondelete="CASCADE",
            name=op.f("fk_grade_outbox_conversation_id"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grade_outbox")),
    )
    op.create_index("idx_grade_outbox_due", "grade_outbox", ["status", "next_attempt_at"])
    op.create_index(
        "idx_grade_outbox_learner", "grade_outbox", ["platform_id", "resource_link_id", "user_id"]
    )


def downgrade() -> None:
    op.drop_table("grade_outbox")
    op.drop_table("lti_resource_links")
    op.drop_index("idx_launch_state_expiry", table_name="lti_launch_states")
    op.drop_table("lti_launch_states")
    op.drop_table("lti_tool_keys")
    op.drop_table("lti_deployments")
    op.drop_table("lti_platforms")
