"""What goes wrong on the wire, and whose fault it is.

:class:`ProtocolError` is the base. :class:`InvalidMessage` is the client's fault and is
answered with an ``error`` frame (the socket stays open). :class:`ProtocolViolation` is
also the client's fault, but closes the socket. :class:`InvalidState` is our own misuse
of this package. Each carries its wire code.
"""

from __future__ import annotations

__all__ = [
    "CLOSE_FORBIDDEN",
    "CLOSE_GOING_AWAY",
    "CLOSE_NORMAL",
    "CLOSE_NOT_FOUND",
    "CLOSE_PROTOCOL_VIOLATION",
    "CLOSE_SERVER_ERROR",
    "CLOSE_SERVER_RESTART",
    "CLOSE_SLOW",
    "CLOSE_TOO_BIG",
    "CLOSE_TRY_AGAIN_LATER",
    "CLOSE_UNAUTHENTICATED",
    "InvalidMessage",
    "InvalidState",
    "ProtocolError",
    "ProtocolViolation",
]

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_TOO_BIG = 1009
CLOSE_SERVER_ERROR = 1011
CLOSE_SERVER_RESTART = 1012
# RFC 6455's registry: the user holds the most sockets allowed; one may close first.
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_PROTOCOL_VIOLATION = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_SLOW = 4408


class ProtocolError(Exception):
    """Base class of the protocol's errors."""


class InvalidMessage(ProtocolError):
    """A frame the client got wrong; answered with ``error`` and the socket stays open.

    Attributes:
        code: the ``error.code`` (``bad_frame``, ``too_long``, ...).
        ref: the frame's valid ``client_msg_id``, else its ``type``, else None.
    """

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.ref = ref


class ProtocolViolation(ProtocolError):
    """A client error that closes the socket (with ``close_code``, 4400 by default)."""

    def __init__(self, message: str, close_code: int = CLOSE_PROTOCOL_VIOLATION) -> None:
        super().__init__(message)
        self.close_code = close_code


class InvalidState(ProtocolError):
    """This package was used out of order: a bug on our side, not the client's."""
