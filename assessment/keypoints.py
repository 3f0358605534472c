"""Does a free-text answer cover a key point?

Both are normalised (NFKC, case, punctuation) and split into words; small function
words are ignored, and common endings (``-ing``, ``-ed``, ``-es``, ``-s``, ``-e``) are
dropped, so ``absorbed``, ``absorbs`` and ``absorb`` are one word. A key point is covered
when every one of its content words (at least 80% of them, for key points of five or
more) appears in one statement of the answer, in any order, or a general synonym of
it ("makes" for "produces"). A word of five or more letters may also appear with one
typo (one edit, not in the first letter), as in answer checking: ``chlorophyl`` counts,
``meiosis`` for ``mitosis`` does not; and a word of eight or more with two, when what
was typed is no English word (``clorophyl``; never ``conversation`` for
``conservation``). Other phrasings listed with the key point count the same.

A statement is a clause: the answer is cut at sentence ends, commas and semicolons, at
contrasts ("but", "whereas", "while"), and at an "and" that starts a new clause ("and
tuples are mutable") or a second verb ("takes in oxygen and releases carbon dioxide").
A clause with "it", "they" or "each" among its first three words is about the subject
of the one before ("Chlorophyll is a pigment. It absorbs light."). So:

- a statement the answer denies ("does not need sunlight") covers nothing, and a key
  point that is a negation ("enzymes are not used up") is covered only by a statement
  that says the negation;
- a reversed relation ("lists are immutable, tuples are mutable") does not cover
  "tuples are immutable": its words are in two statements;
- a list of the topic's words ("chlorophyll, sunlight, glucose" or six or more content
  words in a row with no word to join them) states nothing.

With an LLM configured, coverage is graded by the LLM instead, and checked against these
rules where they decide (:func:`denied`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet

from rapidfuzz.distance import DamerauLevenshtein

from assessment.answers.lexicon import RARE, zipf
from assessment.answers.text import CACHED_LENGTH, NEGATIONS, normalize, words
from assessment.spec import KeyPoint

__all__ = ["Clause", "clauses", "content_words", "covered_points", "covers", "denied"]

_FUNCTION_WORDS = frozenset(
    "a an the is are was were be been being of to in on at by for from with as and or"
    " it its this that these those which who whom whose there their they them he she"
    " his her we our you your i my me do does did so than then into onto can could"
    " will would should may might must has have had also very".split()
)
_FUZZY_MIN_LENGTH = 5
_CACHED_WORD = 40
_TWO_TYPOS_LENGTH = 8
# Words an answer may use for a key point's word, as a teacher reads them: each group
# counts as one word ("makes glucose" states "glucose is produced"). Kept to general
# academic words; a subject's own synonyms go in the key point's ``accept``.
_SYNONYMS = (
    "produce make form create generate give yield build",
    "release emit expel",
    "absorb trap capture",
    "take intake",
    "use utilise utilize",
    "change modify alter",
    "mutable changeable",
    "immutable unchangeable",
    "speed accelerate faster quicker",
    "increase raise rise grow",
    "decrease reduce lower fall drop",
    "halve half",
    "two 2 pair",
    "four 4",
    "identical same clone",
    "cell cells",
    "sun sunlight solar",
    "rain rainfall",
    "supply provide",
    "fertile rich",
    "farm farming agriculture crop",
    "unique distinct",
    "key keys",
    "look lookup access retrieve",
    "store hold keep contain",
    "run execute repeat",
    "tilt tilted lean",
    "cause reason",
)

_ENDINGS = ("ing", "ed", "en", "es", "s", "e")


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry meaning, normalised and stemmed."""
    if len(text) <= CACHED_LENGTH:  # a key point's, read at every answer to it
        return list(_content_words(text))
    return list(_read_content_words(text))


@functools.lru_cache(maxsize=4096)
def _content_words(text: str) -> tuple[str, ...]:
    return _read_content_words(text)


def _read_content_words(text: str) -> tuple[str, ...]:
    return tuple(
        _stem(word)
        for word in words(normalize(text))
        if word not in _FUNCTION_WORDS and word not in NEGATIONS and not word.endswith("n't")
    )


_CLAUSE_BREAK = re.compile(
    r"[.!?;,:\n]+|\b(?:but|whereas|while|although|though|however|unlike|yet)\b"
    r"|\band\b(?=(?:\s+\w+){1,3}\s+(?:is|are|was|were|has|have|does|do|can|cannot|will)\b)"
    # "takes in oxygen and releases carbon dioxide": a second verb, a second statement.
    r"|\band\b(?=\s+(?:\w+(?:es|ed)|gives|makes|takes|uses)\b)"
)
# A clause whose first words refer back ("it", "they", "each") is about the subject of
# the one before: "Chlorophyll is a pigment. It absorbs light." states that chlorophyll
# absorbs light. "which" and "that" refer to a whole statement, not its subject.
_REFERS = frozenset("it it's its they they're their them this these each both".split())
_REFERS_WITHIN = 3
_LIST_LENGTH = 6


