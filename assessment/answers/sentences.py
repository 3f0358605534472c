"""An answer said in a short sentence: "I think it's Paris", "is it Paris?", "in 1914".

Students type answers the way they speak. The answer inside counts when every other
word of the sentence is filler (an article, "I think", "it's", "the answer is", "in"),
so "Paris or Lyon" and "Paris is in France" are not "Paris"; and never when the sentence
holds a negation ("not Paris", "it isn't Paris"), unless the answer itself does.
"""

from __future__ import annotations

import re

from assessment.answers.text import NEGATIONS, normalize, words

__all__ = ["ARTICLES", "FILLERS", "core", "negated", "without_article", "without_hedges"]

FILLERS = frozenset(
    "the a an i i'm im i'd think thought believe guess suppose it it's its is was are"
    " were be would will that that's thats this they they're theyre he she answer my maybe"
    " perhaps probably possibly in on at year called named um uh er erm hmm well so ok"
    " okay sure pretty say".split()
)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# Articles of the languages a course may teach vocabulary in: "el niño", "la ville".
ARTICLES = frozenset(
    "the a an el la los las un una unos unas le les une des der die das ein eine".split()
)
_ELIDED = frozenset({"l'", "d'"})  # French articles before a vowel: l'école, d'eau
# "I'm not sure, but Paris" hedges; it denies nothing.
_HEDGE = re.compile(
    r"\b(?:i'?m |i am )?not (?:100 ?% |completely |totally |entirely |quite )?"
    r"(?:sure|certain)(?:,? but)?\b",
    re.IGNORECASE,
)


def without_hedges(text: str) -> str:
    """``text`` without "not sure", which a negation check must not read as one."""
    return " ".join(_HEDGE.sub(" ", text).split())


def core(text: str, context: frozenset[str] = frozenset()) -> str:
    """``text`` without filler words before and after what it says (case kept).

    Args:
        context: words of the question that may be said again around the answer
            ("23 pairs" for "___ pairs"), casefolded.

    Never empty when ``text`` has a word: "it's A" keeps "A"."""
    text = without_hedges(text)
    found = list(_WORD.finditer(text))
    filler = FILLERS | ARTICLES | context
    start, end = 0, len(found)
    while start < end - 1 and found[start].group().casefold() in filler:
        start += 1
    while end > start + 1 and found[end - 1].group().casefold() in filler:
        end -= 1
    if not found or (start, end) == (0, len(found)):
        return text
    return normalize(text[found[start].start() : found[end - 1].end()], fold_case=False)


def negated(text: str, answer: str) -> bool:
    """Whether ``text`` (normalised) denies something ``answer`` does not."""
    said = {w.replace("’", "'") for w in words(text)}
    return bool(said & NEGATIONS) and not set(words(answer)) & NEGATIONS


def without_article(text: str) -> str:
    """A normalised answer without its leading article: "the mitochondria", "el niño",
    "l'école"."""
    first, _, rest = text.partition(" ")
    if rest and first.casefold() in ARTICLES:
        return rest
    if len(first) > 2 and first[:2].casefold() in _ELIDED:
        return text[2:]
    return text
