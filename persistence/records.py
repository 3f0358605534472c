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
    "JsonObject",
    "Message",
    "MessageId",
    "StudentProgress",
    "Tenant",
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


RecordT = TypeVar("RecordT")


def from_row(record: type[RecordT], row: Mapping[Any, Any]) -> RecordT:
    """Build ``record`` from a row mapping holding (at least) all its fields."""
    names = [field.name for field in dataclasses.fields(record)]  # type: ignore[arg-type]
    values = {name: row[name] for name in names}
    for name, value in values.items():
        if isinstance(value, datetime):
            values[name] = as_utc(value)
    return record(**values)
