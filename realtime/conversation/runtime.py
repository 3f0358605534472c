"""A live conversation: the coordinator of its parts.

The client's frames (a turn, a cancel, ``complete``) are taken by its :class:`Intake`
and become jobs for its :class:`Pipeline`; each job grades a turn and has the tutor
answer it.
A graded turn's grade and score are stored in the transaction that starts the tutor's
reply (one commit between a turn's ack and its first delta), then ``progress`` is
published, then the reply streams (:class:`Streamer`). When the tutor has nothing left
to ask, the attempt is completed (:class:`Completion`). Its sockets are in its
:class:`Room`; with other processes, its :class:`Ownership` says whether this one
answers.

Everything the pipeline needs survives a restart in the database. On load, a
conversation with no reply yet gets its opening, every user turn with no reply is
answered, and a finished conversation that was never completed is completed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from assessment import grading
from assessment.evaluation import Evaluation
from assessment.tutor import Tutor
from persistence.records import AssessmentConfig, Conversation, Message
from persistence.store import Store
from persistence.turns import RecordEvaluation
from protocol.messages import (
    ServerFrame,
)
from realtime.cluster import Cluster
from realtime.cluster.broker import Broker
from realtime.conversation.completion import Completion
from realtime.conversation.deck import deck_order
from realtime.conversation.intake import Intake
from realtime.conversation.ownership import Ownership
from realtime.conversation.persistent import persistent
from realtime.conversation.pipeline import Admission, Job, Pipeline, undone
from realtime.conversation.reply import Streamer
from realtime.conversation.room import Room
from realtime.conversation.standing import Standing
from realtime.conversation.transcript import Transcript, turns
from realtime.metrics import Metrics
from realtime.settings import Settings
from realtime.sockets.connection import Connection

__all__ = ["ConversationRuntime"]


class ConversationRuntime(Intake):
    """The in-process state of one conversation while it is in use.

    Args:
        messages: every message of the conversation, as stored.
        on_idle: called whenever the runtime may have become idle (the hub drops it).
        cluster: the other processes of the deployment, if any.
    """

    __slots__ = (
        "_broker",
        "_loop",
        "_metrics",
        "_on_idle",
        "_opened",
        "_store",
        "completion",
        "config",
        "conversation",
        "id",
        "ownership",
        "pipeline",
        "room",
        "session",
        "standing",
        "streamer",
        "transcript",
        "tutor",
    )

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
        self._store = store
        self._metrics = metrics
        self._on_idle = on_idle
        self._loop = asyncio.get_running_loop()
        # The opening reply has its message (seq 1). A future, not an Event: every held
        # conversation has one, and an Event's waiter deque is a 64-slot block.
        self._opened: asyncio.Future[None] = self._loop.create_future()
        self.standing = Standing.of(conversation, config.mastery_threshold)
        self.transcript = Transcript(())
        self.pipeline = Pipeline(
            self.id,
            run=self._run,
            admit=None if cluster is None else self._admit,
            on_done=lambda: self._on_idle(self),
        )
        self.ownership = (
            None
            if cluster is None
            else Ownership(
                self.id,
                cluster,
                pipeline=self.pipeline,
                on_lost=self.lease_lost,
                reload=self._reload,
                has_sockets=lambda: bool(self.room.members),
                on_released=lambda: self._on_idle(self),
                store=store,
                publish=self._publish,
            )
        )
        self._broker = broker
        self.streamer = Streamer(
            self.id,
            transcript=self.transcript,
            publish=self._publish,
            store=store,
            settings=settings,
            metrics=metrics,
            cluster=cluster,
        )
        self.room = Room(
            self.id,
            assessment_type=config.assessment_type,
            transcript=self.transcript,
            standing=self.standing,
            streamer=self.streamer,
            ownership=self.ownership,
            follow=None if cluster is None else self._follow,
            on_empty=self._emptied,
            on_left=self._left,
            store=store,
            broker=broker,
            settings=settings,
            metrics=metrics,
        )
        self.completion = Completion(
            conversation, config, standing=self.standing, publish=self._publish, store=store
        )
        self._adopt(messages)

    def _adopt(self, messages: Sequence[Message]) -> None:
        """Hold ``messages`` (all of the conversation's, as stored) and queue what they
        leave undone."""
        # The session, kept as turns are graded (replayed from the stored turns once).
        self.session = self.tutor.session(turns(messages))
        self.transcript.adopt(messages)
        if self.transcript.opened:
            self._mark_opened()
        if self.standing.status == "active":
            # A completion still queued (kept by a reload) is not queued twice.
            self._queue_undone(finished=self.session.finished and not self.pipeline.jobs)

    def _queue_undone(self, *, finished: bool) -> None:
        """Queue what the transcript leaves undone and is not queued already."""
        for job in undone(self.transcript, finished=finished):
            if job not in self.pipeline.jobs:
                self.pipeline.enqueue(job)

    @property
    def members(self) -> set[Connection]:
        """The sockets on the conversation in this process."""
        return self.room.members

    async def until_opened(self) -> None:
        """Return once the opening reply has its message (at once if it has)."""
        await asyncio.shield(self._opened)  # a waiter that gives up leaves it unset

    def _mark_opened(self) -> None:
        if not self._opened.done():
            self._opened.set_result(None)

    @property
    def idle(self) -> bool:
        """No socket, no job, no reply and no lease: the runtime may be dropped."""
        pipeline = self.pipeline
        return not (self.room.members or pipeline.jobs or pipeline.busy or self.leased)

    # Sockets

    def attach(self, conn: Connection) -> contextlib.AbstractAsyncContextManager[None]:
        """Make ``conn`` a member for the block (see :meth:`Room.join`); once it has
        left, the hub may drop the runtime if it is idle."""
        return self.room.join(conn)

    async def replay(self, conn: Connection, last_seq: int) -> int:
        """Send ``conn`` its replay and go live (see :meth:`Room.replay`)."""
        return await self.room.replay(conn, last_seq)

    def resync_all(self) -> None:
        """Events may have been lost (Redis reconnected): bring every socket up to date."""
        self.room.resync_all()

    def _left(self) -> None:
        self._on_idle(self)

    def _emptied(self) -> None:
        if self.leased:
            self.pipeline.wake()  # to let the lease go now that no socket is here

    async def abandoned(self, conversation: Conversation) -> None:
        """The idle sweeper abandoned this conversation: tell its sockets."""
        self.completion.abandoned(conversation)

    # The worker

    @property
    def worker(self) -> asyncio.Task[None] | None:
        """The task answering this conversation's jobs, while it has any (or lingers)."""
        return self.pipeline.worker

    @property
    def has_jobs(self) -> bool:
        """Turns (or an opening, or the completion) wait to be answered here."""
        return bool(self.pipeline.jobs)

    def close(self) -> None:
        """The hub dropped this runtime: stop its worker."""
        self.pipeline.cancel()

    async def stop(self, grace: float) -> None:
        """Start no further job; let the reply in flight finish for ``grace`` seconds,
        then interrupt it."""
        self.pipeline.stopping = True
        await self.streamer.settle(grace)

    async def _run(self, job: Job) -> None:
        match job.kind:
            case "opening":
                if self.config.assessment_type == "flashcards":
                    plan = await deck_order(
                        self._store, self.conversation.user_id, self.config.id, self.tutor.spec
                    )
                    self.session = self.tutor.new_session(plan)
                await self._reply(self.transcript.messages, None, answered=False)
            case "answer":
                assert job.turn is not None
                await self._answer(job.turn)
            case "complete":
                await self.completion.complete(self.session)

    async def _answer(self, turn: Message) -> None:
        stored = Evaluation.from_metadata(turn.metadata)
        grades = None
        if stored is None and not self.session.finished and self._broke_off_before(turn):
            # The student never saw the whole question: ask it again, grade nothing.
            history = self.transcript.recent(until=turn.seq)
            await self._reply(history, turn.seq, answered=False, again=True)
            return
        if stored is None and not self.session.finished:
            graded = await self.tutor.grade(self.session, turn.content)
            self.session.apply(graded, turn.content)
            metadata = (turn.metadata or {}) | {"evaluation": graded.to_metadata()}
            self.transcript.replace(turn.id, metadata=metadata)
            score = grading.score(self.session).mastery_score
            grades = RecordEvaluation(message_id=turn.id, evaluation=metadata, mastery_score=score)
            stored = graded
        last = self.session.last
        answered = stored is not None and last is not None and last[0] == stored
        history = self.transcript.recent(until=turn.seq)
        await self._reply(history, turn.seq, answered=answered, grades=grades)
        # Completed only after the last reply: turns still queued get theirs first.
        if not self.pipeline.pending("answer") and self.session.finished:
            await self.completion.complete(self.session)

    async def _reply(
        self,
        history: Sequence[Message],
        in_reply_to: int | None,
        *,
        answered: bool,
        grades: RecordEvaluation | None = None,
        again: bool = False,
    ) -> None:
        """Store the start of the tutor's reply to turn ``in_reply_to`` (None: the
        opening), then stream it.

        Args:
            grades: the turn's evaluation (its metadata) and the score after it, stored
                with the reply's start: one commit, then ``progress``, then the start.
            again: the tutor's previous reply broke off; this one asks its question again.
        """
        started = self._loop.time()
        read = turns(history) if self.tutor.reads_history and not again else []
        if again:
            reply = self.tutor.ask_again(self.session)
        else:
            reply = self.tutor.respond(
                self.session, read, opening=in_reply_to is None, answered=answered
            )
        metadata = reply.metadata | {"in_reply_to": in_reply_to}
        message = await persistent(
            lambda: self._store.conversations.start_assistant(
                self.id, metadata=metadata, grades=grades
            ),
            what="reply's start",
            conversation=self.id,
        )
        if grades is not None:
            self.completion.progress(self.session)
            await self.completion.interim(self.session)
        self.transcript.append(message)
        self._mark_opened()
        await self.streamer.stream(message, reply.chunks, started=started)

    def _broke_off_before(self, turn: Message) -> bool:
        """Whether the tutor's last reply before ``turn`` failed (the LLM was unreachable,
        timed out or broke off), so the student may not have seen what it asked. (A reply
        interrupted by a shutdown keeps its text, and the student chose to answer it.)"""
        for message in reversed(self.transcript.messages):
            if message.role == "assistant" and message.seq < turn.seq:
                return message.status == "error"
        return False

    # With other processes

    @property
    def leased(self) -> bool:
        """This process holds the conversation's lease (with other processes)."""
        return self.ownership is not None and self.ownership.leased

    async def _reload(self) -> None:
        """Catch up with what other processes stored since this runtime was loaded:
        their turns, replies and grades; the jobs are made again from them."""
        transcript = self.transcript
        newer = await self._store.conversations.messages_after(self.id, transcript.head, limit=1)
        live = self.streamer.current
        outdated = transcript.streaming_besides(None if live is None else live.stored_id)
        if not newer and not outdated and transcript.complete:
            # Nothing new, but this process may have handed its jobs to a holder that
            # died since: what the transcript leaves undone is queued again.
            if self.standing.status == "active":
                self._queue_undone(finished=False)
            return
        conversation = await self._store.conversations.get(self.id)
        messages = await self._store.conversations.messages_after(self.id, 0, limit=1_000_000)
        self.conversation = conversation
        self.standing.adopt(conversation)
        self.pipeline.jobs[:] = [job for job in self.pipeline.jobs if job.kind == "complete"]
        fresh = [m for m in messages if m.seq > transcript.head and m.role == "user"]
        self._adopt(messages)
        self.room.show(fresh)

    async def _admit(self, final: bool) -> Admission:
        assert self.ownership is not None
        return await self.ownership.admit(final)

    def _follow(self, frame: ServerFrame) -> None:
        """Keep what this runtime knows current with events of other processes (the
        welcome of a join, a cancel to forward, turns to refuse)."""
        assert self.ownership is not None
        self.ownership.follow(frame)
        self.standing.follow(frame)

    def wake(self) -> None:
        """Another process stored a turn here while this one holds the lease."""
        assert self.ownership is not None
        self.ownership.wake()

    async def take_over(self) -> None:
        """This process claimed the lease of one that died (see :meth:`Ownership.take_over`)."""
        assert self.ownership is not None
        await self.ownership.take_over()

    def lease_lost(self) -> None:
        """The lease expired and another process has it: stop answering here."""
        if self.ownership is not None:
            self.ownership.leased = False
        self.pipeline.jobs.clear()
        live = self.streamer.current
        if live is not None:
            live.stop("interrupted")
