"""The Redis broker and the leases, against a real Redis server of the test's own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from protocol.messages import AssistantDelta, MessageId, Progress
from realtime.cluster import POOL_CONNECTIONS, open_cluster
from realtime.cluster.broker import Event
from realtime.cluster.lease import EXPIRIES, KEY, Leases
from realtime.cluster.redis_broker import CHANNEL, PROCESS_CHANNEL, Control, RedisBroker
from tests.limits import TIMEOUT
from tests.realtime.inbox import Inbox


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True)


@pytest.fixture
async def brokers(redis_url: str) -> AsyncIterator[tuple[RedisBroker, RedisBroker]]:
    first, second = RedisBroker(_client(redis_url), "p1"), RedisBroker(_client(redis_url), "p2")
    await first.start()
    await second.start()
    yield first, second
    await first.close()
    await second.close()


async def test_events_reach_the_other_process_once_in_order_with_their_seq(
    brokers: tuple[RedisBroker, RedisBroker],
) -> None:
    first, second = brokers
    here, there = Inbox[Event](), Inbox[Event]()
    delta = AssistantDelta(message_id=MessageId("m1"), offset=0, text="Hi")
    progress = Progress(mastery_score=50.0, items_done=1, items_total=2)
    async with first.subscribe("c1", here.deliver), second.subscribe("c1", there.deliver):
        first.publish(Event(conversation_id="c1", frame=delta, seq=3))
        first.publish(Event(conversation_id="c1", frame=progress))
        received = await there.until(2)
    assert [(e.frame, e.seq) for e in received] == [(delta, 3), (progress, None)]
    assert [(e.frame, e.seq) for e in here.events] == [(delta, 3), (progress, None)]  # not twice


async def test_malformed_messages_are_dropped_and_the_listener_goes_on(
    brokers: tuple[RedisBroker, RedisBroker], redis_url: str
) -> None:
    first, second = brokers
    there, controls = Inbox[Event](), Inbox[Control]()
    second.on_control = controls.deliver
    delta = AssistantDelta(message_id=MessageId("m1"), offset=0, text="ok")
    client = _client(redis_url)
    async with second.subscribe("c1", there.deliver):
        for junk in ["not json", "[1]", '{"p": "x"}', '{"p": "x", "s": "one", "f": "{}"}']:
            await client.publish(CHANNEL.format("c1"), junk)
        first.publish(Event(conversation_id="c1", frame=delta, seq=1))
        (event,) = await there.until(1)
    assert event.frame == delta
    first.send_control("p2", {"k": "work", "c": "c1"})
    await client.publish(PROCESS_CHANNEL.format("p2"), "{broken")
    first.send_control("p2", {"k": "cancel", "c": "c1", "m": "m1"})
    assert await controls.until(2) == [
        {"k": "work", "c": "c1"},
        {"k": "cancel", "c": "c1", "m": "m1"},
    ]
    await client.aclose()


async def test_a_reply_text_is_kept_for_other_processes_until_its_end(
    brokers: tuple[RedisBroker, RedisBroker],
) -> None:
    first, second = brokers
    first.keep_reply_text("m1", "Hello")
    first.keep_reply_text("m1", "Hello there")
    inbox = Inbox[Event]()
    async with second.subscribe("c1", inbox.deliver):
        # Published after the text, in the same pipeline: once it arrives, the text is in.
        first.publish(
            Event(
                conversation_id="c1", frame=Progress(mastery_score=0, items_done=0, items_total=1)
            )
        )
        await inbox.until(1)
        assert await second.reply_text("m1") == "Hello there"
        first.drop_reply_text("m1")
        first.publish(
            Event(
                conversation_id="c1", frame=Progress(mastery_score=0, items_done=0, items_total=1)
            )
        )
        await inbox.until(2)
    assert await second.reply_text("m1") is None


async def test_one_process_holds_a_lease_and_another_claims_it_once_it_expires(
    redis_url: str,
) -> None:
    client = _client(redis_url)
    first, second = Leases(client, "p1", 5.0), Leases(client, "p2", 5.0)
    assert await first.take("c1") and await first.take("c1")  # taken, and kept
    assert not await second.take("c1")
    assert await first.holder_of("c1") == "p1" and first.held == {"c1"}
    assert first.surely_held("c1") and not second.surely_held("c1")
    assert await second.expired() == []
    # The holder dies: its key expires (here at once) and its entry stays behind.
    await client.delete(KEY.format("c1"))
    await client.zadd(EXPIRIES, {"c1": 0})
    assert await second.expired() == ["c1"]
    assert await second.take("c1")
    assert await first.renew() == ["c1"]  # the old holder learns it lost it
    assert first.held == frozenset() and not first.surely_held("c1")
    await second.release("c1")
    assert await second.holder_of("c1") is None and await second.expired() == []
    await first.release("c1")  # not its own: a no-op
    await client.aclose()


async def test_a_lease_lost_with_a_redis_restart_is_taken_again_by_its_holder(
    redis_url: str,
) -> None:
    client = _client(redis_url)
    leases = Leases(client, "p1", 5.0)
    assert await leases.take("c1")
    await client.flushall()  # what a restart of a Redis that keeps nothing leaves
    assert await leases.renew() == []
    assert await leases.holder_of("c1") == "p1"
    await client.aclose()


async def test_a_burst_of_commands_beyond_the_pool_waits_for_connections(redis_url: str) -> None:
    """More lease commands in flight at once than the process's connections to Redis:
    each waits for a free connection, none fails."""
    async with open_cluster(redis_url, lease_seconds=5) as cluster:
        taken = await asyncio.wait_for(
            asyncio.gather(*(cluster.leases.take(f"c{n}") for n in range(3 * POOL_CONNECTIONS))),
            TIMEOUT,
        )
    assert taken == [True] * (3 * POOL_CONNECTIONS)


async def test_a_lease_released_while_a_renewal_runs_stays_released(redis_url: str) -> None:
    """A renewal in flight when the lease is let go does not take it again, which would
    leave a lease that no one holds to expire and be claimed as a dead process's."""
    client = _client(redis_url)
    leases = Leases(client, "p1", 5.0)
    for round_ in range(20):
        conversation_id = f"c{round_}"
        assert await leases.take(conversation_id)
        await asyncio.gather(leases.renew(), leases.release(conversation_id))
        assert await leases.holder_of(conversation_id) is None
        assert await client.zscore(EXPIRIES, conversation_id) is None
    await client.aclose()
