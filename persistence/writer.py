"""Group commit: many concurrent writes share one transaction.

Callers :meth:`~GroupCommitWriter.submit` an operation and await its result. One task
takes every operation queued so far (up to ``max_batch``), applies them in submission
order in one transaction, commits, and only then resolves the callers' awaits. While it
commits, the next batch gathers, so batches grow with load and a lone write waits for no
timer. Under load (the last batch held more than one write) the writer also lets
``gather`` seconds pass between the starts of two transactions: a transaction's fixed
cost (the hand-off to the writer thread, BEGIN, the WAL pages, COMMIT) is then shared by
every write of those milliseconds, as PostgreSQL's ``commit_delay`` does.

``apply`` is first called with ``careful=False``: it may assume the common case and let
a constraint refuse the batch when the assumption fails. A refused batch is retried with
``careful=True`` in a new transaction, and if it is refused again, one operation per
transaction, so that only the callers whose own rows fail get an error.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from persistence.database import Database
from persistence.errors import StoreError, WriteFailed, WriterClosed, constraint_violation

__all__ = ["ApplyBatch", "GroupCommitWriter", "WriterLanes"]

logger = logging.getLogger(__name__)

OpT = TypeVar("OpT")
ResultT = TypeVar("ResultT")
OpT_contra = TypeVar("OpT_contra", contravariant=True)


class ApplyBatch(Protocol[OpT_contra, ResultT]):
    """Applies a batch in the open transaction: one result, or one refusal, per operation.

    It is a plain function: :meth:`Database.run_write` runs it whole in the database's
    writer thread (SQLite) or through the async driver (PostgreSQL).
    """

    def __call__(
        self, conn: Connection, ops: Sequence[OpT_contra], /, *, careful: bool
    ) -> list[ResultT | StoreError]: ...


class GroupCommitWriter(Generic[OpT, ResultT]):
    """Applies submitted operations in shared transactions.

    Args:
        db: the database to write to.
        apply: applies a batch of operations on a connection inside a transaction.
        max_batch: the most operations one transaction takes.
        one_statement: ``apply`` runs a single statement (see :meth:`Database.run_write`).
        gather: under load, the shortest time in seconds between two transactions' starts.
    """

    def __init__(
        self,
        db: Database,
        apply: ApplyBatch[OpT, ResultT],
        *,
        max_batch: int = 1000,
        one_statement: bool = False,
        gather: float = 0.0,
    ) -> None:
        self._db = db
        self._gather = gather
        self._last_start = float("-inf")
        self._last_size = 0
        self._apply = apply
        self._max_batch = max_batch
        self._one_statement = one_statement
        self._queue: collections.deque[tuple[OpT, asyncio.Future[ResultT]]] = collections.deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.transactions = 0  # batches applied (for benchmarks and metrics)
        self.operations = 0  # operations in them

    async def start(self) -> None:
        """Start the task that commits batches."""
        if self._task is not None:
            raise RuntimeError("the writer is already started")
        self._task = asyncio.create_task(self._run(), name="group-commit-writer")

    async def close(self) -> None:
        """Commit what is queued, then stop; later submissions raise WriterClosed."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def submit(self, op: OpT) -> ResultT:
        """Queue ``op`` and return its result once its transaction has committed.

        Raises:
            WriterClosed: the writer is closed or not started.
            StoreError: the operation was refused (its own rows only; others commit).
        """
        if self._task is None or self._closing:
            raise WriterClosed("the turn writer is not running")
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        self._queue.append((op, future))
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        try:
            while self._queue or not self._closing:
                if not self._queue:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                await self._gathered()
                await self._commit(self._take_batch())
        finally:
            # Only reached with a queue left over if this task was cancelled.
            while self._queue:
                _settle(self._queue.popleft()[1], WriterClosed("the turn writer stopped"))

    async def _gathered(self) -> None:
        """Under load, wait until ``gather`` seconds have passed since the last transaction
        began, so that the writes arriving meanwhile share this one.

        Load shows as a last batch of more than one write: a lone writer (one student,
        a test) has batches of one and never waits.
        """
        loop = asyncio.get_running_loop()
        pause = self._last_start + self._gather - loop.time()
        if (
            pause > 0
            and self._last_size > 1
            and not self._closing
            and len(self._queue) < self._max_batch
        ):
            await asyncio.sleep(pause)
        self._last_start = loop.time()
        self._last_size = min(len(self._queue), self._max_batch)

    def _take_batch(self) -> list[tuple[OpT, asyncio.Future[ResultT]]]:
        count = min(len(self._queue), self._max_batch)
        return [self._queue.popleft() for _ in range(count)]

    async def _commit(self, batch: list[tuple[OpT, asyncio.Future[ResultT]]]) -> None:
        ops = [op for op, _ in batch]
        self.transactions += 1
        self.operations += len(ops)
        try:
            try:
                results = await self._apply_in_transaction(ops, careful=False)
            except IntegrityError:
                results = await self._apply_in_transaction(ops, careful=True)
        except (DBAPIError, OSError) as error:
            if len(batch) == 1:
                _settle(batch[0][1], _as_store_error(error))
                return
            logger.warning("batch of %d refused (%s); retrying one by one", len(batch), error)
            for item in batch:
                await self._commit([item])
            return
        except Exception as error:
            # A bug in apply: fail this batch's callers, keep the writer alive for the rest.
            logger.exception("batch of %d failed", len(batch))
            for _, future in batch:
                _settle(future, WriteFailed(f"write failed: {error!r}"))
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result)

    async def _apply_in_transaction(
        self, ops: list[OpT], *, careful: bool
    ) -> list[ResultT | StoreError]:
        return await self._db.run_write(
            lambda conn: self._apply(conn, ops, careful=careful), one_statement=self._one_statement
        )


