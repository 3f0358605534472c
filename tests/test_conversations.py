"""Opening, completing and abandoning conversations, and student progress."""

from __future__ import annotations

import asyncio

import pytest

from persistence.errors import NotFound
from persistence.records import AssessmentConfig, Conversation
from persistence.store import Store
from tests.conftest import TENANT


async def test_open_attempt_creates_once_then_finds(
    store: Store, assessment: AssessmentConfig
) -> None:
    """The first open creates the conversation; the next finds the same one."""
    first, created = await store.conversations.open_attempt(assessment.id, "s", "course-1")
    again, created_again = await store.conversations.open_attempt(assessment.id, "s", "course-1")
    assert created and not created_again
    assert first.id == again.id
    assert (first.status, first.last_seq, first.mastery_score) == ("active", 0, 0)


async def test_simultaneous_opens_share_one_conversation(
    store: Store, assessment: AssessmentConfig
) -> None:
    """Ten tabs opening at once get one conversation, created by exactly one of them."""
    opened = await asyncio.gather(
        *(store.conversations.open_attempt(assessment.id, "s", "course-1") for _ in range(10))
    )
    assert len({conversation.id for conversation, _ in opened}) == 1
    assert [created for _, created in opened].count(True) == 1


async def test_open_attempt_of_an_unknown_assessment(store: Store) -> None:
    """Opening an assessment that does not exist raises NotFound."""
    with pytest.raises(NotFound, match="no assessment nope"):
        await store.conversations.open_attempt("nope", "s", "course-1")


async def test_a_new_attempt_follows_a_completed_one(
    store: Store, conversation: Conversation
) -> None:
    """After completion, opening the assessment again starts a fresh conversation."""
    await store.conversations.complete(conversation.id, mastery_score=40, missed={})
    fresh, created = await store.conversations.open_attempt(
        conversation.assessment_config_id, conversation.user_id, conversation.course_id
    )
    assert created and fresh.id != conversation.id


async def test_completion_updates_the_conversation_and_progress(
    store: Store, assessment: AssessmentConfig
) -> None:
    """Completing writes status, time and score, and folds the attempt into progress."""
    first, _ = await store.conversations.open_attempt(assessment.id, "s", "course-1")
    done = await store.conversations.complete(first.id, mastery_score=80, missed={"i1": 2})
    assert done.status == "completed" and done.mastery_score == 80
    assert done.completed_at is not None
    second, _ = await store.conversations.open_attempt(assessment.id, "s", "course-1")
    await store.conversations.complete(second.id, mastery_score=60, missed={"i1": 1, "i2": 1})

    progress = await store.progress.get(TENANT, "s")
    assert progress is not None
    assert progress.total_assessments == 2
    assert progress.average_mastery == pytest.approx(70)
    assert {item: p["count"] for item, p in progress.struggle_patterns.items()} == {
        "i1": 3,
        "i2": 1,
    }
    assert progress.last_activity >= done.completed_at
    assert [p.user_id for p in await store.progress.for_course(TENANT)] == ["s"]


async def test_completing_twice_changes_nothing(store: Store, conversation: Conversation) -> None:
    """A second completion keeps the first score and counts the attempt once."""
    await store.conversations.complete(conversation.id, mastery_score=90, missed={})
    again = await store.conversations.complete(conversation.id, mastery_score=10, missed={})
    assert again.mastery_score == 90
    progress = await store.progress.get(conversation.tenant, conversation.user_id)
    assert progress is not None and progress.total_assessments == 1


async def test_completing_an_unknown_conversation(store: Store) -> None:
    """Completing a conversation that does not exist raises NotFound."""
    with pytest.raises(NotFound):
        await store.conversations.complete("nope", mastery_score=0, missed={})


async def test_idle_conversations_are_abandoned(store: Store, assessment: AssessmentConfig) -> None:
    """Active conversations idle since the cut-off are abandoned; others are left alone."""
    idle, _ = await store.conversations.open_attempt(assessment.id, "idle", "course-1")
    busy, _ = await store.conversations.open_attempt(assessment.id, "busy", "course-1")
    await store.conversations.append_user_turn(busy.id, "c-1", "x")
    cutoff = (await store.conversations.get(busy.id)).last_activity_at
    assert await store.conversations.abandon_idle(idle_since=idle.last_activity_at) == []

    abandoned = await store.conversations.abandon_idle(idle_since=cutoff)
    assert [c.id for c in abandoned] == [idle.id]
    assert abandoned[0].status == "abandoned"
    assert (await store.conversations.get(busy.id)).status == "active"
    assert await store.progress.get(TENANT, "idle") is None
