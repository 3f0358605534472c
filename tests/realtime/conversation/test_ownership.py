"""Which process answers a conversation: the lease, work handed over, cancels forwarded."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from persistence.store import Store
from protocol.messages import AssistantEnd, AssistantStart, MessageId
from realtime.cluster import Cluster, open_cluster
from realtime.cluster.redis_broker import Control
from realtime.conversation.ownership import Ownership
from realtime.conversation.pipeline import Job, Pipeline
from tests.realtime.inbox import Inbox


@contextlib.asynccontextmanager
async def _processes(redis_url: str) -> AsyncIterator[tuple[Cluster, Cluster]]:
    async with (
        open_cluster(redis_url, lease_seconds=5) as first,
        open_cluster(redis_url, lease_seconds=5) as second,
    ):
        yield first, second


def _ownership(
    cluster: Cluster, store: Store, lost: list[str] | None = None
) -> tuple[Ownership, Pipeline]:
    async def run(job: Job) -> None:
        pass

    async def reload() -> None:
        pass

    pipeline = Pipeline("c1", run=run, admit=None, on_done=lambda: None)
    noted = lost if lost is not None else []
    ownership = Ownership(
        "c1",
        cluster,
        pipeline=pipeline,
        on_lost=lambda: noted.append("lost"),
        reload=reload,
        has_sockets=lambda: False,
        on_released=lambda: None,
        store=store,
        publish=lambda frame, seq: None,
    )
    return ownership, pipeline


async def test_one_process_holds_the_lease_and_the_other_hands_it_the_work(
    redis_url: str, store: Store
) -> None:
    """The first to ask holds it (its memory then stale); the second sends its jobs over."""
    async with _processes(redis_url) as (first, second):
        controls = Inbox[Control]()
        first.broker.on_control = controls.deliver
        (here, _), (there, jobs_there) = _ownership(first, store), _ownership(second, store)
        assert await here.take()
        assert (here.leased, here.stale) == (True, True)
        jobs_there.jobs.append(Job("opening"))
        assert not await there.take()
        assert not there.leased and jobs_there.jobs == []
        assert await controls.until(1) == [{"k": "work", "c": "c1"}]
        await here.release()
        assert not here.leased
        assert await there.take()


async def test_a_cancel_goes_to_the_process_running_the_reply(redis_url: str, store: Store) -> None:
    """Only for a reply seen starting, and only while another process holds the lease."""
    async with _processes(redis_url) as (first, second):
        controls = Inbox[Control]()
        first.broker.on_control = controls.deliver
        (here, _), (there, _) = _ownership(first, store), _ownership(second, store)
        reply = MessageId("m2")
        assert not await there.forward_cancel(reply)  # not seen starting
        there.follow(AssistantStart(message_id=reply, seq=2))
        assert not await there.forward_cancel(reply)  # no holder
        assert await here.take()
        assert not await here.forward_cancel(reply)  # held here: nothing to forward
        assert await there.forward_cancel(reply)
        assert await controls.until(1) == [{"k": "cancel", "c": "c1", "m": "m2"}]
        there.follow(AssistantEnd(message_id=reply, status="complete", length=0))
        assert not await there.forward_cancel(reply)


async def test_a_holder_that_finds_its_lease_taken_stops(redis_url: str, store: Store) -> None:
    """A lease believed held but now another's: on_lost, and the work goes there."""
    async with _processes(redis_url) as (first, second):
        lost: list[str] = []
        (here, _), (there, _) = _ownership(first, store, lost), _ownership(second, store)
        assert await here.take()
        await first.leases.release("c1")  # as if it had expired
        assert await there.take()
        assert not await here.take()
        assert lost == ["lost"]


async def test_the_worker_runs_only_while_the_lease_is_held(redis_url: str, store: Store) -> None:
    """Jobs and no lease: take it and run; the last look with no job lets it go; another
    process's lease stops the worker and takes its jobs."""
    async with _processes(redis_url) as (first, second):
        (here, jobs_here), (there, jobs_there) = _ownership(first, store), _ownership(second, store)
        jobs_here.jobs.append(Job("opening"))
        assert await here.admit(False) == "run"
        assert _held(here)
        jobs_here.jobs.clear()
        assert await here.admit(True) == "stop"
        assert not _held(here)  # released
        assert await here.take()
        jobs_there.jobs.append(Job("opening"))
        assert await there.admit(False) == "stop" and jobs_there.jobs == []


def _held(ownership: Ownership) -> bool:
    return ownership.leased
