"""Checking a typed answer against the accepted ones, with the rule that decided.

The passes, strictest first, each over every accepted answer (an exact match to one
answer wins over a forgiven slip on another):

1. Nothing typed, a listed wrong answer (``reject``), or a negation ("not Paris"):
   refused.
2. The same answer: after Unicode, case, spaces and surrounding punctuation are folded
   (:func:`~assessment.answers.text.normalize`), a leading article dropped, and filler
   around it ("I think it's Paris", "in 1914": :mod:`~assessment.answers.sentences`).
   Numbers compare by value, with the blank's unit allowed (:mod:`~.numbers`,
   :mod:`~.units`). Formulas, element symbols and units compare with their case and
   without the spacing around operators (:mod:`~.formulas`); a formula written another
   way is the same when it has the same value (:mod:`~.expressions`: ``mv^2/2``).
3. The same but for accents: one slip ("Sao Paulo"), however many marks are missing.
4. One typo (an insertion, deletion, substitution or swap of neighbours) in one word of
   five or more letters, not in its first letter, in an answer of words only, when what
   was typed is not a word of its own (:mod:`~.lexicon`: "Austria" is not "Australia").
   Never in a number, a formula or where case matters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from decimal import Decimal
from typing import Literal

from rapidfuzz.distance import DamerauLevenshtein

from assessment.answers.expressions import same_formula
from assessment.answers.formulas import OPERATORS, is_case_sensitive, squeeze_operators
from assessment.answers.lexicon import Lexicon
from assessment.answers.numbers import parse_number
from assessment.answers.sentences import core, negated, without_article, without_hedges
from assessment.answers.text import fold_accents, normalize
from assessment.answers.units import same_unit, split_unit

__all__ = ["MAX_ANSWER_CHARS", "RULES", "AnswerCheck", "Rule", "check_answer"]

TYPO_MIN_LENGTH = 5
# A blank's or a card's answer is a word or a short sentence; a page of text is not one,
# and reading it rule by rule would hold the event loop for milliseconds.
MAX_ANSWER_CHARS = 300

Rule = Literal[
    "exact",
    "in_sentence",
    "number",
    "formula",
    "accent",
    "typo",
    "empty",
    "rejected",
    "negated",
    "case",
    "known_word",
    "wrong_unit",
    "no_match",
]
# What each rule means, for an instructor previewing answers.
RULES: dict[Rule, str] = {
    "exact": "the accepted answer (case, spacing, punctuation and a leading article aside)",
    "in_sentence": "the accepted answer, said in a short sentence of filler words",
    "number": "the same number by value, with the blank's unit if any",
    "formula": "the same formula written another way (equal for any values)",
    "accent": "the accepted answer but for its accents: one slip",
    "typo": "one slip in one word of the accepted answer",
    "empty": "nothing was typed",
    "rejected": "an answer the item lists as wrong",
    "negated": "the answer holds a negation",
    "case": "the right letters in the wrong case, where case carries meaning",
    "known_word": "one letter from an accepted answer, but a different word",
    "wrong_unit": "the right number with a different unit",
    "no_match": "not an accepted answer",
}
# Refusal rules that tell more than no_match, in the order they are reported.
_NEAR_MISSES: tuple[Rule, ...] = ("case", "wrong_unit", "known_word")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AnswerCheck:
    """The outcome of checking one answer.

    Attributes:
        correct: the answer is accepted.
        rule: the rule that decided (see :data:`RULES`).
        matched: the accepted answer it matched, if any.
        typo: it matched only with a forgiven slip (a typo or missing accents).
    """

    correct: bool
    rule: Rule
    matched: str | None = None
    typo: bool = False


def check_answer(
    given: str,
    accepted: Iterable[str],
    reject: Iterable[str] = (),
    *,
    case_sensitive: bool | None = None,
    formula: bool = False,
    left_side: str | None = None,
    units: frozenset[str] = frozenset(),
    context: frozenset[str] = frozenset(),
    lexicon: Lexicon | None = None,
) -> AnswerCheck:
    """Check ``given`` against each accepted answer; exact matches win over slips.

    Args:
        given: what the student typed.
        accepted: the answers that count as right.
        reject: answers that are wrong even though they look close to a right one.
        case_sensitive: the instructor's choice; None detects it per answer.
        formula: the blank is part of a formula ("F = ___"): case and symbols count.
        left_side: the left side of the blank's equation ("V" in "V = ___"), so that the
            law solved for another variable ("I = V/R") is the same answer.
        units: the units the item shows next to its blank (``units.blank_units``).
        context: words of the question a student may repeat around the answer.
        lexicon: the assessment's words, for telling a typo from another word.
    """
    answers = list(accepted)
    lexicon = lexicon or _ENGLISH
    if len(given) > MAX_ANSWER_CHARS:
        return AnswerCheck(correct=False, rule="no_match")
    typed = normalize(given, fold_case=False)
    if not any(c.isalnum() for c in typed):
        return AnswerCheck(correct=False, rule="empty")
    said = core(typed, context)
    candidates = (typed, said) if said != typed else (typed,)
    if case_sensitive is None and formula:
        case_sensitive = True
    sensitive = _Sensitivity(case_sensitive, symbols=lexicon.symbols, formula=formula)
    if any(_same_text(c, r, sensitive) for r in reject for c in candidates):
        return AnswerCheck(correct=False, rule="rejected")
    if answers and negated(without_hedges(typed).casefold(), normalize(answers[0])):
        return AnswerCheck(correct=False, rule="negated")
    near: set[Rule] = set()
    for answer in answers:
        if same := _same(candidates, answer, sensitive, units, left_side, near):
            return AnswerCheck(correct=True, rule=same, matched=answer)
    if all(parse_number(answer) is not None for answer in answers):
        return _refused(near)  # no slip is ever forgiven in a number
    for answer in answers:
        if any(_same_but_accents(c, answer, sensitive) for c in candidates):
            return AnswerCheck(correct=True, rule="accent", matched=answer, typo=True)
    for answer in answers:
        if any(_one_typo(c, answer, sensitive, lexicon, near) for c in candidates):
            return AnswerCheck(correct=True, rule="typo", matched=answer, typo=True)
    return _refused(near)


def _refused(near: set[Rule]) -> AnswerCheck:
    rule: Rule = next((r for r in _NEAR_MISSES if r in near), "no_match")
    return AnswerCheck(correct=False, rule=rule)


_ENGLISH = Lexicon()


@dataclasses.dataclass(frozen=True, slots=True)
class _Sensitivity:
    """Whether case counts, per accepted answer: the instructor's choice, else detected."""

    chosen: bool | None
    symbols: bool = False
    formula: bool = False

    def __call__(self, answer: str) -> bool:
        if self.chosen is not None:
            return self.chosen
        return is_case_sensitive(answer, symbols=self.symbols)

    def reads_as_formula(self, answer: str) -> bool:
        """The blank is in a formula, or the answer holds an operator."""
        return self.formula or any(c in OPERATORS for c in answer)


