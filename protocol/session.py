"""One connection's protocol state, with every transition in this module.

A connection starts ``AWAITING_HELLO``: its first frame must be a valid ``hello``
(anything else closes it 4401). Once the server has authenticated it, it is ``OPEN``
until it is ``CLOSED``; a second ``hello`` is a violation (4400). Every refused frame
is counted, and the 21st within a minute closes the connection (4400). No I/O: the
caller passes the time.
"""

from __future__ import annotations

import bisect
import enum
import logging

from protocol.codec import DEFAULT_MAX_CONTENT, parse_client_frame
from protocol.errors import (
    CLOSE_UNAUTHENTICATED,
    InvalidMessage,
    InvalidState,
    ProtocolViolation,
)
from protocol.messages import ClientFrame, Hello

__all__ = ["ConnectionState", "Session"]

logger = logging.getLogger(__name__)

REFUSAL_LIMIT = 20
REFUSAL_WINDOW = 60.0


class ConnectionState(enum.Enum):
    AWAITING_HELLO = "awaiting_hello"
    OPEN = "open"
    CLOSED = "closed"


class Session:
    """Parses a connection's frames in the light of its state.

    Args:
        connection_id: named in logs.
        max_content: the longest ``send.content``, in characters.
    """

    def __init__(self, connection_id: str, *, max_content: int = DEFAULT_MAX_CONTENT) -> None:
        self.connection_id = connection_id
        self.max_content = max_content
        self.state = ConnectionState.AWAITING_HELLO
        self._refusals: list[float] = []  # times, oldest first (a list: usually empty)

    def receive(self, text: str, now: float) -> ClientFrame:
        """The client frame in ``text``.

        Raises:
            InvalidMessage: answer with ``error`` (the refusal is already counted).
            ProtocolViolation: close the connection with its ``close_code``.
            InvalidState: the connection is closed.
        """
        if self.state is ConnectionState.CLOSED:
            raise InvalidState("the connection is closed")
        try:
            frame = parse_client_frame(text, max_content=self.max_content)
        except InvalidMessage as error:
            if self.state is ConnectionState.AWAITING_HELLO:
                raise ProtocolViolation(f"expected hello: {error}", CLOSE_UNAUTHENTICATED) from None
            self.refused(now)
            raise
        if self.state is ConnectionState.AWAITING_HELLO and not isinstance(frame, Hello):
            raise ProtocolViolation(f"expected hello, got {frame.type}", CLOSE_UNAUTHENTICATED)
        if self.state is ConnectionState.OPEN and isinstance(frame, Hello):
            raise ProtocolViolation("hello was already sent on this connection")
        return frame

    def refused(self, now: float) -> None:
        """Count a refused frame; raises ProtocolViolation past the limit."""
        self._refusals.append(now)
        del self._refusals[: bisect.bisect_right(self._refusals, now - REFUSAL_WINDOW)]
        if len(self._refusals) > REFUSAL_LIMIT:
            raise ProtocolViolation(f"more than {REFUSAL_LIMIT} refused frames in a minute")

    def authenticated(self) -> None:
        """The hello was accepted: the connection is open."""
        self._move(ConnectionState.AWAITING_HELLO, ConnectionState.OPEN)

    def closed(self) -> None:
        """The connection is closed (from any state)."""
        if self.state is not ConnectionState.CLOSED:
            logger.debug("= %s %s -> closed", self.connection_id, self.state.value)
            self.state = ConnectionState.CLOSED

    def _move(self, expected: ConnectionState, new: ConnectionState) -> None:
        if self.state is not expected:
            raise InvalidState(f"cannot go to {new.value} from {self.state.value}")
        logger.debug("= %s %s -> %s", self.connection_id, self.state.value, new.value)
        self.state = new
