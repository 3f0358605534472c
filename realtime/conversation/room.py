"""The sockets on a live conversation: joining, replay, resync and live events.

A room subscribes to its conversation's events while it has sockets, and every socket
waits until that subscription is live before it reads its replay, so that the replay
plus the live events buffered meanwhile are exact (the connection filters them by seq).
A socket that sees a gap in the events, and every socket after the broker reconnects, is
brought up to date from the database (a resync).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Sequence

from persistence.records import Message
from persistence.store import Store
from protocol.codec import encode
from protocol.errors import CLOSE_SERVER_RESTART
from protocol.messages import (
    Ack,
    AssistantDelta,
    AssistantEnd,
    ConversationInfo,
    MessageFrame,
    MessageId,
    ServerFrame,
    Welcome,
)
from realtime.cluster.broker import Broker, Event
from realtime.conversation.ownership import Ownership
from realtime.conversation.reply import Streamer
from realtime.conversation.standing import Standing
from realtime.conversation.transcript import Transcript, further_on
from realtime.metrics import Metrics
from realtime.settings import Settings
from realtime.sockets.connection import Connection
from realtime.sockets.frames import message_frame

__all__ = ["Room"]

logger = logging.getLogger(__name__)

# Resync tasks, held until done (the loop keeps only weak references to tasks).
_background: set[asyncio.Task[None]] = set()


class Room:
    """A conversation's sockets in this process, and the events they are sent.

    Args:
        conversation_id: the conversation.
        assessment_type: shown in ``welcome``.
        transcript, standing, streamer: what the conversation holds now, which replays
            and resyncs read beside the database.
        ownership: with other processes, the replies they run.
        follow: called with every event before the sockets get it (with other
            processes, to keep what the runtime knows of their work current).
        on_empty: called when the last socket leaves, before the room unsubscribes.
    """

    __slots__ = (
        "_assessment_type",
        "_broker",
        "_follow",
        "_metrics",
        "_on_empty",
        "_on_left",
        "_ownership",
        "_settings",
        "_standing",
        "_store",
        "_streamer",
        "_subscription",
        "_transcript",
        "id",
        "members",
    )

    def __init__(
        self,
        conversation_id: str,
        *,
        assessment_type: str,
        transcript: Transcript,
        standing: Standing,
        streamer: Streamer,
        ownership: Ownership | None,
        follow: Callable[[ServerFrame], None] | None,
        on_empty: Callable[[], None],
        on_left: Callable[[], None],
        store: Store,
        broker: Broker,
        settings: Settings,
        metrics: Metrics,
    ) -> None:
        self.id = conversation_id
        self.members: set[Connection] = set()
        self._assessment_type = assessment_type
        self._transcript = transcript
        self._standing = standing
        self._streamer = streamer
        self._ownership = ownership
        self._follow = follow
        self._on_empty = on_empty
        self._on_left = on_left
        self._store = store
        self._broker = broker
        self._settings = settings
        self._metrics = metrics
        # The room's subscription, and when it is live.
        self._subscription: (
            tuple[contextlib.AbstractAsyncContextManager[None], asyncio.Future[None]] | None
        ) = None

    def join(self, conn: Connection) -> contextlib.AbstractAsyncContextManager[None]:
        """Make ``conn`` a member for the block; the room subscribes while it has members.

        A small object rather than a generator: every held socket keeps it for its life.
        """
        return _Membership(self, conn)

    async def _enter(self, conn: Connection) -> None:
        # A member before anything awaits: a runtime with a socket joining is not idle,
        # and the hub would drop an idle one (its worker done) while this one subscribes.
        conn.on_gap = lambda: self._schedule_resync(conn)
        self.members.add(conn)
        if self._subscription is None:
            # Held as it is, not in an AsyncExitStack: every held conversation has one.
            held = self._broker.subscribe(self.id, self._fan_out)
            self._subscription = (held, asyncio.ensure_future(held.__aenter__()))
        # Every socket waits until the subscription is live, not only the first: a
        # replay read before it could miss the events in between.
        await asyncio.shield(self._subscription[1])

    async def _leave(self, conn: Connection) -> None:
        try:
            self.members.discard(conn)
            if not self.members:
                self._on_empty()
                if self._subscription is not None:
                    (held, live), self._subscription = self._subscription, None
                    # Left before it was live (cancelled), or it failed: left only once
                    # entered.
                    (entered,) = await asyncio.gather(live, return_exceptions=True)
                    if entered is None:
                        await held.__aexit__(None, None, None)
        finally:
            self._on_left()

    async def replay(self, conn: Connection, last_seq: int) -> int:
        """Send ``welcome`` and every message after ``last_seq``, then go live.

        ``conn`` must already be a member: live events that race the read are buffered
        by it and filtered, so nothing is lost and nothing is sent twice.

        Returns:
            How many messages were replayed.
        """
        cap = self._settings.replay_cap
        rows = await self._store.conversations.newest_messages(self.id, last_seq, cap + 1)
        recovered = len(rows) <= cap
        rows = rows[-cap:]
        remote = await self._remote_texts(rows)
        # From here to conn.replayed() nothing awaits: memory and the stream agree.
        frames, streaming = self._frames(rows, remote)
        texts = [encode(frame) for frame in frames]
        # The replay counts against the socket's outbox like any output, so one that
        # never reads holds no more than that; past half of it, only the newest rows
        # go, and the client loads the older ones over HTTP (recovered: false).
        first = _newest_within(texts, self._settings.outbox_bytes // 2)
        if first:
            recovered = False
            rows, texts = rows[first:], texts[first:]
            kept = {MessageId(row.id) for row in rows}
            streaming = {key: length for key, length in streaming.items() if key in kept}
        head = max([0, *(row.seq for row in rows), self._transcript.head])
        # A last_seq beyond the head replays nothing, and later messages still come.
        position = max([min(last_seq, head), *(row.seq for row in rows)])
        standing = self._standing
        welcome = Welcome(
            conversation=ConversationInfo(
                id=self.id,
                status=standing.status,
                assessment_type=self._assessment_type,
                mastery_score=standing.mastery_score,
                last_seq=head,
            ),
            recovered=recovered,
            replay=len(texts),
        )
        for text in (encode(welcome), *texts):
            conn.send_text(text, replay=True)
        conn.replayed(position, streaming)
        self._metrics.replay_messages.observe(len(texts))
        return len(texts)

    def resync_all(self) -> None:
        """Events may have been lost (the broker reconnected): bring every socket up to
        date."""
        for conn in tuple(self.members):
            conn.resync()
            self._schedule_resync(conn)

    def _frames(
        self, rows: Sequence[Message], remote: dict[str, str]
    ) -> tuple[list[ServerFrame], dict[MessageId, int]]:
        """The ``message`` frames of ``rows`` as they stand now, and the replies among
        them still streaming with the length of their text so far."""
        current = self._transcript.by_id()
        streaming: dict[MessageId, int] = {}
        frames: list[ServerFrame] = []
        for row in rows:
            message = further_on(current.get(row.id, row), row)
            content, status = self._now(message, remote)
            if status == "streaming":
                # Also a reply this runtime has not seen start: the read may see a commit
                # before the loop resumes the task that made it. Its start is then still
                # to come, and its deltas are trimmed to what the client lacks.
                streaming[MessageId(row.id)] = len(content)
                if self._ownership is not None:
                    self._ownership.remote_replies.add(MessageId(row.id))
            frames.append(
                message_frame(dataclasses.replace(message, content=content, status=status))
            )
        return frames, streaming

    def _now(self, message: Message, remote: dict[str, str]) -> tuple[str, str]:
        """A message's text and status now: a reply in flight here has its text in
        memory, one in flight in another process has it in Redis (or only as saved)."""
        live = self._streamer.in_flight(message.id)
        if live is not None:
            return live.text, "streaming"
        text = remote.get(message.id)
        if message.status == "streaming" and text is not None and len(text) > len(message.content):
            return text, message.status
        return message.content, message.status

    async def _remote_texts(self, rows: Sequence[Message | None]) -> dict[str, str]:
        """The text so far of the replies among ``rows`` that run in other processes."""
        if self._ownership is None:
            return {}
        texts: dict[str, str] = {}
        for row in rows:
            if row is not None and row.status == "streaming":
                if self._streamer.in_flight(row.id) is None:
                    text = await self._ownership.reply_text(row.id)
                    if text is not None:
                        texts[row.id] = text
        return texts

    def _schedule_resync(self, conn: Connection) -> None:
        if conn.resync_scheduled or conn not in self.members:
            return
        conn.resync_scheduled = True
        task = asyncio.create_task(self._resync(conn), name=f"resync-{conn.id}")
        _background.add(task)
        task.add_done_callback(_background.discard)

    async def _resync(self, conn: Connection) -> None:
        """Send ``conn`` what the database holds beyond what it was sent: the rest of
        the replies it holds mid-stream, the messages after its position, and
        ``completed`` if it missed it. Events buffered meanwhile follow, filtered."""
        try:
            cap = self._settings.replay_cap
            rows = await self._store.conversations.newest_messages(self.id, conn.position, cap + 1)
            if len(rows) > cap:
                conn.close(CLOSE_SERVER_RESTART)  # too far behind: a new hello replays
                return
            held = [await self._store.conversations.message(m) for m in conn.open_replies]
            remote = await self._remote_texts([*rows, *held])
            conversation = await self._store.conversations.get(self.id)
            # From here to conn.replayed() nothing awaits.
            streaming: dict[MessageId, int] = {}
            finished: list[MessageId] = []
            for row in held:
                if row is None:
                    continue
                message_id = MessageId(row.id)
                sent = conn.open_replies.get(message_id, 0)
                text, status = self._now(row, remote)
                if len(text) > sent:
                    conn.send(AssistantDelta(message_id=message_id, offset=sent, text=text[sent:]))
                if status == "streaming":
                    streaming[message_id] = max(sent, len(text))
                else:
                    conn.send(AssistantEnd(message_id=message_id, status=status, length=len(text)))
                    finished.append(message_id)
            frames, later = self._frames(rows, remote)
            own = conn.own_turns()
            for frame in frames:
                if (
                    isinstance(frame, MessageFrame)
                    and frame.client_msg_id is not None
                    and frame.client_msg_id in own
                ):
                    # The client's own turn, stored, its ack still to come: the ack now
                    # (the protocol sends its sender no message for it), and the event's
                    # ack, when it comes, finds the seq held and is dropped.
                    frame = Ack(
                        client_msg_id=frame.client_msg_id,
                        message_id=frame.id,
                        seq=frame.seq,
                        duplicate=False,
                    )
                conn.send(frame)  # counted: too much to send closes 4408, and hello replays
            if conversation.status != "active" and not conn.completed:
                # Only this socket missed it: the others have theirs.
                self._standing.ended(conversation.status, conversation.mastery_score)
                conn.send(self._standing.completed())
            position = max([conn.position, *(row.seq for row in rows)])
            conn.replayed(position, streaming | later, finished=finished)
        except Exception:
            logger.exception("resync failed", extra={"conversation": self.id})
            conn.close(CLOSE_SERVER_RESTART)
        finally:
            conn.resync_scheduled = False

    def show(self, turns: Sequence[Message]) -> None:
        """Send this process's sockets turns another process stored, read here from the
        database before that process's event for them arrived: each turn's message goes
        before the grade that follows it (``progress``), and the event, when it comes,
        finds the seq held and is dropped."""
        for turn in turns:
            event = Event(conversation_id=self.id, frame=message_frame(turn), seq=turn.seq)
            for conn in tuple(self.members):
                conn.deliver(event)

    def _fan_out(self, event: Event) -> None:
        if self._follow is not None:
            self._follow(event.frame)
        for conn in tuple(self.members):
            conn.deliver(event)


def _newest_within(texts: Sequence[str], budget: int) -> int:
    """The index of the oldest of ``texts`` from which the rest fit in ``budget`` (the
    newest is kept whatever its size)."""
    total = 0
    for index in range(len(texts) - 1, -1, -1):
        total += len(texts[index])
        if total > budget and index < len(texts) - 1:
            return index + 1
    return 0


class _Membership:
    """A socket's membership of a room, for the ``async with`` of :meth:`Room.join`."""

    __slots__ = ("_conn", "_room")

    def __init__(self, room: Room, conn: Connection) -> None:
        self._room = room
        self._conn = conn

    async def __aenter__(self) -> None:
        try:
            await self._room._enter(self._conn)
        except BaseException:
            await self._room._leave(self._conn)
            raise

    async def __aexit__(self, *_: object) -> None:
        await self._room._leave(self._conn)
