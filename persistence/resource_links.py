"""The tool's placements in courses (LTI resource links), as their newest launch
described them: the course, and the platform's grade and roster endpoints for them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from persistence.database import Database
from persistence.records import ResourceLink, from_row
from persistence.schema import lti_resource_links
from persistence.values import new_id, utcnow

__all__ = ["ResourceLinkStore"]


class ResourceLinkStore:
    """Reads and writes ``lti_resource_links``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, link: ResourceLink) -> None:
        """Keep what a launch said of its resource link. A service endpoint that this
        launch left out (a platform sends some claims to some roles only) keeps the
        one an earlier launch gave."""
        described: dict[str, Any] = {
            "course_id": link.course_id,
            "deployment_id": link.deployment_id,
            "title": link.title,
            "updated_at": utcnow(),
        }
        services = {
            "lineitem_url": link.lineitem_url,
            "lineitems_url": link.lineitems_url,
            "ags_scopes": link.ags_scopes,
            "memberships_url": link.memberships_url,
        }
        insert = self._db.upsert(lti_resource_links).values(
            id=new_id(),
            platform_id=link.platform_id,
            resource_link_id=link.resource_link_id,
            **described,
            **services,
        )
        kept = {
            name: func.coalesce(getattr(insert.excluded, name), lti_resource_links.c[name])
            for name in services
        }
        statement = insert.on_conflict_do_update(
            index_elements=["platform_id", "resource_link_id"], set_={**described, **kept}
        )
        async with self._db.write() as conn:
            await conn.execute(statement)

    async def get(self, platform_id: str, resource_link_id: str) -> ResourceLink | None:
        query = select(lti_resource_links).where(
            lti_resource_links.c.platform_id == platform_id,
            lti_resource_links.c.resource_link_id == resource_link_id,
        )
        row = await self._db.fetch_one(query)
        return None if row is None else from_row(ResourceLink, row)

    async def set_lineitem(
        self, platform_id: str, resource_link_id: str, lineitem: str | None
    ) -> None:
        """Keep the line item found or made for a link that a launch gave none (None:
        forget it, the platform no longer has it)."""
        async with self._db.write() as conn:
            await conn.execute(
                update(lti_resource_links)
                .where(
                    lti_resource_links.c.platform_id == platform_id,
                    lti_resource_links.c.resource_link_id == resource_link_id,
                )
                .values(lineitem_url=lineitem)
            )
