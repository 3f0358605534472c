"""The built-in grader: works offline, deterministically, for every assessment type."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from assessment.answers.check import AnswerCheck, check_answer
from assessment.answers.formulas import in_formula
from assessment.answers.lexicon import Lexicon
from assessment.answers.text import normalize, words
from assessment.answers.units import blank_units, is_unit
from assessment.evaluation import Evaluation, Verdict
from assessment.keypoints import covered_points
from assessment.session import Session
from assessment.spec import FillBlankItem, Flashcard, Objective
from assessment.substance import is_substantive

__all__ = ["check_short", "grade", "grade_coverage"]


def grade(session: Session, answer: str) -> Evaluation:
    """Grade ``answer`` to the session's current item."""
    item = session.current_item
    assert item is not None, "a finished session has nothing to grade"
    match item:
        case FillBlankItem() | Flashcard():
            check = check_short(item, answer, session.lexicon)
            return _evaluation(
                session,
                answer,
                verdict="correct" if check.correct else "wrong",
                credit=1.0 if check.correct else 0.0,
                missed=() if check.correct else (item.id,),
                typo=check.typo,
            )
        case Objective():
            return grade_coverage(session, answer, covered_points(answer, item.key_points))


def check_short(item: FillBlankItem | Flashcard, answer: str, lexicon: Lexicon) -> AnswerCheck:
    """Check a blank's or a card's answer, with the assessment's words and the blank's unit."""
    formula, left_side, units, context = _reading(item)
    return check_answer(
        answer,
        item.answers,
        item.reject,
        case_sensitive=item.case_sensitive,
        formula=formula,
        left_side=left_side,
        units=units,
        context=context,
        lexicon=lexicon,
    )


_LEFT_SIDE = re.compile(r"([^\s=:]+)\s*=\s*___")


@functools.lru_cache(maxsize=4096)
def _reading(
    item: FillBlankItem | Flashcard,
) -> tuple[bool, str | None, frozenset[str], frozenset[str]]:
    """What the item's question says about its answers (worked out once per item): the
    blank is in a formula, and the left side of its equation, the units beside it, the
    words a student may repeat."""
    question = item.text if isinstance(item, FillBlankItem) else item.front
    formula = isinstance(item, FillBlankItem) and in_formula(item.text)
    left = _LEFT_SIDE.search(question) if formula else None
    context = question_words(question, item.answers, item.reject)
    return formula, None if left is None else left.group(1), blank_units(question), context


def question_words(question: str, *answers: Sequence[str]) -> frozenset[str]:
    """The words of the question a student may say again around the answer ("23 pairs"
    for "___ pairs"): not one of the item's answers or rejected answers, nor a unit."""
    taken = {w for group in answers for a in group for w in words(normalize(a))}
    return frozenset(
        w.casefold()
        for w in words(normalize(question, fold_case=False))
        if w.casefold() not in taken and not is_unit(w)
    )


def grade_coverage(
    session: Session, answer: str, newly: set[int], *, graded_by: str = "builtin"
) -> Evaluation:
    """Grade a chat answer that covers the key points ``newly`` (indexes)."""
    item = session.current_item
    assert isinstance(item, Objective)
    covered = session.record(item.id).covered | newly
    total = len(item.key_points)
    verdict: Verdict = "correct" if len(covered) == total else "partial" if covered else "wrong"
    return _evaluation(
        session,
        answer,
        verdict=verdict,
        credit=len(covered) / total,
        missed=tuple(p.text for i, p in enumerate(item.key_points) if i not in covered),
        covered=tuple(sorted(covered)),
        graded_by=graded_by,
    )


def _evaluation(
    session: Session,
    answer: str,
    *,
    verdict: Verdict,
    credit: float,
    missed: tuple[str, ...],
    covered: tuple[int, ...] = (),
    typo: bool = False,
    graded_by: str = "builtin",
) -> Evaluation:
    assert session.current is not None
    record = session.record(session.current)
    spec = session.spec
    return Evaluation(
        item_id=session.current,
        verdict=verdict,
        credit=credit,
        attempt=record.attempts_in_round + 1,
        round=record.round,
        hint_level=record.hint_level,
        missed=missed,
        covered=covered,
        substantive=is_substantive(
            answer,
            record.answers,
            free_text=spec.assessment_type == "chat",
            min_words=spec.min_words,
        ),
        typo=typo,
        graded_by=graded_by,
    )
