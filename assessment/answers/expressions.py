"""Formulas that are equal though written differently: ``0.5mv^2``, ``mv^2/2``, ``½mv²``.

An answer to a blank in a formula is read as an expression: numbers, one-letter
variables (case counts: ``M`` is not ``m``), ``π`` (or ``pi``), ``+ - * / ^``, the signs
``×`` and ``·``, brackets, and products written by juxtaposition (``mv^2`` is
``m*v^2``). Two expressions are the same formula when they give the same value for the
same random values of their variables, three times over: algebra is not needed to
tell ``mv^2/2`` from ``mv/2``. Nothing is ever evaluated as code; anything else (a
function name, a third side to an equation) is not read, and the answer is compared as
text.
"""

from __future__ import annotations

import math
import operator
import random
import re
from collections.abc import Callable, Mapping

__all__ = ["MAX_FORMULA_CHARS", "same_formula"]

# A formula a student types into a blank is short; longer text is not read.
MAX_FORMULA_CHARS = 80
_MAX_POWER = 12  # 2**12 is plenty for a school formula, and no float overflows
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?|\.\d+)|([A-Za-zπ])|(\*\*|[-+*/^()×·⁄]))")
_TRIALS = 3

Value = Callable[[Mapping[str, float]], float]


class _Unreadable(Exception):
    """Not an expression this module reads."""


def same_formula(given: str, answer: str, *, left: str | None = None) -> bool:
    """Whether ``given`` and ``answer`` are the same formula (see the module).

    Args:
        left: the left side the question writes before the blank (``V`` in
            ``V = ___``). A student may then answer with a whole equation: ``V = IR``,
            or the same law solved for another variable, ``I = V/R``.

    Equations compare side by side (``f = ma`` is not ``F = ma``).
    """
    given_sides, answer_sides = given.split("="), answer.split("=")
    if len(given_sides) > 2 or len(answer_sides) > 2:
        return False
    if len(given_sides) == len(answer_sides):
        pairs = zip(given_sides, answer_sides, strict=True)
        if all(_same_expression(g, a) for g, a in pairs):
            return True
        # "I = V/R" for "V = IR": the same law, solved for another variable.
        return len(answer_sides) == 2 and _same_equation(
            (given_sides[0], given_sides[1]), (answer_sides[0], answer_sides[1])
        )
    if len(given_sides) == 2 and len(answer_sides) == 1:
        if left is None:
            return _same_expression(given_sides[1], answer)  # "E = mc^2" for "mc^2"
        return _same_equation((given_sides[0], given_sides[1]), (left, answer))
    return False


def _same_equation(given: tuple[str, str], expected: tuple[str, str]) -> bool:
    """Whether ``x = ...`` (``given``, solved for one variable) holds where ``expected``
    does: for random values of the other variables, ``x`` is worked out from ``given``,
    and both sides of ``expected`` must then agree."""
    try:
        solved, formula = _parse(given[0]), _parse(given[1])
        left, right = _parse(expected[0]), _parse(expected[1])
    except _Unreadable:
        return False
    if len(solved.names) != 1 or solved.value({n: 1.0 for n in solved.names}) != 1.0:
        return False  # the left side is not one variable alone
    (unknown,) = solved.names
    others = (formula.names | left.names | right.names) - {unknown}
    generator = random.Random(expected[1])
    for _ in range(_TRIALS):
        values = {name: generator.uniform(1.5, 3.5) for name in others}
        try:
            values[unknown] = formula.value(values)
            a, b = left.value(values), right.value(values)
        except (ArithmeticError, ValueError, KeyError):
            return False
        if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            return False
    return True


def _same_expression(given: str, answer: str) -> bool:
    try:
        left, right = _parse(given), _parse(answer)
    except _Unreadable:
        return False
    names = left.names | right.names
    generator = random.Random(answer)  # the same trial values every time: repeatable
    for _ in range(_TRIALS):
        values = {name: generator.uniform(1.5, 3.5) for name in names}
        try:
            a, b = left.value(values), right.value(values)
        except (ArithmeticError, ValueError):
            return False
        if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            return False
    return True


class _Expression:
    def __init__(self, value: Value, names: frozenset[str]) -> None:
        self.value = value
        self.names = names


def _parse(text: str) -> _Expression:
    text = text.replace("pi", "π").replace(",", "")
    if len(text) > MAX_FORMULA_CHARS:
        raise _Unreadable(text)
    tokens = _tokens(text)
    parser = _Parser(tokens)
    value = parser.sum()
    if parser.position != len(tokens):
        raise _Unreadable(text)
    return _Expression(value, frozenset(parser.names))


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _Unreadable(text)
        tokens.append(next(group for group in match.groups() if group is not None))
        position = match.end()
    if not tokens:
        raise _Unreadable(text)
    return tokens


class _Parser:
    """Recursive descent: sum > product > unary > power > atom (juxtaposition binds as a
    product, so ``2πr`` is ``2*π*r`` and ``1/2mv^2`` is ``(1/2)*m*v^2``)."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.position = 0
        self.names: set[str] = set()

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise _Unreadable("unexpected end")
        self.position += 1
        return token

    def sum(self) -> Value:
        value = self.product()
        while self.peek() in ("+", "-"):
            combine = operator.add if self.take() == "+" else operator.sub
            value = _combined(combine, value, self.product())
        return value

    def product(self) -> Value:
        value = self.unary()
        while (token := self.peek()) is not None and token not in ("+", "-", ")"):
            if token in ("*", "×", "·", "/", "⁄"):
                self.take()
            combine = operator.truediv if token in ("/", "⁄") else operator.mul
            value = _combined(combine, value, self.unary())
        return value

    def unary(self) -> Value:
        if self.peek() == "-":
            self.take()
            inner = self.unary()
            return lambda v: -inner(v)
        return self.power()

    def power(self) -> Value:
        base = self.atom()
        if self.peek() in ("^", "**"):
            self.take()
            exponent = self.unary()
            return lambda v: _power(base(v), exponent(v))
        return base

    def atom(self) -> Value:
        token = self.take()
        if token == "(":
            inner = self.sum()
            if self.take() != ")":
                raise _Unreadable("unbalanced")
            return inner
        if token == "π":
            return lambda v: math.pi
        if token[0].isdigit() or token[0] == ".":
            number = float(token)
            return lambda v: number
        if token.isalpha():
            self.names.add(token)
            return lambda v: v[token]
        raise _Unreadable(token)


def _combined(combine: Callable[[float, float], float], left: Value, right: Value) -> Value:
    return lambda values: combine(left(values), right(values))


def _power(base: float, exponent: float) -> float:
    if abs(exponent) > _MAX_POWER:
        raise ArithmeticError("exponent too large")
    return float(base**exponent)
