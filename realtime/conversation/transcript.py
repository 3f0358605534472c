"""The messages of a live conversation, held in memory as the tutor and replays read them.

The database holds every message; a live conversation also holds them here, so that a
turn is graded and answered without a read. Seqs run from 1 without gaps, which lets a
runtime tell from the count alone whether another process stored messages it lacks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from assessment.prompts import HISTORY_TURNS
from assessment.session import Turn
from persistence.records import Message

__all__ = ["Transcript", "further_on", "turns"]


class Transcript:
    """A conversation's messages in seq order, as this process knows them.

    Args:
        messages: every message of the conversation, as stored.
    """

    __slots__ = ("messages",)

    def __init__(self, messages: Sequence[Message]) -> None:
        self.messages: list[Message] = []
        self.adopt(messages)

    def adopt(self, messages: Sequence[Message]) -> None:
        """Hold ``messages`` (all of the conversation's, as stored) instead."""
        # The opening's plan is in the session; each live conversation need not hold its
        # own copy of it (the database keeps it).
        self.messages = [_without_plan(m) for m in messages]

    @property
    def head(self) -> int:
        """The highest seq held (0 before the first message)."""
        return max((m.seq for m in self.messages), default=0)

    @property
    def opened(self) -> bool:
        """The tutor has spoken (the opening reply has its message)."""
        return any(m.role == "assistant" for m in self.messages)

    @property
    def complete(self) -> bool:
        """No seq is missing below the head (none was stored elsewhere unseen)."""
        return len(self.messages) == self.head

    def append(self, message: Message) -> None:
        """Hold a message just stored (the newest)."""
        self.messages.append(_without_plan(message))

    def replace(self, message_id: str, **changes: Any) -> None:
        """Change a message held: one of the newest, so look from the end."""
        for index in range(len(self.messages) - 1, -1, -1):
            if self.messages[index].id == message_id:
                self.messages[index] = dataclasses.replace(self.messages[index], **changes)
                return

    def by_id(self) -> dict[str, Message]:
        """The messages held, by id."""
        return {message.id: message for message in self.messages}

    def streaming_besides(self, in_flight: str | None) -> bool:
        """Whether a reply other than ``in_flight`` is held as still streaming: another
        process ran it, and its end is in the database only."""
        return any(m.status == "streaming" and m.id != in_flight for m in self.messages)

    def unanswered(self) -> list[Message]:
        """The user turns no reply answers yet (each reply's metadata names the turn it
        answers, ``in_reply_to``)."""
        answered = {
            (m.metadata or {}).get("in_reply_to") for m in self.messages if m.role == "assistant"
        }
        return [m for m in self.messages if m.role == "user" and m.seq not in answered]

    def recent(self, *, until: int) -> list[Message]:
        """The recent messages the tutor knew when turn ``until`` was its latest: all but
        the user turns after it, at most the history a tutor reads (a reply costs the
        same however long the conversation has grown)."""
        recent: list[Message] = []
        for message in reversed(self.messages):
            if message.role != "user" or message.seq <= until:
                recent.append(message)
                if len(recent) == HISTORY_TURNS:
                    break
        recent.reverse()
        return recent


def turns(messages: Sequence[Message]) -> list[Turn]:
    """The messages as the tutor reads them."""
    return [Turn(role=m.role, content=m.content, metadata=m.metadata) for m in messages]  # type: ignore[arg-type]


def further_on(held: Message, read: Message) -> Message:
    """Of this runtime's copy of a message and one just read, the one further on.

    A reply moves only from streaming to its end, and its text only grows meanwhile. The
    copy held is ahead when this process finished the reply during the read; the read is
    ahead when another process ran the reply, whose end this room may never have seen
    (it was published before this room subscribed).
    """
    if held.status != "streaming":
        return held
    if read.status != "streaming" or len(read.content) > len(held.content):
        return read
    return held


def _without_plan(message: Message) -> Message:
    if not message.metadata or "plan" not in message.metadata:
        return message
    metadata = {k: v for k, v in message.metadata.items() if k != "plan"}
    return dataclasses.replace(message, metadata=metadata)
