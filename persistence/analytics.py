"""Analytics snapshots per course (and assignment), kept as history."""

from __future__ import annotations

from sqlalchemy import select

from persistence.database import Database
from persistence.records import AnalyticsSnapshot, JsonObject, from_row
from persistence.schema import analytics_snapshots
from persistence.values import new_id, utcnow

__all__ = ["AnalyticsStore"]


class AnalyticsStore:
    """Reads and writes ``analytics_snapshots``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def write(
        self, course_id: str, snapshot_data: JsonObject, assignment_id: str | None = None
    ) -> AnalyticsSnapshot:
        """Keep a new snapshot."""
        statement = (
            analytics_snapshots.insert()
            .values(
                id=new_id(),
                course_id=course_id,
                assignment_id=assignment_id,
                snapshot_data=snapshot_data,
                created_at=utcnow(),
            )
            .returning(*analytics_snapshots.c)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(statement)).mappings().one()
        return from_row(AnalyticsSnapshot, row)

    async def list(
        self, course_id: str, assignment_id: str | None = None, *, limit: int = 50
    ) -> list[AnalyticsSnapshot]:
        """A course's snapshots (of one assignment, if given), newest first."""
        query = select(analytics_snapshots).where(analytics_snapshots.c.course_id == course_id)
        if assignment_id is not None:
            query = query.where(analytics_snapshots.c.assignment_id == assignment_id)
        query = query.order_by(
            analytics_snapshots.c.created_at.desc(), analytics_snapshots.c.id.desc()
        ).limit(limit)
        rows = await self._db.fetch_all(query)
        return [from_row(AnalyticsSnapshot, row) for row in rows]