def _same(
    candidates: tuple[str, ...],
    answer: str,
    sensitive: _Sensitivity,
    units: frozenset[str],
    left_side: str | None,
    near: set[Rule],
) -> Rule | None:
    expected, answer_unit = _number(answer)
    if expected is not None:
        allowed = units | {answer_unit} if answer_unit else units
        for candidate in candidates:
            value, unit = _number(candidate)
            if value == expected:
                if unit is None or same_unit(unit, allowed):
                    return "number"
                near.add("wrong_unit")
        return None
    for index, candidate in enumerate(candidates):
        if _same_text(candidate, answer, sensitive):
            return "exact" if index == 0 else "in_sentence"
        if _same_text(candidate, answer, _Sensitivity(False)):
            near.add("case")
    if sensitive.reads_as_formula(answer):
        target = normalize(answer, fold_case=False)
        # As typed first: filler words ("I think") are also variables ("I = V/R").
        for candidate in candidates:
            typed = normalize(candidate, fold_case=False)
            if same_formula(typed, target, left=left_side):
                return "formula"
    return None


def _number(text: str) -> tuple[Decimal | None, str | None]:
    value = parse_number(text)
    if value is not None:
        return value, None
    rest, unit = split_unit(normalize(text, fold_case=False))
    return (parse_number(rest), unit) if unit else (None, None)


def _form(text: str, answer: str, sensitive: _Sensitivity) -> str:
    """``text`` in the form it is compared with ``answer`` in."""
    form = normalize(text, fold_case=not sensitive(answer))
    if sensitive.reads_as_formula(answer):
        form = squeeze_operators(form)
    return without_article(form)


def _same_text(candidate: str, answer: str, sensitive: _Sensitivity) -> bool:
    return _form(candidate, answer, sensitive) == _form(answer, answer, sensitive)


def _same_but_accents(candidate: str, answer: str, sensitive: _Sensitivity) -> bool:
    """Equal but for accents, in an answer long enough to forgive a slip in ("nino" for
    "niño" is too short to tell)."""
    target = _form(answer, answer, sensitive)
    if sum(c.isalpha() for c in target) < TYPO_MIN_LENGTH:
        return False
    return fold_accents(_form(candidate, answer, sensitive)) == fold_accents(target)


def _one_typo(
    candidate: str,
    answer: str,
    sensitive: _Sensitivity,
    lexicon: Lexicon,
    near: set[Rule],
) -> bool:
    """Whether ``candidate`` is ``answer`` with one typo in one word that is not a word
    of its own. In an answer of several words and ten letters or more, the word may be
    four letters long ("deoxyribonucleic acd")."""
    if sensitive(answer) or not _only_words(answer):
        return False
    typed = _form(candidate, answer, _Sensitivity(False)).split()
    target = _form(answer, answer, _Sensitivity(False)).split()
    if len(typed) != len(target):
        return "".join(typed) == "".join(target)  # a space too many or too few
    differing = [(t, a) for t, a in zip(typed, target, strict=True) if t != a]
    if len(differing) != 1:
        return False
    word, right = differing[0]
    shortest = TYPO_MIN_LENGTH - (len(target) > 1 and sum(map(len, target)) >= 10)
    if len(right) < shortest or word[0] != right[0]:
        return False
    if DamerauLevenshtein.distance(word, right, score_cutoff=1) > 1:
        return False
    if lexicon.is_word(word, beside=right):
        near.add("known_word")
        return False
    return True


def _only_words(answer: str) -> bool:
    return all(c.isalpha() or c in " -'’." for c in normalize(answer))
