"""Formulas written another way are the same answer; different formulas are not."""

from __future__ import annotations

import pytest

from assessment.answers.check import check_answer
from assessment.answers.expressions import MAX_FORMULA_CHARS, same_formula


@pytest.mark.parametrize(
    ("given", "answer", "same"),
    [
        ("0.5mv^2", "1/2 mv^2", True),
        ("mv^2/2", "1/2 mv^2", True),
        ("m*v**2/2", "1/2 mv^2", True),
        ("RI", "IR", True),
        ("pi r^2", "πr^2", True),
        ("(m)(a)", "ma", True),
        ("E = mc^2", "mc^2", True),  # the blank's left side written too
        ("mv/2", "1/2 mv^2", False),
        ("I/R", "IR", False),
        ("MA", "ma", False),  # case names other quantities
        ("2πr", "πr^2", False),
        ("f = ma", "F = ma", False),
        ("ma", "F = ma", False),
        ("a = b = c", "a", False),
        ("2^1000", "x", False),  # no huge powers
        ("ma+", "ma", False),
        ("import os", "ma", False),
        ("", "ma", False),
    ],
)
def test_same_formula(given: str, answer: str, same: bool) -> None:
    """Equal for random values of the variables, three times: the same formula."""
    assert same_formula(given, answer) is same


def test_long_input_is_not_read() -> None:
    """A formula longer than a blank holds is compared as text only."""
    assert not same_formula("m" * (MAX_FORMULA_CHARS + 1), "m" * (MAX_FORMULA_CHARS + 1))


def test_a_blank_in_a_formula_accepts_the_formula_written_another_way() -> None:
    """The check names the rule: the same formula written another way."""
    result = check_answer("½mv²", ["1/2 mv^2"], formula=True)
    assert (result.correct, result.rule) == (True, "formula")
