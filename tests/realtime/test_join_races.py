"""Races between a socket joining a conversation and the conversation's other work.

The database answers reads from threads of its own, so a replay may see a reply's row
(streaming) before the event loop has resumed the task that wrote it and published its
start. The client must then get that reply whole: the late start is not repeated, and
the deltas and the end still come.

A join waits for its subscription (with Redis, for its confirmation). Meanwhile the
runtime's worker may end, and the hub drops a runtime that is idle: the joining socket
must already count, or it is left on a runtime no one else reaches.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator

import orjson

from assessment.spec import AssessmentSpec
from assessment.tutor import Tutor
from persistence.records import AssessmentConfig, Conversation
from persistence.store import Store
from protocol.messages import (
    AssistantDelta,
    AssistantEnd,
    AssistantStart,
    ClientMsgId,
    MessageId,
    Send,
)
from realtime.auth import Identity
from realtime.cluster.broker import Deliver, Event, InProcessBroker
from realtime.conversation import ConversationRuntime
from realtime.metrics import Metrics
from realtime.settings import Settings
from realtime.sockets.connection import Connection
from tests.limits import TIMEOUT


async def test_a_reply_read_before_its_start_is_published_still_streams_to_the_client(
    store: Store, assessment: AssessmentConfig, conversation: Conversation
) -> None:
    """Replayed as streaming, then its live start dropped and its deltas and end sent."""
    opening = await store.conversations.start_assistant(conversation.id, content="Hi")
    await store.conversations.finish_message(opening.id, "Hi", "complete")
    broker = InProcessBroker()
    runtime = await _runtime(store, assessment, conversation, broker)
    # Committed by another task; the runtime has not seen it yet.
    reply = await store.conversations.start_assistant(conversation.id)
    conn = Connection("c1", _student(conversation), observer=False, outbox_bytes=1 << 20)
    async with runtime.attach(conn):
        await runtime.replay(conn, last_seq=1)
        message_id = MessageId(reply.id)
        for frame in (
            AssistantStart(message_id=message_id, seq=reply.seq),
            AssistantDelta(message_id=message_id, offset=0, text="Well done."),
            AssistantEnd(message_id=message_id, status="complete", length=10),
        ):
            broker.publish(Event(conversation_id=conversation.id, frame=frame, seq=reply.seq))
        conn.close(1000, flush=True)
        sent = [orjson.loads(text) for text in _drain(conn)]
    assert [(f["type"], f.get("seq"), f.get("status")) for f in sent] == [
        ("welcome", None, None),
        ("message", 2, "streaming"),
        ("assistant.delta", None, None),
        ("assistant.end", None, "complete"),
    ]
    assert (sent[2]["offset"], sent[2]["text"]) == (0, "Well done.")


class _ConfirmedLater(InProcessBroker):
    """Subscriptions that go live when the test says, as Redis confirms them."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = asyncio.Event()
        self.confirm = asyncio.Event()

    @contextlib.asynccontextmanager
    async def subscribe(self, conversation_id: str, deliver: Deliver) -> AsyncIterator[None]:
        self.asked.set()
        await self.confirm.wait()
        async with super().subscribe(conversation_id, deliver):
            yield


async def test_sockets_joining_count_before_their_subscription_is_live(
    store: Store, assessment: AssessmentConfig, conversation: Conversation
) -> None:
    """While the subscription is made the runtime is not idle (so not dropped), and a
    second socket joining meanwhile waits for the subscription too."""
    opening = await store.conversations.start_assistant(conversation.id, content="Hi")
    await store.conversations.finish_message(opening.id, "Hi", "complete")
    broker = _ConfirmedLater()
    idle_when_left: list[bool] = []
    runtime = await _runtime(
        store, assessment, conversation, broker, on_idle=lambda r: idle_when_left.append(r.idle)
    )
    live_at_join: list[int] = []
    both_joined, leave = asyncio.Event(), asyncio.Event()

    async def join(name: str) -> None:
        conn = Connection(name, _student(conversation), observer=False, outbox_bytes=1 << 20)
        async with runtime.attach(conn):
            live_at_join.append(broker.subscriber_count(conversation.id))
            if len(live_at_join) == 2:
                both_joined.set()
            await leave.wait()

    first = asyncio.create_task(join("c1"))
    async with asyncio.timeout(TIMEOUT):
        await broker.asked.wait()
    assert not runtime.idle  # what the hub asks before it drops a runtime
    second = asyncio.create_task(join("c2"))
    # After the second socket's first step (callbacks run in order): it is joining.
    asyncio.get_running_loop().call_soon(broker.confirm.set)
    await asyncio.wait_for(both_joined.wait(), TIMEOUT)
    assert live_at_join == [1, 1]
    leave.set()
    await asyncio.wait_for(asyncio.gather(first, second), TIMEOUT)
    assert idle_when_left == [False, True]  # idle once the last socket left
    assert broker.subscriber_count(conversation.id) == 0


async def test_every_turn_of_many_join_send_leave_cycles_is_acknowledged(
    store: Store, assessment: AssessmentConfig, conversation: Conversation
) -> None:
    """Eight sockets at a time join, send a turn and leave, 200 times in all: the room
    leaving and joining again never loses its live events, so every ack arrives."""
    runtime = await _runtime(store, assessment, conversation, InProcessBroker())
    runtime.pipeline.stopping = True  # the turns stay unanswered: the attempt stays open
    acks: list[str] = []

    async def cycle(number: int) -> None:
        conn = Connection(
            f"c{number}", _student(conversation), observer=False, outbox_bytes=1 << 20
        )
        ready = asyncio.Event()
        conn.on_ready = ready.set
        async with runtime.attach(conn):
            await runtime.replay(conn, last_seq=0)
            turn = Send(client_msg_id=ClientMsgId(f"t{number}"), content="4")
            await runtime.submit_turn(conn, turn, allowed=True)
            while not any(f["type"] == "ack" for f in map(orjson.loads, _drain(conn))):
                ready.clear()
                await ready.wait()
        acks.append(turn.client_msg_id)

    async with asyncio.timeout(TIMEOUT):
        for start in range(0, 200, 8):
            await asyncio.gather(*(cycle(n) for n in range(start, start + 8)))
    assert len(acks) == 200
    runtime.close()


async def _runtime(
    store: Store,
    assessment: AssessmentConfig,
    conversation: Conversation,
    broker: InProcessBroker,
    on_idle: Callable[[ConversationRuntime], None] = lambda _: None,
) -> ConversationRuntime:
    return ConversationRuntime(
        conversation=conversation,
        config=assessment,
        tutor=Tutor(_spec(assessment)),
        messages=await store.conversations.messages_after(conversation.id),
        store=store,
        broker=broker,
        settings=Settings(database_url=store.db.url),
        metrics=Metrics(),
        on_idle=on_idle,
    )


def _spec(config: AssessmentConfig) -> AssessmentSpec:
    return AssessmentSpec.from_config(
        assessment_type=config.assessment_type,
        grading_schema=config.grading_schema,
        mastery_threshold=config.mastery_threshold,
        ai_config=config.ai_config,
    )


def _student(conversation: Conversation) -> Identity:
    return Identity(
        user_id=conversation.user_id,
        course_id=conversation.course_id,
        platform_id="lms",
        roles=frozenset({"Learner"}),
    )


def _drain(conn: Connection) -> Iterator[str]:
    while (text := conn.next_text()) is not None:
        yield text
