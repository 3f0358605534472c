"""Scoring an attempt: progress after a graded turn, and the attempt's end."""

from __future__ import annotations

import dataclasses

from assessment.spec import AssessmentSpec
from assessment.tutor import Tutor
from persistence.records import AssessmentConfig, Conversation
from persistence.store import Store
from protocol.messages import Completed, Progress
from realtime.conversation.completion import Completion
from realtime.conversation.standing import Standing


def _completion(
    store: Store, assessment: AssessmentConfig, conversation: Conversation, sent: list[object]
) -> tuple[Completion, Standing]:
    standing = Standing.of(conversation, assessment.mastery_threshold)
    completion = Completion(
        conversation, assessment, standing=standing, publish=sent.append, store=store
    )
    return completion, standing


def _tutor(config: AssessmentConfig) -> Tutor:
    return Tutor(
        AssessmentSpec.from_config(
            assessment_type=config.assessment_type,
            grading_schema=config.grading_schema,
            mastery_threshold=config.mastery_threshold,
            ai_config=config.ai_config,
        )
    )


async def test_a_completion_stores_the_score_and_publishes_it_once(
    store: Store, assessment: AssessmentConfig, conversation: Conversation
) -> None:
    """The status and score are stored, then ``completed``; a second call does nothing."""
    sent: list[object] = []
    completion, standing = _completion(store, assessment, conversation, sent)
    session = _tutor(assessment).new_session()
    await completion.complete(session)
    await completion.complete(session)
    assert sent == [Completed(status="completed", mastery_score=0, passed=False)]
    stored = await store.conversations.get(conversation.id)
    assert (stored.status, stored.mastery_score) == ("completed", 0)
    assert (standing.status, standing.closing) == ("completed", True)
    progress = await store.progress.get(conversation.tenant, "student-1")
    assert progress is not None and progress.total_assessments == 1


async def test_progress_publishes_the_score_after_a_turn(
    store: Store, assessment: AssessmentConfig, conversation: Conversation
) -> None:
    """Items done of items total, and the score the standing now holds."""
    sent: list[object] = []
    completion, standing = _completion(store, assessment, conversation, sent)
    completion.progress(_tutor(assessment).new_session())
    assert sent == [Progress(mastery_score=0, items_done=0, items_total=1)]
    assert standing.mastery_score == 0


async def test_an_abandoned_conversation_tells_its_sockets(
    store: Store, assessment: AssessmentConfig, conversation: Conversation
) -> None:
    """The sweeper's abandonment is published as ``completed`` with its status."""
    sent: list[object] = []
    completion, standing = _completion(store, assessment, conversation, sent)
    completion.abandoned(dataclasses.replace(conversation, status="abandoned"))
    assert sent == [Completed(status="abandoned", mastery_score=0, passed=False)]
    assert standing.closing
