"""OIDC logins in flight: a state and its nonce, kept for minutes and taken once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select

from persistence.database import Database
from persistence.records import LaunchState, from_row
from persistence.schema import lti_launch_states
from persistence.values import utcnow

__all__ = ["LaunchStateStore"]


class LaunchStateStore:
    """Reads and writes ``lti_launch_states``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def begin(
        self,
        *,
        state: str,
        platform_id: str,
        nonce: str,
        expires_at: datetime,
        storage_target: str | None = None,
    ) -> LaunchState:
        """Keep a new login's state and nonce until ``expires_at``."""
        now = utcnow()
        async with self._db.write() as conn:
            await conn.execute(
                lti_launch_states.insert().values(
                    state=state,
                    platform_id=platform_id,
                    nonce=nonce,
                    storage_target=storage_target,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
        return LaunchState(
            state=state,
            platform_id=platform_id,
            nonce=nonce,
            storage_target=storage_target,
            created_at=now,
            expires_at=expires_at,
        )

    async def take(self, state: str, *, now: datetime | None = None) -> LaunchState | None:
        """The login of ``state``, removed so that it is used once; None if there is none
        or it has expired (an expired one is removed too)."""
        statement = (
            delete(lti_launch_states)
            .where(lti_launch_states.c.state == state)
            .returning(*lti_launch_states.c)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(statement)).mappings().one_or_none()
        if row is None:
            return None
        taken = from_row(LaunchState, row)
        return taken if taken.expires_at > (now or utcnow()) else None

    async def sweep(self, *, now: datetime | None = None) -> int:
        """Remove the expired logins; returns how many."""
        async with self._db.write() as conn:
            result = await conn.execute(
                delete(lti_launch_states).where(lti_launch_states.c.expires_at <= (now or utcnow()))
            )
        return result.rowcount

    async def pending(self) -> int:
        """How many logins are kept."""
        row = await self._db.fetch_one(
            select(func.count().label("n")).select_from(lti_launch_states)
        )
        return int(row["n"]) if row is not None else 0