class WriterLanes(Generic[OpT, ResultT]):
    """Several group-commit writers side by side; each operation goes to the lane of its
    key, so operations with the same key keep their order.

    On PostgreSQL a transaction spends most of its time waiting for round trips and its
    WAL flush, and one writer makes every turn wait for the batch ahead of it: lanes
    overlap those waits. With keys that keep one conversation's rows in one lane, lanes
    never wait for each other's locks. SQLite has one writer, so one lane.

    Args:
        db: the database to write to.
        apply: applies a batch of operations on a connection inside a transaction.
        key: which lane an operation takes (by its hash).
        lanes: how many writers.
        max_batch: the most operations one transaction takes.
        one_statement: ``apply`` runs a single statement (see :meth:`Database.run_write`).
        gather: as for :class:`GroupCommitWriter`, in each lane.
    """

    def __init__(
        self,
        db: Database,
        apply: ApplyBatch[OpT, ResultT],
        *,
        key: Callable[[OpT], str],
        lanes: int,
        max_batch: int = 1000,
        one_statement: bool = False,
        gather: float = 0.0,
    ) -> None:
        self._key = key
        self._lanes = [
            GroupCommitWriter(
                db, apply, max_batch=max_batch, one_statement=one_statement, gather=gather
            )
            for _ in range(lanes)
        ]

    async def start(self) -> None:
        """Start every lane."""
        for lane in self._lanes:
            await lane.start()

    async def close(self) -> None:
        """Commit what is queued in every lane, then stop them."""
        await asyncio.gather(*(lane.close() for lane in self._lanes))

    async def submit(self, op: OpT) -> ResultT:
        """As :meth:`GroupCommitWriter.submit`, in the operation's lane."""
        lane = self._lanes[hash(self._key(op)) % len(self._lanes)]
        return await lane.submit(op)

    @property
    def transactions(self) -> int:
        """Batches applied, in every lane."""
        return sum(lane.transactions for lane in self._lanes)

    @property
    def operations(self) -> int:
        """Operations in them."""
        return sum(lane.operations for lane in self._lanes)


def _as_store_error(error: Exception) -> StoreError:
    if isinstance(error, IntegrityError):
        return constraint_violation(error)
    return WriteFailed(f"write failed: {error}")


def _settle(future: asyncio.Future[ResultT], outcome: ResultT | StoreError) -> None:
    # A caller that was cancelled while waiting has left; its row is committed anyway.
    if future.done():
        return
    if isinstance(outcome, StoreError):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
