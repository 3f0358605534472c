"""The sockets on a conversation: replay on join, resync after a gap, live events."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import orjson
import pytest

from persistence.records import AssessmentConfig, Conversation
from persistence.store import Store
from protocol.messages import Ack, ClientMsgId, MessageId, Progress
from realtime.auth import Identity
from realtime.cluster.broker import Event, InProcessBroker
from realtime.conversation.reply import Streamer
from realtime.conversation.room import Room
from realtime.conversation.standing import Standing
from realtime.conversation.transcript import Transcript
from realtime.metrics import Metrics
from realtime.settings import Settings
from realtime.sockets.connection import Connection
from realtime.sockets.frames import message_frame
from tests.limits import TIMEOUT


async def _room(
    store: Store, assessment: AssessmentConfig, conversation: Conversation, broker: InProcessBroker
) -> Room:
    settings, metrics = Settings(database_url=store.db.url), Metrics()
    transcript = Transcript(await store.conversations.messages_after(conversation.id))
    streamer = Streamer(
        conversation.id,
        transcript=transcript,
        publish=lambda frame, seq: None,
        store=store,
        settings=settings,
        metrics=metrics,
        cluster=None,
    )
    return Room(
        conversation.id,
        assessment_type=assessment.assessment_type,
        transcript=transcript,
        standing=Standing.of(conversation, assessment.mastery_threshold),
        streamer=streamer,
        ownership=None,
        follow=None,
        on_empty=lambda: None,
        on_left=lambda: None,
        store=store,
        broker=broker,
        settings=settings,
        metrics=metrics,
    )


def _socket(conversation: Conversation, name: str = "c1") -> Connection:
    identity = Identity(
        user_id=conversation.user_id,
        course_id=conversation.course_id,
        platform_id="lms",
        roles=frozenset({"Learner"}),
    )
    return Connection(name, identity, observer=False, outbox_bytes=1 << 20)


async def _messages_until(conn: Connection, *, count: int) -> list[dict[str, object]]:
    """The ``message`` frames sent to ``conn``, once there are ``count``."""
    ready = asyncio.Event()
    conn.on_ready = ready.set
    messages: list[dict[str, object]] = []
    async with asyncio.timeout(TIMEOUT):
        while True:
            messages += [f for f in _sent(conn) if f["type"] == "message"]
            if len(messages) >= count:
                return messages
            ready.clear()
            await ready.wait()


def _sent(conn: Connection) -> Iterator[dict[str, object]]:
    while (text := conn.next_text()) is not None:
        yield orjson.loads(text)


async def _opened(store: Store, conversation: Conversation) -> None:
    opening = await store.conversations.start_assistant(conversation.id, content="Hi")
    await store.conversations.finish_message(opening.id, "Hi", "complete")


@pytest.mark.parametrize("last_seq", [0, 1, 50, 2**31 - 1, 2**31, 2**62])
async def test_a_join_replays_what_the_client_lacks(
    store: Store, assessment: AssessmentConfig, conversation: Conversation, last_seq: int
) -> None:
    """Welcome with the head, then the messages after last_seq (none beyond the head)."""
    await _opened(store, conversation)
    room = await _room(store, assessment, conversation, InProcessBroker())
    conn = _socket(conversation)
    async with room.join(conn):
        assert await room.replay(conn, last_seq) == (1 if last_seq == 0 else 0)
        conn.close(1000, flush=True)
    sent = list(_sent(conn))
    assert sent[0]["type"] == "welcome"
    assert sent[0]["conversation"]["last_seq"] == 1  # type: ignore[index]
    assert [f["seq"] for f in sent[1:]] == ([1] if last_seq == 0 else [])


async def test_live_events_reach_every_member_until_it_leaves(
    store: Store, assessment: AssessmentConfig, conversation: Conversation
) -> None:
    """Two sockets get the event; after one leaves, only the other; none after both."""
    broker = InProcessBroker()
    room = await _room(store, assessment, conversation, broker)
    first, second = _socket(conversation, "c1"), _socket(conversation, "c2")
    progress = Progress(mastery_score=10, items_done=1, items_total=3)
    async with room.join(first):
        await room.replay(first, 0)
        async with room.join(second):
            await room.replay(second, 0)
            broker.publish(Event(conversation_id=conversation.id, frame=progress))
        broker.publish(Event(conversation_id=conversation.id, frame=progress))
    assert broker.subscriber_count(conversation.id) == 0
    kinds = [[f["type"] for f in _sent(conn)] for conn in (first, second)]
    assert kinds == [["welcome", "progress", "progress"], ["welcome", "progress"]]


async def test_a_gap_in_the_events_is_filled_from_the_database(
    store: Store, assessment: AssessmentConfig, conversation: Conversation
) -> None:
    """A message whose event never came is sent by the resync, then the later one live."""
    await _opened(store, conversation)
    broker = InProcessBroker()
    room = await _room(store, assessment, conversation, broker)
    conn = _socket(conversation)
    async with room.join(conn):
        await room.replay(conn, 1)
        missed = await store.conversations.append_user_turn(conversation.id, "t1", "a")
        later = await store.conversations.append_user_turn(conversation.id, "t2", "b")
        # Only the later turn's event arrives: seq 3 after 1 is a gap.
        frame = message_frame(later.message)
        broker.publish(Event(conversation_id=conversation.id, frame=frame, seq=later.message.seq))
        sent = await _messages_until(conn, count=2)
    assert [f["seq"] for f in sent] == [missed.message.seq, later.message.seq]
    assert [f["id"] for f in sent] == [MessageId(missed.message.id), MessageId(later.message.id)]


async def test_turns_read_from_the_database_go_before_their_event(
    store: Store, assessment: AssessmentConfig, conversation: Conversation
) -> None:
    """A turn another process stored, shown from the database, reaches the socket once:
    before the grade that follows it, and not again when its own event arrives."""
    await _opened(store, conversation)
    broker = InProcessBroker()
    room = await _room(store, assessment, conversation, broker)
    conn = _socket(conversation)
    async with room.join(conn):
        await room.replay(conn, 0)
        turn = (await store.conversations.append_user_turn(conversation.id, "t1", "Paris")).message
        room.show([turn])
        progress = Progress(mastery_score=50, items_done=1, items_total=2)
        broker.publish(Event(conversation_id=conversation.id, frame=progress))
        broker.publish(Event(conversation_id=conversation.id, frame=message_frame(turn), seq=2))
        conn.close(1000, flush=True)
    sent = [(f["type"], f.get("seq")) for f in _sent(conn)]
    assert sent == [("welcome", None), ("message", 1), ("message", 2), ("progress", None)]


async def _own_turn(store: Store, conversation: Conversation, conn: Connection) -> Event:
    """The socket's turn, stored as seq 2, and its event (the ack, to its sender)."""
    turn = (await store.conversations.append_user_turn(conversation.id, "t1", "Paris")).message
    ack = Ack(
        client_msg_id=ClientMsgId("t1"), message_id=MessageId(turn.id), seq=2, duplicate=False
    )
    return Event(
        conversation_id=conversation.id,
        frame=message_frame(turn),
        seq=2,
        origin=conn.id,
        for_origin=ack,
    )


