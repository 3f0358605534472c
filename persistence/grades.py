"""The grade outbox: scores written in the transaction that completes a conversation,
then sent to the platform's gradebook by whichever process leases them.

A row is ``pending`` until the platform takes it (``sent``), a newer score of the same
learner and resource link makes it pointless (``superseded``), or the platform refuses
it for good (``failed``). A sender leases the rows it sends (``lease_until``): another
process leaves them alone until the lease runs out, so a process killed mid-send has its
rows sent again by the next one to look.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.database import Database
from persistence.records import GradeEntry, Tenant, from_row
from persistence.schema import assessment_configs, conversations, grade_outbox, lti_resource_links
from persistence.values import as_utc, new_id, utcnow

__all__ = ["GradeOutbox", "enqueue_grade"]

MAX_ERROR_CHARS = 500


async def enqueue_grade(
    conn: AsyncConnection,
    *,
    conversation_id: str,
    score_given: float,
    comment: str | None,
    now: datetime,
    activity_progress: str = "Completed",
) -> None:
    """Put a completed conversation's score in the outbox, inside the caller's
    transaction: only when a launch recorded its resource link (an LTI placement) with
    the platform's grade service (AGS)."""
    source = (
        select(
            conversations.c.platform_id,
            conversations.c.course_id,
            conversations.c.user_id,
            conversations.c.id,
            assessment_configs.c.resource_link_id,
        )
        .join(assessment_configs, assessment_configs.c.id == conversations.c.assessment_config_id)
        .join(
            lti_resource_links,
            and_(
                lti_resource_links.c.platform_id == assessment_configs.c.platform_id,
                lti_resource_links.c.resource_link_id == assessment_configs.c.resource_link_id,
            ),
        )
        .where(
            conversations.c.id == conversation_id,
            # Only where the platform offered its grade service for the link.
            or_(
                lti_resource_links.c.lineitem_url.is_not(None),
                lti_resource_links.c.lineitems_url.is_not(None),
            ),
        )
    )
    row = (await conn.execute(source)).one_or_none()
    if row is None:
        return
    await conn.execute(
        grade_outbox.insert().values(
            id=new_id(),
            platform_id=row.platform_id,
            course_id=row.course_id,
            user_id=row.user_id,
            conversation_id=row.id,
            resource_link_id=row.resource_link_id,
            score_given=score_given,
            score_maximum=100.0,
            activity_progress=activity_progress,
            grading_progress="FullyGraded",
            comment=comment,
            scored_at=now,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


class GradeOutbox:
    """Reads and writes ``grade_outbox``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue_interim(
        self, conversation_id: str, *, score_given: float, comment: str | None
    ) -> None:
        """Put the score of an attempt still in progress in the outbox (an assessment
        that sends a score after every graded turn)."""
        async with self._db.write() as conn:
            await enqueue_grade(
                conn,
                conversation_id=conversation_id,
                score_given=score_given,
                comment=comment,
                now=utcnow(),
                activity_progress="InProgress",
            )

    async def claim(self, *, limit: int, lease: timedelta) -> list[GradeEntry]:
        """Lease up to ``limit`` pending rows that are due and leased by no one."""
        now = utcnow()
        free = and_(
            grade_outbox.c.status == "pending",
            grade_outbox.c.next_attempt_at <= now,
            or_(grade_outbox.c.lease_until.is_(None), grade_outbox.c.lease_until <= now),
        )
        due = select(grade_outbox.c.id).where(free).order_by(grade_outbox.c.scored_at).limit(limit)
        if not self._db.is_sqlite:
            due = due.with_for_update(skip_locked=True)
        # The outer condition again: on PostgreSQL a row another process leased since
        # the subquery read it is skipped, not leased twice.
        statement = (
            update(grade_outbox)
            .where(grade_outbox.c.id.in_(due.scalar_subquery()), free)
            .values(lease_until=now + lease, attempts=grade_outbox.c.attempts + 1)
            .returning(*grade_outbox.c)
        )
        async with self._db.write() as conn:
            rows = (await conn.execute(statement)).mappings().all()
        return sorted((from_row(GradeEntry, row) for row in rows), key=lambda e: e.scored_at)

    async def newer(self, entry: GradeEntry) -> bool:
        """Whether a newer score of the same learner and link is pending or sent (then
        this one must never reach the gradebook after it)."""
        query = select(grade_outbox.c.id).where(
            grade_outbox.c.platform_id == entry.platform_id,
            grade_outbox.c.resource_link_id == entry.resource_link_id,
            grade_outbox.c.user_id == entry.user_id,
            grade_outbox.c.status.in_(("pending", "sent")),
            grade_outbox.c.id != entry.id,
            or_(
                grade_outbox.c.scored_at > entry.scored_at,
                and_(grade_outbox.c.scored_at == entry.scored_at, grade_outbox.c.id > entry.id),
            ),
        )
        return await self._db.fetch_one(query.limit(1)) is not None

    async def sent(self, entry_id: str) -> None:
        await self._settle(entry_id, status="sent", sent_at=utcnow(), last_error=None)

    async def superseded(self, entry_id: str) -> None:
        await self._settle(entry_id, status="superseded")

    async def failed(self, entry_id: str, error: str) -> None:
        await self._settle(entry_id, status="failed", last_error=error[:MAX_ERROR_CHARS])

    async def retry(self, entry_id: str, *, after: timedelta, error: str) -> None:
        """Leave the row pending, to be tried again ``after`` from now."""
        await self._settle(
            entry_id,
            status="pending",
            next_attempt_at=utcnow() + after,
            last_error=error[:MAX_ERROR_CHARS],
        )

    async def next_due(self) -> datetime | None:
        """When the soonest pending row is due."""
        query = select(func.min(grade_outbox.c.next_attempt_at).label("due")).where(
            grade_outbox.c.status == "pending"
        )
        row = await self._db.fetch_one(query)
        if row is None or row["due"] is None:
            return None
        return as_utc(row["due"])

    async def counts(self) -> dict[str, int]:
        """Rows by status."""
        query = select(grade_outbox.c.status, func.count().label("n")).group_by(
            grade_outbox.c.status
        )
        return {row["status"]: int(row["n"]) for row in await self._db.fetch_all(query)}

    async def of_link(self, tenant: Tenant, resource_link_id: str) -> Sequence[GradeEntry]:
        """The scores of one resource link of ``tenant``, newest first."""
        query = (
            select(grade_outbox)
            .where(
                grade_outbox.c.platform_id == tenant.platform_id,
                grade_outbox.c.course_id == tenant.course_id,
                grade_outbox.c.resource_link_id == resource_link_id,
            )
            .order_by(grade_outbox.c.scored_at.desc(), grade_outbox.c.id.desc())
        )
        return [from_row(GradeEntry, row) for row in await self._db.fetch_all(query)]

    async def _settle(self, entry_id: str, **values: object) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                update(grade_outbox)
                .where(grade_outbox.c.id == entry_id)
                .values(lease_until=None, **values)
            )
