"""The LTI platforms an operator registered, and the deployments of each."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from persistence.database import Database
from persistence.errors import NotFound
from persistence.records import LtiPlatform, from_row
from persistence.schema import lti_deployments, lti_platforms
from persistence.values import new_id, utcnow

__all__ = ["PlatformStore"]


class PlatformStore:
    """Reads and writes ``lti_platforms`` and ``lti_deployments``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def register(
        self,
        *,
        platform_id: str,
        issuer: str,
        client_id: str,
        auth_login_url: str,
        auth_token_url: str,
        jwks_url: str,
        token_audience: str | None = None,
        deployment_ids: Sequence[str] = (),
    ) -> LtiPlatform:
        """Register a platform (or, for its issuer and client id again, replace its
        endpoints and keep its id) with ``deployment_ids`` added to its deployments."""
        endpoints = {
            "auth_login_url": auth_login_url,
            "auth_token_url": auth_token_url,
            "jwks_url": jwks_url,
            "token_audience": token_audience,
        }
        statement = (
            self._db.upsert(lti_platforms)
            .values(
                id=platform_id, issuer=issuer, client_id=client_id, created_at=utcnow(), **endpoints
            )
            .on_conflict_do_update(index_elements=["issuer", "client_id"], set_=endpoints)
            .returning(*lti_platforms.c)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(statement)).mappings().one()
            for deployment_id in deployment_ids:
                await conn.execute(_add_deployment(self._db, row["id"], deployment_id))
        return from_row(LtiPlatform, row)

    async def add_deployment(self, platform_id: str, deployment_id: str) -> None:
        """Add a deployment to a platform (nothing if it has it).

        Raises:
            NotFound: no such platform.
        """
        await self.get(platform_id)
        async with self._db.write() as conn:
            await conn.execute(_add_deployment(self._db, platform_id, deployment_id))

    async def get(self, platform_id: str) -> LtiPlatform:
        """The platform of this id.

        Raises:
            NotFound: there is none.
        """
        row = await self._db.fetch_one(
            select(lti_platforms).where(lti_platforms.c.id == platform_id)
        )
        if row is None:
            raise NotFound(f"no platform {platform_id}")
        return from_row(LtiPlatform, row)

    async def of_issuer(self, issuer: str, client_id: str | None = None) -> list[LtiPlatform]:
        """The registrations of an issuer (of one client id, if given)."""
        query = select(lti_platforms).where(lti_platforms.c.issuer == issuer)
        if client_id is not None:
            query = query.where(lti_platforms.c.client_id == client_id)
        return [from_row(LtiPlatform, row) for row in await self._db.fetch_all(query)]

    async def all(self) -> list[LtiPlatform]:
        """Every registered platform, oldest first."""
        query = select(lti_platforms).order_by(lti_platforms.c.created_at, lti_platforms.c.id)
        return [from_row(LtiPlatform, row) for row in await self._db.fetch_all(query)]

    async def deployments(self, platform_id: str) -> list[str]:
        """The deployment ids registered for a platform."""
        query = (
            select(lti_deployments.c.deployment_id)
            .where(lti_deployments.c.platform_id == platform_id)
            .order_by(lti_deployments.c.created_at, lti_deployments.c.deployment_id)
        )
        return [row["deployment_id"] for row in await self._db.fetch_all(query)]

    async def has_deployment(self, platform_id: str, deployment_id: str) -> bool:
        query = select(lti_deployments.c.id).where(
            lti_deployments.c.platform_id == platform_id,
            lti_deployments.c.deployment_id == deployment_id,
        )
        return await self._db.fetch_one(query) is not None

    async def remove(self, platform_id: str) -> None:
        """Unregister a platform: its deployments and logins in flight go with it; its
        courses' data stays (a platform registered again under the same id finds it).

        Raises:
            NotFound: no such platform.
        """
        async with self._db.write() as conn:
            result = await conn.execute(
                delete(lti_platforms).where(lti_platforms.c.id == platform_id)
            )
        if result.rowcount == 0:
            raise NotFound(f"no platform {platform_id}")


def _add_deployment(
    db: Database, platform_id: str, deployment_id: str
) -> sqlite.Insert | postgresql.Insert:
    return (
        db.upsert(lti_deployments)
        .values(
            id=new_id(), platform_id=platform_id, deployment_id=deployment_id, created_at=utcnow()
        )
        .on_conflict_do_nothing(index_elements=["platform_id", "deployment_id"])
    )
