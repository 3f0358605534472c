"""Answer checking, table-driven: Unicode, case, punctuation, typos, numbers, near misses."""

from __future__ import annotations

from decimal import Decimal

import pytest

from assessment.answers import check_answer, normalize, parse_number

# (given, accepted, reject, correct, typo)
CASES: list[tuple[str, list[str], list[str], bool, bool]] = [
    # exact and case
    ("Paris", ["Paris"], [], True, False),
    ("paris", ["Paris"], [], True, False),
    ("PARIS", ["Paris"], [], True, False),
    ("Straße", ["STRASSE"], [], True, False),
    ("ǅ", ["dž"], [], True, False),
    # white space
    ("  Paris  ", ["Paris"], [], True, False),
    ("Pacific   Ocean", ["Pacific Ocean"], [], True, False),
    ("Pacific\tOcean\n", ["Pacific Ocean"], [], True, False),
    ("Pacific\u00a0Ocean", ["Pacific Ocean"], [], True, False),
    # surrounding punctuation
    ("Paris.", ["Paris"], [], True, False),
    ('"Paris"', ["Paris"], [], True, False),
    ("«Paris»", ["Paris"], [], True, False),
    ("(Paris)!", ["Paris"], [], True, False),
    ("¿París?", ["París"], [], True, False),
    ("'mitochondria'", ["mitochondria"], [], True, False),
    ("rock-and-roll", ["rock-and-roll"], [], True, False),
    # Unicode forms
    ("Cafe\u0301", ["Café"], [], True, False),
    ("café", ["Cafe\u0301"], [], True, False),
    ("ｐａｒｉｓ", ["Paris"], [], True, False),
    ("ﬁsh", ["fish"], [], True, False),
    ("H₂O", ["H2O"], [], True, False),
    ("Ⅻ", ["xii"], [], True, False),
    # several accepted answers
    ("USA", ["United States", "USA", "US"], [], True, False),
    ("united states", ["United States", "USA"], [], True, False),
    # numbers
    ("0.50", [".5"], [], True, False),
    (".5", ["0.50"], [], True, False),
    ("0.5", ["1/2"], [], True, False),
    ("1/2", ["0.5"], [], True, False),
    ("1,000", ["1000"], [], True, False),
    ("1000", ["1,000"], [], True, False),
    ("42.", ["42"], [], True, False),
    ("+7", ["7"], [], True, False),
    ("-3", ["−3"], [], True, False),
    ("3.14", ["3.140"], [], True, False),
    ("007", ["7"], [], True, False),
    ("４２", ["42"], [], True, False),
    # numbers get no typo tolerance
    ("1001", ["1000"], [], False, False),
    ("3.15", ["3.14"], [], False, False),
    ("12345", ["12346"], [], False, False),
    ("-3", ["3"], [], False, False),
    ("1,00", ["100"], [], False, False),
    ("0.5", ["5"], [], False, False),
    ("five", ["5"], [], False, False),
    # typos in long answers
    ("photosynthesys", ["photosynthesis"], [], True, True),
    ("mitochondira", ["mitochondria"], [], True, True),
    ("recieve", ["receive"], [], True, True),
    ("Amazn", ["Amazon"], [], True, True),
    ("Pacfic Ocean", ["Pacific Ocean"], [], True, True),
    ("photosinthesis", ["photosynthesis"], [], True, True),
    ("Pari", ["Paris"], [], True, True),
    ("chlorophyl", ["chlorophyll"], [], True, True),
    # no typo tolerance under five characters
    ("Rme", ["Rome"], [], False, False),
    ("cat", ["car"], [], False, False),
    ("Rom", ["Rome"], [], False, False),
    ("Nil", ["Nile"], [], False, False),
    # near misses that must be refused
    ("meiosis", ["mitosis"], [], False, False),
    ("effect", ["affect"], [], False, False),
    ("Austria", ["Australia"], [], False, False),
    ("photosynthetic", ["photosynthesis"], [], False, False),
    ("mitochondrion", ["mitochondria"], [], False, False),
    ("photosinthesys", ["photosynthesis"], [], False, False),
    ("Sweden", ["Swedes"], ["Sweden"], False, False),
    ("Sweden", ["Swedes"], [], True, True),
    ("insulin", ["inulin"], ["insulin"], False, False),
    ("conservation", ["conversation"], [], False, False),
    ("Lyon", ["Paris"], [], False, False),
    ("Paris, France", ["Paris"], [], False, False),
    ("not Paris", ["Paris"], [], False, False),
    # empty and blank
    ("", ["Paris"], [], False, False),
    ("   ", ["Paris"], [], False, False),
    ("...", ["Paris"], [], False, False),
]


@pytest.mark.parametrize(("given", "accepted", "reject", "correct", "typo"), CASES)
def test_check_answer(
    given: str, accepted: list[str], reject: list[str], correct: bool, typo: bool
) -> None:
    """Each answer is accepted or refused as the table says, typo flag included."""
    result = check_answer(given, accepted, reject)
    assert (result.correct, result.typo) == (correct, typo)
    if correct:
        assert result.matched in accepted


def test_exact_match_wins_over_a_typo_match() -> None:
    """With both an exact and a near answer accepted, the exact one is reported."""
    result = check_answer("Austria", ["Australia", "Austria"])
    assert (result.matched, result.typo) == ("Austria", False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  «Hello,   World!»  ", "hello, world"),
        ("ＡＢＣ", "abc"),
        ("Ångström.", "ångström"),
        ("-- x --", "x"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    """Normalisation folds Unicode, case and spaces, and trims punctuation."""
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.50", Decimal("0.5")),
        (".5", Decimal("0.5")),
        ("1,234,567", Decimal("1234567")),
        ("3/4", Decimal("0.75")),
        ("1/0", None),
        ("1,23", None),
        ("abc", None),
        (".", None),
        ("", None),
    ],
)
def test_parse_number(text: str, expected: Decimal | None) -> None:
    """Numbers are read by value; anything else is not a number."""
    assert parse_number(text) == expected
