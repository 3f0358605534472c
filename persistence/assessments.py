"""Assessment configurations, one per (platform_id, resource_link_id)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from persistence.database import Database
from persistence.errors import NotFound, constraint_violation
from persistence.records import AssessmentConfig, JsonObject, from_row
from persistence.schema import assessment_configs
from persistence.values import new_id, utcnow

__all__ = ["AssessmentStore"]


class AssessmentStore:
    """Reads and writes ``assessment_configs``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(
        self,
        *,
        platform_id: str,
        resource_link_id: str,
        assessment_type: str,
        grading_schema: str,
        ai_config: JsonObject,
        created_by: str,
        mastery_threshold: float = 80.0,
    ) -> AssessmentConfig:
        """Create the config of a resource link, or replace its settings; keeps its id.

        Raises:
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
            platform_id=platform_id,
            resource_link_id=resource_link_id,
            created_by=created_by,
            created_at=now,
            **settings,
        )
        statement = insert.on_conflict_do_update(
            index_elements=["platform_id", "resource_link_id"], set_=settings
        ).returning(*assessment_configs.c)
        try:
            async with self._db.write() as conn:
                row = (await conn.execute(statement)).mappings().one()
        except IntegrityError as error:
            raise constraint_violation(error) from error
        return from_row(AssessmentConfig, row)

    async def get(self, config_id: str) -> AssessmentConfig:
        """The config with this id.

        Raises:
            NotFound: there is none.
        """
        query = select(assessment_configs).where(assessment_configs.c.id == config_id)
        row = await self._db.fetch_one(query)
        if row is None:
            raise NotFound(f"no assessment {config_id}")
        return from_row(AssessmentConfig, row)

    async def find(self, platform_id: str, resource_link_id: str) -> AssessmentConfig | None:
        """The config of a resource link, if it has one."""
        query = select(assessment_configs).where(
            assessment_configs.c.platform_id == platform_id,
            assessment_configs.c.resource_link_id == resource_link_id,
        )
        row = await self._db.fetch_one(query)
        return None if row is None else from_row(AssessmentConfig, row)
