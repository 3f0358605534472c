"""Generated content (items and cards made from instructor material), cached by hash.

Students only ever see approved content; :meth:`ContentStore.approved` is what the
engines read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from persistence.assessments import of_assessment
from persistence.database import Database
from persistence.errors import NotFound, constraint_violation
from persistence.records import GeneratedContent, JsonObject, from_row
from persistence.schema import assessment_configs, generated_content
from persistence.values import new_id, utcnow

__all__ = ["ContentStore"]


class ContentStore:
    """Reads and writes ``generated_content``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(
        self, assessment_config_id: str, content_hash: str, content_type: str, content: Any
    ) -> GeneratedContent:
        """Store content under its hash, unapproved; if the hash is cached, keep the cached.

        Raises:
            ConstraintViolation: no such assessment.
        """
        statement = (
            self._db.upsert(generated_content)
            .values(
                id=new_id(),
                assessment_config_id=assessment_config_id,
                # The assessment's tenant, stored in the row as every row's is.
                platform_id=of_assessment(assessment_config_id, assessment_configs.c.platform_id),
                course_id=of_assessment(assessment_config_id, assessment_configs.c.course_id),
                content_hash=content_hash,
                content_type=content_type,
                content=content,
                approved=False,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["assessment_config_id", "content_hash"])
        )
        try:
            async with self._db.write() as conn:
                await conn.execute(statement)
        except IntegrityError as error:
            raise constraint_violation(error) from error
        found = await self.get(assessment_config_id, content_hash)
        assert found is not None, "a row just written or already there is readable"
        return found

    async def get(self, assessment_config_id: str, content_hash: str) -> GeneratedContent | None:
        """The content cached under this hash, approved or not."""
        query = select(generated_content).where(
            generated_content.c.assessment_config_id == assessment_config_id,
            generated_content.c.content_hash == content_hash,
        )
        row = await self._db.fetch_one(query)
        return None if row is None else from_row(GeneratedContent, row)

    async def set_approved(
        self, assessment_config_id: str, content_hash: str, approved: bool = True
    ) -> GeneratedContent:
        """Approve (or withdraw approval of) cached content.

        Raises:
            NotFound: nothing is cached under this hash.
        """
        return await self._update(assessment_config_id, content_hash, approved=approved)

    async def replace(
        self, assessment_config_id: str, content_hash: str, content: JsonObject
    ) -> GeneratedContent:
        """Replace cached content by the instructor's corrected version.

        Raises:
            NotFound: nothing is cached under this hash.
        """
        return await self._update(assessment_config_id, content_hash, content=content)

    async def _update(
        self, assessment_config_id: str, content_hash: str, **values: object
    ) -> GeneratedContent:
        statement = (
            update(generated_content)
            .where(
                generated_content.c.assessment_config_id == assessment_config_id,
                generated_content.c.content_hash == content_hash,
            )
            .values(**values)
            .returning(*generated_content.c)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(statement)).mappings().one_or_none()
        if row is None:
            raise NotFound(f"no generated content {content_hash}")
        return from_row(GeneratedContent, row)

    async def list(
        self, assessment_config_id: str, *, approved_only: bool = False
    ) -> list[GeneratedContent]:
        """The content of an assessment, oldest first."""
        query = select(generated_content).where(
            generated_content.c.assessment_config_id == assessment_config_id
        )
        if approved_only:
            query = query.where(generated_content.c.approved.is_(True))
        query = query.order_by(generated_content.c.created_at, generated_content.c.id)
        rows = await self._db.fetch_all(query)
        return [from_row(GeneratedContent, row) for row in rows]
