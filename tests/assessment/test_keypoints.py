"""Key-point coverage of free-text answers: word order, forms and typos, near misses."""

from __future__ import annotations

import pytest

from assessment.keypoints import covered_points, covers, denied
from assessment.spec import KeyPoint


@pytest.mark.parametrize(
    ("answer", "point", "covered"),
    [
        ("Chlorophyll absorbs light", "chlorophyll absorbs light", True),
        ("light is absorbed by the chlorophyll", "chlorophyll absorbs light", True),
        ("CHLOROPHYL ABSORBS LIGHT!", "chlorophyll absorbs light", True),
        ("chlorophyll reflects light", "chlorophyll absorbs light", False),
        ("chlorophyll absorbs", "chlorophyll absorbs light", False),
        ("plants need water", "chlorophyll absorbs light", False),
        ("the cells divide by mitosis", "cells divide by mitosis", True),
        ("the cells divide by meiosis", "cells divide by mitosis", False),
        ("glucose is produced", "produces glucose", True),
        ("", "produces glucose", False),
        (
            "energy from the sun is stored as chemical energy in sugar molecules",
            "stores solar energy as chemical energy in sugar",
            True,  # five of its six content words: enough for a long key point
        ),
        (
            "solar energy is released as heat",
            "stores solar energy as chemical energy in sugar",
            False,
        ),
        ("the enzyme was producing sugar", "enzymes produce sugar", True),
    ],
)
def test_covers(answer: str, point: str, covered: bool) -> None:
    """Coverage follows the table: every content word present, in any order or form."""
    assert covers(answer, KeyPoint(text=point)) is covered


def test_other_phrasings_count() -> None:
    """A key point's accepted phrasings cover it too."""
    point = KeyPoint(text="produces glucose", accept=("makes sugar",))
    assert covers("it makes sugar", point)


def test_covered_points_lists_indexes() -> None:
    """covered_points gives the index of every key point an answer covers."""
    points = [
        KeyPoint(text="uses light"),
        KeyPoint(text="makes sugar"),
        KeyPoint(text="needs water"),
    ]
    assert covered_points("It uses light to make sugar", points) == {0, 1}


@pytest.mark.parametrize(
    ("answer", "point", "covered"),
    [
        # a denied statement covers nothing
        ("Plants do not need sunlight", "plants need sunlight", False),
        ("Plants don't need sunlight, they need water", "plants need sunlight", False),
        ("Tuples are immutable, they cannot be changed", "tuples are immutable", True),
        ("tuples can't be changed", "tuples cannot be changed", True),
        # a reversed relation: the words are in two statements
        ("Lists are immutable, tuples are mutable", "tuples are immutable", False),
        ("Lists are immutable and tuples are mutable", "tuples are immutable", False),
        ("Lists are mutable and tuples are immutable", "tuples are immutable", True),
        # a bare list of the topic's words states nothing
        (
            "chlorophyll sunlight glucose carbon dioxide oxygen absorbs",
            "chlorophyll absorbs light",
            False,
        ),
        ("chlorophyll, absorbs, light", "chlorophyll absorbs light", False),
        # a pronoun carries the statement on
        ("Chlorophyll is a pigment. It absorbs light.", "chlorophyll absorbs light", True),
        # general synonyms count
        ("The plant makes glucose", "glucose is produced", True),
        ("Plants emit oxygen", "oxygen is released", True),
    ],
)
def test_statements_not_words(answer: str, point: str, covered: bool) -> None:
    """Coverage is per statement: negation, reversal and keyword lists do not count."""
    assert covers(answer, KeyPoint(text=point)) is covered


def test_denied_points_are_told_apart_from_missing_ones() -> None:
    """denied() is true only for a point the answer states negated and nowhere else."""
    point = KeyPoint(text="plants need sunlight")
    assert denied("Plants do not need sunlight", point)
    assert not denied("Plants need water", point)
    assert not denied("Plants need sunlight, not darkness", point)


def test_a_clause_that_refers_back_continues_the_one_before() -> None:
    """ "it" or "each" among a clause's first words carries its subject on."""
    point = KeyPoint(text="tuples can be used as dictionary keys")
    assert covers(
        "A tuple is immutable, and because it's hashable it can be used as a dictionary key", point
    )
    halves = KeyPoint(text="meiosis halves the chromosome number")
    assert covers("Meiosis gives four cells, each with half the number of chromosomes", halves)


@pytest.mark.parametrize(
    ("answer", "point", "covered"),
    [
        # a negative key point needs its negation said
        ("They get used up in the reaction", "enzymes are not used up in the reaction", False),
        (
            "Enzymes are not used up in the reaction",
            "enzymes are not used up in the reaction",
            True,
        ),
        # "and" before a second verb starts a second statement
        (
            "The plant takes in oxygen and releases carbon dioxide",
            "carbon dioxide is taken in",
            False,
        ),
        (
            "The plant takes in carbon dioxide and releases oxygen",
            "carbon dioxide is taken in",
            True,
        ),
        # "which" refers to a statement, not its subject
        ("Tuples are mutable, which is why a list can be a key", "lists are mutable", False),
        # two typos in a long word that is no word of its own; never in a real word
        ("clorophyl absorbs light", "chlorophyll absorbs light", True),
        ("the conversation of energy", "conservation of energy", False),
    ],
)
def test_statements_their_subjects_and_their_negations(
    answer: str, point: str, covered: bool
) -> None:
    """Negative key points, second verbs, references back and misspellings, as read."""
    assert covers(answer, KeyPoint(text=point)) is covered
