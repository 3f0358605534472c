"""Appending turns: seq assignment, idempotency, and the assistant reply's life."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from persistence.errors import ConstraintViolation, ConversationClosed, NotFound
from persistence.records import AssessmentConfig, Conversation, ConversationId
from persistence.schema import conversation_messages, conversations
from persistence.store import Store
from persistence.turns import AppendMessage, RecordEvaluation
from tests.limits import TIMEOUT


async def test_concurrent_appends_to_one_conversation_get_seqs_1_to_200(
    store: Store, conversation: Conversation
) -> None:
    """200 tasks appending at once get exactly the seqs 1..200, each once."""
    appended = await asyncio.wait_for(
        asyncio.gather(
            *(
                store.conversations.append_user_turn(conversation.id, f"m{i}", f"answer {i}")
                for i in range(200)
            )
        ),
        TIMEOUT,
    )
    assert sorted(result.message.seq for result in appended) == list(range(1, 201))
    stored = await store.conversations.messages_after(conversation.id, 0, limit=500)
    assert [message.seq for message in stored] == list(range(1, 201))
    assert (await store.conversations.get(conversation.id)).last_seq == 200


async def test_concurrent_appends_to_200_conversations_never_lock(
    store: Store, assessment: AssessmentConfig
) -> None:
    """200 tasks on 200 conversations all commit (no "database is locked")."""
    opened = [
        (await store.conversations.open_attempt(assessment.id, f"student-{i}", "course-1"))[0]
        for i in range(200)
    ]

    async def converse(conversation: Conversation) -> list[int]:
        seqs = []
        for turn in range(3):
            result = await store.conversations.append_user_turn(conversation.id, f"t{turn}", "x")
            reply = await store.conversations.start_assistant(conversation.id)
            await store.conversations.finish_message(reply.id, "feedback", "complete")
            seqs += [result.message.seq, reply.seq]
        return seqs

    results = await asyncio.wait_for(asyncio.gather(*(converse(c) for c in opened)), TIMEOUT)
    assert all(seqs == [1, 2, 3, 4, 5, 6] for seqs in results)
    async with store.db.read() as conn:
        count = await conn.scalar(select(func.count()).select_from(conversation_messages))
    assert count == 200 * 6


async def test_repeated_client_msg_id_returns_the_original_and_writes_nothing(
    store: Store, conversation: Conversation
) -> None:
    """A repeat gets the original id and seq, flagged duplicate; no row is added."""
    first = await store.conversations.append_user_turn(conversation.id, "c-1", "Paris")
    again = await store.conversations.append_user_turn(conversation.id, "c-1", "Lyon")
    assert not first.duplicate
    assert again.duplicate
    assert (again.message.id, again.message.seq) == (first.message.id, first.message.seq)
    assert again.message.content == "Paris"
    stored = await store.conversations.messages_after(conversation.id)
    assert [m.content for m in stored] == ["Paris"]


async def test_repeats_within_one_batch_are_written_once(
    store: Store, conversation: Conversation
) -> None:
    """Ten simultaneous sends of one client_msg_id store one row; nine are duplicates."""
    results = await asyncio.gather(
        *(store.conversations.append_user_turn(conversation.id, "same", "x") for _ in range(10))
    )
    assert [r.duplicate for r in results].count(False) == 1
    assert len({r.message.id for r in results}) == 1
    assert len(await store.conversations.messages_after(conversation.id)) == 1


async def test_client_msg_ids_are_scoped_to_their_conversation(
    store: Store, assessment: AssessmentConfig
) -> None:
    """The same client_msg_id in two conversations is two turns."""
    one, _ = await store.conversations.open_attempt(assessment.id, "a", "course-1")
    two, _ = await store.conversations.open_attempt(assessment.id, "b", "course-1")
    first = await store.conversations.append_user_turn(one.id, "c-1", "x")
    second = await store.conversations.append_user_turn(two.id, "c-1", "x")
    assert not first.duplicate and not second.duplicate
    assert first.message.id != second.message.id


async def test_a_closed_conversation_refuses_new_turns_but_answers_repeats(
    store: Store, conversation: Conversation
) -> None:
    """After completion a new turn is refused; a repeat still gets its original."""
    first = await store.conversations.append_user_turn(conversation.id, "c-1", "x")
    await store.conversations.complete(conversation.id, mastery_score=50, missed={})
    with pytest.raises(ConversationClosed, match="is completed"):
        await store.conversations.append_user_turn(conversation.id, "c-2", "y")
    repeat = await store.conversations.append_user_turn(conversation.id, "c-1", "x")
    assert repeat.duplicate and repeat.message.seq == first.message.seq


async def test_unknown_conversation_fails_only_its_caller(
    store: Store, conversation: Conversation
) -> None:
    """In a shared batch, a turn for a missing conversation fails; the others commit."""
    results = await asyncio.gather(
        store.conversations.append_user_turn(conversation.id, "ok-1", "x"),
        store.conversations.append_user_turn(ConversationId("missing"), "bad", "x"),
        store.conversations.append_user_turn(conversation.id, "ok-2", "y"),
        return_exceptions=True,
    )
    assert isinstance(results[1], NotFound)
    assert str(results[1]) == "no conversation missing"
    stored = await store.conversations.messages_after(conversation.id)
    assert [m.client_msg_id for m in stored] == ["ok-1", "ok-2"]


async def test_assistant_reply_streams_then_finishes(
    store: Store, conversation: Conversation
) -> None:
    """A reply starts empty and streaming, its text is flushed, then it is final."""
    reply = await store.conversations.start_assistant(conversation.id)
    assert (reply.seq, reply.status, reply.content) == (1, "streaming", "")
    await store.conversations.flush_text(reply.id, "Hello")
    (stored,) = await store.conversations.messages_after(conversation.id)
    assert (stored.content, stored.status) == ("Hello", "streaming")
    await store.conversations.finish_message(reply.id, "Hello, student.", "complete")
    (stored,) = await store.conversations.messages_after(conversation.id)
    assert (stored.content, stored.status, stored.role) == (
        "Hello, student.",
        "complete",
        "assistant",
    )


async def test_an_interrupted_reply_keeps_the_text_its_clients_were_sent(
    store: Store, conversation: Conversation
) -> None:
    """A reply whose process died ends ``interrupted``, with the text kept elsewhere (in
    Redis) where it extends the text saved, and with the text saved otherwise; a late
    save or end from the process that ran it changes nothing."""
    kept = await store.conversations.start_assistant(conversation.id)
    other = await store.conversations.start_assistant(conversation.id)
    await store.conversations.flush_text(kept.id, "Hel")
    await store.conversations.flush_text(other.id, "Good")
    assert [m.id for m in await store.conversations.streaming(conversation.id)] == [
        kept.id,
        other.id,
    ]
    ended = await store.conversations.interrupt_streaming(
        conversation.id, texts={kept.id: "Hello, st", other.id: "Bad"}
    )
    assert [(m.content, m.status) for m in ended] == [
        ("Hello, st", "interrupted"),
        ("Good", "interrupted"),
    ]
    assert await store.conversations.streaming(conversation.id) == []
    # The process that ran them, still alive (it lost its lease), saves too late.
    await store.conversations.flush_text(kept.id, "Hello, student")
    await store.conversations.finish_message(kept.id, "Hello, student.", "complete")
    stored = await store.conversations.messages_after(conversation.id)
    assert [(m.content, m.status) for m in stored] == [(m.content, m.status) for m in ended]


async def test_an_assistant_reply_may_follow_completion(
    store: Store, conversation: Conversation
) -> None:
    """The reply to the last turn is stored even if the conversation closed meanwhile."""
    await store.conversations.complete(conversation.id, mastery_score=100, missed={})
    reply = await store.conversations.start_assistant(conversation.id)
    assert reply.seq == 1


async def test_an_evaluation_is_stored_with_the_reply_that_answers_its_turn(
    store: Store, conversation: Conversation
) -> None:
    """A reply's grades land in the turn's metadata and the score on the conversation."""
    turn = await store.conversations.append_user_turn(conversation.id, "c-1", "4")
    evaluation = {"item_id": "i1", "verdict": "correct", "credit": 1.0}
    grades = RecordEvaluation(message_id=turn.message.id, evaluation=evaluation, mastery_score=100)
    reply = await store.conversations.start_assistant(conversation.id, grades=grades)
    stored, started = await store.conversations.messages_after(conversation.id)
    assert stored.metadata == evaluation
    assert (started.id, started.seq, started.status) == (reply.id, 2, "streaming")
    assert (await store.conversations.get(conversation.id)).mastery_score == 100


async def test_a_reply_landing_after_the_attempt_closed_leaves_its_score(
    store: Store, conversation: Conversation
) -> None:
    """The score a closed attempt has (its final one, or a teacher's) is not overwritten
    by a graded reply that lands later: the evaluation is kept, the score is not."""
    turn = await store.conversations.append_user_turn(conversation.id, "c-1", "4")
    await store.conversations.complete(conversation.id, mastery_score=40, missed={})
    evaluation = {"item_id": "i1", "verdict": "correct", "credit": 1.0}
    grades = RecordEvaluation(message_id=turn.message.id, evaluation=evaluation, mastery_score=100)
    await store.conversations.start_assistant(conversation.id, grades=grades)
    stored, _ = await store.conversations.messages_after(conversation.id)
    assert stored.metadata == evaluation
    assert (await store.conversations.get(conversation.id)).mastery_score == 40


async def test_grades_of_a_reply_that_fails_are_not_stored(
    store: Store, conversation: Conversation
) -> None:
    """A reply refused by the database takes its grades with it: both or neither."""
    turn = await store.conversations.append_user_turn(conversation.id, "c-1", "4")
    grades = RecordEvaluation(
        message_id=turn.message.id, evaluation={"item_id": "i1"}, mastery_score=100
    )
    refused = AppendMessage(
        conversation_id=conversation.id, role="assistant", content="", status="bogus", grades=grades
    )
    with pytest.raises(ConstraintViolation):
        await store.writer.submit(refused)
    (stored,) = await store.conversations.messages_after(conversation.id)
    assert stored.metadata is None
    assert (await store.conversations.get(conversation.id)).mastery_score == 0


async def test_messages_after_pages_in_seq_order(store: Store, conversation: Conversation) -> None:
    """Reading after a seq with a limit pages through the history."""
    for i in range(7):
        await store.conversations.append_user_turn(conversation.id, f"c{i}", str(i))
    page = await store.conversations.messages_after(conversation.id, after_seq=2, limit=3)
    assert [m.seq for m in page] == [3, 4, 5]
    assert await store.conversations.messages_after(conversation.id, after_seq=7) == []


async def test_turns_move_the_conversation_head_and_activity(
    store: Store, conversation: Conversation
) -> None:
    """last_seq follows the newest message, and last activity moves forward."""
    await store.conversations.append_user_turn(conversation.id, "c-1", "x")
    async with store.db.read() as conn:
        row = (
            await conn.execute(select(conversations).where(conversations.c.id == conversation.id))
        ).one()
    assert row.last_seq == 1
    after = await store.conversations.get(conversation.id)
    assert after.last_activity_at >= conversation.last_activity_at
