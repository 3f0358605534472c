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
        ("I = V/R", "V = IR", True),  # the law solved for another variable
        ("I = VR", "V = IR", False),
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


@pytest.mark.parametrize(
    ("given", "answer", "left", "same"),
    [
        ("I = V/R", "IR", "V", True),  # Ohm's law solved for I
        ("R = V/I", "IR", "V", True),
        ("V = IR", "IR", "V", True),
        ("a = F/m", "ma", "F", True),
        ("I = VR", "IR", "V", False),
        ("f = ma", "ma", "F", False),  # f is not F
        ("X = IR", "IR", "V", False),
        ("2I = V/R", "IR", "V", False),  # solved for one variable alone, or not read
    ],
)
def test_the_law_solved_for_another_variable(
    given: str, answer: str, left: str, same: bool
) -> None:
    """With the blank's left side known ("V = ___"), a whole equation may answer it."""
    assert same_formula(given, answer, left=left) is same


def test_the_pronoun_i_is_a_variable_in_a_formula() -> None:
    """ "I = V/R" is Ohm's law, not "I think V/R": the check reads it as typed."""
    result = check_answer("I = V/R", ["V = IR"], case_sensitive=True)
    assert (result.correct, result.rule) == (True, "formula")
