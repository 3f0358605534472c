"""Per-student flashcard scheduling state is kept between sessions."""

from __future__ import annotations

from datetime import UTC, datetime

from fsrs import Card, Rating

from assessment.scheduling import reschedule, session_order
from assessment.spec import Flashcard
from persistence.records import AssessmentConfig
from persistence.store import Store

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def test_states_round_trip_and_update_in_place(
    store: Store, assessment: AssessmentConfig
) -> None:
    """Saved states come back per card; saving again replaces them."""
    first = reschedule({}, {"c1": Rating.Good, "c2": Rating.Again}, NOW)
    await store.flashcards.save(
        "s1",
        assessment.id,
        {card: (state, Card.from_dict(state).due) for card, state in first.items()},
    )
    stored = await store.flashcards.states("s1", assessment.id)
    assert stored == first
    assert await store.flashcards.states("s2", assessment.id) == {}

    later = reschedule(stored, {"c1": Rating.Good}, Card.from_dict(stored["c1"]).due)
    await store.flashcards.save(
        "s1", assessment.id, {"c1": (later["c1"], Card.from_dict(later["c1"]).due)}
    )
    again = await store.flashcards.states("s1", assessment.id)
    assert again["c1"] == later["c1"] and again["c2"] == first["c2"]
    cards = [Flashcard(id=c, front=c, back=c) for c in ("c1", "c2", "c3")]
    assert session_order(cards, again, NOW) == ["c3", "c2", "c1"]
