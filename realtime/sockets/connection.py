"""One client's socket as the rooms see it: a bounded outbox and the replay filter.

Events reach a connection through :meth:`Connection.deliver`, which never waits: it
encodes the frame and queues it. When the queued bytes pass the bound, the connection
is closed with 4408 (slow consumer) and the client catches up by replay when it returns,
so nothing is lost and nobody else waits for it.

During a (re)join the connection buffers live events while the replay is read. It
then sends ``welcome`` and the replayed messages, and passes the buffered and later
events through a filter. The filter drops what the replay already gave (messages and
starts at or below the replayed position, the deltas and ends of replies replayed in
their final state) and trims deltas of a reply replayed mid-stream to what the client
lacks. The client sees no seq twice and no gap.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable

from protocol.codec import encode
from protocol.errors import CLOSE_SLOW
from protocol.messages import (
    Ack,
    AssistantDelta,
    AssistantEnd,
    AssistantStart,
    Completed,
    MessageFrame,
    MessageId,
    ServerFrame,
    ServerPing,
)
from realtime.auth import Identity
from realtime.cluster.broker import Event

__all__ = ["Connection"]

logger = logging.getLogger(__name__)

# Sent frames the outbox drops from its front at once, when it never quite empties.
COMPACT_AFTER = 64


class Connection:
    """The server's side of one authenticated socket.

    Args:
        connection_id: unique within the process; named in logs.
        identity: who the token speaks for.
        observer: an instructor watching: may read, may not send, cancel or complete.
        outbox_bytes: the most encoded bytes queued before the socket counts as slow.
        on_slow: called when the connection is closed for falling behind.

    Attributes:
        on_ready: called when a frame is queued or the connection starts closing (the
            endpoint's writer sets it).
        on_gap: called when events are missing; the room then resyncs this connection.
    """

    __slots__ = (
        "_buffer",
        "_held",
        "_limit",
        "_next",
        "_on_slow",
        "_position",
        "_queue",
        "_queued_bytes",
        "close_code",
        "completed",
        "id",
        "identity",
        "observer",
        "on_gap",
        "on_ready",
        "resync_scheduled",
        "storing",
    )

    def __init__(
        self,
        connection_id: str,
        identity: Identity,
        *,
        observer: bool,
        outbox_bytes: int,
        on_slow: Callable[[], None] = lambda: None,
    ) -> None:
        self.id = connection_id
        self.identity = identity
        self.observer = observer
        self._limit = outbox_bytes
        self._on_slow = on_slow
        # The outbox: a list and the index of its next frame, emptied once drained. An
        # empty list holds no storage; an empty deque a block of 64 slots, on every socket.
        self._queue: list[str] = []
        self._next = 0
        self._queued_bytes = 0
        self.on_ready: Callable[[], None] = _nothing
        self.on_gap: Callable[[], None] = _nothing
        self.resync_scheduled = False
        # The client_msg_id of the turn being stored for this client (one at a time: the
        # socket's next frame is read once it is): a resync that finds the turn stored
        # sends its ack, not its message.
        self.storing: str | None = None
        self.completed = False  # sent ``completed``
        self.close_code: int | None = None
        self._buffer: list[Event] | None = []
        self._position = 0
        self._held: dict[MessageId, int] = {}

    # Outbox

    def send(self, frame: ServerFrame) -> None:
        """Queue ``frame``; past the byte bound, close the connection as slow instead."""
        if self.close_code is not None:
            return  # closing: what it misses, it gets by replay
        if isinstance(frame, Completed):
            self.completed = True
        self.send_text(encode(frame))

    def send_text(self, text: str, *, replay: bool = False) -> None:
        """Queue an encoded frame (not ``completed``), counted toward the bound.

        Args:
            replay: a frame of the replay: it counts, but does not close the socket by
                itself. The room keeps a replay within half the bound, save the newest
                message, which is sent whatever its size; the live frames after it close
                a socket that does not read them.
        """
        if self.close_code is not None:
            return
        self._queue.append(text)
        self._queued_bytes += len(text)
        if replay:
            self.on_ready()
            return
        # Frames piling up behind the one being written mean a slow reader; one large
        # frame alone (a long delta) does not.
        if self._queued_bytes > self._limit and len(self._queue) - self._next > 1:
            logger.info("> %s outbox over %d bytes: closing 4408", self.id, self._limit)
            self.close(CLOSE_SLOW)
            self._on_slow()
        self.on_ready()

    def close(self, code: int, *, flush: bool = False) -> None:
        """Ask the writer to close the socket with ``code`` (the first code wins).

        Args:
            flush: send what is queued first (a shutdown); otherwise drop it (a slow
                consumer catches up by replay).
        """
        if self.close_code is None:
            self.close_code = code
            if not flush:
                self._queue.clear()
                self._next = 0
                self._queued_bytes = 0
        self.on_ready()

    def next_text(self) -> str | None:
        """The next queued frame's text, or None if none is queued."""
        queue = self._queue
        if self._next == len(queue):
            return None
        text = queue[self._next]
        self._next += 1
        if self._next == len(queue):
            queue.clear()
            self._next = 0
        elif self._next >= COMPACT_AFTER:  # a writer that never quite catches up
            del queue[: self._next]
            self._next = 0
        else:
            queue[self._next - 1] = ""  # sent: its text need not be held
        self._queued_bytes -= len(text)
        return text

    # Events

    @property
    def position(self) -> int:
        """The highest seq this client has been sent (a message, an ack or a start)."""
        return self._position

    @property
    def open_replies(self) -> dict[MessageId, int]:
        """Replies this client holds mid-stream, with the text length it holds."""
        return self._held

    def own_turns(self) -> set[str]:
        """The client's turns stored and not yet acknowledged to it: the one being
        stored, and those whose event (with its ack) is held back during a resync."""
        own: set[str] = {
            ack.client_msg_id
            for event in self._buffer or ()
            if isinstance(ack := event.for_origin, Ack) and event.origin == self.id
        }
        if self.storing is not None:
            own.add(self.storing)
        return own

    def deliver(self, event: Event) -> None:
        """Take one event of the conversation (the broker's callback)."""
        if self._buffer is not None:
            self._buffer.append(event)
        else:
            self._apply(event)

    def resync(self) -> None:
        """Events are missing (a gap, or the broker reconnected): buffer what comes until
        the room has sent what the database holds, then :meth:`replayed` again."""
        if self._buffer is None:
            self._buffer = []

    def replayed(
        self,
        position: int,
        streaming: dict[MessageId, int],
        *,
        finished: Iterable[MessageId] = (),
    ) -> None:
        """The replay (or resync) is sent: apply buffered events, then pass events live.

        Args:
            position: the highest seq the client now holds (its ``last_seq`` or the
                newest replayed message).
            streaming: replies replayed mid-stream, with the text length sent.
            finished: replies the client held mid-stream that a resync ended.
        """
        self._position = max(self._position, position)
        self._held.update(streaming)
        for message_id in finished:
            self._held.pop(message_id, None)
        buffered, self._buffer = self._buffer or [], None
        for event in buffered:
            self.deliver(event)  # buffered again after a gap among them

    def _apply(self, event: Event) -> None:
        frame: ServerFrame | None = event.frame
        if event.origin == self.id:
            frame = event.for_origin
        if frame is None:
            return
        seq = event.seq
        if seq is not None and seq <= self._position:
            frame = self._already_held(frame)
            if frame is _GAP:
                self._gap(event)
                return
            if frame is None:
                return
        elif seq is not None:
            if seq > self._position + 1 or isinstance(frame, AssistantDelta | AssistantEnd):
                # A message this client lacks the start of: what is missing is in the
                # database, and this event comes again after it.
                self._gap(event)
                return
            self._position = seq
            if isinstance(frame, AssistantStart):
                self._held[frame.message_id] = 0
        self.send(frame)

    def _gap(self, event: Event) -> None:
        """Hold ``event`` back and ask the room for what the client lacks; the room's
        resync reads the whole text so far, then the event is applied again."""
        self.resync()
        assert self._buffer is not None
        self._buffer.append(event)
        self.on_gap()

    def _already_held(self, frame: ServerFrame) -> ServerFrame | None:
        """What is left to send of an event about a message the client has (part of)."""
        match frame:
            case MessageFrame() | AssistantStart() | Ack():
                return None  # an ack among them: a resync sent it already
            case AssistantDelta() if frame.message_id in self._held:
                held = self._held[frame.message_id]
                end = frame.offset + len(frame.text)
                if end <= held:
                    return None
                if frame.offset > held:
                    return _GAP  # deltas went missing
                self._held[frame.message_id] = end
                if frame.offset < held:
                    return dataclasses.replace(
                        frame, offset=held, text=frame.text[held - frame.offset :]
                    )
                return frame
            case AssistantEnd() if frame.message_id in self._held:
                if self._held[frame.message_id] < frame.length:
                    return _GAP
                del self._held[frame.message_id]
                return frame
            case AssistantDelta() | AssistantEnd():
                return None  # replayed in its final state
            case _:
                return frame


def _nothing() -> None:
    pass


# What _already_held returns for an event that shows the client lacks text before it.
_GAP = ServerPing(nonce="gap")
