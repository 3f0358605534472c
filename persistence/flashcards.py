"""Each student's flashcard scheduling state, kept between sessions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from persistence.database import Database
from persistence.schema import flashcard_states
from persistence.values import new_id, utcnow

__all__ = ["FlashcardStateStore"]


class FlashcardStateStore:
    """Reads and writes ``flashcard_states``: an opaque JSON state and its due time."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def states(self, user_id: str, assessment_config_id: str) -> dict[str, Any]:
        """Card id -> stored state, for one student's deck."""
        query = select(flashcard_states.c.card_id, flashcard_states.c.state).where(
            flashcard_states.c.user_id == user_id,
            flashcard_states.c.assessment_config_id == assessment_config_id,
        )
        return {row["card_id"]: row["state"] for row in await self._db.fetch_all(query)}

    async def save(
        self,
        user_id: str,
        assessment_config_id: str,
        states: Mapping[str, tuple[Any, datetime]],
    ) -> None:
        """Store each card's new (state, due) in one transaction."""
        if not states:
            return
        now = utcnow()
        insert = self._db.upsert(flashcard_states)
        statement = insert.on_conflict_do_update(
            index_elements=["user_id", "assessment_config_id", "card_id"],
            set_={
                "state": insert.excluded.state,
                "due": insert.excluded.due,
                "updated_at": insert.excluded.updated_at,
            },
        )
        rows = [
            {
                "id": new_id(),
                "user_id": user_id,
                "assessment_config_id": assessment_config_id,
                "card_id": card_id,
                "state": state,
                "due": due,
                "updated_at": now,
            }
            for card_id, (state, due) in states.items()
        ]
        async with self._db.write() as conn:
            await conn.execute(statement, rows)
