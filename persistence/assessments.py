"""Assessment configurations, one per (platform_id, resource_link_id), each owned by the
course (the tenant) whose instructor created it."""

from __future__ import annotations

from sqlalchemy import ColumnElement, ScalarSelect, func, select, update
from sqlalchemy.exc import IntegrityError

from persistence.database import Database
from persistence.errors import NotFound, OtherTenant, constraint_violation
from persistence.records import AssessmentConfig, JsonObject, Tenant, from_row
from persistence.schema import assessment_configs
from persistence.values import new_id, utcnow

__all__ = ["AssessmentStore", "of_assessment"]


class AssessmentStore:
    """Reads and writes ``assessment_configs``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(
        self,
        *,
        tenant: Tenant,
        resource_link_id: str,
        assessment_type: str,
        grading_schema: str,
        ai_config: JsonObject,
        created_by: str,
        mastery_threshold: float = 80.0,
    ) -> AssessmentConfig:
        """Create the config of a resource link in ``tenant``, or replace its settings;
        keeps its id.

        Raises:
            OtherTenant: the resource link's config belongs to another course.
            ConstraintViolation: a value the schema refuses (an unknown type, say).
        """
        now = utcnow()
        settings = {
            "assessment_type": assessment_type,
            "grading_schema": grading_schema,
            "mastery_threshold": mastery_threshold,
            "ai_config": ai_config,
            "updated_at": now,
        }
        insert = self._db.upsert(assessment_configs).values(
            id=new_id(),
            platform_id=tenant.platform_id,
            course_id=tenant.course_id,
            resource_link_id=resource_link_id,
            created_by=created_by,
            created_at=now,
            **settings,
        )
        # Replaced only within its course: no row comes back for another course's link.
        statement = insert.on_conflict_do_update(
            index_elements=["platform_id", "resource_link_id"],
            set_=settings,
            where=assessment_configs.c.course_id == tenant.course_id,
        ).returning(*assessment_configs.c)
        try:
            async with self._db.write() as conn:
                row = (await conn.execute(statement)).mappings().one_or_none()
        except IntegrityError as error:
            raise constraint_violation(error) from error
        if row is None:
            raise OtherTenant(f"resource link {resource_link_id} belongs to another course")
        return from_row(AssessmentConfig, row)

    async def set_archived(
        self, config_id: str, *, tenant: Tenant, archived: bool
    ) -> AssessmentConfig:
        """Archive the config (no new attempts; its results stay) or bring it back.

        Raises:
            NotFound: there is none in ``tenant``.
        """
        statement = (
            update(assessment_configs)
            .where(
                assessment_configs.c.id == config_id,
                assessment_configs.c.platform_id == tenant.platform_id,
                assessment_configs.c.course_id == tenant.course_id,
            )
            .values(archived_at=utcnow() if archived else None, updated_at=utcnow())
            .returning(*assessment_configs.c)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(statement)).mappings().one_or_none()
        if row is None:
            raise NotFound(f"no assessment {config_id}")
        return from_row(AssessmentConfig, row)

    async def get(self, config_id: str, *, tenant: Tenant | None) -> AssessmentConfig:
        """The config with this id, in ``tenant`` (None: in any, for the server's own use).

        Raises:
            NotFound: there is none (in that tenant: another's is not theirs to know of).
        """
        query = select(assessment_configs).where(assessment_configs.c.id == config_id)
        if tenant is not None:
            query = query.where(
                assessment_configs.c.platform_id == tenant.platform_id,
                assessment_configs.c.course_id == tenant.course_id,
            )
        row = await self._db.fetch_one(query)
        if row is None:
            raise NotFound(f"no assessment {config_id}")
        return from_row(AssessmentConfig, row)

    async def in_course(self, tenant: Tenant) -> list[AssessmentConfig]:
        """The course's assessments, newest first."""
        query = (
            select(assessment_configs)
            .where(
                assessment_configs.c.platform_id == tenant.platform_id,
                assessment_configs.c.course_id == tenant.course_id,
            )
            .order_by(assessment_configs.c.updated_at.desc(), assessment_configs.c.id)
        )
        return [from_row(AssessmentConfig, row) for row in await self._db.fetch_all(query)]

    async def count_in_course(self, tenant: Tenant) -> int:
        """How many assessments the course has, archived ones included."""
        query = select(func.count().label("n")).where(
            assessment_configs.c.platform_id == tenant.platform_id,
            assessment_configs.c.course_id == tenant.course_id,
        )
        row = await self._db.fetch_one(query)
        return 0 if row is None else int(row["n"])

    async def find(self, platform_id: str, resource_link_id: str) -> AssessmentConfig | None:
        """The config of a resource link, if it has one."""
        query = select(assessment_configs).where(
            assessment_configs.c.platform_id == platform_id,
            assessment_configs.c.resource_link_id == resource_link_id,
        )
        row = await self._db.fetch_one(query)
        return None if row is None else from_row(AssessmentConfig, row)


def of_assessment(config_id: str, column: ColumnElement[str]) -> ScalarSelect[str]:
    """``column`` of an assessment, as a subquery of the statement that needs it (NULL
    if there is no such assessment, which a NOT NULL column then refuses)."""
    return select(column).where(assessment_configs.c.id == config_id).scalar_subquery()
