"""Answers whose case and symbols carry meaning: formulas, element symbols, units.

``CO`` is carbon monoxide and ``Co`` cobalt; ``mA`` is a thousandth of ``MA``; ``F = ma``
is not ``F = m/a``. Such answers compare with their case, and no typo is forgiven in
them. An answer is one when a word of it is a chemical formula (element symbols, at
least two or with a count: ``CO``, ``H2O``, ``NaCl``), mixes case inside it (``pH``,
``mA``, ``MHz``), or when the answer holds an operator between letters or digits
(``F = ma``, ``E = mc^2``). Acronyms that are not formulas (``DNA``, ``USA``) and Roman
numerals (``II``) compare without case.
"""

from __future__ import annotations

import functools
import re

__all__ = ["OPERATORS", "in_formula", "is_case_sensitive", "is_formula", "squeeze_operators"]

OPERATORS = frozenset("=+-−×*/^<>≤≥→·")
_ELEMENTS = frozenset(
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge"
    " As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm"
    " Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th"
    " Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og".split()
)
# Element symbols that are also everyday words: "No" and "In" as answers mean no and in.
_WORDLIKE_SYMBOLS = frozenset({"He", "Be", "In", "As", "At", "No", "I", "Am"})
_FORMULA_PART = re.compile(r"\(?([A-Z][a-z]?)\d*\)?\d*")
_TOKEN = re.compile(r"[^\s=+\-−×*/^<>≤≥→·]+")
_ROMAN = re.compile(r"[IVXLCDM]+")
_MIXED_CASE = re.compile(r"[a-z][A-Z]|[A-Z]{2}[a-z]|^[a-z]+[A-Z]")
# A hyphen between letters joins words (rock-and-roll); spaced or as a minus sign it is
# an operator (v - u, x − 1).
_BESIDE_BLANK = re.compile(r"[=+−×*/^<>≤≥→]\s*___|___\s*[=+−×*/^<>≤≥→]")
_OPERATOR_BETWEEN = re.compile(r"\w\s*[=+−×*/^<>≤≥→]\s*\w|\w\s-\s\w|\d-|-\d")


def is_formula(token: str) -> bool:
    """Whether ``token`` reads as a chemical formula or an element symbol that is not an
    everyday word (``CO``, ``H2O``, ``Ca(OH)2``, ``Co``; not ``DNA``, ``No``, ``II``)."""
    parts = _FORMULA_PART.findall(token)
    if not parts or "".join(_FORMULA_PART.sub(lambda m: "x", token).split("x")):
        return False
    if not all(symbol in _ELEMENTS for symbol in parts) or _ROMAN.fullmatch(token):
        return False
    if len(parts) == 1:
        return any(c.isdigit() for c in token) or (
            len(token) == 2 and token not in _WORDLIKE_SYMBOLS
        )
    return True


@functools.lru_cache(maxsize=4096)  # asked of an item's answers at every check
def is_case_sensitive(answer: str, *, symbols: bool = False) -> bool:
    """Whether ``answer`` must be typed in its own case (see the module's docstring).

    Args:
        symbols: the assessment asks for element symbols or formulas, so a one-letter
            symbol (``K``, ``C``) is one too.
    """
    if _OPERATOR_BETWEEN.search(answer) and any(c.isalpha() for c in answer):
        return True
    if symbols and len(answer) == 1 and answer in _ELEMENTS:
        return True
    return any(is_formula(t) or _MIXED_CASE.search(t) for t in _TOKEN.findall(answer))


def in_formula(text: str) -> bool:
    """Whether the blank of ``text`` is part of a formula ("F = ___", "___ × 4"); an
    operator elsewhere in the text ("affect/effect: ...") does not make it one."""
    return bool(_BESIDE_BLANK.search(text))


def squeeze_operators(text: str) -> str:
    """``F = ma`` as ``F=ma``, ``m × a`` as ``ma`` and ``pi r^2`` as ``πr^2``: spacing and
    written-out multiplication are not part of a formula."""
    text = re.sub(r"\bpi\b", "π", text)
    squeezed = re.sub(r"\s*([=+\-−×*/^<>≤≥→·])\s*", r"\1", text).replace("−", "-")
    # A product of letters: "m*a" is "ma"; between digits the sign stays ("2*3").
    squeezed = re.sub(r"(?<=[^\W\d_)])[×*·](?=[^\W\d_(])", "", squeezed)
    return re.sub(r"(?<=[^\W\d_])\s+(?=[^\W\d_])", "", squeezed)
