"""Configurations are parsed into specs; a bad one is refused naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from assessment.spec import AssessmentSpec, FillBlankItem, InvalidConfig, LLMChoice, Objective

ITEM = {"id": "i1", "text": "2 + 2 = ___", "answers": ["4"]}


def _spec(
    ai_config: Any, assessment_type: str = "fill_blank", schema: str = "mastery", **extra: Any
) -> AssessmentSpec:
    return AssessmentSpec.from_config(
        assessment_type=assessment_type,
        grading_schema=schema,
        mastery_threshold=extra.pop("threshold", 80),
        ai_config=ai_config,
        **extra,
    )


def test_a_fill_blank_config_parses_with_defaults() -> None:
    """Items become typed values; optional fields take their defaults."""
    spec = _spec({"items": [ITEM | {"hint": "count", "reject": ["5"]}]})
    assert spec.items == (
        FillBlankItem(id="i1", text="2 + 2 = ___", answers=("4",), hint="count", reject=("5",)),
    )
    assert (spec.max_attempts, spec.retry_rounds, spec.min_words, spec.llm) == (2, 1, 3, None)
    assert spec.grade_each_turn is False


def test_chat_key_points_take_strings_or_phrasings() -> None:
    """A key point is a string, or an object with other accepted phrasings."""
    spec = _spec(
        {
            "objectives": [
                {
                    "id": "o1",
                    "question": "Why?",
                    "key_points": ["a reason", {"text": "cause", "accept": ["because"]}],
                }
            ],
            "llm": {"provider": "local", "model": "m", "temperature": 0.5},
        },
        "chat",
    )
    (objective,) = spec.items
    assert isinstance(objective, Objective)
    assert [p.phrasings for p in objective.key_points] == [("a reason",), ("cause", "because")]
    assert spec.llm == LLMChoice(provider="local", model="m", temperature=0.5)


def test_approved_generated_items_follow_the_configured_ones() -> None:
    """Extra items are appended after the configured items."""
    extra = [{"id": "gen-1", "text": "___ is blue", "answers": ["sky"]}]
    spec = _spec({"items": [ITEM]}, extra_items=extra)
    assert [item.id for item in spec.items] == ["i1", "gen-1"]


@pytest.mark.parametrize(
    ("assessment_type", "schema", "ai_config", "message"),
    [
        ("essay", "mastery", {"items": [ITEM]}, "assessment_type: must be one of"),
        ("fill_blank", "curve", {"items": [ITEM]}, "grading_schema: must be one of"),
        ("fill_blank", "mastery", [], "ai_config: must be an object"),
        ("fill_blank", "mastery", {}, "ai_config.items: must be a list"),
        ("fill_blank", "mastery", {"items": []}, "ai_config.items: must not be empty"),
        ("fill_blank", "mastery", {"items": ["x"]}, r"ai_config.items\[0\]: must be an object"),
        (
            "fill_blank",
            "mastery",
            {"items": [ITEM | {"text": "no blank"}]},
            r"ai_config.items\[0\].text: must hold the blank as ___",
        ),
        (
            "fill_blank",
            "mastery",
            {"items": [ITEM | {"answers": []}]},
            r"ai_config.items\[0\].answers: must not be empty",
        ),
        (
            "fill_blank",
            "mastery",
            {"items": [ITEM | {"answers": [3]}]},
            r"ai_config.items\[0\].answers: must be a list of non-empty strings",
        ),
        ("fill_blank", "mastery", {"items": [ITEM, ITEM]}, "ai_config.items: ids must be unique"),
        (
            "fill_blank",
            "mastery",
            {"items": [ITEM], "max_attempts": 0},
            "ai_config.max_attempts: must be a whole number of at least 1",
        ),
        (
            "fill_blank",
            "mastery",
            {"items": [ITEM], "max_attempts": True},
            "ai_config.max_attempts: must be a whole number",
        ),
        (
            "flashcards",
            "mastery",
            {"cards": [{"id": "c", "front": "f"}]},
            r"ai_config.cards\[0\].back: must be a non-empty string",
        ),
        (
            "chat",
            "mastery",
            {"objectives": [{"id": "o", "question": "q", "key_points": []}]},
            r"ai_config.objectives\[0\].key_points: must not be empty",
        ),
        (
            "chat",
            "mastery",
            {"objectives": [{"id": "o", "question": "q", "key_points": [""]}]},
            r"ai_config.objectives\[0\].key_points\[0\]: must be an object",
        ),
        (
            "fill_blank",
            "mastery",
            {"items": [ITEM], "llm": {"provider": "local", "model": "m"}},
            "ai_config.llm: only chat assessments speak through an LLM",
        ),
        (
            "chat",
            "mastery",
            {
                "objectives": [{"id": "o", "question": "q", "key_points": ["k"]}],
                "llm": {"provider": "local"},
            },
            "ai_config.llm.model: must be a non-empty string",
        ),
        (
            "chat",
            "mastery",
            {
                "objectives": [{"id": "o", "question": "q", "key_points": ["k"]}],
                "llm": {"base_url": "http://attacker.example/v1", "model": "m"},
            },
            "ai_config.llm.base_url: not a field of an assessment; endpoints, keys",
        ),
        (
            "chat",
            "mastery",
            {
                "objectives": [{"id": "o", "question": "q", "key_points": ["k"]}],
                "llm": {"provider": "p", "model": "m", "api_key_env": "TUTORCHAT_SECRET"},
            },
            "ai_config.llm.api_key_env: not a field of an assessment",
        ),
        (
            "chat",
            "mastery",
            {
                "objectives": [{"id": "o", "question": "q", "key_points": ["k"]}],
                "llm": {"provider": "p", "model": "m", "temperature": 3},
            },
            "ai_config.llm.temperature: must be a number",
        ),
        (
            "fill_blank",
            "mastery",
            {"items": [ITEM], "grade_each_turn": "yes"},
            "ai_config.grade_each_turn: must be true or false",
        ),
    ],
)
def test_bad_configs_are_refused_naming_the_field(
    assessment_type: str, schema: str, ai_config: Any, message: str
) -> None:
    """Each mistake raises InvalidConfig whose message starts with the field's path."""
    with pytest.raises(InvalidConfig, match=message):
        _spec(ai_config, assessment_type, schema)


def test_the_threshold_must_be_a_percentage() -> None:
    """mastery_threshold is 0-100."""
    with pytest.raises(InvalidConfig, match="mastery_threshold: must be a number from 0 to 100"):
        _spec({"items": [ITEM]}, threshold=120)
