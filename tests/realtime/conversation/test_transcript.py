"""The messages a live conversation holds in memory."""

from __future__ import annotations

from assessment.prompts import HISTORY_TURNS
from realtime.conversation.transcript import Transcript, further_on, turns
from tests.realtime.conversation.messages import message, reply


def test_a_new_conversation_has_no_head_and_is_not_opened() -> None:
    """No message: head 0, not opened, nothing missing."""
    transcript = Transcript(())
    assert (transcript.head, transcript.opened, transcript.complete) == (0, False, True)


def test_the_opening_plan_is_not_held() -> None:
    """The plan in the opening's metadata stays in the database; the rest is kept."""
    opening = message(1, "assistant", metadata={"plan": ["c2", "c1"], "in_reply_to": None})
    transcript = Transcript([opening])
    assert transcript.messages[0].metadata == {"in_reply_to": None}
    assert transcript.opened


def test_unanswered_turns_are_those_no_reply_names() -> None:
    """A reply answers the turn its metadata names; the others are left to answer."""
    transcript = Transcript(
        [reply(1, None), message(2, content="a"), reply(3, 2), message(4), message(5)]
    )
    assert [m.seq for m in transcript.unanswered()] == [4, 5]


def test_a_missing_seq_below_the_head_shows() -> None:
    """Seqs run without gaps: fewer messages than the head means some came elsewhere."""
    assert not Transcript([reply(1, None), message(3)]).complete
    assert Transcript([reply(1, None), message(2)]).complete


def test_replace_changes_the_message_in_place() -> None:
    """Replace keeps the order and changes only the fields named."""
    transcript = Transcript([reply(1, None), reply(2, None, status="streaming")])
    transcript.replace("m2", content="done", status="complete")
    assert [(m.seq, m.content, m.status) for m in transcript.messages] == [
        (1, "", "complete"),
        (2, "done", "complete"),
    ]


def test_recent_leaves_out_later_turns_and_stops_at_the_history_a_tutor_reads() -> None:
    """The tutor answering turn 4 does not see turn 6, and sees the last HISTORY_TURNS."""
    transcript = Transcript([reply(1, None), message(2), reply(3, 2), message(4), message(6)])
    assert [m.seq for m in transcript.recent(until=4)] == [1, 2, 3, 4]
    long = Transcript([message(seq) for seq in range(1, 41)])
    assert [m.seq for m in long.recent(until=40)] == list(range(41 - HISTORY_TURNS, 41))


def test_streaming_besides_names_replies_run_elsewhere() -> None:
    """A reply held as streaming that is not this process's is another's."""
    transcript = Transcript([reply(1, None, status="streaming")])
    assert transcript.streaming_besides(None)
    assert not transcript.streaming_besides("m1")


def test_the_copy_further_on_wins() -> None:
    """An ended reply is ahead of a streaming one; of two streaming, the longer text."""
    streaming, longer = (
        reply(2, 1, "ab", status="streaming"),
        reply(2, 1, "abc", status="streaming"),
    )
    ended = reply(2, 1, "abc")
    assert further_on(ended, streaming) is ended
    assert further_on(streaming, ended) is ended
    assert further_on(streaming, longer) is longer
    assert further_on(longer, streaming) is longer


def test_turns_carry_role_content_and_metadata() -> None:
    """What the tutor reads of each message."""
    (turn,) = turns([message(2, content="4", metadata={"evaluation": {}})])
    assert (turn.role, turn.content, turn.metadata) == ("user", "4", {"evaluation": {}})
