"""Content generated from instructor material: built-in, by LLM, cached, approved."""

from __future__ import annotations

from typing import Any

import pytest

from assessment.generation import approved_items, builtin_cards, builtin_cloze, generate
from assessment.llm import ChatClient, LLMSettings
from assessment.spec import AssessmentSpec
from persistence.records import AssessmentConfig
from persistence.store import Store
from tests.assessment.fake_llm import FakeLLM, Script

SOURCE = (
    "Photosynthesis is the process by which plants turn light into chemical energy. "
    "It takes place in the **chloroplasts** of leaf cells. "
    "Chlorophyll is a green pigment that absorbs light. "
    "Respiration: the release of energy from glucose. "
    "Plants are green."
)


def test_builtin_cloze_blanks_a_key_term_per_sentence() -> None:
    """Bold terms win, then long content words; the result is a valid fill-blank config."""
    items = builtin_cloze(SOURCE)
    assert [(item["text"], item["answers"]) for item in items] == [
        ("___ is the process by which plants turn light into chemical energy.", ["Photosynthesis"]),
        ("It takes place in the ___ of leaf cells.", ["chloroplasts"]),
        ("___ is a green pigment that absorbs light.", ["Chlorophyll"]),
        ("___: the release of energy from glucose.", ["Respiration"]),
    ]
    AssessmentSpec.from_config(
        assessment_type="fill_blank",
        grading_schema="mastery",
        mastery_threshold=80,
        ai_config={"items": items},
    )


def test_instructor_terms_come_first() -> None:
    """Terms the instructor names are the ones blanked."""
    (first, *_) = builtin_cloze(SOURCE, count=1, terms=["plants"])
    assert first["text"].startswith("Photosynthesis is the process by which ___ turn light")


def test_builtin_cards_turn_definitions_around() -> None:
    """Each definition becomes a card: the definition in front, the term on the back."""
    cards = builtin_cards(SOURCE)
    assert [(card["front"], card["back"]) for card in cards] == [
        ("Process by which plants turn light into chemical energy", "Photosynthesis"),
        ("Green pigment that absorbs light", "Chlorophyll"),
        ("Release of energy from glucose", "Respiration"),
    ]


async def test_generation_is_cached_by_source_and_parameters(
    store: Store, assessment: AssessmentConfig
) -> None:
    """The same request returns the cached row; other parameters generate anew."""
    first = await generate(store.content, assessment.id, SOURCE, "fill_blank", count=2)
    again = await generate(store.content, assessment.id, SOURCE, "fill_blank", count=2)
    other = await generate(store.content, assessment.id, SOURCE, "fill_blank", count=3)
    assert first == again and other != first
    assert first.content["generator"] == "builtin" and len(first.content["items"]) == 2
    assert len(await store.content.list(assessment.id)) == 2


async def test_only_approved_content_reaches_students(
    store: Store, assessment: AssessmentConfig
) -> None:
    """Unapproved content adds nothing to the assessment; approved content adds its items."""
    generated = await generate(store.content, assessment.id, SOURCE, "fill_blank", count=2)
    cards = await generate(store.content, assessment.id, SOURCE, "flashcards")
    listed = await store.content.list(assessment.id)
    assert approved_items(listed, "fill_blank") == []
    await store.content.set_approved(assessment.id, generated.content_hash)
    await store.content.set_approved(assessment.id, cards.content_hash)
    listed = await store.content.list(assessment.id, approved_only=True)
    assert approved_items(listed, "fill_blank") == generated.content["items"]
    assert approved_items(listed, "flashcards") == cards.content["cards"]


@pytest.mark.parametrize(
    ("reply", "generator"),
    [
        ('{"items": [{"text": "___ absorbs light.", "answers": ["Chlorophyll"]}]}', "llm"),
        ('{"items": [{"text": "no blank here", "answers": ["x"]}]}', "builtin"),
        ("not json", "builtin"),
    ],
)
async def test_llm_generation_is_checked_and_falls_back(
    store: Store, assessment: AssessmentConfig, llm: FakeLLM, reply: str, generator: str
) -> None:
    """LLM items that make a valid config are kept; anything else uses the built-in."""
    llm.will(Script(json=reply))
    client = ChatClient(LLMSettings(base_url=llm.base_url, model="gen-1"))
    content = await generate(store.content, assessment.id, SOURCE, "fill_blank", llm=client)
    await client.aclose()
    assert content.content["generator"] == generator
    assert llm.requests[0]["response_format"] == {"type": "json_object"}


def test_a_sentence_repeated_makes_one_item() -> None:
    """The same sentence twice in a source gives one item (ids are by text)."""
    source = "The mitochondria produces energy for cells. " * 2
    items = builtin_cloze(source, 10, ["mitochondria"])
    assert len(items) == 1


def test_approved_items_skip_ids_already_taken() -> None:
    """Two contents with the same item, or an item with a configured id: each id once."""

    class Content:
        def __init__(self, items: list[dict[str, Any]]) -> None:
            self.approved = True
            self.content_type = "fill_blank"
            self.content = {"items": items}

    same: dict[str, Any] = {"id": "gen-1", "text": "a ___", "answers": ["b"]}
    mine: dict[str, Any] = {"id": "i1", "text": "c ___", "answers": ["d"]}
    contents = [Content([same]), Content([same, mine])]
    assert approved_items(contents, "fill_blank", taken={"i1"}) == [same]  # type: ignore[arg-type]


def test_answers_keep_no_leading_article_and_blanks_are_terms() -> None:
    """ "The nucleus is ..." asks for "nucleus"; an everyday word is never the blank."""
    source = (
        "The nucleus is the part of the cell that holds its genetic material. "
        "**The ribosome** builds proteins from different amino acids. "
        "Different materials conduct electricity differently."
    )
    assert [c["back"] for c in builtin_cards(source)] == ["nucleus"]
    assert [(item["text"], item["answers"]) for item in builtin_cloze(source)] == [
        ("The ___ is the part of the cell that holds its genetic material.", ["nucleus"]),
        ("The ___ builds proteins from different amino acids.", ["ribosome"]),
        ("Different materials conduct ___ differently.", ["electricity"]),
    ]
