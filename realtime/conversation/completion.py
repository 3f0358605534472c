"""Scoring an attempt: the score after each graded turn, and the attempt's end.

A graded turn publishes ``progress`` (its score is stored with the reply's start). When
the tutor has nothing left to ask, the student sends ``complete``, or the idle sweeper
abandons the conversation, its end is published as ``completed``; a completion writes
the final score, the status and the student's progress (and a flashcard deck's next
reviews, and for an LTI placement the score in the grade outbox) first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from assessment import grading
from assessment.session import Session
from persistence.records import AssessmentConfig, Conversation
from persistence.store import Store
from protocol.messages import Completed, Progress
from realtime.conversation.deck import reschedule_deck
from realtime.conversation.persistent import persistent
from realtime.conversation.standing import Standing

__all__ = ["Completion", "gradebook_comment"]

logger = logging.getLogger(__name__)


def gradebook_comment(score: grading.Score, config: AssessmentConfig) -> str:
    """What the gradebook shows beside a completed attempt's score."""
    verdict = "passed" if score.passed else "not passed"
    return (
        f"{grading.percent(score.mastery_score)} under {config.grading_schema}, {verdict} "
        f"(threshold {config.mastery_threshold:g}%); {score.items_done} of "
        f"{score.items_total} items done"
    )


class Completion:
    """The scores of one attempt, as they are published and stored.

    Args:
        conversation: the attempt.
        config: its assessment.
        standing: where the conversation stands, kept current here.
        publish: sends an event to the conversation's sockets.
    """

    __slots__ = ("_config", "_conversation", "_publish", "_standing", "_store")

    def __init__(
        self,
        conversation: Conversation,
        config: AssessmentConfig,
        *,
        standing: Standing,
        publish: Callable[[Progress | Completed], None],
        store: Store,
    ) -> None:
        self._conversation = conversation
        self._config = config
        self._standing = standing
        self._publish = publish
        self._store = store

    def progress(self, session: Session) -> None:
        """Publish the score after a graded turn."""
        score = grading.score(session)
        self._standing.mastery_score = score.mastery_score
        self._publish(
            Progress(
                mastery_score=score.mastery_score,
                items_done=score.items_done,
                items_total=score.items_total,
            )
        )

    async def interim(self, session: Session) -> None:
        """For an assessment that sends its score after every graded turn, put the score
        so far in the grade outbox (for an LTI placement: nothing otherwise)."""
        if not session.spec.grade_each_turn or self._standing.status != "active":
            return
        score = grading.score(session)
        await persistent(
            lambda: self._store.grades.enqueue_interim(
                self._conversation.id,
                score_given=score.mastery_score,
                comment=f"in progress: {gradebook_comment(score, self._config)}",
            ),
            what="score so far",
            conversation=self._conversation.id,
        )

    async def complete(self, session: Session) -> None:
        """Store the attempt's final score and the student's progress, then publish
        ``completed``; nothing if the conversation has ended already."""
        if self._standing.status != "active":
            return
        conversation, config = self._conversation, self._config
        score = grading.score(session)
        done = await persistent(
            lambda: self._store.conversations.complete(
                conversation.id,
                mastery_score=score.mastery_score,
                missed=grading.struggles(session),
                comment=gradebook_comment(score, config),
            ),
            what="attempt's score",
            conversation=conversation.id,
        )
        if config.assessment_type == "flashcards":
            await reschedule_deck(self._store, conversation.user_id, config.id, session)
        self._standing.ended(done.status, done.mastery_score)
        logger.info(
            "completed with %g",
            done.mastery_score,
            extra={"conversation": conversation.id, "status": done.status},
        )
        self._publish(self._standing.completed())

    def abandoned(self, conversation: Conversation) -> None:
        """The idle sweeper abandoned the conversation: tell its sockets."""
        self._standing.ended(conversation.status)
        self._publish(self._standing.completed())
