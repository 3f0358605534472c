"""The in-process broker: fan-out to a conversation's subscribers, always cleaned up."""

from __future__ import annotations

import pytest

from protocol.messages import Progress
from realtime.cluster.broker import Event, InProcessBroker

PROGRESS = Progress(mastery_score=50.0, items_done=1, items_total=2)


async def test_events_reach_every_subscriber_of_their_conversation_only() -> None:
    """Both subscribers of c1 get its event, in order; c2's subscriber gets nothing."""
    broker = InProcessBroker()
    one: list[Event] = []
    two: list[Event] = []
    other: list[Event] = []
    events = [Event(conversation_id="c1", frame=PROGRESS, seq=n) for n in (1, 2)]
    async with (
        broker.subscribe("c1", one.append),
        broker.subscribe("c1", two.append),
        broker.subscribe("c2", other.append),
    ):
        for event in events:
            broker.publish(event)
    assert one == events and two == events and other == []


async def test_subscriptions_end_with_their_block_even_on_error() -> None:
    """Leaving the block (normally or by an exception) removes the subscriber."""
    broker = InProcessBroker()
    received: list[Event] = []
    with pytest.raises(RuntimeError):
        async with broker.subscribe("c1", received.append):
            assert broker.subscriber_count("c1") == 1
            raise RuntimeError("socket failed")
    assert broker.subscriber_count("c1") == 0
    broker.publish(Event(conversation_id="c1", frame=PROGRESS))
    assert received == []


async def test_publishing_to_a_conversation_nobody_watches_is_harmless() -> None:
    """An event with no subscribers goes nowhere and leaves no entry behind."""
    broker = InProcessBroker()
    broker.publish(Event(conversation_id="c9", frame=PROGRESS))
    assert broker.subscriber_count("c9") == 0


async def test_a_callback_subscribed_twice_keeps_receiving_until_both_leave() -> None:
    """A room that leaves and joins again subscribes the same callback twice; the first
    subscription's exit after the second's entry leaves the second receiving."""
    broker = InProcessBroker()
    received: list[Event] = []
    first = broker.subscribe("c1", received.append)
    second = broker.subscribe("c1", received.append)
    await first.__aenter__()
    await second.__aenter__()
    await first.__aexit__(None, None, None)
    event = Event(
        conversation_id="c1", frame=Progress(mastery_score=1, items_done=0, items_total=1)
    )
    broker.publish(event)
    assert received == [event]
    await second.__aexit__(None, None, None)
    assert broker.conversations() == []
