"""The grade sender: scores from the outbox to the platforms' gradebooks (LTI AGS).

Every process runs one. Each second it looks for due rows; it leases a few
(:meth:`persistence.grades.GradeOutbox.claim`), so that across processes each row is
sent by one at a time and a killed process's rows are sent by the next, and for each:

- a newer score of the same learner and link makes it ``superseded``, unsent: an older
  score never reaches the gradebook after a newer one (and the platform's own 409 for an
  older timestamp counts the same);
- the line item is the launch's, else found in (or added to) the link's container;
- the platform's token and score service are called; a success is ``sent``;
- a failure that may pass (the platform down, 429, 5xx, a network error) is tried again
  after a backoff (Retry-After when the platform gives one), without end; a refusal
  that will not pass (400, 403, 422) is ``failed``, with the platform's answer kept for
  the instructor.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import timedelta

from persistence.errors import NotFound
from persistence.records import GradeEntry
from persistence.store import Store
from persistence.values import utcnow
from realtime.lti.services import PlatformServices, Score, ServiceError
from realtime.metrics import Metrics

__all__ = ["GradeSender", "backoff"]

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
BATCH = 20
FIRST_RETRY_SECONDS = 5.0
LONGEST_RETRY_SECONDS = 3600.0


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """How long to wait before the next try, after ``attempts`` tries: doubling from
    five seconds to an hour, with jitter; at least what the platform asked for."""
    ceiling = min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LONGEST_RETRY_SECONDS)
    wait = random.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        wait = max(wait, min(retry_after, LONGEST_RETRY_SECONDS))
    return timedelta(seconds=wait)


class GradeSender:
    """Sends the outbox's due scores, forever, until cancelled."""

    def __init__(
        self, store: Store, services: PlatformServices, metrics: Metrics, *, lease: timedelta
    ) -> None:
        self._store = store
        self._services = services
        self._metrics = metrics
        self._lease = lease
        self._watchers: list[Callable[[GradeEntry, str], None]] = []

    def watch(self, watcher: Callable[[GradeEntry, str], None]) -> None:
        """Call ``watcher`` with each row and what became of it: ``sent``,
        ``superseded``, ``failed`` or ``retry``."""
        self._watchers.append(watcher)

    async def run(self) -> None:
        while True:
            try:
                await self.send_due()
            except Exception:
                logger.exception("sending grades failed")
            await asyncio.sleep(POLL_SECONDS)

    async def send_due(self) -> int:
        """Send what is due now; returns how many rows were settled or put off."""
        due = await self._store.grades.next_due()
        if due is None or due > utcnow():
            return 0
        entries = await self._store.grades.claim(limit=BATCH, lease=self._lease)
        for entry in entries:
            await self._send(entry)
        counts = await self._store.grades.counts()
        self._metrics.grades_pending.set(counts.get("pending", 0))
        return len(entries)

    async def _send(self, entry: GradeEntry) -> None:
        self._settled(entry, await self._outcome(entry))

    async def _outcome(self, entry: GradeEntry) -> str:
        if await self._store.grades.newer(entry):
            await self._store.grades.superseded(entry.id)
            return "superseded"
        try:
            await self._post(entry)
        except ServiceError as error:
            if error.status == 409:  # the platform holds a newer score
                await self._store.grades.superseded(entry.id)
                return "superseded"
            if error.transient:
                wait = backoff(entry.attempts, error.retry_after)
                await self._store.grades.retry(entry.id, after=wait, error=str(error))
                logger.warning(
                    "a grade will be sent again in %.0f s: %s",
                    wait.total_seconds(),
                    error,
                    extra={"conversation": entry.conversation_id},
                )
                return "retry"
            await self._store.grades.failed(entry.id, str(error))
            logger.error(
                "a grade was refused: %s", error, extra={"conversation": entry.conversation_id}
            )
            return "failed"
        await self._store.grades.sent(entry.id)
        return "sent"

    def _settled(self, entry: GradeEntry, outcome: str) -> None:
        if outcome == "retry":
            self._metrics.grade_retries.inc()
        else:
            self._metrics.grades_settled.labels(outcome).inc()
        for watcher in self._watchers:
            watcher(entry, outcome)

    async def _post(self, entry: GradeEntry) -> None:
        try:
            platform = await self._store.platforms.get(entry.platform_id)
        except NotFound:
            raise ServiceError("the platform is no longer registered", transient=False) from None
        link = await self._store.resource_links.get(entry.platform_id, entry.resource_link_id)
        if link is None:
            raise ServiceError("no launch described this resource link", transient=False)
        lineitem = link.lineitem_url
        if lineitem is None:
            if link.lineitems_url is None:
                raise ServiceError("the platform offers no grade service here", transient=False)
            lineitem = await self._services.find_or_create_lineitem(
                platform,
                link.lineitems_url,
                resource_link_id=link.resource_link_id,
                label=link.title or "tutorchat assessment",
                scopes=frozenset(link.ags_scopes or ()),
            )
            await self._store.resource_links.set_lineitem(
                link.platform_id, link.resource_link_id, lineitem
            )
        score = Score(
            user_id=entry.user_id,
            score_given=entry.score_given,
            score_maximum=entry.score_maximum,
            activity_progress=entry.activity_progress,
            grading_progress=entry.grading_progress,
            timestamp=entry.scored_at,
            comment=entry.comment,
        )
        try:
            await self._services.post_score(platform, lineitem, score)
        except ServiceError as error:
            if error.status == 404 and link.lineitems_url is not None:
                # The line item is gone (deleted in the gradebook): the next try finds
                # or makes one again in the link's container.
                await self._store.resource_links.set_lineitem(
                    link.platform_id, link.resource_link_id, None
                )
            raise
