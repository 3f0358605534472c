"""The reply being streamed: its start, coalesced deltas, saved text and stored end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from assessment.tutor import ReplyFailed
from persistence.records import Conversation
from persistence.store import Store
from protocol.messages import AssistantDelta, AssistantEnd, AssistantStart
from realtime.conversation.reply import Streamer
from realtime.conversation.transcript import Transcript
from realtime.metrics import Metrics
from realtime.settings import Settings
from tests.limits import TIMEOUT

Frame = AssistantStart | AssistantDelta | AssistantEnd


class _Sent(list[Frame]):
    """The frames published, and an event set by the first delta."""

    def __init__(self) -> None:
        super().__init__()
        self.delta = asyncio.Event()

    def publish(self, frame: Frame, seq: int) -> None:
        self.append(frame)
        if isinstance(frame, AssistantDelta):
            self.delta.set()


def _streamer(store: Store, transcript: Transcript, sent: _Sent, **settings: float) -> Streamer:
    return Streamer(
        "c1",
        transcript=transcript,
        publish=sent.publish,
        store=store,
        settings=Settings(database_url=store.db.url, **settings),  # type: ignore[arg-type]
        metrics=Metrics(),
        cluster=None,
    )


async def _chunks(*parts: str, then: asyncio.Event | None = None) -> AsyncIterator[str]:
    for part in parts:
        yield part
    if then is not None:
        await then.wait()


async def test_a_reply_streams_its_text_and_stores_its_end(
    store: Store, conversation: Conversation
) -> None:
    """Start, deltas that add up to the text, then an end with the length; stored."""
    message = await store.conversations.start_assistant(conversation.id)
    transcript = Transcript([message])
    sent = _Sent()
    streamer = _streamer(store, transcript, sent, coalesce_seconds=0)
    await asyncio.wait_for(streamer.stream(message, _chunks("Well ", "done."), started=0), TIMEOUT)
    assert isinstance(sent[0], AssistantStart)
    deltas = [frame for frame in sent if isinstance(frame, AssistantDelta)]
    assert "".join(delta.text for delta in deltas) == "Well done."
    assert [delta.offset for delta in deltas] == [0, 5]
    assert sent[-1] == AssistantEnd(message_id=sent[0].message_id, status="complete", length=10)
    stored = await store.conversations.message(message.id)
    assert stored is not None and (stored.content, stored.status) == ("Well done.", "complete")
    assert (transcript.messages[0].content, transcript.messages[0].status) == (
        "Well done.",
        "complete",
    )
    assert streamer.current is None


async def test_chunks_within_the_window_are_one_delta(
    store: Store, conversation: Conversation
) -> None:
    """A fast tutor costs one delta per coalescing window, not one per chunk."""
    message = await store.conversations.start_assistant(conversation.id)
    sent = _Sent()
    streamer = _streamer(store, Transcript([message]), sent, coalesce_seconds=1e12)
    await asyncio.wait_for(streamer.stream(message, _chunks("a", "b", "c"), started=0), TIMEOUT)
    deltas = [frame for frame in sent if isinstance(frame, AssistantDelta)]
    assert [(d.offset, d.text) for d in deltas] == [(0, "abc")]  # sent at the end


async def test_a_stopped_reply_ends_with_the_status_asked_and_its_text(
    store: Store, conversation: Conversation
) -> None:
    """Cancelled mid-reply: the text so far is stored with status cancelled."""
    message = await store.conversations.start_assistant(conversation.id)
    sent = _Sent()
    streamer = _streamer(store, Transcript([message]), sent, coalesce_seconds=0)
    never = asyncio.Event()
    streaming = asyncio.create_task(
        streamer.stream(message, _chunks("Half", then=never), started=0)
    )
    async with asyncio.timeout(TIMEOUT):
        await sent.delta.wait()
        live = streamer.in_flight(message.id)
        assert live is not None and streamer.in_flight("other") is None
        assert live.stop("cancelled")
        await streaming
    assert sent[-1] == AssistantEnd(message_id=live.message_id, status="cancelled", length=4)
    stored = await store.conversations.message(message.id)
    assert stored is not None and (stored.content, stored.status) == ("Half", "cancelled")


async def test_a_failed_reply_ends_in_error(store: Store, conversation: Conversation) -> None:
    """The tutor's failure ends the reply ``error``, with the text already streamed."""
    message = await store.conversations.start_assistant(conversation.id)
    sent = _Sent()

    async def failing() -> AsyncIterator[str]:
        yield "Par"
        raise ReplyFailed("the model went away")

    streamer = _streamer(store, Transcript([message]), sent, coalesce_seconds=0)
    await asyncio.wait_for(streamer.stream(message, failing(), started=0), TIMEOUT)
    assert isinstance(sent[-1], AssistantEnd)
    assert (sent[-1].status, sent[-1].length) == ("error", 3)


async def test_settle_interrupts_a_reply_past_the_grace(
    store: Store, conversation: Conversation
) -> None:
    """On shutdown a reply that does not finish in time ends ``interrupted``."""
    message = await store.conversations.start_assistant(conversation.id)
    sent = _Sent()
    streamer = _streamer(store, Transcript([message]), sent, coalesce_seconds=0)
    never = asyncio.Event()
    streaming = asyncio.create_task(streamer.stream(message, _chunks("x", then=never), started=0))
    async with asyncio.timeout(TIMEOUT):
        await sent.delta.wait()  # the pump runs
        await streamer.settle(0)
        await streaming
    assert isinstance(sent[-1], AssistantEnd) and sent[-1].status == "interrupted"
