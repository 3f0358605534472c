"""Known words: a typo is forgiven only when what the student typed is not itself a word.

"Austria" is one edit from "Australia" and "meiosis" one from "mitosis", and both are
real words: the student wrote something else, not the right thing misspelt. A word is
known when the assessment itself uses it (its answers, cards, rejected answers and
texts), or when English uses it about as often as the answer (wordfreq's frequency
list, shipped with the package). "recieve" is in that list too, as a common misspelling,
but a hundred times rarer than "receive": the frequency gap tells the two apart.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import wordfreq

from assessment.answers.text import fold_accents, normalize, words

__all__ = ["Lexicon", "warm", "zipf"]

# Zipf frequencies (log10 of occurrences per billion words). Below RARE a word is noise
# in the list; a word within GAP of the answer's frequency is a word in its own right
# ("Austria" 4.07 beside "Australia" 5.06, "propene" 1.48 beside "propane" 3.21), where
# common misspellings lie 1.9 to 3.5 below the word they misspell ("recieve" 2.75,
# "receive" 4.85; "heartz" 1.19, "hertz" 3.06). Measured on the labelled set
# (bench/grading).
RARE = 1.0
GAP = 1.8


class Lexicon:
    """The words of one assessment, and English's.

    Args:
        texts: everything the assessment says: answers, rejects, item texts.
        symbols: some of its answers are formulas or element symbols.
    """

    __slots__ = ("_own", "symbols")

    def __init__(self, texts: Iterable[str] = (), *, symbols: bool = False) -> None:
        own: set[str] = set()
        for text in texts:
            for word in words(normalize(text)):
                own.add(word)
                own.add(fold_accents(word))
        self._own = frozenset(own)
        # The assessment asks for formulas or element symbols: a one-letter answer is one.
        self.symbols = symbols

    def is_word(self, typed: str, *, beside: str) -> bool:
        """Whether ``typed`` (one normalised word) is a word of its own, next to the
        answer word ``beside`` that it is one edit away from."""
        if typed in self._own:
            return True
        frequency = zipf(typed)
        return frequency >= RARE and frequency > zipf(beside) - GAP


def warm() -> None:
    """Load the frequency list now (about 0.2 s): the first typo check need not wait."""
    zipf("the")


def zipf(word: str) -> float:
    """How common ``word`` is in English: log10 of its uses per billion words (0: never)."""
    return _zipf(word) if len(word) <= LONGEST_WORD else 0.0


# No English word is longer; a longer "word" a student types is never looked up or kept.
LONGEST_WORD = 45


@functools.lru_cache(maxsize=4096)
def _zipf(word: str) -> float:
    return float(wordfreq.zipf_frequency(word, "en"))
