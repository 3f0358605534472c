"""Parsing client frames and encoding server frames, with no event loop."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.codec import encode, parse_client_frame, parse_server_frame
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
    Ping,
    Pong,
    Progress,
    Send,
    ServerFrame,
    ServerPing,
    ServerPong,
    Welcome,
)

CLIENT_FRAMES: list[ClientFrame] = [
    Hello(token="t.o.k", last_seq=0),
    Hello(token="t.o.k", last_seq=42),
    Send(client_msg_id=ClientMsgId("c-1"), content="Paris ✓ «quoted» \n"),
    Cancel(message_id=MessageId("m-1")),
    Complete(),
    Ping(nonce="n-1"),
    Ping(nonce=7),
    Ping(),
    Pong(nonce="n-2"),
]
SERVER_FRAMES: list[ServerFrame] = [
    Welcome(
        conversation=ConversationInfo(
            id="c1", status="active", assessment_type="chat", mastery_score=12.5, last_seq=3
        ),
        recovered=True,
        replay=3,
    ),
    MessageFrame(
        seq=1,
        id=MessageId("m1"),
        role="user",
        content="hi",
        status="complete",
        client_msg_id=ClientMsgId("c-1"),
        created_at=datetime(2026, 11, 25, 10, 30, 1, 123456, tzinfo=UTC),
    ),
    Ack(client_msg_id=ClientMsgId("c-1"), message_id=MessageId("m1"), seq=1, duplicate=False),
    AssistantStart(message_id=MessageId("m2"), seq=2),
    AssistantDelta(message_id=MessageId("m2"), offset=5, text="héllo"),
    AssistantEnd(message_id=MessageId("m2"), status="complete", length=10),
    Progress(mastery_score=50.0, items_done=1, items_total=2),
    Completed(status="completed", mastery_score=100.0, passed=True),
    ServerPing(nonce="s-1"),
    ServerPong(nonce=None),
    Error(code="bad_frame", message="frame is not JSON", ref=None),
]


@pytest.mark.parametrize("frame", CLIENT_FRAMES, ids=lambda f: f.type)
def test_client_frames_round_trip(frame: ClientFrame) -> None:
    """Every client frame parses back to itself from its encoding."""
    assert parse_client_frame(encode(frame)) == frame


@pytest.mark.parametrize("frame", SERVER_FRAMES, ids=lambda f: f.type)
def test_server_frames_round_trip(frame: ServerFrame) -> None:
    """Every server frame parses back to itself from its encoding."""
    assert parse_server_frame(encode(frame)) == frame


def test_encoding_follows_the_protocol_field_names() -> None:
    """The wire form carries type, the protocol's field names and UTC timestamps."""
    wire = orjson.loads(encode(SERVER_FRAMES[1]))
    assert wire == {
        "seq": 1,
        "id": "m1",
        "role": "user",
        "content": "hi",
        "status": "complete",
        "client_msg_id": "c-1",
        "created_at": "2026-11-25T10:30:01.123456Z",
        "type": "message",
    }
    assert orjson.loads(encode(SERVER_FRAMES[0]))["protocol"] == "tutorchat.1"