@dataclasses.dataclass(slots=True)
class Clause:
    """One statement of an answer: its content words (stemmed), those a negation before
    them denies ("does not *need sunlight*"), and whether it is a bare list of words."""

    said: set[str] = dataclasses.field(default_factory=set)
    denied: set[str] = dataclasses.field(default_factory=set)
    is_list: bool = False
    subject: str | None = None
    misspelt: set[str] = dataclasses.field(default_factory=set)

    @classmethod
    def of(cls, part: list[str], *, subject: str | None = None) -> Clause:
        """The statement of ``part``'s words, about ``subject`` if it refers back; a
        negation reaches to its end."""
        clause = cls(is_list=len(part) >= _LIST_LENGTH and not set(part) & _FUNCTION_WORDS)
        if subject is not None:
            clause.said.add(subject)
        negated = False
        for word in part:
            if word in NEGATIONS or word.endswith("n't"):
                negated = True
            elif word not in _FUNCTION_WORDS and word not in _REFERS:
                stem = _stem(word)
                (clause.denied if negated else clause.said).add(stem)
                clause.subject = clause.subject or stem
                if len(word) >= _TWO_TYPOS_LENGTH and zipf(word) < RARE:
                    clause.misspelt.add(stem)  # "clorophyl": no word of its own
        clause.subject = subject or clause.subject
        return clause


def clauses(text: str) -> list[Clause]:
    """The statements of ``text``."""
    found: list[Clause] = []
    for part in _CLAUSE_BREAK.split(normalize(text)):
        said = words(part)
        if not said:
            continue
        refers = found and any(w in _REFERS for w in said[:_REFERS_WITHIN])
        found.append(Clause.of(said, subject=found[-1].subject if refers else None))
    return found


def covers(answer: str, point: KeyPoint) -> bool:
    """Whether ``answer`` states ``point`` (or one of its other phrasings)."""
    return _covers(clauses(answer), point)


def covered_points(answer: str, points: Sequence[KeyPoint]) -> set[int]:
    """The indexes of the key points ``answer`` covers."""
    said = clauses(answer)
    return {index for index, point in enumerate(points) if _covers(said, point)}


def denied(answer: str, point: KeyPoint) -> bool:
    """Whether ``answer`` denies ``point`` ("does not ...") and states it nowhere.

    An LLM's grading never credits such a point."""
    said = clauses(answer)
    if _covers(said, point):
        return False
    return any(
        _covers_phrase(clause.said | clause.denied, content_words(p)) and clause.denied
        for clause in said
        for p in point.phrasings
    )


def _covers(said: list[Clause], point: KeyPoint) -> bool:
    for phrasing in point.phrasings:
        needed = content_words(phrasing)
        for clause in said:
            stated = clause.said | clause.denied
            if clause.is_list or not _covers_phrase(stated, needed, clause.misspelt):
                continue
            # A negative key point ("tuples cannot change") needs the negation said too;
            # any other, no negation of its words.
            if any(_said(w, clause.denied) for w in needed) == _is_negative(phrasing):
                return True
    return False


def _is_negative(phrasing: str) -> bool:
    return any(w in NEGATIONS or w.endswith("n't") for w in words(normalize(phrasing)))


def _covers_phrase(
    said: set[str], needed: list[str], misspelt: AbstractSet[str] = frozenset()
) -> bool:
    if not needed:
        return False
    required = len(needed) if len(needed) < 5 else math.ceil(0.8 * len(needed))
    found = sum(1 for word in needed if _said(word, said) or _misspelt(word, misspelt))
    return found >= required


def _misspelt(word: str, misspelt: AbstractSet[str]) -> bool:
    """Two typos are forgiven in a long word that is no word of its own ("clorophyl" for
    "chlorophyll"; never "conversation" for "conservation", which is a word)."""
    return len(word) >= _TWO_TYPOS_LENGTH - 1 and any(
        typed[0] == word[0] and DamerauLevenshtein.distance(typed, word, score_cutoff=2) <= 2
        for typed in misspelt
    )


def _said(word: str, said: set[str]) -> bool:
    """Whether ``word`` is in ``said``, or with one typo, not in its first letter (two
    would read "conversation" for "conservation")."""
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
    """The word without its ending, as the first word of its synonym group."""
    return _stemmed(word) if len(word) <= _CACHED_WORD else _stem_of(word)


@functools.lru_cache(maxsize=16384)  # short words only: a megabyte at most
def _stemmed(word: str) -> str:
    return _stem_of(word)


def _stem_of(word: str) -> str:
    stripped = _strip_ending(word)
    return _CANONICAL.get(word) or _CANONICAL.get(stripped) or stripped


def _strip_ending(word: str) -> str:
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3 and not word.endswith("ss"):
            return word[: -len(ending)]
    return word


_CANONICAL = {
    _strip_ending(word): _strip_ending(group.split()[0])
    for group in _SYNONYMS
    for word in group.split()
}
