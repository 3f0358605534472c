"""Where a conversation stands, derived from its stored turns alone.

Nothing about a session lives only in memory: the opening reply's metadata records the
order of the items (``plan``), and each student turn's metadata records its evaluation.
Folding those evaluations over the plan gives the current item, each item's attempts and
outcome, and what comes next, so a restarted server continues exactly where it was.

The rules, per item: a correct answer masters it. A wrong (or partial) answer gets a
hint and another try while attempts remain in the round. Once they are used up, the
tutor gives the answer away, and the item either comes back at the end of the queue
(flashcards: until shown ``max_attempts`` times; ``mastery``: ``retry_rounds`` more
times) or is done, missed.

Under ``mastery``, an item whose answer the tutor has given comes back only as its next
variant (another sentence, card or question on the same skill): typing back what the
tutor said earns nothing. With no variant left it is done, not mastered. Under
``percentage`` only the first attempt counts, and under ``engagement`` correctness never
does, so there an item comes back as it was.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from assessment.answers.formulas import is_formula
from assessment.answers.lexicon import Lexicon
from assessment.answers.text import normalize
from assessment.evaluation import Evaluation
from assessment.spec import AssessmentSpec, FillBlankItem, Flashcard, Item, Objective

__all__ = ["Catalog", "ItemRecord", "Outcome", "Session", "Totals", "Turn"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Turn:
    """One stored message, as the engines see it."""

    role: Literal["user", "assistant", "system"]
    content: str
    metadata: Mapping[str, Any] | None = None


class Outcome(enum.Enum):
    """What an evaluation did to its item."""

    MASTERED = "mastered"  # right: the item is done
    RETRY = "retry"  # wrong, attempts left: a hint and another try
    REQUEUED = "requeued"  # attempts used up; it comes back later in the session
    MISSED = "missed"  # attempts used up for good: the item is done, not mastered


@dataclasses.dataclass(slots=True)
class ItemRecord:
    """One item's history in this conversation."""

    attempts: int = 0
    attempts_in_round: int = 0
    round: int = 0
    first_credit: float | None = None
    mastered: bool = False
    done: bool = False
    engaged: bool = False
    misses: int = 0
    covered: set[int] = dataclasses.field(default_factory=set)
    answers: list[str] = dataclasses.field(default_factory=list)

    @property
    def hint_level(self) -> int:
        """Hints given on this item so far in this round (one per wrong try)."""
        return self.attempts_in_round


_UNTOUCHED = ItemRecord()


@dataclasses.dataclass(slots=True)
class Totals:
    """Sums over the records, kept as evaluations are applied, so that scoring a turn
    costs the same however many items the student has answered."""

    first_credit: float = 0.0  # the first attempts' credit
    mastered: int = 0
    engaged: int = 0  # items with a substantive answer
    done: int = 0  # finished, mastered or not


@dataclasses.dataclass(frozen=True, slots=True)
class Catalog:
    """A spec's items by id, their configured order and the assessment's words, shared
    by its sessions."""

    items: Mapping[str, Item]
    order: tuple[str, ...]
    lexicon: Lexicon

    @classmethod
    def of(cls, spec: AssessmentSpec) -> Catalog:
        items = {item.id: item for item in spec.items}
        symbols = any(
            is_formula(a) for i in spec.items if not isinstance(i, Objective) for a in i.answers
        )
        return cls(items, tuple(items), Lexicon(_texts(spec.items), symbols=symbols))


def _texts(items: Sequence[Item]) -> Iterator[str]:
    """Every text of the items and their variants: the assessment's own words."""
    for item in items:
        match item:
            case FillBlankItem():
                yield item.text
                yield from item.answers
                yield from item.reject
            case Flashcard():
                yield item.front
                yield from item.answers
                yield from item.reject
            case Objective():
                yield item.question
        yield from _texts(item.variants)


