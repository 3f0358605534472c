"""The built-in grader: works offline, deterministically, for every assessment type."""

from __future__ import annotations

from assessment.answers import check_answer
from assessment.evaluation import Evaluation, Verdict
from assessment.keypoints import covered_points
from assessment.session import Session
from assessment.spec import FillBlankItem, Flashcard, Objective
from assessment.substance import is_substantive

__all__ = ["grade", "grade_coverage"]


def grade(session: Session, answer: str) -> Evaluation:
    """Grade ``answer`` to the session's current item."""
    item = session.current_item
    assert item is not None, "a finished session has nothing to grade"
    match item:
        case FillBlankItem() | Flashcard():
            check = check_answer(answer, item.answers, item.reject)
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
