"""The store: the database, the turn writer, and one repository per table group."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from persistence import migrate
from persistence.analytics import AnalyticsStore
from persistence.assessments import AssessmentStore
from persistence.content import ContentStore
from persistence.conversations import ConversationStore, TurnWriter, turn_lane
from persistence.database import Database
from persistence.flashcards import FlashcardStateStore
from persistence.grades import GradeOutbox
from persistence.launches import LaunchStateStore
from persistence.overrides import ScoreOverrideStore
from persistence.platforms import PlatformStore
from persistence.progress import ProgressStore
from persistence.resource_links import ResourceLinkStore
from persistence.tool_keys import ToolKeyStore
from persistence.turns import apply_turns, apply_turns_on_postgres

__all__ = ["WRITE_GATHER_SECONDS", "Store", "open_store"]

# Turn writers side by side on PostgreSQL (each holds a pooled connection while it commits).
WRITER_LANES = 4
# Under load SQLite's turn writer begins at most one transaction in this time, and the
# writes that arrive meanwhile share it: at 1,000 students a third of the transactions
# and a third less CPU per turn, for a few milliseconds more per ack. PostgreSQL's lanes
# overlap their round trips instead; a window there saved no CPU that could be measured.
WRITE_GATHER_SECONDS = 0.005


class Store:
    """Everything the server reads and writes.

    Args:
        db: the database.
        max_batch: the most turn writes one transaction takes.
        gather: on SQLite, under load, the shortest time between two of the turn
            writer's transactions (see :class:`~persistence.writer.GroupCommitWriter`).
    """

    def __init__(
        self, db: Database, *, max_batch: int = 1000, gather: float = WRITE_GATHER_SECONDS
    ) -> None:
        self.db = db
        # SQLite has one writer; PostgreSQL's batch is one statement, its function's call.
        on_postgres = not db.is_sqlite
        self.writer = TurnWriter(
            db,
            apply_turns_on_postgres if on_postgres else apply_turns,
            key=turn_lane,
            lanes=WRITER_LANES if on_postgres else 1,
            max_batch=max_batch,
            one_statement=on_postgres,
            gather=0.0 if on_postgres else gather,
        )
        self.assessments = AssessmentStore(db)
        self.conversations = ConversationStore(db, self.writer)
        self.progress = ProgressStore(db)
        self.content = ContentStore(db)
        self.analytics = AnalyticsStore(db)
        self.flashcards = FlashcardStateStore(db)
        self.platforms = PlatformStore(db)
        self.tool_keys = ToolKeyStore(db)
        self.launch_states = LaunchStateStore(db)
        self.resource_links = ResourceLinkStore(db)
        self.grades = GradeOutbox(db)
        self.overrides = ScoreOverrideStore(db)


@contextlib.asynccontextmanager
async def open_store(
    url: str,
    *,
    pool_size: int = 10,
    max_batch: int = 1000,
    gather: float = WRITE_GATHER_SECONDS,
    migrate_first: bool = True,
) -> AsyncIterator[Store]:
    """Connect, migrate to the newest schema, and run the turn writer until the block ends."""
    db = Database(url, pool_size=pool_size)
    try:
        if migrate_first:
            await migrate.upgrade(db)
        store = Store(db, max_batch=max_batch, gather=gather)
        async with db.maintained():
            await store.writer.start()
            try:
                yield store
            finally:
                await store.writer.close()
    finally:
        await db.dispose()
