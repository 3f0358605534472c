"""Is a student turn a real attempt? (Only real attempts count under ``engagement``.)

A turn is not substantive when it is empty, a stock non-answer ("idk", "pass", "?"),
a repeat of an earlier answer to the same item, or, for chat, shorter than
``min_words`` words. Fill-blank and flashcard answers are short by nature: any answer
with a letter or digit in it counts.
"""

from __future__ import annotations

from collections.abc import Sequence

from assessment.answers.text import normalize

__all__ = ["is_substantive"]

_NON_ANSWERS = frozenset(
    {
        "idk",
        "i don't know",
        "i dont know",
        "dont know",
        "don't know",
        "no idea",
        "not sure",
        "pass",
        "skip",
        "next",
        "ok",
        "okay",
        "yes",
        "no",
        "?",
        "??",
        "hmm",
        "dunno",
    }
)


def is_substantive(answer: str, earlier: Sequence[str], *, free_text: bool, min_words: int) -> bool:
    """Whether ``answer`` is a real attempt, given the earlier (normalised) answers."""
    text = normalize(answer)
    if not any(char.isalnum() for char in text) or text in _NON_ANSWERS:
        return False
    if text in earlier:
        return False
    return not free_text or len(text.split()) >= min_words
