"""A flashcard deck across attempts: its order from the student's FSRS schedule, and the
schedule updated from the attempt's ratings when it completes."""

from __future__ import annotations

from fsrs import Card

from assessment.scheduling import ratings, reschedule, session_order
from assessment.session import Session
from assessment.spec import AssessmentSpec, Flashcard
from persistence.store import Store
from persistence.values import utcnow

__all__ = ["deck_order", "reschedule_deck"]


async def deck_order(store: Store, user_id: str, deck: str, spec: AssessmentSpec) -> list[str]:
    """The order of the deck's cards for a new attempt: the ones due first."""
    states = await store.flashcards.states(user_id, deck)
    cards = [item for item in spec.items if isinstance(item, Flashcard)]
    return session_order(cards, states, utcnow())


async def reschedule_deck(store: Store, user_id: str, deck: str, session: Session) -> None:
    """Schedule each card's next review from how the attempt went."""
    states = await store.flashcards.states(user_id, deck)
    updated = reschedule(states, ratings(session), utcnow())
    await store.flashcards.save(
        user_id,
        deck,
        {card: (state, Card.from_dict(state).due) for card, state in updated.items()},
    )
