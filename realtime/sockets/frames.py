"""Stored rows as protocol frames."""

from __future__ import annotations

from persistence.records import Message
from protocol.messages import ClientMsgId, MessageFrame, MessageId

__all__ = ["message_frame"]


def message_frame(message: Message) -> MessageFrame:
    """The protocol's ``message`` frame of a stored message (replay and the HTTP API)."""
    return MessageFrame(
        seq=message.seq,
        id=MessageId(message.id),
        role=message.role,
        content=message.content,
        status=message.status,
        client_msg_id=ClientMsgId(message.client_msg_id) if message.client_msg_id else None,
        created_at=message.created_at,
    )
