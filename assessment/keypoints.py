"""Does a free-text answer cover a key point?

Both are normalised (NFKC, case, punctuation) and split into words; small function
words are ignored, and common endings (``-ing``, ``-ed``, ``-es``, ``-s``, ``-e``) are
dropped, so ``absorbed``, ``absorbs`` and ``absorb`` are one word. A key point is covered
when every one of its content words (at least 80% of them, for key points of five or
more) appears in the answer, in any order. A word of five or more letters may also
appear with one typo (one edit, not in the first letter), as in answer checking:
``chlorophyl`` counts, ``meiosis`` for ``mitosis`` does not. Other phrasings listed with
the key point count the same.

This is deliberately literal: a negated statement ("does not absorb light") still
covers "absorbs light". With an LLM configured, coverage is graded by the LLM instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from rapidfuzz.distance import DamerauLevenshtein

from assessment.answers import normalize
from assessment.spec import KeyPoint

__all__ = ["content_words", "covered_points", "covers"]

_WORD = re.compile(r"\w+")
_FUNCTION_WORDS = frozenset(
    "a an the is are was were be been being of to in on at by for from with as and or"
    " it its this that these those which who whom whose there their they them he she"
    " his her we our you your i my me do does did so than then into onto can could"
    " will would should may might must has have had also very".split()
)
_FUZZY_MIN_LENGTH = 5
_ENDINGS = ("ing", "ed", "es", "s", "e")


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry meaning, normalised and stemmed."""
    words = _WORD.findall(normalize(text))
    return [_stem(word) for word in words if word not in _FUNCTION_WORDS]


def covers(answer: str, point: KeyPoint) -> bool:
    """Whether ``answer`` states ``point`` (or one of its other phrasings)."""
    said = set(content_words(answer))
    return any(_covers_phrase(said, content_words(p)) for p in point.phrasings)


def covered_points(answer: str, points: Sequence[KeyPoint]) -> set[int]:
    """The indexes of the key points ``answer`` covers."""
    return {index for index, point in enumerate(points) if covers(answer, point)}


def _covers_phrase(said: set[str], needed: list[str]) -> bool:
    if not needed:
        return False
    required = len(needed) if len(needed) < 5 else math.ceil(0.8 * len(needed))
    found = sum(1 for word in needed if _said(word, said))
    return found >= required


def _said(word: str, said: set[str]) -> bool:
    if word in said:
        return True
    if len(word) < _FUZZY_MIN_LENGTH:
        return False
    return any(
        candidate[0] == word[0]
        and DamerauLevenshtein.distance(candidate, word, score_cutoff=1) <= 1
        for candidate in said
    )


def _stem(word: str) -> str:
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3 and not word.endswith("ss"):
            return word[: -len(ending)]
    return word