async def _resynced(room: Room, conn: Connection) -> None:
    """Resync every socket (as when Redis came back); return once ``conn`` is sent to."""
    ready = asyncio.Event()
    conn.on_ready = ready.set
    room.resync_all()
    async with asyncio.timeout(TIMEOUT):
        await ready.wait()


async def test_a_resync_acknowledges_the_turn_its_socket_is_storing(
    store: Store, assessment: AssessmentConfig, conversation: Conversation
) -> None:
    """A resync (Redis came back) that finds the socket's own turn stored, its ack not
    yet sent, sends the ack and no message for it; the turn's event, when it comes, adds
    nothing: the socket sees each seq once."""
    await _opened(store, conversation)
    broker = InProcessBroker()
    room = await _room(store, assessment, conversation, broker)
    conn = _socket(conversation)
    async with room.join(conn):
        await room.replay(conn, 1)
        conn.storing = "t1"
        event = await _own_turn(store, conversation, conn)
        await _resynced(room, conn)
        conn.storing = None
        broker.publish(event)
        conn.close(1000, flush=True)
    sent = [(f["type"], f.get("seq")) for f in _sent(conn)]
    assert sent == [("welcome", None), ("ack", 2)]


async def test_a_resync_acknowledges_a_turn_whose_ack_it_holds_back(
    store: Store, assessment: AssessmentConfig, conversation: Conversation
) -> None:
    """The turn's event (with its ack) came while the socket was being resynced: the
    resync sends the ack, not the message, and the held-back event adds nothing."""
    await _opened(store, conversation)
    broker = InProcessBroker()
    room = await _room(store, assessment, conversation, broker)
    conn = _socket(conversation)
    async with room.join(conn):
        await room.replay(conn, 1)
        event = await _own_turn(store, conversation, conn)
        conn.resync()  # events are held back from here
        broker.publish(event)
        await _resynced(room, conn)
        conn.close(1000, flush=True)
    sent = [(f["type"], f.get("seq")) for f in _sent(conn)]
    assert sent == [("welcome", None), ("ack", 2)]
