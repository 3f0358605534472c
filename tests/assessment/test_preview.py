"""The instructor's preview: each sample answer's verdict and the rule that decided."""

from __future__ import annotations

from typing import Any

import pytest

from assessment.preview import PreviewVerdict, UnknownItem, preview
from assessment.spec import AssessmentSpec


def _spec(assessment_type: str, ai_config: dict[str, Any]) -> AssessmentSpec:
    return AssessmentSpec.from_config(
        assessment_type=assessment_type,
        grading_schema="mastery",
        mastery_threshold=80,
        ai_config=ai_config,
    )


SPEC = _spec(
    "fill_blank",
    {
        "items": [
            {"id": "co", "text": "Carbon monoxide is ___.", "answers": ["CO"]},
            {
                "id": "au",
                "text": "The largest country in Oceania is ___.",
                "answers": ["Australia"],
            },
        ]
    },
)
CHAT = _spec(
    "chat",
    {
        "objectives": [
            {
                "id": "o1",
                "question": "How do plants make food?",
                "key_points": ["plants need sunlight", "glucose is produced"],
            }
        ]
    },
)


@pytest.mark.parametrize(
    ("item", "answer", "verdict", "rule"),
    [
        ("co", "CO", "correct", "exact"),
        ("co", "Co", "wrong", "case"),
        ("au", "I think it's Australia", "correct", "in_sentence"),
        ("au", "Australai", "correct", "typo"),
        ("au", "Austria", "wrong", "no_match"),
        ("au", "not Australia", "wrong", "negated"),
        ("au", "", "wrong", "empty"),
    ],
)
def test_each_verdict_names_its_rule(item: str, answer: str, verdict: str, rule: str) -> None:
    """The preview says what a student's turn would get, and why."""
    (result,) = preview(SPEC, item, [answer])
    assert (result.verdict, result.rule) == (verdict, rule)
    assert result.why


def test_a_chat_preview_lists_stated_and_denied_points() -> None:
    """A denied key point is named; a stated one is covered."""
    (result,) = preview(CHAT, "o1", ["Plants do not need sunlight; they make glucose."])
    assert result == PreviewVerdict(
        answer="Plants do not need sunlight; they make glucose.",
        verdict="partial",
        rule="partial",
        why="states 1 of 2 key points; denies 'plants need sunlight'",
        covered=(1,),
        denied=(0,),
    )


def test_an_unknown_item_is_refused() -> None:
    """No item of that id: UnknownItem."""
    with pytest.raises(UnknownItem):
        preview(SPEC, "nope", ["x"])
