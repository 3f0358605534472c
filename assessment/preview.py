"""What the grader would say to sample answers, and why: an instructor's preview.

The same rules as a student's turn (the built-in grader), on one item and a list of
answers, without a conversation: for a blank or a card, the verdict and the rule that
decided it; for a chat question, which key points each answer states, which it denies
and which it leaves out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from assessment.answers.check import RULES
from assessment.evaluation import Verdict
from assessment.grader import check_short
from assessment.keypoints import covered_points, denied
from assessment.session import Catalog
from assessment.spec import AssessmentSpec, Objective

__all__ = ["MAX_SAMPLES", "PreviewVerdict", "UnknownItem", "preview"]

# A preview is an instructor's spot check, not a batch job.
MAX_SAMPLES = 50


class UnknownItem(LookupError):
    """The assessment has no item with that id."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PreviewVerdict:
    """The grader's verdict on one sample answer.

    Attributes:
        answer: the sample answer.
        verdict: correct, partial (chat: some key points) or wrong.
        rule: blanks and cards: the rule that decided (``assessment.answers.check.RULES``);
            chat: ``covered``, ``partial`` or ``not_covered``.
        why: the rule in words.
        matched: the accepted answer it matched, if any.
        covered: chat: the key points stated (indexes).
        denied: chat: the key points the answer denies.
    """

    answer: str
    verdict: Verdict
    rule: str
    why: str
    matched: str | None = None
    covered: tuple[int, ...] = ()
    denied: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The verdict as the API returns it."""
        value = dataclasses.asdict(self)
        value["covered"] = list(self.covered)
        value["denied"] = list(self.denied)
        return value


def preview(
    spec: AssessmentSpec,
    item_id: str,
    answers: Sequence[str],
    *,
    catalog: Catalog | None = None,
) -> list[PreviewVerdict]:
    """The verdict on each of ``answers`` to item ``item_id``.

    Raises:
        UnknownItem: no item of the assessment has that id.
    """
    catalog = catalog or Catalog.of(spec)
    item = catalog.items.get(item_id)
    if item is None:
        raise UnknownItem(item_id)
    if isinstance(item, Objective):
        return [_chat_verdict(item, answer) for answer in answers]
    verdicts = []
    for answer in answers:
        check = check_short(item, answer, catalog.lexicon)
        verdicts.append(
            PreviewVerdict(
                answer=answer,
                verdict="correct" if check.correct else "wrong",
                rule=check.rule,
                why=RULES[check.rule],
                matched=check.matched,
            )
        )
    return verdicts


def _chat_verdict(item: Objective, answer: str) -> PreviewVerdict:
    covered = covered_points(answer, item.key_points)
    refused = tuple(i for i, p in enumerate(item.key_points) if denied(answer, p))
    total = len(item.key_points)
    if len(covered) == total:
        verdict: Verdict = "correct"
        rule, why = "covered", "states every key point"
    elif covered:
        verdict, rule = "partial", "partial"
        why = f"states {len(covered)} of {total} key points"
    else:
        verdict, rule, why = "wrong", "not_covered", "states none of the key points"
    if refused:
        why += "; denies " + ", ".join(repr(item.key_points[i].text) for i in refused)
    return PreviewVerdict(
        answer=answer,
        verdict=verdict,
        rule=rule,
        why=why,
        covered=tuple(sorted(covered)),
        denied=refused,
    )
