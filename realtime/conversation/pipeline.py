"""A conversation's jobs, answered one at a time and in order.

The jobs are the opening, each stored user turn to answer, and the completion. One
worker answers them (a task only while there are jobs, lingering a little after, see
:class:`OnDemand`), so a conversation's replies never overlap and come in the order of
its turns. Everything the jobs need is in the database: after a restart the jobs are
made again from the stored messages (:func:`undone`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

from persistence.records import Message
from realtime.conversation.transcript import Transcript
from realtime.on_demand import OnDemand

__all__ = ["WORKER_LINGER_SECONDS", "Admission", "Job", "Pipeline", "undone"]

logger = logging.getLogger(__name__)

# A conversation whose student is answering keeps its worker task between turns.
WORKER_LINGER_SECONDS = 10.0

# What the worker may do before its next job: run it, look again (something changed
# while it asked), or stop (the task then ends once it lingered).
Admission = Literal["run", "again", "stop"]


@dataclasses.dataclass(frozen=True, slots=True)
class Job:
    """One thing the conversation's worker does."""

    kind: Literal["opening", "answer", "complete"]
    turn: Message | None = None


def undone(transcript: Transcript, *, finished: bool) -> list[Job]:
    """The jobs the stored messages of an active conversation leave undone: its opening,
    the turns no reply answers, and its completion once the tutor has nothing to ask."""
    jobs = [] if transcript.opened else [Job("opening")]
    jobs += [Job("answer", turn) for turn in transcript.unanswered()]
    if not jobs and finished:
        jobs.append(Job("complete"))
    return jobs


class Pipeline:
    """The jobs of a conversation, and the worker that runs them in order.

    Args:
        conversation_id: the conversation (it names the worker task).
        run: does one job.
        admit: asked before each job, and on the worker's last look before it ends
            (True then); None: every job runs.
        on_done: called after each job.
    """

    __slots__ = ("_admit", "_id", "_on_done", "_run", "_worker", "busy", "jobs", "stopping")

    def __init__(
        self,
        conversation_id: str,
        *,
        run: Callable[[Job], Awaitable[None]],
        admit: Callable[[bool], Awaitable[Admission]] | None,
        on_done: Callable[[], None],
    ) -> None:
        self.jobs: list[Job] = []  # a list: a deque costs 64 slots, and this is short
        self.busy = False  # a job runs now
        self.stopping = False  # the server stops: no further job starts
        self._id = conversation_id
        self._run = run
        self._admit = admit
        self._on_done = on_done
        self._worker = OnDemand(
            self._work_one, linger=WORKER_LINGER_SECONDS, name=f"conversation-{conversation_id}"
        )

    @property
    def worker(self) -> asyncio.Task[None] | None:
        """The task answering the jobs, while there are any (or it lingers)."""
        return self._worker.task

    def enqueue(self, job: Job) -> None:
        """Add a job after those waiting, and wake the worker."""
        self.jobs.append(job)
        self._worker.kick()

    def wake(self) -> None:
        """Wake the worker: there may be work it cannot see in the jobs."""
        self._worker.kick()

    def retry(self) -> None:
        """Wake the worker if jobs still wait (they were held back)."""
        if self.jobs and not self.stopping:
            self._worker.kick()

    def pending(self, kind: Literal["opening", "answer", "complete"]) -> bool:
        """Whether a job of ``kind`` waits."""
        return any(job.kind == kind for job in self.jobs)

    def cancel(self) -> None:
        """Stop the worker (the conversation is no longer held here)."""
        self._worker.cancel()

    async def _work_one(self, final: bool) -> bool:
        """Run the next job in order; False if there is none (or the server stops)."""
        if self.stopping:
            return False
        if self._admit is not None:
            admission = await self._admit(final)
            if admission != "run":
                return admission == "again"
        if not self.jobs:
            return False
        job = self.jobs.pop(0)
        self.busy = True
        try:
            await self._run(job)
        except Exception:
            logger.exception("%s job failed", job.kind, extra={"conversation": self._id})
        finally:
            self.busy = False
        self._on_done()
        return True
