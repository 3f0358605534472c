"""Session state is derived from stored turns alone, so a restart changes nothing."""

from __future__ import annotations

import pytest

from assessment import phrasing
from assessment.session import Session, Turn
from assessment.substance import is_substantive
from assessment.tutor import AssessmentFinished, Tutor
from tests.assessment.dialogue import Dialogue
from tests.assessment.test_scenarios import FILL_BLANK, FLASHCARDS


async def test_a_fresh_tutor_continues_from_the_stored_turns() -> None:
    """A new tutor given the transcript (a restarted server) is exactly where the old was."""
    before = Dialogue.of("fill_blank", "mastery", FILL_BLANK)
    await before.open(plan=["i2", "i1", "i3"])
    await before.answer("Atlantic")
    await before.answer("Indian")  # i2 explained, comes back later as its variant
    restarted = Dialogue(Tutor(before.tutor.spec))
    restarted.turns = list(before.turns)
    session = restarted.tutor.session(restarted.turns)
    assert session.plan == ("i2", "i1", "i3")
    assert session.current == "i1"
    assert list(session.queue) == ["i3", "i2"]
    evaluation, score, reply = await restarted.answer("Paris")
    assert (evaluation.item_id, evaluation.verdict, score.mastery_score) == ("i1", "correct", 33.33)
    assert "2 + 2" in reply


async def test_the_opening_records_the_plan_and_the_first_item() -> None:
    """The opening reply's metadata holds the item order and what it asks."""
    dialogue = Dialogue.of("flashcards", "mastery", FLASHCARDS)
    await dialogue.open(plan=["c2", "c3", "c1"])
    opening = dialogue.turns[0]
    assert opening.metadata == {"kind": "opening", "plan": ["c2", "c3", "c1"], "asks": "c2"}
    assert "NaCl" in opening.content


async def test_a_plan_naming_removed_items_still_covers_every_item() -> None:
    """Items dropped from the config are skipped; items added since go last."""
    dialogue = Dialogue.of("fill_blank", "mastery", FILL_BLANK)
    session = Session(dialogue.tutor.spec, plan=["gone", "i2"])
    assert session.plan == ("i2", "i1", "i3")


async def test_feedback_metadata_names_the_outcome() -> None:
    """Each reply to an answer records the item, what happened to it, and what comes next."""
    dialogue = Dialogue.of("fill_blank", "percentage", FILL_BLANK)
    await dialogue.open()
    await dialogue.answer("Lyon")
    assert dialogue.turns[-1].metadata == {
        "kind": "feedback",
        "outcome": "retry",
        "item_id": "i1",
        "asks": "i1",
    }
    assert "Hint:" in dialogue.turns[-1].content
    assert "Paris" not in dialogue.turns[-1].content  # not before the attempts are used


async def test_nothing_is_graded_after_the_last_item() -> None:
    """Once every item is done, evaluate refuses and the reply is the closing."""
    dialogue = Dialogue.of("fill_blank", "percentage", {"items": FILL_BLANK["items"][:1]})
    await dialogue.open()
    await dialogue.answer("Paris")
    with pytest.raises(AssessmentFinished):
        await dialogue.tutor.evaluate(dialogue.turns, "again")
    ungraded = [*dialogue.turns, Turn(role="user", content="hello?")]
    reply = dialogue.tutor.reply(ungraded)
    text = "".join([chunk async for chunk in reply.chunks])
    assert "Your score: 100%" in text and "Correct" not in text


async def test_the_reply_stream_concatenates_to_its_text() -> None:
    """The built-in reply streams word by word, and the chunks join to the full text."""
    dialogue = Dialogue.of("fill_blank", "mastery", FILL_BLANK)
    reply = dialogue.tutor.reply([])
    chunks = [chunk async for chunk in reply.chunks]
    assert len(chunks) > 5
    assert "".join(chunks).startswith("Hi! Let's practise. There are 3 sentences")


async def test_a_paced_reply_streams_the_same_words() -> None:
    """At a reading pace (the demo's) the built-in reply is the same words, one a chunk."""
    dialogue = Dialogue.of("fill_blank", "mastery", FILL_BLANK)
    paced = Tutor(dialogue.tutor.spec, pace=1000.0)
    at_once = [chunk async for chunk in dialogue.tutor.reply([]).chunks]
    assert [chunk async for chunk in paced.reply([]).chunks] == at_once


def test_one_item_is_greeted_in_the_singular() -> None:
    dialogue = Dialogue.of("flashcards", "mastery", {"cards": [FLASHCARDS["cards"][0]]})
    greeting = phrasing.greeting(dialogue.tutor.new_session())
    assert greeting == "Hi! Let's practise. There is 1 card."


@pytest.mark.parametrize(
    ("answer", "earlier", "free_text", "substantive"),
    [
        ("Paris", [], False, True),
        ("4", [], False, True),
        ("", [], False, False),
        ("...", [], False, False),
        ("I don't know", [], False, False),
        ("IDK!", [], False, False),
        ("paris", ["paris"], False, False),
        ("two words", [], True, False),
        ("three whole words", [], True, True),
    ],
)
def test_substantive_turns(
    answer: str, earlier: list[str], free_text: bool, substantive: bool
) -> None:
    """Empty, stock, repeated and (for chat) too-short turns are not real attempts."""
    assert is_substantive(answer, earlier, free_text=free_text, min_words=3) is substantive


@pytest.mark.parametrize("schema", ["percentage", "mastery", "engagement"])
async def test_running_totals_equal_the_sums_over_the_records(schema: str) -> None:
    """The totals kept as turns are graded agree with the item records after every turn."""
    dialogue = Dialogue.of("fill_blank", schema, FILL_BLANK)
    await dialogue.open()
    for answer in ["5", "Paris", "", "Atlantic", "Pacific", "6", "7", "4"]:
        try:
            await dialogue.answer(answer)
        except AssessmentFinished:
            break
        session = dialogue.tutor.session(dialogue.turns)
        records = session.records.values()
        totals = session.totals
        assert totals.first_credit == sum(r.first_credit or 0.0 for r in records)
        assert totals.mastered == sum(r.mastered for r in records)
        assert totals.engaged == sum(r.engaged for r in records)
        assert totals.done == sum(r.done for r in records)
    assert session.totals.done > 0 and session.totals.engaged > 0
