"""The tutor's reply being streamed: deltas coalesced, text saved, its end stored.

Each reply runs in a task of the server (the pump), not of any socket: a disconnect never
stops it, and ``cancel``, a lost lease or a shutdown does. Deltas are coalesced over a
short window, so a fast tutor costs a frame per window and not one per token; the text
is saved about every second (what a crash leaves) and at the end, before ``assistant.end``
is published.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable

from assessment.tutor import ReplyFailed
from persistence.records import Message
from persistence.records import MessageId as StoredMessageId
from persistence.store import Store
from protocol.messages import AssistantDelta, AssistantEnd, AssistantStart, MessageId
from realtime.cluster import Cluster
from realtime.conversation.persistent import persistent, refused
from realtime.conversation.transcript import Transcript
from realtime.metrics import Metrics
from realtime.settings import Settings

__all__ = ["LiveReply", "Publish", "Streamer"]

logger = logging.getLogger(__name__)

Publish = Callable[[AssistantStart | AssistantDelta | AssistantEnd, int], None]


@dataclasses.dataclass(eq=False, slots=True)
class LiveReply:
    """The reply streaming now.

    Attributes:
        message_id: its message.
        seq: its message's seq.
        started: when its turn began to be answered (loop time).
        text: the text so far.
        emitted: how much of the text was published as deltas.
        stop_status: how it ends if its pump is cancelled (None: ``interrupted``).
        pump: the task that reads the tutor's chunks.
    """

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

    @property
    def stored_id(self) -> StoredMessageId:
        """The stored message's id (the same string, the store's type)."""
        return StoredMessageId(self.message_id)

    def stop(self, status: str) -> bool:
        """End the reply with ``status`` now; False if it is not running yet."""
        if self.pump is None:
            return False
        self.stop_status = status
        self.pump.cancel()
        return True

    def final_status(self) -> str:
        """How the finished pump ended the reply."""
        pump = self.pump
        assert pump is not None and pump.done()
        if pump.cancelled():
            return self.stop_status or "interrupted"
        error = pump.exception()
        if error is None:
            return "complete"
        if isinstance(error, ReplyFailed):
            # The LLM's fault, not ours: no traceback, but the operator sees each one.
            logger.warning("reply %s failed: %s", self.message_id, error)
        else:
            logger.error("reply %s failed", self.message_id, exc_info=error)
        return "error"


class Streamer:
    """Streams a conversation's replies, one at a time.

    Args:
        conversation_id: the conversation.
        transcript: the messages held, where a finished reply's text goes.
        publish: sends an event of the reply (with its seq) to the room.
        cluster: the other processes, which read a reply's text so far from Redis.
    """

    __slots__ = (
        "_cluster",
        "_id",
        "_loop",
        "_metrics",
        "_publish",
        "_settings",
        "_store",
        "current",
        "transcript",
    )

    def __init__(
        self,
        conversation_id: str,
        *,
        transcript: Transcript,
        publish: Publish,
        store: Store,
        settings: Settings,
        metrics: Metrics,
        cluster: Cluster | None,
    ) -> None:
        self.current: LiveReply | None = None
        self._id = conversation_id
        self.transcript = transcript
        self._publish = publish
        self._store = store
        self._settings = settings
        self._metrics = metrics
        self._cluster = cluster
        self._loop = asyncio.get_running_loop()

    def in_flight(self, message_id: str) -> LiveReply | None:
        """The reply streaming now, if it is ``message_id``'s."""
        current = self.current
        return current if current is not None and current.message_id == message_id else None

    async def stream(self, message: Message, chunks: AsyncIterator[str], *, started: float) -> None:
        """Publish the start of the reply stored as ``message``, stream ``chunks`` and
        store its end; returns once the end is published."""
        live = LiveReply(message_id=MessageId(message.id), seq=message.seq, started=started)
        live.flushed_at = started
        self.current = live
        if self._cluster is not None:
            self._cluster.broker.keep_reply_text(live.message_id, "")
        self._publish(AssistantStart(message_id=live.message_id, seq=live.seq), live.seq)
        self._metrics.replies_in_flight.inc()
        live.pump = asyncio.create_task(self._pump(live, chunks))
        try:
            await asyncio.wait([live.pump])
        finally:
            await self._finish(live)

    async def settle(self, grace: float) -> None:
        """Let the reply in flight finish for ``grace`` seconds, then interrupt it."""
        live = self.current
        if live is None or live.pump is None:
            return
        done, _ = await asyncio.wait([live.pump], timeout=grace)
        if not done:
            live.stop("interrupted")

    async def _pump(self, live: LiveReply, chunks: AsyncIterator[str]) -> None:
        async for chunk in chunks:
            live.text += chunk
            self._coalesce(live)
            if self._loop.time() - live.flushed_at >= self._settings.flush_seconds:
                live.flushed_at = self._loop.time()
                await self._flush(live)

    async def _flush(self, live: LiveReply) -> None:
        """Save the text so far, for a process that dies mid-reply. A flush the database
        refuses is skipped: the next one, or the end, saves the text whole."""
        try:
            await self._store.conversations.flush_text(live.stored_id, live.text)
        except Exception as error:
            if not refused(error):
                raise
            logger.warning(
                "reply text not flushed (%s)",
                error,
                extra={"conversation": self._id, "message_id": live.message_id},
            )

    def _coalesce(self, live: LiveReply) -> None:
        """Emit now if the window has passed, else once it has."""
        if live.timer is not None:
            return
        wait = live.emitted_at + self._settings.coalesce_seconds - self._loop.time()
        if wait <= 0:
            self._emit(live)
        else:
            live.timer = self._loop.call_later(wait, self._emit, live)

    def _emit(self, live: LiveReply) -> None:
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

    async def _finish(self, live: LiveReply) -> None:
        if live.timer is not None:
            live.timer.cancel()
        self._emit(live)
        status = live.final_status()
        if status == "error":
            self._metrics.reply_failures.inc()
        await asyncio.shield(
            persistent(
                lambda: self._store.conversations.finish_message(live.stored_id, live.text, status),
                what="reply's end",
                conversation=self._id,
            )
        )
        self.transcript.replace(live.stored_id, content=live.text, status=status)
        self.current = None
        self._metrics.replies_in_flight.dec()
        logger.debug(
            "reply finished (%d characters)",
            len(live.text),
            extra={"conversation": self._id, "message_id": live.message_id, "status": status},
        )
        self._publish(
            AssistantEnd(message_id=live.message_id, status=status, length=len(live.text)),
            live.seq,
        )
        if self._cluster is not None:
            self._cluster.broker.drop_reply_text(live.message_id)
