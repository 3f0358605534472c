"""Whole sessions of each assessment type under each grading schema: the exact score,
items done and verdict after every turn, and the result at completion."""

from __future__ import annotations

from typing import Any

import pytest

from assessment.grading import percent
from tests.assessment.dialogue import Dialogue

FILL_BLANK = {
    "items": [
        {"id": "i1", "text": "The capital of France is ___.", "answers": ["Paris"]},
        {
            "id": "i2",
            "text": "The largest ocean is the ___.",
            "answers": ["Pacific"],
            "variants": [{"text": "The largest continent is ___.", "answers": ["Asia"]}],
        },
        {"id": "i3", "text": "2 + 2 = ___", "answers": ["4"]},
    ]
}
FLASHCARDS = {
    "cards": [
        {"id": "c1", "front": "H2O", "back": "water"},
        {
            "id": "c2",
            "front": "NaCl",
            "back": "salt",
            "accept": ["sodium chloride"],
            "variants": [{"front": "KCl", "back": "potassium chloride"}],
        },
        {
            "id": "c3",
            "front": "CO2",
            "back": "carbon dioxide",
            "variants": [{"front": "CH4", "back": "methane"}],
        },
    ]
}
CHAT = {
    "objectives": [
        {
            "id": "o1",
            "question": "What does photosynthesis make, and from what?",
            "key_points": [
                {"text": "produces glucose", "accept": ["makes sugar"]},
                "uses light energy",
                "takes in carbon dioxide",
            ],
            "hints": ["What gas do plants absorb?", "Where does the energy come from?"],
            "variants": [
                {
                    "question": "What does respiration release, and what does it use?",
                    "key_points": ["releases energy", "uses oxygen", "produces carbon dioxide"],
                }
            ],
        },
        {
            "id": "o2",
            "question": "Why do leaves look green?",
            "key_points": ["chlorophyll reflects green light"],
            "hints": ["Which pigment is involved?"],
        },
    ]
}

# (type, schema, config, [(answer, verdict, score, items done)], passed at the end)
SCENARIOS: dict[str, tuple[str, str, dict[str, Any], list[tuple[str, str, float, int]], bool]] = {
    "fill_blank percentage": (
        "fill_blank",
        "percentage",
        FILL_BLANK,
        [
            ("Paris", "correct", 33.33, 1),
            ("Atlantic", "wrong", 33.33, 1),
            ("Pacific", "correct", 33.33, 2),  # right only at the second try
            ("5", "wrong", 33.33, 2),
            ("3", "wrong", 33.33, 3),  # attempts used up: explained, done
        ],
        False,
    ),
    "fill_blank mastery": (
        "fill_blank",
        "mastery",
        FILL_BLANK,
        [
            ("paris.", "correct", 33.33, 1),
            ("Atlantic", "wrong", 33.33, 1),
            ("Indian", "wrong", 33.33, 1),  # explained; comes back as its variant
            ("4", "correct", 66.67, 2),
            ("asia", "correct", 100.0, 3),
        ],
        True,
    ),
    "fill_blank engagement": (
        "fill_blank",
        "engagement",
        FILL_BLANK,
        [
            ("London", "wrong", 33.33, 0),  # wrong, but a real attempt
            ("London", "wrong", 33.33, 1),
            ("idk", "wrong", 33.33, 1),  # not an attempt
            ("Atlantic", "wrong", 66.67, 2),
            ("?", "wrong", 66.67, 2),
            ("??", "wrong", 66.67, 3),
        ],
        False,
    ),
    "flashcards percentage": (
        "flashcards",
        "percentage",
        FLASHCARDS,
        [
            ("water", "correct", 33.33, 1),
            ("sugar", "wrong", 33.33, 1),  # the card comes back later
            ("carbon dioxide", "correct", 66.67, 2),
            ("salt", "correct", 66.67, 3),  # right the second time: no first-try credit
        ],
        False,
    ),
    "flashcards mastery": (
        "flashcards",
        "mastery",
        FLASHCARDS,
        [
            ("Water", "correct", 33.33, 1),
            ("sugar", "wrong", 33.33, 1),
            ("carbon monoxide", "wrong", 33.33, 1),
            ("potassium chloride", "correct", 66.67, 2),  # the variants, after the answers
            ("methane", "correct", 100.0, 3),
        ],
        True,
    ),
    "flashcards engagement": (
        "flashcards",
        "engagement",
        FLASHCARDS,
        [
            ("water", "correct", 33.33, 1),
            ("no idea", "wrong", 33.33, 1),
            ("carbon", "wrong", 66.67, 1),
            ("salt", "correct", 100.0, 2),
            ("carbon", "wrong", 100.0, 3),  # a repeat, but the card was engaged already
        ],
        True,
    ),
    "chat percentage": (
        "chat",
        "percentage",
        CHAT,
        [
            ("Plants use light energy to make sugar.", "partial", 33.33, 0),
            ("They also take in carbon dioxide from the air.", "correct", 33.33, 1),
            ("Because chlorophyll reflects green light.", "correct", 83.33, 2),
        ],
        True,
    ),
    "chat mastery": (
        "chat",
        "mastery",
        CHAT,
        [
            ("I don't know", "wrong", 0.0, 0),
            ("It makes glucose", "partial", 0.0, 0),  # explained; comes back as its variant
            ("Chlorophyll reflects the green light", "correct", 50.0, 1),
            (
                "Respiration uses oxygen, releases energy and produces carbon dioxide",
                "correct",
                100.0,
                2,
            ),
        ],
        True,
    ),
    "chat engagement": (
        "chat",
        "engagement",
        CHAT,
        [
            ("ok", "wrong", 0.0, 0),
            ("Plants make sugar from light and air", "partial", 50.0, 1),
            ("green", "wrong", 50.0, 1),  # too short to count
            ("The pigment chlorophyll reflects green light", "correct", 100.0, 2),
        ],
        True,
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_whole_session(name: str) -> None:
    """Each turn gets the stated verdict and score; the session ends when all items are done."""
    assessment_type, schema, config, turns, passed = SCENARIOS[name]
    dialogue = Dialogue.of(assessment_type, schema, config)
    opening = await dialogue.open()
    assert opening.startswith("Hi! Let's practise.")
    seen = []
    for answer, *_ in turns:
        assert not dialogue.finished
        evaluation, score, _reply = await dialogue.answer(answer)
        seen.append((answer, evaluation.verdict, score.mastery_score, score.items_done))
    assert seen == turns
    assert dialogue.finished
    final = dialogue.tutor.score(dialogue.turns)
    assert final.passed is passed
    assert final.items_total == len(config[next(iter(config))])
    closing = dialogue.turns[-1].content
    assert f": {percent(final.mastery_score)}." in closing  # as every reader sees it
