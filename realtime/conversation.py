"""A live conversation: its sockets, its turn pipeline and the reply in flight.

One worker per conversation (a task only while there are jobs) answers the stored user
turns in order: it grades a turn, stores the grade and the score in the transaction that
starts the tutor's reply (one commit between a turn's ack and its first delta), publishes
``progress``, then streams the reply.
Each reply runs in a task of the server, not of any socket: a disconnect never stops
it, and ``cancel`` or a shutdown does. Deltas are coalesced over a short window, and
the text is saved about every second and at the end. When the tutor has nothing left
to ask (or the student sends ``complete``), the conversation is completed: score,
status and student progress are written, then ``completed`` is published.

Everything the pipeline needs survives a restart in the database. On load, a
conversation with no reply yet gets its opening. Every user turn with no reply (each
reply's metadata names the turn it answers, ``in_reply_to``) is answered, and a
finished conversation that was never completed is completed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Literal

from fsrs import Card
from redis.exceptions import RedisError

from assessment import grading
from assessment.evaluation import Evaluation
from assessment.prompts import HISTORY_TURNS
from assessment.scheduling import ratings, reschedule, session_order
from assessment.session import Turn
from assessment.spec import Flashcard
from assessment.tutor import ReplyFailed, Tutor
from persistence.errors import ConversationClosed
from persistence.records import AssessmentConfig, Conversation, Message
from persistence.records import MessageId as StoredMessageId
from persistence.store import Store
from persistence.turns import RecordEvaluation
from persistence.values import utcnow
from protocol.errors import CLOSE_SERVER_RESTART
from protocol.messages import (
    Ack,
    AssistantDelta,
    AssistantEnd,
    AssistantStart,
    Completed,
    ConversationInfo,
    MessageFrame,
    MessageId,
    Progress,
    Send,
    ServerFrame,
    Welcome,
)
from realtime.broker import Broker, Event
from realtime.cluster import Cluster
from realtime.connection import Connection
from realtime.frames import message_frame
from realtime.metrics import Metrics
from realtime.on_demand import OnDemand
from realtime.settings import Settings

__all__ = ["ConversationRuntime", "Refused"]

logger = logging.getLogger(__name__)
# A conversation whose student is answering keeps its worker task between turns.
WORKER_LINGER_SECONDS = 10.0
# How soon jobs held back by a Redis error ask for the lease again.
LEASE_RETRY_SECONDS = 1.0


class Refused(Exception):
    """A client frame the conversation refuses; ``code`` is the protocol's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclasses.dataclass(eq=False)
class _Reply:
    """The reply streaming now."""

    message_id: MessageId
    seq: int
    started: float
    text: str = ""
    emitted: int = 0
    emitted_at: float = 0.0
    flushed_at: float = 0.0
    stop_status: str | None = None
    timer: asyncio.TimerHandle | None = None
    pump: asyncio.Task[None] | None = None


@dataclasses.dataclass(frozen=True)
class _Job:
    kind: Literal["opening", "answer", "complete"]
    turn: Message | None = None


