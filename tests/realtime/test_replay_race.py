"""A replay that reads a reply's start before the runtime has seen it commit.

The database answers reads from threads of its own, so a replay may see a reply's row
(streaming) before the event loop has resumed the task that wrote it and published its
start. The client must then get that reply whole: the late start is not repeated, and
the deltas and the end still come.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from assessment.spec import AssessmentSpec
from assessment.tutor import Tutor
from persistence.records import AssessmentConfig, Conversation
from persistence.store import Store
from protocol.messages import AssistantDelta, AssistantEnd, AssistantStart, MessageId
from realtime.auth import Identity
from realtime.broker import Event, InProcessBroker
from realtime.connection import Connection
from realtime.conversation import ConversationRuntime
from realtime.metrics import Metrics
from realtime.settings import Settings


async def test_a_reply_read_before_its_start_is_published_still_streams_to_the_client(
    store: Store, assessment: AssessmentConfig, conversation: Conversation
) -> None:
    """Replayed as streaming, then its live start dropped and its deltas and end sent."""
    opening = await store.conversations.start_assistant(conversation.id, content="Hi")
    await store.conversations.finish_message(opening.id, "Hi", "complete")
    messages = await store.conversations.messages_after(conversation.id)
    broker = InProcessBroker()
    runtime = ConversationRuntime(
        conversation=conversation,
        config=assessment,
        tutor=Tutor(_spec(assessment)),
        messages=messages,
        store=store,
        broker=broker,
        settings=Settings(database_url=store.db.url),
        metrics=Metrics(),
        on_idle=lambda _: None,
    )
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
