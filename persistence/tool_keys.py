"""The tool's RSA key pairs: the newest unretired one signs what the tool sends a
platform, and every key is published until what it signed can no longer be in use."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from persistence.database import Database
from persistence.records import ToolKey, from_row
from persistence.schema import lti_tool_keys
from persistence.values import utcnow

__all__ = ["ToolKeyStore"]


class ToolKeyStore:
    """Reads and writes ``lti_tool_keys``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def signing(self) -> ToolKey | None:
        """The key that signs: the newest one not retired."""
        query = (
            select(lti_tool_keys)
            .where(lti_tool_keys.c.retired_at.is_(None))
            .order_by(lti_tool_keys.c.created_at.desc(), lti_tool_keys.c.kid.desc())
            .limit(1)
        )
        row = await self._db.fetch_one(query)
        return None if row is None else from_row(ToolKey, row)

    async def published(self, *, kept: timedelta, now: datetime | None = None) -> list[ToolKey]:
        """The keys to publish: those not retired, and those retired less than ``kept``
        ago (their signatures may still be checked)."""
        since = (now or utcnow()) - kept
        query = (
            select(lti_tool_keys)
            .where(or_(lti_tool_keys.c.retired_at.is_(None), lti_tool_keys.c.retired_at > since))
            .order_by(lti_tool_keys.c.created_at, lti_tool_keys.c.kid)
        )
        return [from_row(ToolKey, row) for row in await self._db.fetch_all(query)]

    async def add(self, kid: str, private_key: str, *, retire_others: bool = False) -> ToolKey:
        """Store a new key; with ``retire_others`` (a rotation) every other key is retired
        now, in the same transaction, so exactly one signs."""
        now = utcnow()
        async with self._db.write() as conn:
            if retire_others:
                await conn.execute(
                    update(lti_tool_keys)
                    .where(lti_tool_keys.c.retired_at.is_(None))
                    .values(retired_at=now)
                )
            await conn.execute(
                lti_tool_keys.insert().values(kid=kid, private_key=private_key, created_at=now)
            )
        return ToolKey(kid=kid, private_key=private_key, created_at=now, retired_at=None)

    async def forget_retired(self, *, kept: timedelta, now: datetime | None = None) -> int:
        """Delete the keys retired more than ``kept`` ago; returns how many."""
        before = (now or utcnow()) - kept
        async with self._db.write() as conn:
            result = await conn.execute(
                delete(lti_tool_keys).where(lti_tool_keys.c.retired_at <= before)
            )
        return result.rowcount
