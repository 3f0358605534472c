"""An LLM tutor whose reply fails: the next turn is not graded against a question the
student never saw; the question is asked again, and the failure is counted."""

from __future__ import annotations

import pytest

from assessment.phrasing import BROKE_OFF
from persistence.store import open_store
from tests.assessment.fake_llm import FakeLLM, Script
from tests.realtime.harness import (
    Client,
    Running,
    api,
    chat_config,
    create_assessment,
    of_type,
    open_conversation,
)


async def test_the_turn_after_a_failed_reply_is_not_graded(
    run: Running, llm: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    """The opening fails (503): the student's next turn gets no grade and no progress; the
    reply asks the question again in the built-in phrasing; the failure is logged and
    /metrics counts it; the turn after that is graded as usual."""
    llm.will(Script(status=503))
    assessment = await create_assessment(run, "chat", "mastery", chat_config())
    conversation = await open_conversation(run, assessment)
    client = await Client.connect(run, conversation, run.token("student-1"))
    # The opening failed before the socket joined (replayed) or while it listened.
    await client.until(
        lambda f: f["type"] in ("message", "assistant.end") and f["status"] == "error"
    )

    await client.send({"type": "send", "client_msg_id": "t1", "content": "It makes glucose"})
    again = await client.until(of_type("assistant.end"))
    assert not [f for f in again if f["type"] == "progress"]
    text = "".join(f["text"] for f in again if f["type"] == "assistant.delta")
    assert text.startswith(BROKE_OFF) and "What does photosynthesis make?" in text
    assert len(llm.requests) == 1  # neither graded nor spoken through the LLM

    llm.will(Script(json='{"covered": [0]}'), Script(chunks=["Well ", "done."]))
    await client.send({"type": "send", "client_msg_id": "t2", "content": "It makes glucose"})
    graded = await client.until(of_type("completed"))
    assert [f["mastery_score"] for f in graded if f["type"] == "progress"] == [100.0]

    async with open_store(run.settings.database_url, migrate_first=False) as store:
        rows = await store.conversations.messages_after(conversation)
    first, second = (row for row in rows if row.role == "user")
    assert "evaluation" not in (first.metadata or {})
    assert (second.metadata or {})["evaluation"]["verdict"] == "correct"
    metrics = (await api(run, "GET", "/metrics", None)).text
    assert "tutorchat_reply_failures_total 1.0" in metrics
    (logged,) = [r for r in caplog.records if "failed:" in r.getMessage()]
    assert logged.levelname == "WARNING" and "503" in logged.getMessage()
