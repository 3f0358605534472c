"""The tables, as SQLAlchemy Core ``Table`` objects in one ``MetaData``.

The seed data model (``seed/schema.md``) is kept whole: every column, default, CHECK,
UNIQUE, foreign key and index it names. Its inline ``INDEX`` clauses become separate
indexes with the seed's names. The protocol adds ``conversation_messages.seq``,
``status`` and ``client_msg_id``, and ``conversations.last_seq``; the product adds
``conversations.last_activity_at`` (for the idle sweeper) and a partial unique index that
keeps one active conversation per student and assessment.

Migrations (``persistence/migrations``) create the same schema; a test compares the two.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

__all__ = [
    "ASSESSMENT_TYPES",
    "CONVERSATION_STATUSES",
    "GRADE_STATUSES",
    "GRADING_SCHEMAS",
    "MAX_ID_CHARS",
    "MAX_SEQ",
    "MESSAGE_ROLES",
    "MESSAGE_STATUSES",
    "Json",
    "analytics_snapshots",
    "assessment_configs",
    "conversation_messages",
    "conversations",
    "flashcard_states",
    "generated_content",
    "grade_outbox",
    "lti_deployments",
    "lti_launch_states",
    "lti_platforms",
    "lti_resource_links",
    "lti_tool_keys",
    "metadata",
    "student_progress",
]

ASSESSMENT_TYPES = ("chat", "flashcards", "fill_blank")
# The highest seq a message can have: seq is an INTEGER, 32 bits on PostgreSQL. A client
# position beyond it (a hello's last_seq, a page's after_seq) is past every message.
MAX_SEQ = 2**31 - 1
# The longest id a client may name (a user, course, platform, resource link, row): ids
# are indexed, and PostgreSQL's index entries are at most about 2.7 KB.
MAX_ID_CHARS = 255
GRADING_SCHEMAS = ("mastery", "percentage", "engagement")
CONVERSATION_STATUSES = ("active", "completed", "abandoned")
MESSAGE_ROLES = ("user", "assistant", "system")
MESSAGE_STATUSES = ("complete", "streaming", "cancelled", "error", "interrupted")
GRADE_STATUSES = ("pending", "sent", "superseded", "failed")

# JSON on SQLite, JSONB on PostgreSQL, as the design asks.
# none_as_null: a Python None is SQL NULL, not the JSON text "null".
Json = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

metadata = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    }
)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL for ``column IN (...)``, the seed's CHECK form."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


def _belongs_to(name: str, parent: str) -> Column[str]:
    """A required reference to ``parent`` (``table.column``): the row goes with it."""
    return Column(name, Text, ForeignKey(parent, ondelete="CASCADE"), nullable=False)


def _timestamp(name: str, *, nullable: bool = True) -> Column[datetime]:
    """A UTC timestamp defaulting to the time of the insert."""
    return Column(
        name,
        DateTime(timezone=True),
        server_default=func.current_timestamp(),
        nullable=nullable,
    )


assessment_configs = Table(
    "assessment_configs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("platform_id", Text, nullable=False),
    Column("resource_link_id", Text, nullable=False),
    # The tenant is (platform_id, course_id): the course whose instructors own it.
    Column("course_id", Text, nullable=False, server_default=text("''")),
    Column("assessment_type", Text),
    Column("mastery_threshold", Float, server_default=text("80")),
    Column("grading_schema", Text),
    Column("ai_config", Json),
    Column("created_by", Text, nullable=False),
    _timestamp("created_at"),
    _timestamp("updated_at"),
    # Set when an instructor archives it: no new attempts; its results are kept.
    Column("archived_at", DateTime(timezone=True)),
    CheckConstraint(_one_of("assessment_type", ASSESSMENT_TYPES), name="assessment_type"),
    CheckConstraint(_one_of("grading_schema", GRADING_SCHEMAS), name="grading_schema"),
    UniqueConstraint("platform_id", "resource_link_id"),
)
Index("idx_assessment_tenant", assessment_configs.c.platform_id, assessment_configs.c.course_id)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Text, primary_key=True),
    Column("assessment_config_id", Text, ForeignKey("assessment_configs.id"), nullable=False),
    Column("user_id", Text, nullable=False),
    Column("course_id", Text, nullable=False),
    Column("platform_id", Text, nullable=False, server_default=text("''")),
    Column("status", Text),
    _timestamp("started_at"),
    Column("completed_at", DateTime(timezone=True)),
    Column("mastery_score", Float, server_default=text("0")),
    Column("metadata", Json),
    Column("last_seq", Integer, nullable=False, server_default=text("0")),
    _timestamp("last_activity_at", nullable=False),
    CheckConstraint(_one_of("status", CONVERSATION_STATUSES), name="status"),
    CheckConstraint("mastery_score BETWEEN 0 AND 100", name="mastery_score"),
    CheckConstraint("last_seq >= 0", name="last_seq"),
)
Index("idx_user_course", conversations.c.user_id, conversations.c.course_id)
Index("idx_conversation_tenant", conversations.c.platform_id, conversations.c.course_id)
Index("idx_status", conversations.c.status)
# Two tabs opening one assessment at once must find the same conversation.
Index(
    "uq_conversations_one_active",
    conversations.c.assessment_config_id,
    conversations.c.user_id,
    conversations.c.course_id,
    unique=True,
    sqlite_where=text("status = 'active'"),
    postgresql_where=text("status = 'active'"),
)
# The idle sweeper looks for active conversations by last activity.
Index("idx_status_activity", conversations.c.status, conversations.c.last_activity_at)

conversation_messages = Table(
    "conversation_messages",
    metadata,
    Column("id", Text, primary_key=True),
    _belongs_to("conversation_id", "conversations.id"),
    Column("role", Text),
    Column("content", Text, nullable=False),
    Column("metadata", Json),
    _timestamp("created_at"),
    Column("seq", Integer, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'complete'")),
    Column("client_msg_id", Text),
    CheckConstraint(_one_of("role", MESSAGE_ROLES), name="role"),
    CheckConstraint(_one_of("status", MESSAGE_STATUSES), name="status"),
    CheckConstraint("seq >= 1", name="seq"),
    # NULLs are distinct in a UNIQUE on both engines: unique "where present".
    UniqueConstraint("conversation_id", "seq"),
    UniqueConstraint("conversation_id", "client_msg_id"),
)
Index("idx_conversation", conversation_messages.c.conversation_id)

student_progress = Table(
    "student_progress",
    metadata,
    Column("id", Text, primary_key=True),
    Column("user_id", Text, nullable=False),
    Column("course_id", Text, nullable=False),
    Column("platform_id", Text, nullable=False, server_default=text("''")),
    Column("total_assessments", Integer, server_default=text("0")),
    Column("average_mastery", Float, server_default=text("0")),
    Column("struggle_patterns", Json),
    _timestamp("last_activity"),
    # The seed's UNIQUE(user_id, course_id), with the platform: the same user and course
    # ids on two platforms are two students (migration 0005).
    UniqueConstraint("platform_id", "user_id", "course_id"),
)
Index("idx_course", student_progress.c.course_id)

generated_content = Table(
    "generated_content",
    metadata,
    Column("id", Text, primary_key=True),
    Column("assessment_config_id", Text, ForeignKey("assessment_configs.id"), nullable=False),
    Column("platform_id", Text, nullable=False, server_default=text("''")),
    Column("course_id", Text, nullable=False, server_default=text("''")),
    Column("content_hash", Text, nullable=False),
    Column("content_type", Text),
    Column("content", Json, nullable=False),
    Column("approved", Boolean, server_default=false()),
    _timestamp("created_at"),
    UniqueConstraint("assessment_config_id", "content_hash"),
)

analytics_snapshots = Table(
    "analytics_snapshots",
    metadata,
    Column("id", Text, primary_key=True),
    Column("course_id", Text, nullable=False),
    Column("platform_id", Text, nullable=False, server_default=text("''")),
    Column("assignment_id", Text),
    Column("snapshot_data", Json, nullable=False),
    _timestamp("created_at"),
)
Index(
    "idx_course_assignment",
    analytics_snapshots.c.course_id,
    analytics_snapshots.c.assignment_id,
)

# Per student and card, the FSRS scheduling state that carries across sessions.
flashcard_states = Table(
    "flashcard_states",
    metadata,
    Column("id", Text, primary_key=True),
    Column("user_id", Text, nullable=False),
    Column("assessment_config_id", Text, ForeignKey("assessment_configs.id"), nullable=False),
    Column("card_id", Text, nullable=False),
    Column("state", Json, nullable=False),
    Column("due", DateTime(timezone=True), nullable=False),
    _timestamp("updated_at", nullable=False),
    UniqueConstraint("user_id", "assessment_config_id", "card_id"),
)

# LTI 1.3: the platforms (LMSs) an operator registered, each with its deployments. A
# platform's id is the tenant's ``platform_id`` of every launch from it; one issuer may
# register several times (Canvas Cloud is one issuer for every school), by client id.
lti_platforms = Table(
    "lti_platforms",
    metadata,
    Column("id", Text, primary_key=True),
    Column("issuer", Text, nullable=False),
    Column("client_id", Text, nullable=False),
    Column("auth_login_url", Text, nullable=False),
    Column("auth_token_url", Text, nullable=False),
    Column("jwks_url", Text, nullable=False),
    # The ``aud`` of the tool's client assertion when the platform wants another than its
    # token URL (Brightspace names one); NULL: the token URL.
    Column("token_audience", Text),
    _timestamp("created_at", nullable=False),
    UniqueConstraint("issuer", "client_id"),
)

lti_deployments = Table(
    "lti_deployments",
    metadata,
    Column("id", Text, primary_key=True),
    _belongs_to("platform_id", "lti_platforms.id"),
    Column("deployment_id", Text, nullable=False),
    _timestamp("created_at", nullable=False),
    UniqueConstraint("platform_id", "deployment_id"),
)

# The tool's own RSA keys: the newest unretired one signs; a retired one is still
# published until what it signed has expired.
lti_tool_keys = Table(
    "lti_tool_keys",
    metadata,
    Column("kid", Text, primary_key=True),
    Column("private_key", Text, nullable=False),  # PEM, PKCS#8
    _timestamp("created_at", nullable=False),
    Column("retired_at", DateTime(timezone=True)),
)

# An OIDC login in flight: its state and nonce, used once, within minutes.
lti_launch_states = Table(
    "lti_launch_states",
    metadata,
    Column("state", Text, primary_key=True),
    _belongs_to("platform_id", "lti_platforms.id"),
    Column("nonce", Text, nullable=False),
    # The platform's frame that keeps the state where cookies are blocked (LTI client-side
    # OIDC storage), when the login named one.
    Column("storage_target", Text),
    _timestamp("created_at", nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
Index("idx_launch_state_expiry", lti_launch_states.c.expires_at)

# What the newest launch of a resource link said of it: its course, and the platform's
# grade (AGS) and roster (NRPS) endpoints for it.
lti_resource_links = Table(
    "lti_resource_links",
    metadata,
    Column("id", Text, primary_key=True),
    Column("platform_id", Text, nullable=False),
    Column("course_id", Text, nullable=False),
    Column("resource_link_id", Text, nullable=False),
    Column("deployment_id", Text, nullable=False),
    Column("title", Text),
    Column("lineitem_url", Text),
    Column("lineitems_url", Text),
    Column("ags_scopes", Json),
    Column("memberships_url", Text),
    _timestamp("updated_at", nullable=False),
    UniqueConstraint("platform_id", "resource_link_id"),
)

# Scores on their way to the platforms' gradebooks (LTI AGS): written in the transaction
# that completes a conversation, sent by whichever process leases the row, retried until
# the platform takes them. A newer score of the same learner and link supersedes an older.
grade_outbox = Table(
    "grade_outbox",
    metadata,
    Column("id", Text, primary_key=True),
    Column("platform_id", Text, nullable=False),
    Column("course_id", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    _belongs_to("conversation_id", "conversations.id"),
    Column("resource_link_id", Text, nullable=False),
    Column("score_given", Float, nullable=False),
    Column("score_maximum", Float, nullable=False),
    Column("activity_progress", Text, nullable=False),
    Column("grading_progress", Text, nullable=False),
    Column("comment", Text),
    Column("scored_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("sent_at", DateTime(timezone=True)),
    _timestamp("created_at", nullable=False),
    CheckConstraint(_one_of("status", GRADE_STATUSES), name="status"),
)
score_overrides = Table(
    "score_overrides",
    metadata,
    Column("id", Text, primary_key=True),
    _belongs_to("conversation_id", "conversations.id"),
    Column("platform_id", Text, nullable=False),
    Column("course_id", Text, nullable=False),
    Column("user_id", Text, nullable=False),  # the student whose score it is
    Column("score", Float, nullable=False),
    Column("previous_score", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("set_by", Text, nullable=False),  # the instructor
    _timestamp("created_at", nullable=False),
)
Index("idx_score_override_conversation", score_overrides.c.conversation_id)

Index("idx_grade_outbox_due", grade_outbox.c.status, grade_outbox.c.next_attempt_at)
Index(
    "idx_grade_outbox_learner",
    grade_outbox.c.platform_id,
    grade_outbox.c.resource_link_id,
    grade_outbox.c.user_id,
)
