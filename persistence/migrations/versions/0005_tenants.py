"""Every row names its tenant: the (platform, course) pair of an LTI launch or a token.

The seed kept assessments by platform and resource link with no course, conversations,
progress and snapshots by course with no platform: an instructor of another course on
the platform could read and overwrite an assessment, and the same course id on another
platform read another school's progress. Now ``assessment_configs`` has its
``course_id``, and conversations, progress, snapshots and generated content have their
``platform_id`` (content its ``course_id`` too), and every read and write checks them.

The seed's UNIQUE(user_id, course_id) on ``student_progress`` becomes
UNIQUE(platform_id, user_id, course_id): the same ids on two platforms are two students.

Backfill: an assessment takes the course most of its conversations have (an assessment
with none keeps an empty course, which no instructor's token names: the operator assigns
it); conversations and content take their assessment's platform (content its course);
progress and snapshots the platform of the course's assessments, when only one platform
has that course id (else an empty platform, for the operator to assign).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The platform of a course, from its assessments: only when one platform has that course
# id. Two platforms with the same course id are two schools, and which one a row of
# progress or a snapshot was of is not known: it is left to the operator ('').
_COURSE_PLATFORM = (
    "(SELECT CASE WHEN count(DISTINCT a.platform_id) = 1 THEN min(a.platform_id) END "
    "FROM assessment_configs a WHERE a.course_id = {table}.course_id AND a.course_id <> '')"
)


def _tenant_column(table: str, name: str) -> None:
    op.add_column(table, sa.Column(name, sa.Text(), nullable=False, server_default=sa.text("''")))


def upgrade() -> None:
    _tenant_column("assessment_configs", "course_id")
    for table in ("conversations", "student_progress", "generated_content", "analytics_snapshots"):
        _tenant_column(table, "platform_id")
    _tenant_column("generated_content", "course_id")
    op.execute(
        "UPDATE assessment_configs SET course_id = COALESCE(("
        "SELECT c.course_id FROM conversations c WHERE c.assessment_config_id = "
        "assessment_configs.id GROUP BY c.course_id ORDER BY count(*) DESC, c.course_id "
        "LIMIT 1), '')"
    )
    op.execute(
        "UPDATE conversations SET platform_id = (SELECT a.platform_id FROM assessment_configs "
        "a WHERE a.id = conversations.assessment_config_id)"
    )
    op.execute(
        "UPDATE generated_content SET platform_id = (SELECT a.platform_id FROM "
        "assessment_configs a WHERE a.id = generated_content.assessment_config_id), "
        "course_id = (SELECT a.course_id FROM assessment_configs a "
        "WHERE a.id = generated_content.assessment_config_id)"
    )
    for table in ("student_progress", "analytics_snapshots"):
        platform = _COURSE_PLATFORM.format(table=table)
        op.execute(f"UPDATE {table} SET platform_id = COALESCE({platform}, '')")
    op.create_index("idx_assessment_tenant", "assessment_configs", ["platform_id", "course_id"])
    op.create_index("idx_conversation_tenant", "conversations", ["platform_id", "course_id"])
    # SQLite changes a table's constraints only by making the table again (batch mode).
    with op.batch_alter_table("student_progress") as batch:
        batch.drop_constraint("uq_student_progress_user_id_course_id", type_="unique")
        batch.create_unique_constraint(
            "uq_student_progress_platform_id_user_id_course_id",
            ["platform_id", "user_id", "course_id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("student_progress") as batch:
        batch.drop_constraint("uq_student_progress_platform_id_user_id_course_id", type_="unique")
        batch.create_unique_constraint(
            "uq_student_progress_user_id_course_id", ["user_id", "course_id"]
        )
    op.drop_index("idx_conversation_tenant", "conversations")
    op.drop_index("idx_assessment_tenant", "assessment_configs")
    for table, column in (
        ("generated_content", "course_id"),
        ("analytics_snapshots", "platform_id"),
        ("generated_content", "platform_id"),
        ("student_progress", "platform_id"),
        ("conversations", "platform_id"),
        ("assessment_configs", "course_id"),
    ):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
