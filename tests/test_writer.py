"""The group-commit writer: shared transactions, committed before return, failures isolated."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection

from persistence.conversations import turn_lane
from persistence.database import Database
from persistence.errors import (
    ConstraintViolation,
    ConversationClosed,
    NotFound,
    StoreError,
    WriterClosed,
)
from persistence.records import AssessmentConfig, Conversation, ConversationId, MessageId
from persistence.schema import conversation_messages
from persistence.store import Store
from persistence.turns import (
    Appended,
    AppendMessage,
    RecordEvaluation,
    TurnOp,
    TurnResult,
    UpdateMessage,
    apply_turns,
    apply_turns_on_postgres,
)
from persistence.writer import ApplyBatch, GroupCommitWriter, WriterLanes
from tests.limits import TIMEOUT


async def test_concurrent_submissions_share_transactions(
    store: Store, conversation: Conversation
) -> None:
    """100 concurrent appends commit in fewer transactions than appends."""
    batches: list[int] = []
    writer = GroupCommitWriter(store.db, _counting(batches), max_batch=1000)
    await writer.start()
    try:
        await asyncio.wait_for(
            asyncio.gather(*(writer.submit(_append(conversation, i)) for i in range(100))),
            TIMEOUT,
        )
    finally:
        await writer.close()
    assert sum(batches) == 100
    assert len(batches) < 100


async def test_max_batch_bounds_a_transaction(store: Store, conversation: Conversation) -> None:
    """No transaction takes more operations than max_batch."""
    batches: list[int] = []
    writer = GroupCommitWriter(store.db, _counting(batches), max_batch=7)
    await writer.start()
    try:
        await asyncio.gather(*(writer.submit(_append(conversation, i)) for i in range(50)))
    finally:
        await writer.close()
    assert max(batches) <= 7 and sum(batches) == 50


@pytest.mark.parametrize(("gather", "expected"), [(0.0, [2, 1, 1]), (1.0, [2, 2])])
async def test_under_load_a_transaction_gathers_what_arrives_in_its_window(
    store: Store, conversation: Conversation, gather: float, expected: list[int]
) -> None:
    """After a batch of two (load), the next transaction waits out the window and takes
    the write that came later too; without a window each goes on its own."""
    batches: list[int] = []
    writer = GroupCommitWriter(store.db, _counting(batches), gather=gather)
    await writer.start()
    try:
        await asyncio.wait_for(
            asyncio.gather(*(writer.submit(_append(conversation, i)) for i in range(2))),
            TIMEOUT,
        )
        first = asyncio.create_task(writer.submit(_append(conversation, 2)))
        for _ in range(20):  # loop turns, no time: enough for a writer that does not wait
            await asyncio.sleep(0)
        await asyncio.wait_for(
            asyncio.gather(first, writer.submit(_append(conversation, 3))), TIMEOUT
        )
    finally:
        await writer.close()
    assert batches == expected


async def test_a_lone_writer_never_waits_for_the_window(
    store: Store, conversation: Conversation
) -> None:
    """Writes one after another are batches of one: a window of an hour delays none."""
    batches: list[int] = []
    writer = GroupCommitWriter(store.db, _counting(batches), gather=3600.0)
    await writer.start()
    try:
        for i in range(5):
            await asyncio.wait_for(writer.submit(_append(conversation, i)), TIMEOUT)
    finally:
        await writer.close()
    assert batches == [1] * 5


async def test_a_returned_write_is_visible_to_another_connection(
    database_url: str, store: Store, conversation: Conversation
) -> None:
    """When submit returns, the row is committed: a new connection reads it."""
    appended = await store.conversations.append_user_turn(conversation.id, "c-1", "durable")
    other = Database(database_url)
    try:
        async with other.read() as conn:
            content = await conn.scalar(
                select(conversation_messages.c.content).where(
                    conversation_messages.c.id == appended.message.id
                )
            )
    finally:
        await other.dispose()
    assert content == "durable"


async def test_a_row_the_database_refuses_fails_only_its_caller(
    store: Store, conversation: Conversation
) -> None:
    """A CHECK failure in a shared batch fails its caller with a clear error; others commit."""
    reply = await store.conversations.start_assistant(conversation.id)
    results = await asyncio.gather(
        store.conversations.append_user_turn(conversation.id, "ok-1", "x"),
        store.writer.submit(UpdateMessage(message_id=reply.id, status="bogus")),
        store.conversations.append_user_turn(conversation.id, "ok-2", "y"),
        return_exceptions=True,
    )
    assert isinstance(results[1], ConstraintViolation)
    assert "ck_conversation_messages_status" in str(results[1])
    stored = await store.conversations.messages_after(conversation.id)
    assert [(m.seq, m.client_msg_id, m.status) for m in stored] == [
        (1, None, "streaming"),
        (2, "ok-1", "complete"),
        (3, "ok-2", "complete"),
    ]


async def test_close_commits_what_is_queued_then_refuses(
    store: Store, conversation: Conversation
) -> None:
    """Closing drains the queue; a submission after close raises WriterClosed."""
    writer = GroupCommitWriter(store.db, apply_turns)
    await writer.start()
    pending = [asyncio.ensure_future(writer.submit(_append(conversation, i))) for i in range(20)]
    await asyncio.sleep(0)  # let the submissions queue before closing
    await writer.close()
    assert all(task.done() and not task.exception() for task in pending)
    with pytest.raises(WriterClosed, match="not running"):
        await writer.submit(UpdateMessage(message_id=MessageId("x"), content="y"))


async def test_lanes_keep_each_conversations_order_and_commit_side_by_side(
    store: Store, assessment: AssessmentConfig
) -> None:
    """Turns of many conversations through three lanes: each conversation's seqs follow
    its submission order, with no gap, and every lane committed some of them."""
    # Twelve conversations, and more if need be until each lane has one (a lane is the
    # hash of the conversation's id: twelve random ids miss one of three lanes 2% of runs).
    conversations: list[Conversation] = []
    while len(conversations) < 12 or {hash(c.id) % 3 for c in conversations} != {0, 1, 2}:
        user = f"s{len(conversations)}"
        conversations.append(
            (await store.conversations.open_attempt(assessment.id, user, "course-1"))[0]
        )
    lanes = WriterLanes(store.db, apply_turns, key=turn_lane, lanes=3)
    await lanes.start()
    try:
        appended = await asyncio.wait_for(
            asyncio.gather(*(lanes.submit(_append(c, i)) for i in range(5) for c in conversations)),
            TIMEOUT,
        )
    finally:
        await lanes.close()
    seqs: dict[str, list[int]] = {}
    for result in appended:
        assert result is not None
        seqs.setdefault(result.message.conversation_id, []).append(result.message.seq)
    assert all(found == [1, 2, 3, 4, 5] for found in seqs.values())
    assert len(seqs) == len(conversations)
    assert lanes.operations == 5 * len(conversations) and lanes.transactions >= 3


@pytest.mark.parametrize("on_server", [False, True], ids=["in_python", "on_server"])
async def test_one_batch_of_every_kind_of_turn_write(
    store: Store, assessment: AssessmentConfig, conversation: Conversation, on_server: bool
) -> None:
    """Repeats (of a stored turn and within the batch), a new turn, a turn in a closed
    conversation, one in no conversation, an update and a graded reply, in one
    transaction: each gets its own answer, and what is stored is what SQLite's batch and
    PostgreSQL's function (tutorchat_apply_turns) both store."""
    if on_server and store.db.is_sqlite:
        pytest.skip("the batch function is PostgreSQL's")
    first = await store.conversations.append_user_turn(conversation.id, "m1", "five")
    reply = await store.conversations.start_assistant(conversation.id)
    closed, _ = await store.conversations.open_attempt(assessment.id, "student-2", "course-1")
    await store.conversations.complete(closed.id, mastery_score=0, missed={})
    grades = RecordEvaluation(
        message_id=first.message.id, evaluation={"correct": False}, mastery_score=25.0
    )
    ops: list[TurnOp] = [
        AppendMessage(
            conversation_id=conversation.id, role="user", content="5", client_msg_id="m1"
        ),
        AppendMessage(
            conversation_id=conversation.id, role="user", content="4", client_msg_id="m2"
        ),
        AppendMessage(
            conversation_id=conversation.id, role="user", content="4", client_msg_id="m2"
        ),
        AppendMessage(conversation_id=closed.id, role="user", content="late", client_msg_id="z"),
        AppendMessage(conversation_id=ConversationId("nowhere"), role="assistant", content="?"),
        UpdateMessage(message_id=reply.id, content="Not quite.", status="complete"),
        AppendMessage(
            conversation_id=conversation.id, role="assistant", content="Right.", grades=grades
        ),
    ]
    apply = apply_turns_on_postgres if on_server else apply_turns
    writer = GroupCommitWriter(store.db, apply, one_statement=on_server)
    await writer.start()
    try:
        submitted = [asyncio.ensure_future(writer.submit(op)) for op in ops]
        results = await asyncio.wait_for(
            asyncio.gather(*submitted, return_exceptions=True), TIMEOUT
        )
    finally:
        await writer.close()
    assert writer.transactions == 1
    appended = [r for r in results if isinstance(r, Appended)]
    assert [(r.message.seq, r.message.client_msg_id, r.duplicate) for r in appended] == [
        (1, "m1", True),
        (3, "m2", False),
        (3, "m2", True),
        (4, None, False),
    ]
    assert appended[0].message == first.message
    assert isinstance(results[3], ConversationClosed) and "is completed" in str(results[3])
    assert isinstance(results[4], NotFound) and results[5] is None
    stored = await store.conversations.messages_after(conversation.id)
    assert [(m.seq, m.role, m.content, m.status, m.metadata) for m in stored] == [
        (1, "user", "five", "complete", {"correct": False}),
        (2, "assistant", "Not quite.", "complete", None),
        (3, "user", "4", "complete", None),
        (4, "assistant", "Right.", "complete", None),
    ]
    assert stored[2] == appended[1].message and stored[3] == appended[3].message
    head = await store.conversations.get(conversation.id)
    assert (head.last_seq, head.mastery_score) == (4, 25.0)
    assert (await store.conversations.messages_after(closed.id)) == []


def _counting(batches: list[int]) -> ApplyBatch[TurnOp, TurnResult]:
    """apply_turns, noting the size of each batch it applies."""

    def counting(
        conn: Connection, ops: Sequence[TurnOp], *, careful: bool
    ) -> list[TurnResult | StoreError]:
        batches.append(len(ops))
        return apply_turns(conn, ops, careful=careful)

    return counting


def _append(conversation: Conversation, i: int) -> TurnOp:
    return AppendMessage(
        conversation_id=conversation.id, role="user", content="x", client_msg_id=f"w{i}"
    )
