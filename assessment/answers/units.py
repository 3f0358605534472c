"""Units beside a number: the blank's own (``___ %``, ``___ °C``, ``$___``) and the
student's (``50%``, ``100 degrees``).

A number answer may carry the unit the blank already shows, in any usual spelling; a
different unit (``100 °F`` where the blank says ``°C``) or a unit where the blank has
none (``50%`` for a probability of ``0.5``) is a different answer.
"""

from __future__ import annotations

import re

from assessment.answers.text import superscripts_to_carets

__all__ = ["blank_units", "same_unit", "split_unit"]

# Symbols compare exactly: mA is not MA, and Mm is not mm.
_SYMBOLS = (
    "%",
    "°C",
    "°F",
    "°",
    "K",
    "km/h",
    "m/s^2",
    "m/s",
    "km^2",
    "cm^2",
    "mm^2",
    "m^2",
    "cm^3",
    "m^3",
    "nm",
    "µm",
    "mm",
    "cm",
    "m",
    "km",
    "mg",
    "g",
    "kg",
    "ms",
    "s",
    "min",
    "h",
    "mL",
    "ml",
    "L",
    "l",
    "kJ",
    "J",
    "kW",
    "W",
    "N",
    "kPa",
    "Pa",
    "V",
    "mA",
    "A",
    "kHz",
    "MHz",
    "GHz",
    "Hz",
    "mol",
    "eV",
    "$",
    "€",
    "£",
)
# Words compare without case: "Percent", "degrees Celsius".
_WORDS = {
    "percent": "%",
    "per cent": "%",
    "degrees celsius": "°C",
    "degree celsius": "°C",
    "degrees c": "°C",
    "celsius": "°C",
    "degrees fahrenheit": "°F",
    "fahrenheit": "°F",
    "degrees": "°",
    "degree": "°",
    "kelvin": "K",
    "years": "years",
    "year": "years",
    "dollars": "$",
    # Eras: "1215 AD" is the year 1215; "500 BC" is another year than 500.
    "ad": "AD",
    "ce": "AD",
    "bc": "BC",
    "bce": "BC",
}
_UNIT = "|".join(re.escape(u) for u in sorted((*_SYMBOLS, *_WORDS), key=len, reverse=True))
_AFTER = re.compile(rf"^(?P<rest>.*?\d\.?)\s*(?P<unit>{_UNIT}|° ?[CF])$", re.IGNORECASE)
_BEFORE = re.compile(r"^(?P<unit>[$€£]|AD\b|CE\b)\s*(?P<rest>[+-]?[\d.].*)$", re.IGNORECASE)
_BLANK_AFTER = re.compile(rf"___\s?({_UNIT})(?![\w])")
_BLANK_BEFORE = re.compile(r"([$€£])\s?___")


def blank_units(text: str) -> frozenset[str]:
    """The units written next to the blank in an item's text."""
    text = superscripts_to_carets(text)
    found = {m.group(1) for m in _BLANK_AFTER.finditer(text)}
    found |= {m.group(1) for m in _BLANK_BEFORE.finditer(text)}
    return frozenset(_canonical(u) for u in found)


def split_unit(text: str) -> tuple[str, str | None]:
    """``"100 °C"`` as ``("100", "°C")``; text with no unit after (or currency before) a
    number as ``(text, None)``. ``text`` keeps its case."""
    if match := _BEFORE.match(text):
        return match.group("rest").strip(), _canonical(match.group("unit"))
    match = _AFTER.match(text)
    if match is None:
        return text, None
    unit = match.group("unit")
    if unit not in _SYMBOLS and unit.casefold() not in _WORDS and not unit.startswith("°"):
        return text, None  # a symbol typed in another case: "MA" is not "mA"
    return match.group("rest").strip(), _canonical(unit)


def same_unit(given: str, expected: frozenset[str]) -> bool:
    """Whether the student's unit is one the blank or the answer shows (``°`` stands for
    ``°C`` or ``°F`` when the blank names the scale)."""
    if given in expected:
        return True
    if given == "AD":  # the common era is what a year means unless it says BC
        return "BC" not in expected
    return given == "°" and any(unit.startswith("°") for unit in expected)


def is_unit(word: str) -> bool:
    """Whether ``word`` is a unit symbol or name ("km", "percent"): a question's unit is
    not filler a student may repeat (``1000 km`` for ``1 km = ___ m`` is wrong)."""
    return word in _SYMBOLS or word.casefold() in _WORDS


def _canonical(unit: str) -> str:
    squeezed = unit.replace(" ", "") if unit.startswith("°") else unit
    if squeezed.casefold() in ("°c", "°f"):
        return squeezed.upper()
    return _WORDS.get(unit.casefold(), squeezed)
