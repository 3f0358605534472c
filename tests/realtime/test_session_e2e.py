"""Whole sessions over a real server and real WebSocket clients."""

from __future__ import annotations

from sqlalchemy import select

from persistence.database import Database
from persistence.schema import conversation_messages, conversations, student_progress
from tests.realtime.harness import (
    Client,
    Running,
    create_assessment,
    of_type,
    open_conversation,
    reply_texts,
)

FILL_BLANK = {
    "items": [
        {"id": "i1", "text": "The capital of France is ___.", "answers": ["Paris"]},
        {"id": "i2", "text": "2 + 2 = ___", "answers": ["4"]},
    ]
}


async def test_a_fill_blank_session_runs_to_completion(run: Running) -> None:
    """Every turn is acked, graded and answered; the database ends consistent."""
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    conversation = await open_conversation(run, assessment)
    client = await Client.connect(run, conversation, run.token("student-1"))
    welcome = await client.recv()
    assert welcome["type"] == "welcome" and welcome["protocol"] == "tutorchat.1"
    assert welcome["conversation"]["assessment_type"] == "fill_blank"
    # The opening reply started at creation: replayed, then finished live if need be.
    await _reply_done(client, welcome)

    answers = [("a1", "Lyon"), ("a2", "paris"), ("a3", "4")]
    for client_msg_id, answer in answers:
        await client.send({"type": "send", "client_msg_id": client_msg_id, "content": answer})
        ack = await client.recv()
        assert ack["type"] == "ack" and ack["client_msg_id"] == client_msg_id
        assert ack["duplicate"] is False
        await client.until(of_type("assistant.end"))
    completed = await client.until(of_type("completed"))
    assert completed[-1] == {
        "type": "completed",
        "status": "completed",
        "mastery_score": 100.0,
        "passed": True,
    }
    progress = [f for f in client.frames if f["type"] == "progress"]
    assert [p["mastery_score"] for p in progress] == [0.0, 50.0, 100.0]
    texts = reply_texts(client.frames)
    await client.close()

    db = Database(run.settings.database_url)
    try:
        async with db.read() as conn:
            rows = (
                await conn.execute(
                    select(conversation_messages)
                    .where(conversation_messages.c.conversation_id == conversation)
                    .order_by(conversation_messages.c.seq)
                )
            ).all()
            finished = (
                await conn.execute(select(conversations).where(conversations.c.id == conversation))
            ).one()
            progress_row = (
                await conn.execute(
                    select(student_progress).where(student_progress.c.user_id == "student-1")
                )
            ).one()
    finally:
        await db.dispose()
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    assert [row.role for row in rows] == ["assistant", *["user", "assistant"] * 3]
    assert all(row.status == "complete" for row in rows)
    for row in rows:
        if row.role == "assistant" and row.id in texts:
            assert texts[row.id] == row.content
    assert [row.metadata["evaluation"]["verdict"] for row in rows if row.role == "user"] == [
        "wrong",
        "correct",
        "correct",
    ]
    assert (finished.status, finished.mastery_score, finished.last_seq) == ("completed", 100, 7)
    assert finished.completed_at is not None
    assert (progress_row.total_assessments, progress_row.average_mastery) == (1, 100)
    assert progress_row.struggle_patterns["i1"]["count"] == 1


async def _reply_done(client: Client, welcome: dict[str, object]) -> None:
    """Wait until the opening reply is complete (replayed complete, or its end arrives)."""
    replayed = [await client.recv() for _ in range(int(welcome["replay"]))]  # type: ignore[call-overload]
    if not any(f["role"] == "assistant" and f["status"] == "complete" for f in replayed):
        await client.until(of_type("assistant.end"))
