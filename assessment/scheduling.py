"""Flashcard scheduling across sessions with FSRS (the ``fsrs`` package).

Each student's state per card (FSRS stability, difficulty, due date...) is kept between
sessions (``persistence.flashcards``). A session shows the cards that are due first,
earliest due first, then cards never seen, in their configured order, then the rest by
due date. When the session ends, every card shown is reviewed: right at its first
showing is ``Good``, right only after a miss is ``Hard``, never right is ``Again``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from fsrs import Card, Rating, Scheduler
from fsrs.card import CardDict

from assessment.session import Session
from assessment.spec import Flashcard

__all__ = ["CardState", "ratings", "reschedule", "session_order"]

CardState = CardDict  # fsrs.Card.to_dict(): JSON-ready

_SCHEDULER = Scheduler(enable_fuzzing=False)


def session_order(
    cards: Sequence[Flashcard], states: Mapping[str, CardState], now: datetime
) -> list[str]:
    """The order to show ``cards`` in, given the student's stored states."""
    due: list[tuple[datetime, int, str]] = []
    new: list[str] = []
    later: list[tuple[datetime, int, str]] = []
    for position, card in enumerate(cards):
        state = states.get(card.id)
        if state is None:
            new.append(card.id)
            continue
        when = Card.from_dict(state).due
        (due if when <= now else later).append((when, position, card.id))
    return [c for *_, c in sorted(due)] + new + [c for *_, c in sorted(later)]


def ratings(session: Session) -> dict[str, Rating]:
    """The FSRS rating of every card shown in the session."""
    result = {}
    for card_id, record in session.records.items():
        if record.attempts == 0:
            continue
        if record.first_credit == 1.0:
            result[card_id] = Rating.Good
        elif record.mastered:
            result[card_id] = Rating.Hard
        else:
            result[card_id] = Rating.Again
    return result


def reschedule(
    states: Mapping[str, CardState], rated: Mapping[str, Rating], now: datetime
) -> dict[str, CardState]:
    """The new state of each rated card after its review at ``now``."""
    updated = {}
    for card_id, rating in rated.items():
        stored = states.get(card_id)
        card = Card.from_dict(stored) if stored is not None else Card(due=now)
        reviewed, _ = _SCHEDULER.review_card(card, rating, review_datetime=now)
        updated[card_id] = reviewed.to_dict()
    return updated
