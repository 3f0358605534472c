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


def same_formula(given: str, answer: str) -> bool:
    """Whether ``given`` and ``answer`` are the same formula (see the module).

    Equations compare side by side (``f = ma`` is not ``F = ma``); a student may write
    the left side of a blank's equation before its answer (``E = mc^2`` for ``mc^2``)."""
    given_sides, answer_sides = given.split("="), answer.split("=")
    if len(given_sides) == len(answer_sides) + 1:
        given_sides = given_sides[1:]
    if len(given_sides) != len(answer_sides) or len(answer_sides) > 2:
        return False
    return all(_same_expression(g, a) for g, a in zip(given_sides, answer_sides, strict=True))


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
