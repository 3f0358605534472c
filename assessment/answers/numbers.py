"""Reading a typed answer as a number, by value.

Accepted forms: a sign; thousands separated by commas or spaces in groups of three
(``1,000``, ``1 000``); a leading or trailing decimal part (``.5``, ``0.50``); a simple
fraction (``3/4``); scientific notation (``1e3``, ``6.02e23``, ``6.02 x 10^23``,
``6.02×10²³``); words for whole numbers up to the millions (``six``, ``twenty-one``,
``one hundred``). A decimal comma is not read (``1,23`` is neither 1.23 nor 123).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from assessment.answers.text import CACHED_LENGTH, superscripts_to_carets

__all__ = ["MAX_EXPONENT", "parse_number"]

# Larger exponents are no student's answer, and Decimal would spend time on them.
MAX_EXPONENT = 400

_DECIMAL = r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+|\d+|(?=\.\d))(?:\.\d+)?"
_PLAIN = re.compile(_DECIMAL)
_E_NOTATION = re.compile(rf"({_DECIMAL})e([+-]?\d+)")
_TIMES_TEN = re.compile(rf"(?:({_DECIMAL}) ?(?:x|\*|×|·) ?)?10 ?(?:\^|\*\*) ?([+-]?\d+)")
_SPACED_SIGN = re.compile(r"^([+-]) (?=[\d.])")
_FRACTION = re.compile(r"([+-]?\d+) ?/ ?(\d+)")

_UNITS = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen"
        " fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {
    word: 10 * (index + 2)
    for index, word in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())
}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}


def parse_number(text: str) -> Decimal | None:
    """The value of an answer that is a number, or None."""
    if len(text) <= CACHED_LENGTH:
        return _parsed(text)
    return _parse(text)


@functools.lru_cache(maxsize=4096)  # an item's answers are read at every check
def _parsed(text: str) -> Decimal | None:
    return _parse(text)


def _parse(text: str) -> Decimal | None:
    candidate = _number_form(text)
    if not candidate or not any(c.isdigit() for c in candidate):
        return _number_words(candidate)
    if fraction := _FRACTION.fullmatch(candidate):
        numerator, denominator = (Decimal(part) for part in fraction.groups())
        return None if denominator == 0 else numerator / denominator
    if scientific := _E_NOTATION.fullmatch(candidate) or _TIMES_TEN.fullmatch(candidate):
        mantissa, exponent = scientific.groups()
        if abs(int(exponent)) > MAX_EXPONENT:
            return None
        return _decimal(mantissa or "1") * Decimal(10) ** int(exponent)
    if _PLAIN.fullmatch(candidate):
        return _decimal(candidate)
    return None


def _number_form(text: str) -> str:
    """NFKC, case and spaces folded, a trailing full stop or mark dropped; a leading sign
    or decimal point kept (``normalize`` trims them as punctuation)."""
    nfkc = unicodedata.normalize("NFKC", superscripts_to_carets(text)).casefold()
    folded = " ".join(nfkc.replace("\u2212", "-").split())
    folded = _SPACED_SIGN.sub(r"\1", folded)  # "- 12": a sign set apart
    return folded.rstrip(".!?").strip()


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text.replace(",", "").replace(" ", ""))
    except InvalidOperation:  # pragma: no cover - the patterns admit only decimals
        return Decimal("NaN")


def _number_words(text: str) -> Decimal | None:
    """``twenty-one`` as 21, ``one hundred and five`` as 105, ``minus one`` as -1; None if
    not only number words."""
    sign, _, rest = text.partition(" ")
    if sign in ("minus", "negative") and rest:
        value = _number_words(rest)
        return None if value is None else -value
    parts = [p for p in re.split(r"[\s-]+", text) if p and p != "and"]
    if not parts or len(parts) > 8:
        return None
    total, current = 0, 0
    for part in parts:
        if part in _UNITS:
            current += _UNITS[part]
        elif part in _TENS:
            current += _TENS[part]
        elif part in _SCALES and (current or part == "hundred"):
            scale = _SCALES[part]
            if scale == 100:
                current = (current or 1) * 100
            else:
                total, current = total + current * scale, 0
        elif part == "a" and parts[-1] in _SCALES:
            current += 1
        else:
            return None
    return Decimal(total + current)
