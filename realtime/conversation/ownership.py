"""Which process runs a conversation's replies, when there are several.

The holder of the conversation's lease in Redis answers its turns. A process with jobs
asks for the lease before every job (a lease believed held may have expired meanwhile
and been taken by another process); if another process holds it, the jobs are handed to
that one, which reads them from the database. ``cancel`` of a reply another process runs
goes to that process the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from persistence.store import Store
from protocol.messages import AssistantEnd, AssistantStart, MessageId, ServerFrame
from realtime.cluster import Cluster
from realtime.conversation.pipeline import Admission, Pipeline

__all__ = ["LEASE_RETRY_SECONDS", "Ownership"]

logger = logging.getLogger(__name__)

# How soon jobs held back by a Redis error ask for the lease again.
LEASE_RETRY_SECONDS = 1.0


class Ownership:
    """This process's claim on a conversation among the processes of a deployment.

    Args:
        conversation_id: the conversation.
        cluster: the other processes.
        pipeline: the conversation's jobs (handed over, or retried, from here).
        on_lost: called when the lease turns out to be another process's now: this one
            must stop answering.
        reload: catches the runtime up with what other processes stored.
        has_sockets: whether the conversation has sockets in this process.
        on_released: called once the lease is let go (the runtime may be idle).
        publish: sends an event of the conversation to its sockets.

    Attributes:
        leased: this process holds the lease.
        stale: other processes may have stored what this one's memory lacks.
        remote_replies: the replies other processes run that this room's sockets have
            seen start (a cancel for one goes to its process).
    """

    __slots__ = (
        "_cluster",
        "_has_sockets",
        "_id",
        "_loop",
        "_on_lost",
        "_on_released",
        "_pipeline",
        "_publish",
        "_reload",
        "_store",
        "leased",
        "remote_replies",
        "stale",
    )

    def __init__(
        self,
        conversation_id: str,
        cluster: Cluster,
        *,
        pipeline: Pipeline,
        on_lost: Callable[[], None],
        reload: Callable[[], Awaitable[None]],
        has_sockets: Callable[[], bool],
        on_released: Callable[[], None],
        store: Store,
        publish: Callable[[AssistantEnd, int], None],
    ) -> None:
        self.leased = False
        self.stale = False
        self.remote_replies: set[MessageId] = set()
        self._id = conversation_id
        self._cluster = cluster
        self._pipeline = pipeline
        self._on_lost = on_lost
        self._reload = reload
        self._has_sockets = has_sockets
        self._on_released = on_released
        self._store = store
        self._publish = publish
        self._loop = asyncio.get_running_loop()

    async def admit(self, final: bool) -> Admission:
        """Whether the worker may run its next job: only while this process holds the
        lease (``final``: the worker's last look before it ends)."""
        jobs = self._pipeline.jobs
        if final or not (jobs or self.stale or self._has_sockets()):
            # With no socket here (an opening asked for over HTTP, work forwarded by
            # another process) the lease goes as soon as the work is done, not after
            # the linger: the student's next turn, through the process its socket is
            # on, is then answered there, not relayed through Redis.
            return await self._last_look()
        if jobs or self.stale:
            # Asked before every job, not once: a lease believed held may have
            # expired (a pause, a Redis restart) and been taken by another process.
            if not await self.take():
                return "stop"
            if self.stale:
                self.stale = False
                await self._reload()
        return "run"

    async def _last_look(self) -> Admission:
        """The worker is about to end: answer what other processes stored meanwhile (a
        word from them may have been lost), else let the lease go."""
        if not self.leased:
            return "stop"
        await self._reload()
        if self._pipeline.jobs:
            return "again"
        await self.release()
        self._on_released()
        return "stop"

    def wake(self) -> None:
        """Another process stored a turn here while this one holds the lease: read it."""
        self.stale = True
        self._pipeline.wake()

    async def take_over(self) -> None:
        """This process claimed the lease of one that died: its reply in flight ends
        ``interrupted``, and what it left is answered.

        The reply keeps the text its clients were sent: the dead process kept it in
        Redis before each delta went out, while its database copy is up to a flush
        behind."""
        self.leased = True
        kept: dict[str, str] = {}
        for reply in await self._store.conversations.streaming(self._id):
            if (text := await self._cluster.broker.reply_text(reply.id)) is not None:
                kept[reply.id] = text
        # One write, text and status: a socket that joins meanwhile reads both or neither.
        for message in await self._store.conversations.interrupt_streaming(self._id, texts=kept):
            end = AssistantEnd(
                message_id=MessageId(message.id),
                status="interrupted",
                length=len(message.content),
            )
            self._publish(end, message.seq)
            self._cluster.broker.drop_reply_text(message.id)
        self.wake()

    async def take(self) -> bool:
        """Hold the lease to run the conversation's replies, or hand the jobs to the
        process that holds it; True if held."""
        leases = self._cluster.leases
        try:
            for _ in range(3):  # the holder may let go between the two questions
                if await leases.take(self._id):
                    if not self.leased:
                        self.leased = True
                        self.stale = True  # other processes may have answered turns
                    return True
                if self.leased:
                    self._on_lost()
                holder = await leases.holder_of(self._id)
                if holder is not None:
                    # The holder reads the turns from the database; a student's
                    # ``complete`` is in no row, so it goes in the word sent.
                    kind = "complete" if self._pipeline.pending("complete") else "work"
                    self._pipeline.jobs.clear()
                    self._cluster.broker.send_control(holder, {"k": kind, "c": self._id})
                    return False
        except RedisError as error:
            if self.leased and leases.surely_held(self._id):
                return True  # a short outage: no other process can have it yet
            # The jobs wait: when Redis is back the hub wakes every runtime with jobs,
            # and an error that was not an outage (no connection free) is retried here.
            logger.warning("no lease (%s)", error, extra={"conversation": self._id})
            self._loop.call_later(LEASE_RETRY_SECONDS, self._pipeline.retry)
        return False

    async def release(self) -> None:
        """Let the lease go: the work here is done."""
        self.leased = False
        try:
            await self._cluster.leases.release(self._id)
        except RedisError as error:  # it expires on its own, and its claimer finds no work
            logger.warning("lease not released (%s)", error, extra={"conversation": self._id})

    async def forward_cancel(self, message_id: MessageId) -> bool:
        """Send a cancel to the process that runs the reply; False if none does."""
        if message_id not in self.remote_replies:
            return False
        try:
            holder = await self._cluster.leases.holder_of(self._id)
        except RedisError:
            holder = None
        if holder is None or holder == self._cluster.process_id:
            return False
        self._cluster.broker.send_control(holder, {"k": "cancel", "c": self._id, "m": message_id})
        return True

    def follow(self, frame: ServerFrame) -> None:
        """Note the replies that start and end, in whichever process."""
        match frame:
            case AssistantStart():
                self.remote_replies.add(frame.message_id)
            case AssistantEnd():
                self.remote_replies.discard(frame.message_id)
            case _:
                pass

    async def reply_text(self, message_id: str) -> str | None:
        """The text so far of a reply another process runs (None: not known)."""
        return await self._cluster.broker.reply_text(message_id)
