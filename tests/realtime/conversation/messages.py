"""Messages made by hand, for the tests of a live conversation's parts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from persistence.records import ConversationId, Message, MessageId


def message(
    seq: int,
    role: str = "user",
    content: str = "",
    *,
    status: str = "complete",
    metadata: dict[str, Any] | None = None,
) -> Message:
    """Message ``seq`` of conversation c1 (its id is ``m<seq>``)."""
    return Message(
        id=MessageId(f"m{seq}"),
        conversation_id=ConversationId("c1"),
        seq=seq,
        role=role,
        content=content,
        status=status,
        client_msg_id=None,
        metadata=metadata,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def reply(seq: int, in_reply_to: int | None, content: str = "", **changes: Any) -> Message:
    """The tutor's reply ``seq``, answering turn ``in_reply_to`` (None: the opening)."""
    return message(seq, "assistant", content, metadata={"in_reply_to": in_reply_to}, **changes)