LONG = "x" * 8001
# (text, error code, ref, message)
BAD: list[tuple[str, str, str | None, str]] = [
    ("not json", "bad_frame", None, "frame is not JSON"),
    ("", "bad_frame", None, "frame is not JSON"),
    ("[1, 2]", "bad_frame", None, "frame is not a JSON object"),
    ('"send"', "bad_frame", None, "frame is not a JSON object"),
    ("{}", "bad_frame", None, "frame has no string field type"),
    ('{"type": 5}', "bad_frame", None, "frame has no string field type"),
    ('{"type": "launch"}', "bad_frame", "launch", "unknown frame type 'launch'"),
    ('{"type": "hello"}', "bad_frame", "hello", "hello.token must be a non-empty string"),
    (
        '{"type": "hello", "token": 5}',
        "bad_frame",
        "hello",
        "hello.token must be a non-empty string",
    ),
    (
        '{"type": "send", "content": "x"}',
        "bad_frame",
        "send",
        "send.client_msg_id must be a string of 1-64 characters",
    ),
    (
        '{"type": "send", "client_msg_id": "", "content": "x"}',
        "bad_frame",
        "send",
        "send.client_msg_id must be a string of 1-64 characters",
    ),
    (
        '{"type": "send", "client_msg_id": 7, "content": "x"}',
        "bad_frame",
        "send",
        "send.client_msg_id must be a string of 1-64 characters",
    ),
    (
        '{"type": "send", "client_msg_id": "' + "c" * 65 + '", "content": "x"}',
        "bad_frame",
        "send",
        "send.client_msg_id must be a string of 1-64 characters",
    ),
    (
        '{"type": "send", "client_msg_id": "c1"}',
        "bad_frame",
        "c1",
        "send.content must be a non-empty string",
    ),
    (
        '{"type": "send", "client_msg_id": "c1", "content": ""}',
        "bad_frame",
        "c1",
        "send.content must be a non-empty string",
    ),
    (
        '{"type": "send", "client_msg_id": "c1", "content": ["x"]}',
        "bad_frame",
        "c1",
        "send.content must be a non-empty string",
    ),
    (
        '{"type": "send", "client_msg_id": "c1", "content": "' + LONG + '"}',
        "too_long",
        "c1",
        "send.content is over 8000 characters",
    ),
    ('{"type": "cancel"}', "bad_frame", "cancel", "cancel.message_id must be a string"),
    (
        '{"type": "cancel", "message_id": 12}',
        "bad_frame",
        "cancel",
        "cancel.message_id must be a string",
    ),
    (
        '{"type": "ping", "nonce": {"a": 1}}',
        "bad_frame",
        "ping",
        "ping.nonce must be a string or a number",
    ),
    (
        '{"type": "pong", "nonce": true}',
        "bad_frame",
        "pong",
        "pong.nonce must be a string or a number",
    ),
    (
        '{"type": "send", "client_msg_id": "c1", "content": "a\\u0000b"}',
        "bad_frame",
        "c1",
        "send.content must not contain NUL",
    ),
    (
        '{"type": "send", "client_msg_id": "c\\u0000", "content": "x"}',
        "bad_frame",
        "send",
        "send.client_msg_id must not contain NUL",
    ),
    (
        '{"type": "cancel", "message_id": "\\u0000"}',
        "bad_frame",
        "cancel",
        "cancel.message_id must not contain NUL",
    ),
    (
        '{"type": "ping", "nonce": "\\u0000"}',
        "bad_frame",
        "ping",
        "ping.nonce must not contain NUL",
    ),
]


def test_a_backslash_u_typed_by_a_student_is_not_a_nul() -> None:
    """The text backslash-u-0000 (escaped in JSON) is content like any other."""
    frame = parse_client_frame('{"type": "send", "client_msg_id": "c1", "content": "\\\\u0000"}')
    assert isinstance(frame, Send) and frame.content == "\\u0000"


@pytest.mark.parametrize(("text", "code", "ref", "message"), BAD)
def test_malformed_frames_map_to_their_code(
    text: str, code: str, ref: str | None, message: str
) -> None:
    """Each malformed input is refused with its error code, ref and message."""
    with pytest.raises(InvalidMessage) as refused:
        parse_client_frame(text)
    assert (refused.value.code, refused.value.ref, str(refused.value)) == (code, ref, message)


def test_the_content_limit_is_configurable() -> None:
    """A smaller limit refuses longer content as too_long."""
    frame = '{"type": "send", "client_msg_id": "c1", "content": "abcdef"}'
    with pytest.raises(InvalidMessage, match="over 5 characters"):
        parse_client_frame(frame, max_content=5)
    assert isinstance(parse_client_frame(frame, max_content=6), Send)


@pytest.mark.parametrize("last_seq", ["-1", "1.5", '"3"', "true", "null"])
def test_a_bad_last_seq_is_a_violation(last_seq: str) -> None:
    """A negative or non-integer last_seq closes the socket (4400)."""
    with pytest.raises(ProtocolViolation, match="last_seq") as violation:
        parse_client_frame('{"type": "hello", "token": "t", "last_seq": ' + last_seq + "}")
    assert violation.value.close_code == 4400


def test_unknown_fields_are_ignored() -> None:
    """Clients may add fields: they are ignored."""
    frame = parse_client_frame('{"type": "complete", "reason": "done", "x": [1]}')
    assert frame == Complete()


json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
frame_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["hello", "send", "cancel", "complete", "ping", "pong", "x"])},
    optional={
        "token": json_values,
        "last_seq": json_values,
        "client_msg_id": json_values,
        "content": json_values,
        "message_id": json_values,
        "nonce": json_values,
    },
)


@given(st.text())
def test_arbitrary_text_gives_a_frame_or_a_protocol_error(text: str) -> None:
    """Any text at all parses to a frame or raises one of the protocol's errors."""
    _frame_or_error(text)


@given(frame_like)
def test_arbitrary_frame_shaped_json_gives_a_frame_or_a_protocol_error(value: Any) -> None:
    """Any JSON object shaped like a frame parses to a frame or a protocol error."""
    # The standard library writes integers of any size, which the parser must survive.
    _frame_or_error(json.dumps(value))


def _frame_or_error(text: str) -> None:
    try:
        frame = parse_client_frame(text)
    except InvalidMessage as refused:
        assert refused.code in {"bad_frame", "too_long"}
    except ProtocolViolation as violation:
        assert violation.close_code == 4400
    else:
        assert isinstance(frame, Hello | Send | Cancel | Complete | Ping | Pong)
