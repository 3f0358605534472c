"""Checking a typed answer against the accepted ones.

Both sides are normalised first: Unicode NFKC, case folded, runs of white space made one
space, punctuation around the answer dropped. Numbers compare by value (``0.50`` equals
``.5``, ``1,000`` equals ``1000``, ``1/2`` equals ``0.5``). A small typo is forgiven
in answers of five or more characters: one edit (an insertion, deletion, substitution or
swap of neighbours), never in the first character, and never in a number. Two edits
would accept real near misses ("Austria" for "Australia", "conservation" for
"conversation").
Answers an instructor lists as wrong (``reject``) are never accepted, typo or not.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from rapidfuzz.distance import DamerauLevenshtein

__all__ = ["AnswerCheck", "check_answer", "normalize", "parse_number"]

TYPO_MIN_LENGTH = 5
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+|(?=\.\d))(?:\.\d+)?")
_FRACTION = re.compile(r"([+-]?\d+)\s*/\s*(\d+)")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AnswerCheck:
    """The outcome of checking one answer.

    Attributes:
        correct: the answer is accepted.
        matched: the accepted answer it matched, if any.
        typo: it matched only with a forgiven typo.
    """

    correct: bool
    matched: str | None = None
    typo: bool = False


def normalize(text: str) -> str:
    """The comparable form of an answer: NFKC, case folded, spaces folded, trimmed."""
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    start, end = 0, len(folded)
    while start < end and _is_trimmed(folded[start]):
        start += 1
    while end > start and _is_trimmed(folded[end - 1]):
        end -= 1
    return folded[start:end]


def parse_number(text: str) -> Decimal | None:
    """The value of an answer that is a number, or None.

    Accepts a sign, thousands separators in groups of three, a leading or trailing
    decimal part (``.5``, ``0.50``), a simple fraction (``3/4``) and a trailing full stop.
    """
    candidate = unicodedata.normalize("NFKC", text).strip().replace("\u2212", "-")
    candidate = candidate.removesuffix(".").strip()
    if fraction := _FRACTION.fullmatch(candidate):
        numerator, denominator = (Decimal(part) for part in fraction.groups())
        return None if denominator == 0 else numerator / denominator
    if not _NUMBER.fullmatch(candidate) or not any(c.isdigit() for c in candidate):
        return None
    try:
        return Decimal(candidate.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None


def check_answer(given: str, accepted: Iterable[str], reject: Iterable[str] = ()) -> AnswerCheck:
    """Check ``given`` against each accepted answer; exact matches win over typos.

    Args:
        given: what the student typed.
        accepted: the answers that count as right.
        reject: answers that are wrong even though they look close to a right one.
    """
    answers = list(accepted)
    norm_given = normalize(given)
    if not norm_given or norm_given in {normalize(r) for r in reject}:
        return AnswerCheck(correct=False)
    number = parse_number(given)
    for answer in answers:
        if _same(norm_given, number, answer):
            return AnswerCheck(correct=True, matched=answer)
    if number is None:
        for answer in answers:
            if _near(norm_given, answer):
                return AnswerCheck(correct=True, matched=answer, typo=True)
    return AnswerCheck(correct=False)


def _same(norm_given: str, number: Decimal | None, answer: str) -> bool:
    expected = parse_number(answer)
    if expected is not None:
        return number is not None and number == expected
    return norm_given == normalize(answer)


def _near(norm_given: str, answer: str) -> bool:
    """Whether ``norm_given`` is ``answer`` with a small typo (never for numbers)."""
    target = normalize(answer)
    if len(target) < TYPO_MIN_LENGTH or parse_number(answer) is not None:
        return False
    if norm_given[0] != target[0]:
        return False
    return DamerauLevenshtein.distance(norm_given, target, score_cutoff=1) <= 1


def _is_trimmed(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith("P")
