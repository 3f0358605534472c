"""Scores under each grading schema, and what the student struggled with.

Every schema scores all items of the assessment, so items not yet done earn nothing and
the score reaches 100 only when all are done:

- ``percentage``: each item earns its first attempt's credit (for chat, the share of
  key points the first answer covered).
- ``mastery``: each item finally mastered earns 1.
- ``engagement``: each item the student made a substantive attempt at earns 1, right or
  wrong; correctness never counts.
"""

from __future__ import annotations

import dataclasses
import math

from assessment.session import Session

__all__ = ["Score", "percent", "score", "struggles"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    """The score after an evaluated turn (the protocol's ``progress`` frame).

    Attributes:
        mastery_score: 0-100, rounded to two decimals.
        items_done: items finished, mastered or not.
        items_total: items in the assessment.
        passed: ``mastery_score >= mastery_threshold``, for every schema.
    """

    mastery_score: float
    items_done: int
    items_total: int
    passed: bool


def score(session: Session) -> Score:
    """The session's score under its assessment's grading schema."""
    totals = session.totals
    match session.spec.grading_schema:
        case "percentage":
            earned = totals.first_credit
        case "mastery":
            earned = float(totals.mastered)
        case "engagement":
            earned = float(totals.engaged)
    total = len(session.plan)
    value = round(100 * earned / total, 2)
    return Score(
        mastery_score=value,
        items_done=totals.done,
        items_total=total,
        passed=value >= session.spec.mastery_threshold,
    )


def percent(value: float) -> str:
    """A score as every reader sees it (the tutor, the widget, the gradebook comment):
    a whole percent, halves rounded up, so 66.67 is 67% and 62.5 is 63% everywhere. The
    stored score keeps its two decimals."""
    return f"{math.floor(value + 0.5)}%"


def struggles(session: Session) -> dict[str, int]:
    """Item (or objective) id -> how many times the student missed it, for those missed."""
    return {item_id: r.misses for item_id, r in session.records.items() if r.misses}
