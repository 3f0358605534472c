"""A student never earns credit by repeating what the tutor revealed; hints hold no
answers; variants are asked once an item's answer is out."""

from __future__ import annotations

from typing import Any

import pytest

from assessment.spec import AssessmentSpec, InvalidConfig
from tests.assessment.dialogue import Dialogue

ONE_BLANK = {
    "items": [{"id": "i1", "text": "The largest ocean is the ___.", "answers": ["Pacific"]}]
}
WITH_VARIANT = {
    "items": [
        {
            "id": "i1",
            "text": "The largest ocean is the ___.",
            "answers": ["Pacific"],
            "variants": [{"text": "The largest continent is ___.", "answers": ["Asia"]}],
        }
    ]
}


async def test_repeating_a_revealed_answer_does_not_pass_under_mastery() -> None:
    """Two misses give the answer away; with no variant the item is done, not mastered,
    and the student has no turn left to type it back in."""
    dialogue = Dialogue.of("fill_blank", "mastery", ONE_BLANK)
    await dialogue.open()
    await dialogue.answer("Atlantic")
    _, score, reply = await dialogue.answer("Indian")
    assert "**Pacific**" in reply
    assert dialogue.finished and not score.passed and score.mastery_score == 0


async def test_a_revealed_item_comes_back_as_its_variant() -> None:
    """The item returns as its variant: the revealed answer is wrong there, the variant's
    own answer masters it."""
    dialogue = Dialogue.of("fill_blank", "mastery", WITH_VARIANT)
    await dialogue.open()
    await dialogue.answer("Atlantic")
    _, _, reply = await dialogue.answer("Indian")
    assert "largest continent" in reply
    evaluation, score, _ = await dialogue.answer("Pacific")
    assert evaluation.verdict == "wrong" and score.mastery_score == 0
    evaluation, score, _ = await dialogue.answer("Asia")
    assert evaluation.verdict == "correct" and score.passed


async def test_under_percentage_only_the_first_attempt_counts() -> None:
    """Right at the second try, after a hint, earns nothing."""
    dialogue = Dialogue.of("fill_blank", "percentage", ONE_BLANK)
    await dialogue.open()
    await dialogue.answer("Atlantic")
    evaluation, score, _ = await dialogue.answer("Pacific")
    assert evaluation.verdict == "correct" and score.mastery_score == 0


@pytest.mark.parametrize("answer", ["C", "Fe", "NaK"])
async def test_the_built_in_hint_never_spells_out_a_short_answer(answer: str) -> None:
    """A hint of first letter and length would give a one- to three-letter answer away."""
    config = {"items": [{"id": "i1", "text": "Symbol: ___", "answers": [answer]}]}
    dialogue = Dialogue.of("fill_blank", "mastery", config)
    await dialogue.open()
    _, _, reply = await dialogue.answer("Xx")
    hint = reply.split("Try again")[0]
    assert "Hint:" in hint and answer[0] not in hint.removeprefix("Not quite. Hint:")


@pytest.mark.parametrize(
    ("kind", "ai_config", "message"),
    [
        (
            "fill_blank",
            {"items": [{"id": "i1", "text": "___ is red", "answers": ["Mars"],
                        "hint": "Think of Mars, the fourth planet"}]},
            "ai_config.items[0].hint: must not hold the answer ('Mars')",
        ),
        (
            "chat",
            {"objectives": [{"id": "o1", "question": "Why green?",
                             "key_points": ["chlorophyll reflects green light"],
                             "hints": ["Chlorophyll reflects green light."]}]},
            "ai_config.objectives[0].hints[0]: must not hold the answer"
            " ('chlorophyll reflects green light')",
        ),
        (
            "fill_blank",
            {"items": [{"id": "i1", "text": "___", "answers": ["a"],
                        "variants": [{"id": "x", "text": "___", "answers": ["b"]}]}]},
            "ai_config.items[0].variants[0]: a variant has no id or variants of its own",
        ),
        (
            "fill_blank",
            {"items": [{"id": "i1", "text": "___", "answers": ["a"],
                        "variants": [{"text": "no blank", "answers": ["b"]}]}]},
            "ai_config.items[0].variants[0].text: must hold the blank as ___",
        ),
        (
            "flashcards",
            {"cards": [{"id": "c1", "front": "CO", "back": "carbon monoxide",
                        "case_sensitive": "yes"}]},
            "ai_config.cards[0].case_sensitive: must be true or false",
        ),
    ],
)  # fmt: skip
def test_configurations_that_would_leak_or_are_malformed_are_refused(
    kind: str, ai_config: dict[str, Any], message: str
) -> None:
    """Hints holding an answer, and malformed variants or flags, name their field."""
    with pytest.raises(InvalidConfig) as raised:
        AssessmentSpec.from_config(
            assessment_type=kind,
            grading_schema="mastery",
            mastery_threshold=80,
            ai_config=ai_config,
        )
    assert str(raised.value) == message
