"""Analytics snapshots per course (and assignment), kept as history."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select

from persistence.database import Database
from persistence.records import AnalyticsSnapshot, JsonObject, Tenant, from_row
from persistence.schema import analytics_snapshots, conversation_messages, conversations
from persistence.values import as_utc, new_id, utcnow

__all__ = ["AnalyticsStore"]


class AnalyticsStore:
    """Computes analytics, and reads and writes ``analytics_snapshots``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def compute(
        self,
        tenant: Tenant,
        assignment_id: str | None = None,
        *,
        misses: Sequence[tuple[str, str]] | None = None,
    ) -> JsonObject:
        """A course's (or one assessment's) figures as they stand now.

        Attempts, completion rate, the distribution of completed scores (in bands of 20),
        the average time to complete, and the items most often answered wrongly.

        Args:
            misses: the wrong answers of these conversations, if the caller has read
                them already (:meth:`misses_of_assessment`); else they are read here.
        """
        query = select(
            conversations.c.id,
            conversations.c.status,
            conversations.c.mastery_score,
            conversations.c.started_at,
            conversations.c.completed_at,
        ).where(
            conversations.c.platform_id == tenant.platform_id,
            conversations.c.course_id == tenant.course_id,
        )
        if assignment_id is not None:
            query = query.where(conversations.c.assessment_config_id == assignment_id)
        rows = await self._db.fetch_all(query)
        completed = [row for row in rows if row["status"] == "completed"]
        bands = {f"{low}-{low + 20}": 0 for low in range(0, 100, 20)}
        for row in completed:
            low = min(int(row["mastery_score"] // 20) * 20, 80)
            bands[f"{low}-{low + 20}"] += 1
        durations = [
            (as_utc(row["completed_at"]) - as_utc(row["started_at"])).total_seconds()
            for row in completed
            if row["completed_at"] is not None and row["started_at"] is not None
        ]
        return {
            "course_id": tenant.course_id,
            "assignment_id": assignment_id,
            "attempts": len(rows),
            "completed": len(completed),
            "completion_rate": round(len(completed) / len(rows), 4) if rows else 0.0,
            "mastery_distribution": bands,
            "average_seconds_to_complete": round(sum(durations) / len(durations), 1)
            if durations
            else None,
            "most_missed": _most_missed(
                await self._misses(query.with_only_columns(conversations.c.id))
                if misses is None
                else misses
            ),
        }

    async def misses_of_assessment(self, assessment_config_id: str) -> list[tuple[str, str]]:
        """(user id, item id) of each wrong or partial answer in every attempt of the
        assessment: its students' struggle patterns."""
        return await self._misses(
            select(conversations.c.id).where(
                conversations.c.assessment_config_id == assessment_config_id
            )
        )

    async def _misses(self, conversations_of: Select[Any]) -> list[tuple[str, str]]:
        """(user id, item id) of each wrong or partial answer in the conversations
        ``conversations_of`` selects (a subquery: a course may have more conversations
        than a statement takes parameters)."""
        query = (
            select(conversations.c.user_id, conversation_messages.c.metadata)
            .join(conversations, conversations.c.id == conversation_messages.c.conversation_id)
            .where(
                conversation_messages.c.conversation_id.in_(conversations_of),
                conversation_messages.c.role == "user",
            )
        )
        missed = []
        for row in await self._db.fetch_all(query):
            evaluation = (row["metadata"] or {}).get("evaluation") or {}
            if evaluation.get("verdict") in ("wrong", "partial"):
                missed.append((row["user_id"], str(evaluation.get("item_id"))))
        return missed

    async def write(
        self, tenant: Tenant, snapshot_data: JsonObject, assignment_id: str | None = None
    ) -> AnalyticsSnapshot:
        """Keep a new snapshot."""
        statement = (
            analytics_snapshots.insert()
            .values(
                id=new_id(),
                platform_id=tenant.platform_id,
                course_id=tenant.course_id,
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
        self, tenant: Tenant, assignment_id: str | None = None, *, limit: int = 50
    ) -> list[AnalyticsSnapshot]:
        """A course's snapshots (of one assignment, if given), newest first."""
        query = select(analytics_snapshots).where(
            analytics_snapshots.c.platform_id == tenant.platform_id,
            analytics_snapshots.c.course_id == tenant.course_id,
        )
        if assignment_id is not None:
            query = query.where(analytics_snapshots.c.assignment_id == assignment_id)
        query = query.order_by(
            analytics_snapshots.c.created_at.desc(), analytics_snapshots.c.id.desc()
        ).limit(limit)
        rows = await self._db.fetch_all(query)
        return [from_row(AnalyticsSnapshot, row) for row in rows]


def _most_missed(misses: Sequence[tuple[str, str]], top: int = 10) -> list[JsonObject]:
    """The items most often answered wrongly."""
    counted = Counter(item_id for _, item_id in misses)
    return [{"item_id": item, "misses": count} for item, count in counted.most_common(top)]
