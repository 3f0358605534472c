"""Student progress per (user, course): updated when a conversation completes.

``struggle_patterns`` maps an item or objective id to how often the student missed it and
when they last did: ``{"item-3": {"count": 2, "last_seen": "2026-11-25T10:00:00+00:00"}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.database import Database
from persistence.records import JsonObject, StudentProgress, Tenant, from_row
from persistence.schema import student_progress
from persistence.values import new_id

__all__ = ["ProgressStore", "merge_struggles", "record_completion", "rescore"]


def merge_struggles(
    patterns: JsonObject | None, missed: Mapping[str, int], now: datetime
) -> JsonObject:
    """Add this attempt's misses (item id -> times missed) to the stored patterns."""
    merged = dict(patterns or {})
    for item, times in missed.items():
        if times <= 0:
            continue
        before = merged.get(item, {})
        merged[item] = {"count": before.get("count", 0) + times, "last_seen": now.isoformat()}
    return merged


async def record_completion(
    conn: AsyncConnection,
    db: Database,
    *,
    tenant: Tenant,
    user_id: str,
    mastery_score: float,
    missed: Mapping[str, int],
    now: datetime,
) -> None:
    """Count a completed attempt in the student's progress, inside the caller's transaction."""
    create = (
        db.upsert(student_progress)
        .values(
            id=new_id(),
            platform_id=tenant.platform_id,
            user_id=user_id,
            course_id=tenant.course_id,
            total_assessments=0,
            average_mastery=0.0,
            struggle_patterns={},
            last_activity=now,
        )
        .on_conflict_do_nothing(index_elements=["platform_id", "user_id", "course_id"])
    )
    await conn.execute(create)
    query = select(student_progress).where(*_of(tenant, user_id)).with_for_update()
    current = from_row(StudentProgress, (await conn.execute(query)).mappings().one())
    count = current.total_assessments + 1
    average = current.average_mastery + (mastery_score - current.average_mastery) / count
    await conn.execute(
        update(student_progress)
        .where(student_progress.c.id == current.id)
        .values(
            total_assessments=count,
            average_mastery=average,
            struggle_patterns=merge_struggles(current.struggle_patterns, missed, now),
            last_activity=now,
        )
    )


class ProgressStore:
    """Reads ``student_progress``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, tenant: Tenant, user_id: str) -> StudentProgress | None:
        """One student's progress in one course, if they have completed anything there."""
        query = select(student_progress).where(*_of(tenant, user_id))
        row = await self._db.fetch_one(query)
        return None if row is None else from_row(StudentProgress, row)

    async def for_course(self, tenant: Tenant) -> list[StudentProgress]:
        """Every student's progress in a course, by user id."""
        query = (
            select(student_progress)
            .where(
                student_progress.c.platform_id == tenant.platform_id,
                student_progress.c.course_id == tenant.course_id,
            )
            .order_by(student_progress.c.user_id)
        )
        rows = await self._db.fetch_all(query)
        return [from_row(StudentProgress, row) for row in rows]


async def rescore(
    conn: AsyncConnection, *, tenant: Tenant, user_id: str, previous: float, score: float
) -> None:
    """Replace one counted attempt's score in the student's average (an instructor set
    it by hand), inside the caller's transaction."""
    query = select(student_progress).where(*_of(tenant, user_id)).with_for_update()
    row = (await conn.execute(query)).mappings().one_or_none()
    if row is None or not row["total_assessments"]:
        return  # an attempt that ended without completing was never counted
    average = row["average_mastery"] + (score - previous) / row["total_assessments"]
    await conn.execute(
        update(student_progress)
        .where(student_progress.c.id == row["id"])
        .values(average_mastery=min(100.0, max(0.0, average)))
    )


def _of(tenant: Tenant, user_id: str) -> tuple[ColumnElement[bool], ...]:
    """The conditions that pick one student's progress row."""
    return (
        student_progress.c.platform_id == tenant.platform_id,
        student_progress.c.course_id == tenant.course_id,
        student_progress.c.user_id == user_id,
    )
