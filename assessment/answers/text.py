"""The comparable forms of a typed answer: Unicode, case, spaces, accents and words.

Every rule of answer checking compares these forms, never the raw text, so that
``Ｐａｒｉｓ``, ``"Paris."`` and ``paris`` are one answer.
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = [
    "NEGATIONS",
    "fold_accents",
    "normalize",
    "superscripts_to_carets",
    "words",
]

# A negation anywhere near an answer turns it around: "not Paris", "it isn't Paris".
NEGATIONS = frozenset(
    "not no never none nor neither without cannot can't isn't aren't wasn't weren't"
    " don't doesn't didn't won't wouldn't shouldn't couldn't hasn't haven't hadn't"
    " isnt arent wasnt werent dont doesnt didnt wont cant".split()
)

# Texts up to this long have their normal form remembered (4,096 of them, a few MB).
CACHED_LENGTH = 200
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻", "0123456789+-")
_SUPERSCRIPT_RUN = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻]+")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def superscripts_to_carets(text: str) -> str:
    """``10²³`` as ``10^23`` and ``mc²`` as ``mc^2``: NFKC alone would make them ``1023``."""
    return _SUPERSCRIPT_RUN.sub(lambda m: "^" + m.group().translate(_SUPERSCRIPTS), text)


def normalize(text: str, *, fold_case: bool = True) -> str:
    """The comparable form of an answer: NFKC, case folded, spaces folded, trimmed.

    Args:
        fold_case: False keeps the case, for answers where it carries meaning (``CO``).
    """
    # One check normalises the same short texts a dozen times; long ones are not kept.
    if len(text) <= CACHED_LENGTH:
        return _normalized(text, fold_case)
    return _normalize(text, fold_case)


@functools.lru_cache(maxsize=4096)
def _normalized(text: str, fold_case: bool) -> str:
    return _normalize(text, fold_case)


def _normalize(text: str, fold_case: bool) -> str:
    nfkc = unicodedata.normalize("NFKC", superscripts_to_carets(text))
    folded = " ".join((nfkc.casefold() if fold_case else nfkc).split())
    start, end = 0, len(folded)
    while start < end and _is_trimmed(folded[start]) and not _is_sign(folded, start):
        start += 1
    while end > start and _is_trimmed(folded[end - 1]):
        end -= 1
    return folded[start:end].replace("’", "'")


def fold_accents(text: str) -> str:
    """``text`` without its combining marks: ``são paulo`` as ``sao paulo``."""
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped)


def words(text: str) -> list[str]:
    """The words of an already normalised text, apostrophes kept (``isn't``, ``it's``)."""
    return _WORD.findall(text)


def _is_sign(text: str, index: int) -> bool:
    """A minus sign or decimal point that starts a number (``-5``, ``- 5``, ``.5``)."""
    following = text[index + 1 : index + 3].lstrip(" " if text[index] == "-" else "")
    return text[index] in "-." and following[:1].isdigit()


def _is_trimmed(char: str) -> bool:
    # "%" is punctuation to Unicode, but "50%" is not "50": units are the numbers' rule.
    return char.isspace() or (unicodedata.category(char).startswith("P") and char != "%")