class ConversationRuntime:
    """The in-process state of one conversation while it is in use."""

    def __init__(
        self,
        *,
        conversation: Conversation,
        config: AssessmentConfig,
        tutor: Tutor,
        messages: Sequence[Message],
        store: Store,
        broker: Broker,
        settings: Settings,
        metrics: Metrics,
        on_idle: Callable[[ConversationRuntime], None],
        cluster: Cluster | None = None,
    ) -> None:
        self.id = conversation.id
        self.conversation = conversation
        self.config = config
        self.tutor = tutor
        self.status = conversation.status
        self.mastery_score = conversation.mastery_score
        self.closing = conversation.status != "active"
        self.reply: _Reply | None = None
        self.members: set[Connection] = set()
        self._store = store
        self._broker = broker
        self._settings = settings
        self._metrics = metrics
        self._on_idle = on_idle
        self._cluster = cluster
        # With other processes: whether this one holds the lease, whether they may have
        # stored what this one's memory lacks, and the replies they run that this
        # room's sockets have seen start (a cancel for one goes to its process).
        self._leased = False
        self._stale = False
        self._remote_replies: set[MessageId] = set()
        self._jobs: list[_Job] = []  # a list: a deque costs 64 slots, and this is short
        self._worker = OnDemand(
            self._work_one, linger=WORKER_LINGER_SECONDS, name=f"conversation-{self.id}"
        )
        self._stopping = False
        self._busy = False
        # The room's subscription, and when it is live.
        self._subscription: (
            tuple[contextlib.AbstractAsyncContextManager[None], asyncio.Future[None]] | None
        ) = None
        self._loop = asyncio.get_running_loop()
        self.opened = asyncio.Event()  # the opening reply has its message (seq 1)
        self._adopt(messages)

    def _adopt(self, messages: Sequence[Message]) -> None:
        """Hold ``messages`` (all of the conversation's, as stored) and queue what they
        leave undone."""
        # The session, kept as turns are graded (replayed from the stored turns once).
        self.session = self.tutor.session(_turns(messages))
        # The opening's plan is in the session now; each live conversation need not hold
        # its own copy (the database keeps it).
        self.messages = [_without_plan(m) for m in messages]
        if any(m.role == "assistant" for m in self.messages):
            self.opened.set()
        self._recover()

    @property
    def idle(self) -> bool:
        """No socket, no job, no reply and no lease: the runtime may be dropped."""
        return not self.members and not self._jobs and not self._busy and not self._leased

    # Sockets

    @contextlib.asynccontextmanager
    async def attach(self, conn: Connection) -> AsyncIterator[None]:
        """Make ``conn`` a member for the block; the room subscribes while it has members."""
        # A member before anything awaits: a runtime with a socket joining is not idle,
        # and the hub would drop an idle one (its worker done) while this one subscribes.
        conn.on_gap = lambda: self._schedule_resync(conn)
        self.members.add(conn)
        try:
            if self._subscription is None:
                # Held as it is, not in an AsyncExitStack: every held conversation has one.
                held = self._broker.subscribe(self.id, self._fan_out)
                self._subscription = (held, asyncio.ensure_future(held.__aenter__()))
            # Every socket waits until the subscription is live, not only the first: a
            # replay read before it could miss the events in between.
            await asyncio.shield(self._subscription[1])
            yield
        finally:
            self.members.discard(conn)
            if not self.members:
                if self._leased:
                    self._worker.kick()  # to let the lease go now that no socket is here
                if self._subscription is not None:
                    (held, live), self._subscription = self._subscription, None
                    # Left before it was live (cancelled), or it failed: left only once
                    # entered.
                    (entered,) = await asyncio.gather(live, return_exceptions=True)
                    if entered is None:
                        await held.__aexit__(None, None, None)
            self._on_idle(self)

    async def replay(self, conn: Connection, last_seq: int) -> int:
        """Send ``welcome`` and every message after ``last_seq``, then go live.

        ``conn`` must already be attached: live events that race the read are buffered
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
        head = max([0, *(row.seq for row in rows), *(m.seq for m in self.messages)])
        # A last_seq beyond the head replays nothing, and later messages still come.
        position = max([min(last_seq, head), *(row.seq for row in rows)])
        conn.send(
            counted=False,
            frame=Welcome(
                conversation=ConversationInfo(
                    id=self.id,
                    status=self.status,
                    assessment_type=self.config.assessment_type,
                    mastery_score=self.mastery_score,
                    last_seq=head,
                ),
                recovered=recovered,
                replay=len(frames),
            ),
        )
        for frame in frames:
            conn.send(frame, counted=False)
        conn.replayed(position, streaming)
        self._metrics.replay_messages.observe(len(frames))
        return len(frames)

    def _frames(
        self, rows: Sequence[Message], remote: dict[str, str]
    ) -> tuple[list[ServerFrame], dict[MessageId, int]]:
        """The ``message`` frames of ``rows`` as they stand now, and the replies among
        them still streaming with the length of their text so far."""
        current = {message.id: message for message in self.messages}
        streaming: dict[MessageId, int] = {}
        frames: list[ServerFrame] = []
        for row in rows:
            message = _further_on(current.get(row.id, row), row)
            content, status = self._now(message, remote)
            if status == "streaming":
                # Also a reply this runtime has not seen start: the read may see a commit
                # before the loop resumes the task that made it. Its start is then still
                # to come, and its deltas are trimmed to what the client lacks.
                streaming[MessageId(row.id)] = len(content)
                if self._cluster is not None:
                    self._remote_replies.add(MessageId(row.id))
            frames.append(
                message_frame(dataclasses.replace(message, content=content, status=status))
            )
        return frames, streaming

    def _now(self, message: Message, remote: dict[str, str]) -> tuple[str, str]:
        """A message's text and status now: a reply in flight here has its text in
        memory, one in flight in another process has it in Redis (or only as saved)."""
        if self.reply is not None and message_id_of(self.reply) == message.id:
            return self.reply.text, "streaming"
        text = remote.get(message.id)
        if message.status == "streaming" and text is not None and len(text) > len(message.content):
            return text, message.status
        return message.content, message.status

    async def _remote_texts(self, rows: Sequence[Message | None]) -> dict[str, str]:
        """The text so far of the replies among ``rows`` that run in other processes."""
        if self._cluster is None:
            return {}
        texts: dict[str, str] = {}
        for row in rows:
            if row is not None and row.status == "streaming":
                if self.reply is None or message_id_of(self.reply) != row.id:
                    text = await self._cluster.broker.reply_text(row.id)
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

    def resync_all(self) -> None:
        """Events may have been lost (Redis reconnected): bring every socket up to date."""
        for conn in tuple(self.members):
            conn.resync()
            self._schedule_resync(conn)

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
            for frame in frames:
                conn.send(frame, counted=False)
            if conversation.status != "active" and not conn.completed:
                # Only this socket missed it: the others have theirs.
                self.status, self.closing = conversation.status, True
                self.mastery_score = conversation.mastery_score
                conn.send(self._completed_frame())
            position = max([conn.position, *(row.seq for row in rows)])
            conn.replayed(position, streaming | later, finished=finished)
        except Exception:
            logger.exception("resync failed", extra={"conversation": self.id})
            conn.close(CLOSE_SERVER_RESTART)
        finally:
            conn.resync_scheduled = False

    def _fan_out(self, event: Event) -> None:
        if self._cluster is not None:
            self._follow(event.frame)
        for conn in tuple(self.members):
            conn.deliver(event)

    def _follow(self, frame: ServerFrame) -> None:
        """Keep what this room knows of the conversation current with events of other
        processes (the welcome of a join, a cancel to forward, turns to refuse)."""
        match frame:
            case AssistantStart():
                self._remote_replies.add(frame.message_id)
            case AssistantEnd():
                self._remote_replies.discard(frame.message_id)
            case Progress():
                self.mastery_score = frame.mastery_score
            case Completed():
                self.status, self.mastery_score, self.closing = (
                    frame.status,
                    frame.mastery_score,
                    True,
                )
            case _:
                pass

    # Client frames

    async def submit_turn(self, conn: Connection, frame: Send, allowed: bool) -> bool:
        """Store a student's turn and acknowledge it after commit.

        The checks go in the protocol's order: a repeat gets its original ack whatever
        the conversation's state and is never rate-limited; then a closed conversation
        refuses; then the rate limit.

        Args:
            allowed: the connection's rate limit lets one more turn through.

        Returns:
            True if a new turn was stored (False: a repeat, answered with its ack).

        Raises:
            Refused: conversation_closed or rate_limited.
        """
        if self.closing or not allowed:
            await self._refuse_turn(conn, frame)
            return False
        try:
            appended = await self._store.conversations.append_user_turn(
                self.id, frame.client_msg_id, frame.content
            )
        except ConversationClosed:
            raise Refused("conversation_closed", "the conversation is over") from None
        message = appended.message
        ack = Ack(
            client_msg_id=frame.client_msg_id,
            message_id=MessageId(message.id),
            seq=message.seq,
            duplicate=appended.duplicate,
        )
        if appended.duplicate:
            conn.send(ack)
            return False
        self.messages.append(message)
        self._publish(message_frame(message), message.seq, origin=conn.id, for_origin=ack)
        self._metrics.turns.inc()
        self._enqueue(_Job("answer", message))
        return True

    async def _refuse_turn(self, conn: Connection, frame: Send) -> None:
        """A repeat still gets its original ack, however the conversation stands."""
        original = await self._store.conversations.find_turn(self.id, frame.client_msg_id)
        if original is not None:
            conn.send(
                Ack(
                    client_msg_id=frame.client_msg_id,
                    message_id=MessageId(original.id),
                    seq=original.seq,
                    duplicate=True,
                )
            )
            return
        if self.closing:
            raise Refused("conversation_closed", "the conversation is over")
        raise Refused("rate_limited", "too many turns; wait a moment")

    async def cancel(self, message_id: str) -> None:
        """Stop the reply in flight (it ends ``cancelled``), here or in its process.

        Raises:
            Refused: unknown_message, if that reply is not in flight.
        """
        reply = self.reply
        if reply is not None and reply.message_id == message_id and reply.pump is not None:
            reply.stop_status = "cancelled"
            reply.pump.cancel()
            return
        cluster = self._cluster
        if cluster is not None and message_id in self._remote_replies:
            try:
                holder = await cluster.leases.holder_of(self.id)
            except RedisError:
                holder = None
            if holder is not None and holder != cluster.process_id:
                cluster.broker.send_control(holder, {"k": "cancel", "c": self.id, "m": message_id})
                return
        raise Refused("unknown_message", f"no reply {message_id} is in flight")

    def request_complete(self) -> None:
        """The student ends the assessment: it is scored once pending turns are answered.

        Raises:
            Refused: conversation_closed, if it is already over.
        """
        if self.closing:
            raise Refused("conversation_closed", "the conversation is over")
        self.closing = True
        self._enqueue(_Job("complete"))

    async def abandoned(self, conversation: Conversation) -> None:
        """The idle sweeper abandoned this conversation: tell its sockets."""
        self.status = conversation.status
        self.closing = True
        self._publish_completed()

    # The worker

    @property
    def worker(self) -> asyncio.Task[None] | None:
        """The task answering this conversation's jobs, while it has any (or lingers)."""
        return self._worker.task

    def close(self) -> None:
        """The hub dropped this runtime: stop its worker."""
        self._worker.cancel()

    async def _work_one(self, final: bool) -> bool:
        """Answer the next job in order; False if there is none (or the server stops)."""
        if self._stopping:
            return False
        if self._cluster is not None:
            if final or not (self._jobs or self._stale or self.members):
                # With no socket here (an opening asked for over HTTP, work forwarded by
                # another process) the lease goes as soon as the work is done, not after
                # the linger: the student's next turn, through the process its socket is
                # on, is then answered there, not relayed through Redis.
                return await self._last_look()
            if self._jobs or self._stale:
                # Asked before every job, not once: a lease believed held may have
                # expired (a pause, a Redis restart) and been taken by another process.
                if not await self._take_lease():
                    return False
                if self._stale:
                    self._stale = False
                    await self._reload()
        if not self._jobs:
            return False
        job = self._jobs.pop(0)
        self._busy = True
        try:
            await self._run(job)
        except Exception:
            logger.exception("%s job failed", job.kind, extra={"conversation": self.id})
        finally:
            self._busy = False
        self._on_idle(self)
        return True

    # With other processes

    async def _take_lease(self) -> bool:
        """Hold the lease to run this conversation's replies, or hand the jobs to the
        process that holds it (it reads them from the database)."""
        assert self._cluster is not None
        leases = self._cluster.leases
        try:
            for _ in range(3):  # the holder may let go between the two questions
                if await leases.take(self.id):
                    if not self._leased:
                        self._leased = True
                        self._stale = True  # other processes may have answered turns
                    return True
                if self._leased:
                    self.lease_lost()
                holder = await leases.holder_of(self.id)
                if holder is not None:
                    self._jobs.clear()
                    self._cluster.broker.send_control(holder, {"k": "work", "c": self.id})
                    return False
        except RedisError as error:
            if self._leased and leases.surely_held(self.id):
                return True  # a short outage: no other process can have it yet
            # The jobs wait: when Redis is back the hub wakes every runtime with jobs,
            # and an error that was not an outage (no connection free) is retried here.
            logger.warning("no lease (%s)", error, extra={"conversation": self.id})
            self._loop.call_later(LEASE_RETRY_SECONDS, self._retry_jobs)
        return False

    def _retry_jobs(self) -> None:
        if self._jobs and not self._stopping:
            self._worker.kick()

    async def _last_look(self) -> bool:
        """The worker is about to end: answer what other processes stored meanwhile (a
        word from them may have been lost), else let the lease go."""
        assert self._cluster is not None
        if not self._leased:
            return False
        await self._reload()
        if self._jobs:
            return True
        self._leased = False
        try:
            await self._cluster.leases.release(self.id)
        except RedisError as error:  # it expires on its own, and its claimer finds no work
            logger.warning("lease not released (%s)", error, extra={"conversation": self.id})
        self._on_idle(self)
        return False

    async def _reload(self) -> None:
        """Catch up with what other processes stored since this runtime was loaded:
        their turns, replies and grades; the jobs are made again from them."""
        head = max((m.seq for m in self.messages), default=0)
        newer = await self._store.conversations.messages_after(self.id, head, limit=1)
        in_flight = message_id_of(self.reply) if self.reply is not None else None
        outdated = any(m.status == "streaming" and m.id != in_flight for m in self.messages)
        # Seqs run 1..head without gaps: fewer messages held means some came elsewhere.
        if not newer and not outdated and len(self.messages) == head:
            return
        conversation = await self._store.conversations.get(self.id)
        messages = await self._store.conversations.messages_after(self.id, 0, limit=1_000_000)
        self.conversation = conversation
        self.status, self.mastery_score = conversation.status, conversation.mastery_score
        self.closing = self.closing or conversation.status != "active"
        self._jobs = [job for job in self._jobs if job.kind == "complete"]
        self._adopt(messages)

    @property
    def leased(self) -> bool:
        """This process holds the conversation's lease (with other processes)."""
        return self._leased

    @property
    def has_jobs(self) -> bool:
        """Turns (or an opening, or the completion) wait to be answered here."""
        return bool(self._jobs)

    def wake(self) -> None:
        """Another process stored a turn here while this one holds the lease."""
        self._stale = True
        self._worker.kick()

    async def take_over(self) -> None:
        """This process claimed the lease of one that died: its reply in flight ends
        ``interrupted`` (with the text it saved), and what it left is answered."""
        assert self._cluster is not None
        self._leased = True
        for message in await self._store.conversations.interrupt_streaming(self.id):
            message_id = MessageId(message.id)
            end = AssistantEnd(
                message_id=message_id, status="interrupted", length=len(message.content)
            )
            self._publish(end, message.seq)
            self._cluster.broker.drop_reply_text(message.id)
        self.wake()

    def lease_lost(self) -> None:
        """The lease expired and another process has it: stop answering here."""
        self._leased = False
        self._jobs.clear()
        reply = self.reply
        if reply is not None and reply.pump is not None:
            reply.stop_status = "interrupted"
            reply.pump.cancel()

    async def stop(self, grace: float) -> None:
        """Let the reply in flight finish for ``grace`` seconds, then interrupt it."""
        self._stopping = True
        reply = self.reply
        if reply is None or reply.pump is None:
            return
        done, _ = await asyncio.wait([reply.pump], timeout=grace)
        if not done:
            reply.stop_status = "interrupted"
            reply.pump.cancel()

    async def _run(self, job: _Job) -> None:
        match job.kind:
            case "opening":
                plan = await self._plan()
                if plan is not None:
                    self.session = self.tutor.new_session(plan)
                await self._stream_reply(self.messages, None, answered=False)
            case "answer":
                assert job.turn is not None
                await self._answer(job.turn)
            case "complete":
                await self._complete()

    async def _answer(self, turn: Message) -> None:
        stored = Evaluation.from_metadata(turn.metadata)
        grades = None
        if stored is None and not self.session.finished:
            graded = await self.tutor.grade(self.session, turn.content)
            self.session.apply(graded, turn.content)
            metadata = (turn.metadata or {}) | {"evaluation": graded.to_metadata()}
            self._replace(turn.id, metadata=metadata)
            score = grading.score(self.session).mastery_score
            grades = RecordEvaluation(message_id=turn.id, evaluation=metadata, mastery_score=score)
            stored = graded
        answered = (
            stored is not None and self.session.last is not None and self.session.last[0] == stored
        )
        transcript = self._transcript(until=turn.seq)
        await self._stream_reply(transcript, turn.seq, answered=answered, grades=grades)
        # Completed only after the last reply: turns still queued get theirs first.
        pending = any(job.kind == "answer" for job in self._jobs)
        if not pending and self.session.finished:
            await self._complete()

    async def _stream_reply(
        self,
        transcript: Sequence[Message],
        in_reply_to: int | None,
        *,
        answered: bool,
        grades: RecordEvaluation | None = None,
    ) -> None:
        """Start the reply, stream it and finish it.

        Args:
            grades: the turn's evaluation (its metadata) and the score after it, stored
                with the reply's start: one commit, then ``progress``, then the start.
        """
        started = self._loop.time()
        turns = _turns(transcript) if self.tutor.reads_history else []
        reply = self.tutor.respond(
            self.session, turns, opening=in_reply_to is None, answered=answered
        )
        metadata = reply.metadata | {"in_reply_to": in_reply_to}
        message = await self._store.conversations.start_assistant(
            self.id, metadata=metadata, grades=grades
        )
        if grades is not None:
            self._publish_progress(grading.score(self.session))
        self.messages.append(_without_plan(message))
        self.opened.set()
        live = _Reply(message_id=MessageId(message.id), seq=message.seq, started=started)
        live.flushed_at = started
        self.reply = live
        if self._cluster is not None:
            self._cluster.broker.keep_reply_text(live.message_id, "")
        self._publish(AssistantStart(message_id=live.message_id, seq=live.seq), live.seq)
        self._metrics.replies_in_flight.inc()
        live.pump = asyncio.create_task(self._pump(live, reply.chunks))
        try:
            await asyncio.wait([live.pump])
        finally:
            await self._finish(live)

    async def _pump(self, live: _Reply, chunks: AsyncIterator[str]) -> None:
        async for chunk in chunks:
            live.text += chunk
            self._coalesce(live)
            if self._loop.time() - live.flushed_at >= self._settings.flush_seconds:
                live.flushed_at = self._loop.time()
                await self._store.conversations.flush_text(message_id_of(live), live.text)

    def _coalesce(self, live: _Reply) -> None:
        """Emit now if the window has passed, else once it has."""
        if live.timer is not None:
            return
        wait = live.emitted_at + self._settings.coalesce_seconds - self._loop.time()
        if wait <= 0:
            self._emit(live)
        else:
            live.timer = self._loop.call_later(wait, self._emit, live)

    def _emit(self, live: _Reply) -> None:
        live.timer = None
        text = live.text[live.emitted :]
        if not text:
            return
        if live.emitted == 0:
            self._metrics.first_delta_latency.observe(self._loop.time() - live.started)
        delta = AssistantDelta(message_id=live.message_id, offset=live.emitted, text=text)
        live.emitted = len(live.text)
        live.emitted_at = self._loop.time()
        if self._cluster is not None:
            self._cluster.broker.keep_reply_text(live.message_id, live.text)
        self._publish(delta, live.seq)

    async def _finish(self, live: _Reply) -> None:
        if live.timer is not None:
            live.timer.cancel()
        self._emit(live)
        status = _final_status(live)
        await asyncio.shield(
            self._store.conversations.finish_message(message_id_of(live), live.text, status)
        )
        self._replace(message_id_of(live), content=live.text, status=status)
        self.reply = None
        self._metrics.replies_in_flight.dec()
        logger.debug(
            "reply finished (%d characters)",
            len(live.text),
            extra={"conversation": self.id, "message_id": live.message_id, "status": status},
        )
        self._publish(
            AssistantEnd(message_id=live.message_id, status=status, length=len(live.text)),
            live.seq,
        )
        if self._cluster is not None:
            self._cluster.broker.drop_reply_text(live.message_id)

    async def _complete(self) -> None:
        if self.status != "active":
            return
        score = grading.score(self.session)
        done = await self._store.conversations.complete(
            self.id, mastery_score=score.mastery_score, missed=grading.struggles(self.session)
        )
        if self.config.assessment_type == "flashcards":
            await self._reschedule_cards()
        self.status = done.status
        self.mastery_score = done.mastery_score
        self.closing = True
        logger.info(
            "completed with %g",
            done.mastery_score,
            extra={"conversation": self.id, "status": done.status},
        )
        self._publish_completed()

    def _publish_progress(self, score: grading.Score) -> None:
        self.mastery_score = score.mastery_score
        self._publish(
            Progress(
                mastery_score=score.mastery_score,
                items_done=score.items_done,
                items_total=score.items_total,
            )
        )

    def _publish_completed(self) -> None:
        self._publish(self._completed_frame())

    def _completed_frame(self) -> Completed:
        return Completed(
            status=self.status,
            mastery_score=self.mastery_score,
            passed=self.mastery_score >= self.config.mastery_threshold,
        )

    async def _plan(self) -> list[str] | None:
        """The order of a flashcard deck, by the student's FSRS schedule."""
        if self.config.assessment_type != "flashcards":
            return None
        states = await self._store.flashcards.states(self.conversation.user_id, self.config.id)
        cards = [item for item in self.tutor.spec.items if isinstance(item, Flashcard)]
        return session_order(cards, states, utcnow())

    async def _reschedule_cards(self) -> None:
        user, deck = self.conversation.user_id, self.config.id
        states = await self._store.flashcards.states(user, deck)
        now = utcnow()
        updated = reschedule(states, ratings(self.session), now)
        await self._store.flashcards.save(
            user,
            deck,
            {card: (state, Card.from_dict(state).due) for card, state in updated.items()},
        )

    # Helpers

    def _recover(self) -> None:
        """Queue what a restart left undone."""
        if self.status != "active":
            return
        if not any(m.role == "assistant" for m in self.messages):
            self._enqueue(_Job("opening"))
        answered = {
            (m.metadata or {}).get("in_reply_to") for m in self.messages if m.role == "assistant"
        }
        for message in self.messages:
            if message.role == "user" and message.seq not in answered:
                self._enqueue(_Job("answer", message))
        if not self._jobs and self.session.finished:
            self._enqueue(_Job("complete"))

    def _enqueue(self, job: _Job) -> None:
        self._jobs.append(job)
        self._worker.kick()

    def _transcript(self, *, until: int) -> list[Message]:
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

    def _replace(self, message_id: str, **changes: Any) -> None:
        """Change a message held in memory: one of the newest, so look from the end."""
        for index in range(len(self.messages) - 1, -1, -1):
            if self.messages[index].id == message_id:
                self.messages[index] = dataclasses.replace(self.messages[index], **changes)
                return

    def _publish(
        self,
        frame: Progress | Completed | MessageFrame | AssistantStart | AssistantDelta | AssistantEnd,
        seq: int | None = None,
        *,
        origin: str | None = None,
        for_origin: Ack | None = None,
    ) -> None:
        self._broker.publish(
            Event(
                conversation_id=self.id, frame=frame, seq=seq, origin=origin, for_origin=for_origin
            )
        )


# Resync tasks, held until done (the loop keeps only weak references to tasks).
_background: set[asyncio.Task[None]] = set()


def message_id_of(live: _Reply) -> StoredMessageId:
    """The stored message's id of a reply (the same string, the store's type)."""
    return StoredMessageId(live.message_id)


def _final_status(live: _Reply) -> str:
    pump = live.pump
    assert pump is not None and pump.done()
    if pump.cancelled():
        return live.stop_status or "interrupted"
    error = pump.exception()
    if error is None:
        return "complete"
    if not isinstance(error, ReplyFailed):
        logger.error("reply %s failed", live.message_id, exc_info=error)
    return "error"


def _further_on(held: Message, read: Message) -> Message:
    """Of this runtime's copy of a message and one just read, the one further on. A
    reply moves only from streaming to its end, and its text only grows meanwhile. The
    copy held is ahead when this process finished the reply during the read; the read is
    ahead when another process ran the reply, whose end this room may never have seen
    (it was published before this room subscribed)."""
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


def _turns(messages: Sequence[Message]) -> list[Turn]:
    return [Turn(role=m.role, content=m.content, metadata=m.metadata) for m in messages]  # type: ignore[arg-type]
