"""Fan-out of conversation events, behind a small interface.

Rooms publish every event of a conversation through a :class:`Broker` and subscribe to
the conversations they have sockets for. The in-process broker delivers to the
subscribers of this process; a Redis-backed broker implements the same interface for
many processes, and the rooms do not change.

Publishing never waits: it is a plain call, and ``deliver`` is a plain function that
must only queue the event (a socket's bounded outbox does that), so one slow socket
cannot delay the others, and a reply's deltas can be published from a timer.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from protocol.messages import ServerFrame

__all__ = ["Broker", "Event", "InProcessBroker"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One event of a conversation.

    Attributes:
        conversation_id: the conversation.
        frame: what the sockets are sent.
        seq: the seq of the message the event belongs to (None for progress and the
            like); a subscriber that sees a gap resynchronises from the database.
        origin: the connection that caused it, if any.
        for_origin: what that connection gets instead of ``frame`` (the ``ack`` of its
            turn, where the others get the ``message``); None: nothing.
    """

    conversation_id: str
    frame: ServerFrame
    seq: int | None = None
    origin: str | None = None
    for_origin: ServerFrame | None = None


Deliver = Callable[[Event], None]


class Broker(Protocol):
    """Publishes a conversation's events to every process that has listeners for it."""

    def publish(self, event: Event) -> None:
        """Send ``event`` to every subscriber of its conversation, without waiting."""

    def subscribe(
        self, conversation_id: str, deliver: Deliver
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """Deliver the conversation's events to ``deliver`` until the block ends."""


class InProcessBroker:
    """The broker of a single process: subscribers are called directly."""

    def __init__(self) -> None:
        # Keyed by subscription, not by callback: a room that leaves and joins again
        # subscribes the same bound method twice, and the first subscription's exit
        # may come after the second's entry.
        self._subscribers: dict[str, dict[object, Deliver]] = {}

    def publish(self, event: Event) -> None:
        # A copy: a subscriber may leave while this loop runs.
        for deliver in tuple(self._subscribers.get(event.conversation_id, {}).values()):
            deliver(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, conversation_id: str, deliver: Deliver) -> AsyncIterator[None]:
        subscription = object()
        self._subscribers.setdefault(conversation_id, {})[subscription] = deliver
        try:
            yield
        finally:
            subscribers = self._subscribers[conversation_id]
            del subscribers[subscription]
            if not subscribers:
                del self._subscribers[conversation_id]

    def conversations(self) -> list[str]:
        """The conversations with subscribers here."""
        return list(self._subscribers)

    def subscriber_count(self, conversation_id: str) -> int:
        """How many subscribers a conversation has here (for metrics and tests)."""
        return len(self._subscribers.get(conversation_id, ()))
