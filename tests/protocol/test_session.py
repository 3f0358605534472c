"""A connection's protocol states, with no event loop."""

from __future__ import annotations

import pytest

from protocol.errors import InvalidMessage, InvalidState, ProtocolViolation
from protocol.messages import Hello, Send
from protocol.session import ConnectionState, Session

HELLO = '{"type": "hello", "token": "t"}'
SEND = '{"type": "send", "client_msg_id": "c1", "content": "x"}'


def test_hello_then_frames() -> None:
    """The first frame is hello; once authenticated, other frames follow."""
    session = Session("conn-1")
    assert session.receive(HELLO, 0.0) == Hello(token="t")
    session.authenticated()
    assert session.state is ConnectionState.OPEN
    assert isinstance(session.receive(SEND, 1.0), Send)


@pytest.mark.parametrize("first", [SEND, '{"type": "ping"}', "garbage", '{"type": "hello"}'])
def test_anything_but_a_valid_hello_first_is_unauthenticated(first: str) -> None:
    """A first frame that is not a valid hello closes 4401."""
    with pytest.raises(ProtocolViolation) as violation:
        Session("conn-1").receive(first, 0.0)
    assert violation.value.close_code == 4401


def test_a_second_hello_is_a_violation() -> None:
    """hello on an open connection closes 4400."""
    session = Session("conn-1")
    session.receive(HELLO, 0.0)
    session.authenticated()
    with pytest.raises(ProtocolViolation, match="already sent") as violation:
        session.receive(HELLO, 1.0)
    assert violation.value.close_code == 4400


def test_twenty_refusals_a_minute_are_tolerated_not_twenty_one() -> None:
    """The 21st refused frame within a minute closes; older refusals expire."""
    session = Session("conn-1")
    session.receive(HELLO, 0.0)
    session.authenticated()
    for second in range(20):
        with pytest.raises(InvalidMessage):
            session.receive("garbage", float(second))
    with pytest.raises(ProtocolViolation, match="more than 20 refused frames"):
        session.receive("garbage", 30.0)
    relaxed = Session("conn-2")
    relaxed.receive(HELLO, 0.0)
    relaxed.authenticated()
    for second in range(0, 200, 5):  # one every 5 s: never 21 in a minute
        with pytest.raises(InvalidMessage):
            relaxed.receive("garbage", float(second))


def test_illegal_transitions_name_the_state() -> None:
    """Authenticating twice, or receiving after close, is our own misuse."""
    session = Session("conn-1")
    session.receive(HELLO, 0.0)
    session.authenticated()
    with pytest.raises(InvalidState, match="cannot go to open from open"):
        session.authenticated()
    session.closed()
    with pytest.raises(InvalidState, match="closed"):
        session.receive(SEND, 1.0)
