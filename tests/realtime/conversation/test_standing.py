"""Where a live conversation stands: status, score, and whether it takes turns."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from persistence.records import AssessmentConfigId, Conversation, ConversationId
from protocol.messages import Completed, Progress
from realtime.conversation.standing import Standing


def _conversation(status: str = "active", score: float = 0.0) -> Conversation:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Conversation(
        id=ConversationId("c1"),
        assessment_config_id=AssessmentConfigId("a1"),
        user_id="u1",
        course_id="k1",
        platform_id="p1",
        status=status,
        started_at=now,
        completed_at=None,
        mastery_score=score,
        metadata=None,
        last_seq=0,
        last_activity_at=now,
    )


def test_an_ended_conversation_takes_no_turn() -> None:
    """Closing follows the status stored."""
    assert not Standing.of(_conversation(), 80).closing
    assert Standing.of(_conversation("completed", 90), 80).closing


def test_passed_is_measured_by_the_threshold() -> None:
    """The completed frame says passed at or above the threshold."""
    standing = Standing.of(_conversation("completed", 80), 80)
    assert standing.completed() == Completed(status="completed", mastery_score=80, passed=True)
    standing.mastery_score = 79.5
    assert not standing.completed().passed


def test_another_process_progress_and_completion_are_followed() -> None:
    """Their progress moves the score; their completed ends the conversation."""
    standing = Standing.of(_conversation(), 80)
    standing.follow(Progress(mastery_score=50, items_done=1, items_total=2))
    assert (standing.status, standing.mastery_score, standing.closing) == ("active", 50, False)
    standing.follow(Completed(status="completed", mastery_score=100, passed=True))
    assert (standing.status, standing.mastery_score, standing.closing) == ("completed", 100, True)


def test_a_completion_asked_for_stays_asked_when_the_store_is_read_again() -> None:
    """Adopting the stored row never reopens a closing conversation."""
    standing = Standing.of(_conversation(), 80)
    standing.closing = True
    standing.adopt(dataclasses.replace(_conversation(), mastery_score=40))
    assert (standing.closing, standing.mastery_score) == (True, 40)


def test_abandoned_keeps_the_score() -> None:
    """An end without a score keeps the last one."""
    standing = Standing.of(_conversation(score=30), 80)
    standing.ended("abandoned")
    assert (standing.status, standing.mastery_score, standing.closing) == ("abandoned", 30, True)
