"""Scores instructors set by hand: kept with the score they replaced, their reason and
who set them; the attempt's score, the student's progress and the gradebook follow."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.database import Database
from persistence.errors import NotFound
from persistence.grades import enqueue_grade
from persistence.progress import rescore
from persistence.records import Conversation, Tenant, from_row
from persistence.schema import conversations, score_overrides
from persistence.values import new_id, utcnow

__all__ = ["AttemptInProgress", "ScoreOverride", "ScoreOverrideStore"]


class AttemptInProgress(Exception):
    """An attempt still running has no final score to set."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ScoreOverride:
    """A score set by hand, with the score it replaced, its reason and who set it."""

    id: str
    conversation_id: str
    platform_id: str
    course_id: str
    user_id: str
    score: float
    previous_score: float
    reason: str
    set_by: str
    created_at: datetime


class ScoreOverrideStore:
    """Reads and writes ``score_overrides``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def set(
        self, conversation: Conversation, *, score: float, reason: str, set_by: str, comment: str
    ) -> tuple[ScoreOverride, bool]:
        """Set a finished attempt's score, in one transaction with its record, the
        student's average (a completed attempt is counted in it) and, when it is the
        student's latest finished attempt (the one the gradebook holds) of an LTI
        placement with grades, the gradebook's outbox.

        Returns:
            The override, and whether it is the latest finished attempt (the score the
            gradebook gets, for an LTI placement with grades).

        Raises:
            NotFound: the conversation is gone.
            AttemptInProgress: it is still active.
        """
        now = utcnow()
        async with self._db.write() as conn:
            current = (
                await conn.execute(
                    select(conversations.c.status, conversations.c.mastery_score)
                    .where(conversations.c.id == conversation.id)
                    .with_for_update()  # two overrides at once: one after the other
                )
            ).one_or_none()
            if current is None:
                raise NotFound(f"no conversation {conversation.id}")
            if current.status == "active":
                raise AttemptInProgress("the attempt is in progress: set its score once it ends")
            await conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation.id)
                .values(mastery_score=score)
            )
            row = (
                (
                    await conn.execute(
                        score_overrides.insert()
                        .values(
                            id=new_id(),
                            conversation_id=conversation.id,
                            platform_id=conversation.platform_id,
                            course_id=conversation.course_id,
                            user_id=conversation.user_id,
                            score=score,
                            previous_score=current.mastery_score,
                            reason=reason,
                            set_by=set_by,
                            created_at=now,
                        )
                        .returning(*score_overrides.c)
                    )
                )
                .mappings()
                .one()
            )
            if current.status == "completed":
                await rescore(
                    conn,
                    tenant=Tenant(conversation.platform_id, conversation.course_id),
                    user_id=conversation.user_id,
                    previous=current.mastery_score,
                    score=score,
                )
            latest = await _latest_finished(conn, conversation)
            if latest:
                await enqueue_grade(
                    conn,
                    conversation_id=conversation.id,
                    score_given=score,
                    comment=comment,
                    now=now,
                )
        return from_row(ScoreOverride, row), latest

    async def of_assessment(self, assessment_config_id: str) -> list[ScoreOverride]:
        """The overrides of an assessment's attempts, newest first."""
        query = (
            select(score_overrides)
            .join(conversations, conversations.c.id == score_overrides.c.conversation_id)
            .where(conversations.c.assessment_config_id == assessment_config_id)
            .order_by(score_overrides.c.created_at.desc(), score_overrides.c.id)
        )
        return [from_row(ScoreOverride, row) for row in await self._db.fetch_all(query)]


async def _latest_finished(conn: AsyncConnection, conversation: Conversation) -> bool:
    """Whether ``conversation`` is its student's latest finished attempt of its
    assessment: the attempt whose score the gradebook holds."""
    query = (
        select(conversations.c.id)
        .where(
            conversations.c.assessment_config_id == conversation.assessment_config_id,
            conversations.c.user_id == conversation.user_id,
            conversations.c.course_id == conversation.course_id,
            conversations.c.status != "active",
        )
        .order_by(conversations.c.started_at.desc(), conversations.c.id.desc())
        .limit(1)
    )
    return (await conn.execute(query)).scalar_one_or_none() == conversation.id
