"""Every frame of the ``tutorchat.1`` protocol as a typed, frozen value.

Client frames are what :func:`protocol.codec.parse_client_frame` returns; server frames
are what :func:`protocol.codec.encode` turns into text. Fields are as in the protocol
document, in the same order.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Literal, NewType

__all__ = [
    "PROTOCOL_VERSION",
    "Ack",
    "AssistantDelta",
    "AssistantEnd",
    "AssistantStart",
    "Cancel",
    "ClientFrame",
    "ClientMsgId",
    "Complete",
    "Completed",
    "ConversationInfo",
    "Error",
    "Hello",
    "MessageFrame",
    "MessageId",
    "Nonce",
    "Ping",
    "Pong",
    "Progress",
    "Send",
    "ServerFrame",
    "ServerPing",
    "ServerPong",
    "Welcome",
]

PROTOCOL_VERSION = "tutorchat.1"

MessageId = NewType("MessageId", str)
ClientMsgId = NewType("ClientMsgId", str)
Nonce = str | int | float | None


# Client -> server


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Hello:
    token: str
    last_seq: int = 0
    type: Literal["hello"] = "hello"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Send:
    client_msg_id: ClientMsgId
    content: str
    type: Literal["send"] = "send"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Cancel:
    message_id: MessageId
    type: Literal["cancel"] = "cancel"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Complete:
    type: Literal["complete"] = "complete"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Ping:
    nonce: Nonce = None
    type: Literal["ping"] = "ping"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Pong:
    nonce: Nonce = None
    type: Literal["pong"] = "pong"


ClientFrame = Hello | Send | Cancel | Complete | Ping | Pong


# Server -> client


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ConversationInfo:
    id: str
    status: str
    assessment_type: str
    mastery_score: float
    last_seq: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Welcome:
    conversation: ConversationInfo
    recovered: bool
    replay: int
    protocol: str = PROTOCOL_VERSION
    type: Literal["welcome"] = "welcome"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MessageFrame:
    seq: int
    id: MessageId
    role: str
    content: str
    status: str
    client_msg_id: ClientMsgId | None
    created_at: datetime
    type: Literal["message"] = "message"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Ack:
    client_msg_id: ClientMsgId
    message_id: MessageId
    seq: int
    duplicate: bool
    type: Literal["ack"] = "ack"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AssistantStart:
    message_id: MessageId
    seq: int
    type: Literal["assistant.start"] = "assistant.start"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AssistantDelta:
    message_id: MessageId
    offset: int
    text: str
    type: Literal["assistant.delta"] = "assistant.delta"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AssistantEnd:
    message_id: MessageId
    status: str
    length: int
    type: Literal["assistant.end"] = "assistant.end"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    mastery_score: float
    items_done: int
    items_total: int
    type: Literal["progress"] = "progress"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Completed:
    status: str
    mastery_score: float
    passed: bool
    type: Literal["completed"] = "completed"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ServerPing:
    nonce: Nonce
    type: Literal["ping"] = "ping"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ServerPong:
    nonce: Nonce
    type: Literal["pong"] = "pong"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Error:
    code: str
    message: str
    ref: str | None = None
    type: Literal["error"] = "error"


ServerFrame = (
    Welcome
    | MessageFrame
    | Ack
    | AssistantStart
    | AssistantDelta
    | AssistantEnd
    | Progress
    | Completed
    | ServerPing
    | ServerPong
    | Error
)
