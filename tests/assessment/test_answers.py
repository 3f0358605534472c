"""Answer checking, table-driven: Unicode, case, punctuation, typos, numbers, near misses."""

from __future__ import annotations

from decimal import Decimal

import pytest

from assessment.answers.check import MAX_ANSWER_CHARS, check_answer
from assessment.answers.lexicon import Lexicon
from assessment.answers.numbers import parse_number
from assessment.answers.text import normalize
from assessment.answers.units import blank_units
from assessment.grader import question_words

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
    ("five", ["5"], [], True, False),  # a small number in words
    ("1941", ["1914"], [], False, False),
    # typos in long answers
    ("photosynthesys", ["photosynthesis"], [], True, True),
    ("mitochondira", ["mitochondria"], [], True, True),
    ("recieve", ["receive"], [], True, True),  # a misspelling far rarer than the word
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
    ("Sweden", ["Swedes"], [], False, False),  # a word of its own: not a typo
    ("insulin", ["inulin"], ["insulin"], False, False),
    ("conservation", ["conversation"], [], False, False),
    ("Lyon", ["Paris"], [], False, False),
    ("Paris, France", ["Paris"], [], False, False),
    ("not Paris", ["Paris"], [], False, False),
    # a typo that is another word or term
    ("alkane", ["alkene"], [], False, False),
    ("propene", ["propane"], [], False, False),
    ("proton", ["photon"], [], False, False),
    ("Iran", ["Iraq"], [], False, False),
    # case where it carries meaning: formulas, symbols, units
    ("Co", ["CO"], [], False, False),
    ("co", ["CO"], [], False, False),
    ("Hf", ["HF"], [], False, False),
    ("No", ["NO"], [], False, False),
    ("h2o", ["H2O"], [], False, False),
    ("NaCl", ["NaCl"], [], True, False),
    ("dna", ["DNA"], [], True, False),  # an acronym, not a formula
    ("world war ii", ["World War II"], [], True, False),
    ("f = ma", ["F = ma"], [], False, False),
    # operators and signs are not typos; spacing and written-out products are nothing
    ("F=ma", ["F = ma"], [], True, False),
    ("F = m/a", ["F = ma"], [], False, False),
    ("m*a", ["ma"], [], False, False),  # "ma" alone is not known to be a formula
    ("E = mc²", ["E=mc^2"], [], True, False),
    ("pi r^2", ["πr^2"], [], True, False),
    # articles and filler around the answer
    ("the mitochondria", ["mitochondria"], [], True, False),
    ("I think it's Paris", ["Paris"], [], True, False),
    ("is it Paris?", ["Paris"], [], True, False),
    ("in 1914", ["1914"], [], True, False),
    ("It's 42.", ["42"], [], True, False),
    ("el niño", ["niño"], [], True, False),
    ("l'école", ["école"], [], True, False),
    ("I'm not sure, but Paris", ["Paris"], [], True, False),
    ("Paris or Lyon", ["Paris"], [], False, False),
    ("it isn't Paris", ["Paris"], [], False, False),
    ("I think it's Lyon", ["Paris"], [], False, False),
    # numbers in other notations
    ("1e3", ["1000"], [], True, False),
    ("6.02 x 10^23", ["6.02e23"], [], True, False),
    ("6.02×10²³", ["6.02e23"], [], True, False),
    ("1 000", ["1000"], [], True, False),
    ("- 12", ["-12"], [], True, False),
    ("minus twelve", ["-12"], [], True, False),
    ("twenty-one", ["21"], [], True, False),
    ("50%", ["50"], [], False, False),  # a unit where the blank has none
    ("1e999", ["1"], [], False, False),
    # accents: one slip however many marks, in an answer of five letters or more
    ("Sao Paulo", ["São Paulo"], [], True, True),
    ("resume", ["résumé"], [], True, True),
    ("Sao Paolo", ["São Paulo"], [], False, False),
    ("nino", ["niño"], [], False, False),
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


@pytest.mark.parametrize(
    ("given", "text", "answer", "correct", "rule"),
    [
        ("50%", "___% of the class passed.", "50", True, "number"),
        ("50 percent", "___ % of the class passed.", "50", True, "number"),
        ("100 °C", "Water boils at ___ °C.", "100", True, "number"),
        ("100°", "Water boils at ___ °C.", "100", True, "number"),
        ("100 degrees", "Water boils at ___ °C.", "100", True, "number"),
        ("100 °F", "Water boils at ___ °C.", "100", False, "wrong_unit"),
        ("$5", "It costs $___.", "5", True, "number"),
        ("9 cm²", "The area is ___ cm².", "9", True, "number"),
        ("1215 AD", "Magna Carta was sealed in ___.", "1215", True, "number"),
        ("AD 1215", "Magna Carta was sealed in ___.", "1215", True, "number"),
        ("1215 BC", "Magna Carta was sealed in ___.", "1215", False, "wrong_unit"),
    ],
)
def test_the_blanks_unit_may_be_typed(
    given: str, text: str, answer: str, correct: bool, rule: str
) -> None:
    """A number may carry the unit printed beside the blank (or, for a year, AD), not
    another one."""
    result = check_answer(given, [answer], units=blank_units(text))
    assert (result.correct, result.rule) == (correct, rule)


def test_a_blank_inside_a_formula_is_case_sensitive() -> None:
    """In "F = ___" the letters are symbols: "MA" is not "ma"."""
    assert not check_answer("MA", ["ma"], formula=True).correct
    assert check_answer("m × a", ["ma"], formula=True).correct


def test_words_of_the_question_may_be_said_again() -> None:
    """Humans have "23 pairs" for "___ pairs"; a word of the question alone is not the
    answer, and a unit of the question is not filler: "1000 km" for "1 km = ___ m"."""
    context = question_words("Humans have ___ pairs of chromosomes.", ["23"])
    assert check_answer("23 pairs", ["23"], context=context).correct
    assert not check_answer("pairs", ["23"], context=context).correct
    text = "1 km = ___ m"
    km = question_words(text, ["1000"])
    assert not check_answer("1000 km", ["1000"], context=km, units=blank_units(text)).correct
    assert check_answer("1000 m", ["1000"], context=km, units=blank_units(text)).correct


def test_the_assessments_own_words_are_not_typos() -> None:
    """A term the assessment uses elsewhere is a different answer, however close."""
    lexicon = Lexicon(["Which ore is it: ___?", "zorbite"])
    assert check_answer("zorbite", ["zorbide"]).correct  # English does not know either
    assert not check_answer("zorbite", ["zorbide"], lexicon=lexicon).correct


def test_a_page_of_text_is_no_answer_to_a_blank() -> None:
    """Over MAX_ANSWER_CHARS, even holding the answer, it is refused at once."""
    assert not check_answer("Paris " * (MAX_ANSWER_CHARS // 6 + 1), ["Paris"]).correct
    assert check_answer("I think it's Paris", ["Paris"]).correct


def test_instructors_choice_of_case_wins() -> None:
    """case_sensitive overrides the detection either way."""
    assert not check_answer("paris", ["Paris"], case_sensitive=True).correct
    assert check_answer("co", ["CO"], case_sensitive=False).correct


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
        ("6.02e23", Decimal("6.02e23")),
        ("-0.5", Decimal("-0.5")),
        ("one hundred and five", Decimal(105)),
        ("negative one", Decimal(-1)),
        ("abc", None),
        (".", None),
        ("", None),
    ],
)
def test_parse_number(text: str, expected: Decimal | None) -> None:
    """Numbers are read by value; anything else is not a number."""
    assert parse_number(text) == expected
