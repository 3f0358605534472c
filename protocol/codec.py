"""Text to client frames, server frames to text. The only module that calls orjson.

:func:`parse_client_frame` returns a client frame or raises :class:`InvalidMessage` with
the exact ``error.code`` (the socket stays open) or :class:`ProtocolViolation` (it
closes). Unknown fields are ignored, so clients may add fields; unknown types are not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import orjson

from protocol.errors import InvalidMessage, ProtocolViolation
from protocol.messages import (
    Ack,
    AssistantDelta,
    AssistantEnd,
    AssistantStart,
    Cancel,
    ClientFrame,
    ClientMsgId,
    Complete,
    Completed,
    ConversationInfo,
    Error,
    Hello,
    MessageFrame,
    MessageId,
    Nonce,
    Ping,
    Pong,
    Progress,
    Send,
    ServerFrame,
    ServerPing,
    ServerPong,
    Welcome,
)

__all__ = [
    "DEFAULT_MAX_CONTENT",
    "MAX_CLIENT_MSG_ID",
    "encode",
    "parse_client_frame",
    "parse_server_frame",
]

DEFAULT_MAX_CONTENT = 8000
MAX_CLIENT_MSG_ID = 64
BAD_FRAME = "bad_frame"
TOO_LONG = "too_long"


def parse_client_frame(text: str, *, max_content: int = DEFAULT_MAX_CONTENT) -> ClientFrame:
    """Parse one text frame from a client.

    Args:
        text: the frame's text.
        max_content: the longest ``send.content`` accepted, in characters.

    Raises:
        InvalidMessage: ``bad_frame`` or ``too_long``, with its ``ref``.
        ProtocolViolation: a ``hello`` whose ``last_seq`` is negative or not an integer.
    """
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise InvalidMessage(BAD_FRAME, "frame is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidMessage(BAD_FRAME, "frame is not a JSON object")
    kind = value.get("type")
    if not isinstance(kind, str):
        raise InvalidMessage(BAD_FRAME, "frame has no string field type")
    parse = _PARSERS.get(kind)
    if parse is None:
        raise InvalidMessage(BAD_FRAME, f"unknown frame type {kind!r}", ref=kind)
    # NUL reaches JSON only escaped; the substring test keeps the scan off the hot path.
    if "\\u0000" in text:
        _refuse_nul(kind, value)
    return parse(value, max_content)


def encode(frame: ServerFrame | ClientFrame) -> str:
    """The JSON text of a frame (timestamps in ISO 8601 UTC)."""
    return orjson.dumps(frame, option=orjson.OPT_UTC_Z).decode()


def parse_server_frame(text: str) -> ServerFrame:
    """Parse a frame the server sent: what clients (the load generator, tests) read.

    Raises:
        InvalidMessage: the text is not a server frame.
    """
    try:
        value = orjson.loads(text)
        frame_type = _SERVER_TYPES[value["type"]]
        fields = {f.name for f in dataclasses.fields(frame_type)}
        arguments = {k: v for k, v in value.items() if k in fields and k != "type"}
        if frame_type is Welcome:
            arguments["conversation"] = ConversationInfo(**arguments["conversation"])
        if frame_type is MessageFrame:
            arguments["created_at"] = datetime.fromisoformat(arguments["created_at"])
        return frame_type(**arguments)
    except (orjson.JSONDecodeError, LookupError, TypeError, ValueError) as error:
        raise InvalidMessage(BAD_FRAME, f"not a server frame: {error}") from None


def _hello(value: Mapping[str, Any], _max: int) -> Hello:
    token = value.get("token")
    if not isinstance(token, str) or not token:
        raise InvalidMessage(BAD_FRAME, "hello.token must be a non-empty string", ref="hello")
    last_seq = value.get("last_seq", 0)
    if isinstance(last_seq, bool) or not isinstance(last_seq, int) or last_seq < 0:
        raise ProtocolViolation("hello.last_seq must be a non-negative integer")
    return Hello(token=token, last_seq=last_seq)


def _send(value: Mapping[str, Any], max_content: int) -> Send:
    client_msg_id = value.get("client_msg_id")
    if not isinstance(client_msg_id, str) or not 1 <= len(client_msg_id) <= MAX_CLIENT_MSG_ID:
        raise InvalidMessage(
            BAD_FRAME,
            f"send.client_msg_id must be a string of 1-{MAX_CLIENT_MSG_ID} characters",
            "send",
        )
    ref = client_msg_id
    content = value.get("content")
    if not isinstance(content, str) or not content:
        raise InvalidMessage(BAD_FRAME, "send.content must be a non-empty string", ref)
    if len(content) > max_content:
        raise InvalidMessage(TOO_LONG, f"send.content is over {max_content} characters", ref)
    return Send(client_msg_id=ClientMsgId(client_msg_id), content=content)


def _cancel(value: Mapping[str, Any], _max: int) -> Cancel:
    message_id = value.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise InvalidMessage(BAD_FRAME, "cancel.message_id must be a string", ref="cancel")
    return Cancel(message_id=MessageId(message_id))


def _refuse_nul(kind: str, value: Mapping[str, Any]) -> None:
    """Refuse a frame with NUL in a string field: no database stores it as text, and no
    id or answer has one."""
    for field, content in value.items():
        if isinstance(content, str) and "\x00" in content:
            client_msg_id = value.get("client_msg_id")
            valid_id = (
                isinstance(client_msg_id, str)
                and 1 <= len(client_msg_id) <= MAX_CLIENT_MSG_ID
                and "\x00" not in client_msg_id
            )
            ref = client_msg_id if valid_id and kind == "send" else kind
            raise InvalidMessage(BAD_FRAME, f"{kind}.{field} must not contain NUL", ref)


def _complete(_value: Mapping[str, Any], _max: int) -> Complete:
    return Complete()


def _nonce(value: Mapping[str, Any], kind: str) -> Nonce:
    nonce = value.get("nonce")
    if nonce is not None and (isinstance(nonce, bool) or not isinstance(nonce, str | int | float)):
        raise InvalidMessage(BAD_FRAME, f"{kind}.nonce must be a string or a number", ref=kind)
    return nonce


def _ping(value: Mapping[str, Any], _max: int) -> Ping:
    return Ping(nonce=_nonce(value, "ping"))


def _pong(value: Mapping[str, Any], _max: int) -> Pong:
    return Pong(nonce=_nonce(value, "pong"))


_PARSERS: dict[str, Callable[[Mapping[str, Any], int], ClientFrame]] = {
    "hello": _hello,
    "send": _send,
    "cancel": _cancel,
    "complete": _complete,
    "ping": _ping,
    "pong": _pong,
}


_SERVER_TYPES: dict[str, type[ServerFrame]] = {
    "welcome": Welcome,
    "message": MessageFrame,
    "ack": Ack,
    "assistant.start": AssistantStart,
    "assistant.delta": AssistantDelta,
    "assistant.end": AssistantEnd,
    "progress": Progress,
    "completed": Completed,
    "ping": ServerPing,
    "pong": ServerPong,
    "error": Error,
}
