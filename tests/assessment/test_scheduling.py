"""FSRS scheduling of flashcards across sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fsrs import Card, Rating

from assessment.scheduling import ratings, reschedule, session_order
from assessment.spec import Flashcard
from tests.assessment.dialogue import Dialogue
from tests.assessment.test_scenarios import FLASHCARDS

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CARDS = [Flashcard(id=c, front=c, back=c) for c in ("a", "b", "c", "d")]


def _due(when: datetime) -> dict[str, object]:
    return dict(Card(due=when).to_dict())


def test_due_cards_come_first_then_new_then_later() -> None:
    """Overdue cards by due date, then unseen cards in order, then cards not yet due."""
    states = {
        "a": _due(NOW + timedelta(days=3)),
        "c": _due(NOW - timedelta(days=1)),
        "d": _due(NOW - timedelta(days=5)),
    }
    assert session_order(CARDS, states, NOW) == ["d", "c", "b", "a"]  # type: ignore[arg-type]


async def test_a_session_rates_each_card_it_showed() -> None:
    """Right first time is Good, right after a miss is Hard, never right is Again."""
    dialogue = Dialogue.of("flashcards", "mastery", FLASHCARDS)
    await dialogue.open()
    # c2 and c3 come back as their variants once their backs were given away.
    for answer in ("water", "pepper", "carbon monoxide", "potassium chloride", "carbon"):
        await dialogue.answer(answer)
    session = dialogue.tutor.session(dialogue.turns)
    assert ratings(session) == {"c1": Rating.Good, "c2": Rating.Hard, "c3": Rating.Again}


def test_reviews_move_due_dates_by_rating() -> None:
    """After review, a Good card is due later than an Again card; states round-trip."""
    updated = reschedule({}, {"good": Rating.Good, "again": Rating.Again}, NOW)
    good = Card.from_dict(updated["good"])
    again = Card.from_dict(updated["again"])
    assert NOW < again.due <= good.due
    later = reschedule(updated, {"good": Rating.Good}, good.due)
    assert Card.from_dict(later["good"]).due > good.due