class Session:
    """The state of one conversation: the queue of items and each item's record.

    A live conversation keeps its session for as long as it is in use, so it stays
    small: the item map and the default order are shared (the tutor's ``catalog``),
    records exist only for items the student has answered, and the queue is a position
    in the plan plus the items that came back.

    Args:
        spec: the assessment.
        plan: the order of the items' ids; ids no longer configured are skipped and new
            ones go last.
        catalog: the spec's catalog, if the caller already has it.
    """

    def __init__(
        self,
        spec: AssessmentSpec,
        plan: Sequence[str] | None = None,
        *,
        catalog: Catalog | None = None,
    ) -> None:
        self.spec = spec
        catalog = catalog or Catalog.of(spec)
        self.items = catalog.items
        self.lexicon = catalog.lexicon
        if plan is None or tuple(plan) == catalog.order:
            self.plan = catalog.order
        else:
            planned = dict.fromkeys(i for i in plan if i in self.items)  # an ordered set
            self.plan = (*planned, *(i for i in catalog.order if i not in planned))
        self.records: dict[str, ItemRecord] = {}
        self.totals = Totals()
        self._position = 0
        # Lists, not deques, for the queues of a session: an empty deque costs a block
        # of 64 slots, and every held conversation has one; these stay short.
        self._requeued: list[str] = []
        self.current: str | None = self._next()
        self.last: tuple[Evaluation, Outcome] | None = None

    @classmethod
    def replay(
        cls,
        spec: AssessmentSpec,
        turns: Sequence[Turn],
        *,
        catalog: Catalog | None = None,
    ) -> Session:
        """The session after ``turns``: the stored plan, then every stored evaluation."""
        plan = next(
            (t.metadata["plan"] for t in turns if t.metadata and "plan" in t.metadata), None
        )
        session = cls(spec, plan, catalog=catalog)
        for turn in turns:
            evaluation = Evaluation.from_metadata(turn.metadata) if turn.role == "user" else None
            if evaluation is not None and evaluation.item_id == session.current:
                session.apply(evaluation, turn.content)
        return session

    @property
    def finished(self) -> bool:
        """Every item is done."""
        return self.current is None

    @property
    def current_item(self) -> Item | None:
        """The item the student is answering now: under ``mastery``, after its answer was
        given away, the variant of this round."""
        if self.current is None:
            return None
        item = self.items[self.current]
        record = self.records.get(self.current)
        if record is None or record.round == 0 or not self._needs_variant:
            return item
        return item.variants[record.round - 1]

    @property
    def queue(self) -> list[str]:
        """The items still to come after the current one, in order."""
        return [*self.plan[self._position :], *self._requeued]

    def record(self, item_id: str) -> ItemRecord:
        """The item's record (a blank one, not to be changed, if it was never answered)."""
        return self.records.get(item_id, _UNTOUCHED)

    def apply(self, evaluation: Evaluation, answer: str) -> Outcome:
        """Fold one evaluation of the current item, and the answer it graded, in."""
        assert evaluation.item_id == self.current, "evaluations answer the current item"
        record = self.records.setdefault(evaluation.item_id, ItemRecord())
        record.attempts += 1
        record.attempts_in_round += 1
        if record.first_credit is None:
            record.first_credit = evaluation.credit
            self.totals.first_credit += evaluation.credit
        record.covered.update(evaluation.covered)
        if evaluation.substantive and not record.engaged:
            record.engaged = True
            self.totals.engaged += 1
        record.answers.append(normalize(answer))
        if evaluation.verdict != "correct":
            record.misses += 1
        outcome = self._outcome(evaluation, record)
        if outcome is not Outcome.RETRY:
            self._advance(record, outcome)
        self.last = (evaluation, outcome)
        return outcome

    def _outcome(self, evaluation: Evaluation, record: ItemRecord) -> Outcome:
        if evaluation.verdict == "correct":
            return Outcome.MASTERED
        if record.attempts_in_round < self._attempts_per_round:
            return Outcome.RETRY
        if record.round + 1 < self._rounds and self._can_come_back(evaluation.item_id, record):
            return Outcome.REQUEUED
        return Outcome.MISSED

    def _can_come_back(self, item_id: str, record: ItemRecord) -> bool:
        """Whether the item, its answer about to be given away, has a way back: under
        ``mastery`` a variant for the next round, otherwise as it is."""
        return not self._needs_variant or record.round < len(self.items[item_id].variants)

    @property
    def _needs_variant(self) -> bool:
        return self.spec.grading_schema == "mastery"

    def _advance(self, record: ItemRecord, outcome: Outcome) -> None:
        assert self.current is not None
        if outcome is Outcome.REQUEUED:
            # The tutor has explained the item; the next round asks for all of it again.
            record.round += 1
            record.attempts_in_round = 0
            record.covered.clear()
            self._requeued.append(self.current)
        else:
            record.done = True
            record.mastered = outcome is Outcome.MASTERED
            self.totals.done += 1
            self.totals.mastered += record.mastered
        self.current = self._next()

    def _next(self) -> str | None:
        if self._position < len(self.plan):
            self._position += 1
            return self.plan[self._position - 1]
        return self._requeued.pop(0) if self._requeued else None

    @property
    def _attempts_per_round(self) -> int:
        # A flashcard is answered once per showing; a missed card comes back later.
        return 1 if self.spec.assessment_type == "flashcards" else self.spec.max_attempts

    @property
    def _rounds(self) -> int:
        if self.spec.assessment_type == "flashcards":
            return self.spec.max_attempts
        if self.spec.grading_schema == "mastery":
            return 1 + self.spec.retry_rounds
        return 1
