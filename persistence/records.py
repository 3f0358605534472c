"""Rows as frozen values: what the stores return.

Timestamps are aware UTC datetimes; JSON columns come back as Python values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NewType, TypeVar

from persistence.values import as_utc

__all__ = [
    "AnalyticsSnapshot",
    "AssessmentConfig",
    "AssessmentConfigId",
    "Conversation",
    "ConversationId",
    "GeneratedContent",
    "GradeEntry",
    "JsonObject",
    "LaunchState",
    "LtiPlatform",
    "Message",
    "MessageId",
    "ResourceLink",
    "StudentProgress",
    "Tenant",
    "ToolKey",
    "from_row",
]

AssessmentConfigId = NewType("AssessmentConfigId", str)
ConversationId = NewType("ConversationId", str)
MessageId = NewType("MessageId", str)
JsonObject = dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Tenant:
    """Whose data a row is: a course on a platform (an LTI launch's context, or a
    token's ``platform`` and ``course``). Nothing crosses tenants."""

    platform_id: str
    course_id: str


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AssessmentConfig:
    id: AssessmentConfigId
    platform_id: str
    resource_link_id: str
    course_id: str
    assessment_type: str
    mastery_threshold: float
    grading_schema: str
    ai_config: JsonObject
    created_by: str
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None = None

    @property
    def tenant(self) -> Tenant:
        return Tenant(self.platform_id, self.course_id)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Conversation:
    id: ConversationId
    assessment_config_id: AssessmentConfigId
    user_id: str
    course_id: str
    platform_id: str
    status: str
    started_at: datetime
    completed_at: datetime | None
    mastery_score: float
    metadata: JsonObject | None
    last_seq: int
    last_activity_at: datetime

    @property
    def tenant(self) -> Tenant:
        return Tenant(self.platform_id, self.course_id)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    id: MessageId
    conversation_id: ConversationId
    seq: int
    role: str
    content: str
    status: str
    client_msg_id: str | None
    metadata: JsonObject | None
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StudentProgress:
    id: str
    user_id: str
    course_id: str
    platform_id: str
    total_assessments: int
    average_mastery: float
    struggle_patterns: JsonObject
    last_activity: datetime


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GeneratedContent:
    id: str
    assessment_config_id: AssessmentConfigId
    platform_id: str
    course_id: str
    content_hash: str
    content_type: str | None
    content: Any
    approved: bool
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AnalyticsSnapshot:
    id: str
    course_id: str
    platform_id: str
    assignment_id: str | None
    snapshot_data: JsonObject
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LtiPlatform:
    """An LMS registered by the operator; its ``id`` is the tenant's ``platform_id``."""

    id: str
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    jwks_url: str
    token_audience: str | None
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ToolKey:
    """One of the tool's RSA keys (the private key as PKCS#8 PEM)."""

    kid: str
    private_key: str
    created_at: datetime
    retired_at: datetime | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LaunchState:
    """An OIDC login in flight."""

    state: str
    platform_id: str
    nonce: str
    storage_target: str | None
    created_at: datetime
    expires_at: datetime


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ResourceLink:
    """A placement of the tool in a course, as its newest launch described it."""

    platform_id: str
    course_id: str
    resource_link_id: str
    deployment_id: str
    title: str | None
    lineitem_url: str | None
    lineitems_url: str | None
    ags_scopes: list[str] | None
    memberships_url: str | None
    updated_at: datetime


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GradeEntry:
    """A score in the outbox, on its way to a platform's gradebook."""

    id: str
    platform_id: str
    course_id: str
    user_id: str
    conversation_id: str
    resource_link_id: str
    score_given: float
    score_maximum: float
    activity_progress: str
    grading_progress: str
    comment: str | None
    scored_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None


RecordT = TypeVar("RecordT")


def from_row(record: type[RecordT], row: Mapping[Any, Any]) -> RecordT:
    """Build ``record`` from a row mapping holding (at least) all its fields."""
    names = [field.name for field in dataclasses.fields(record)]  # type: ignore[arg-type]
    values = {name: row[name] for name in names}
    for name, value in values.items():
        if isinstance(value, datetime):
            values[name] = as_utc(value)
    return record(**values)
