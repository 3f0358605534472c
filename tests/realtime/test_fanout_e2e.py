"""Several sockets on one conversation: the same events in the same order."""

from __future__ import annotations

from tests.realtime.harness import (
    Client,
    Frame,
    Running,
    create_assessment,
    of_type,
    open_conversation,
    wait_opening,
)
from tests.realtime.test_session_e2e import FILL_BLANK


async def _joined(run: Running, conversation: str, token: str) -> Client:
    client = await Client.connect(run, conversation, token, last_seq=1)
    await client.until(of_type("welcome"))
    return client


def _as_seen_by_others(frames: list[Frame]) -> list[tuple[object, ...]]:
    """Events comparable across sockets: an ack stands for the message the others got."""
    seen: list[tuple[object, ...]] = []
    for frame in frames:
        if frame["type"] == "ack":
            seen.append(("turn", frame["seq"]))
        elif frame["type"] == "message":
            seen.append(("turn", frame["seq"]))
        elif frame["type"] not in ("pong",):
            seen.append(tuple(sorted((k, str(v)) for k, v in frame.items())))
    return seen


async def test_two_tabs_and_an_observer_see_the_same_events(run: Running) -> None:
    """The sender gets acks, the others messages, at the same places; all else is equal."""
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    conversation = await open_conversation(run, assessment)
    await wait_opening(run, conversation)
    student = run.token("student-1")
    tab_one = await _joined(run, conversation, student)
    tab_two = await _joined(run, conversation, student)
    observer = await _joined(run, conversation, run.token("teacher", "course-1", "Instructor"))

    for n, answer in enumerate(["Paris", "5", "4"]):
        await tab_one.send({"type": "send", "client_msg_id": f"c{n}", "content": answer})
    for client in (tab_one, tab_two, observer):
        await client.until(of_type("completed"))
    assert _as_seen_by_others(tab_one.frames) == _as_seen_by_others(tab_two.frames)
    assert _as_seen_by_others(tab_two.frames) == _as_seen_by_others(observer.frames)
    assert [f["type"] for f in tab_one.frames].count("ack") == 3
    assert [f["type"] for f in tab_two.frames].count("message") == 3
    assert not any(f["type"] == "message" for f in tab_one.frames[1:])


async def test_an_observer_may_watch_but_not_act(run: Running) -> None:
    """An instructor of the course gets not_allowed for send, cancel and complete."""
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    conversation = await open_conversation(run, assessment)
    observer = await _joined(run, conversation, run.token("teacher", "course-1", "Instructor"))
    for frame, ref in [
        ({"type": "send", "client_msg_id": "x1", "content": "Paris"}, "x1"),
        ({"type": "cancel", "message_id": "m"}, "cancel"),
        ({"type": "complete"}, "complete"),
    ]:
        await observer.send(frame)
        error = (await observer.until(of_type("error")))[-1]
        assert (error["code"], error["ref"]) == ("not_allowed", ref)


async def test_a_repeated_send_gets_the_original_ack_and_nothing_else(run: Running) -> None:
    """The repeat is acked as a duplicate to its sender only; one turn is stored."""
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    conversation = await open_conversation(run, assessment)
    await wait_opening(run, conversation)
    student = run.token("student-1")
    sender = await _joined(run, conversation, student)
    other = await _joined(run, conversation, student)
    await sender.send({"type": "send", "client_msg_id": "same", "content": "Lyon"})
    first = (await sender.until(of_type("ack")))[-1]
    await sender.until(of_type("assistant.end"))
    await sender.send({"type": "send", "client_msg_id": "same", "content": "Paris"})
    again = (await sender.until(of_type("ack")))[-1]
    assert again == first | {"duplicate": True}
    await other.until(of_type("assistant.end"))
    await sender.send({"type": "ping", "nonce": 1})
    await other.send({"type": "ping", "nonce": 2})
    await sender.until(of_type("pong"))
    later = await other.until(of_type("pong"))
    assert [f["type"] for f in later] == ["pong"]  # the repeat reached no one else
    assert [f["type"] for f in other.frames].count("message") == 1


async def test_complete_scores_the_assessment_as_it_stands(run: Running) -> None:
    """complete gets no reply: completed follows, and later sends are refused."""
    assessment = await create_assessment(run, "fill_blank", "percentage", FILL_BLANK)
    conversation = await open_conversation(run, assessment)
    await wait_opening(run, conversation)
    client = await _joined(run, conversation, run.token("student-1"))
    await client.send({"type": "send", "client_msg_id": "c1", "content": "Paris"})
    await client.until(of_type("assistant.end"))
    await client.send({"type": "complete"})
    done = (await client.until(of_type("completed")))[-1]
    assert done == {
        "type": "completed",
        "status": "completed",
        "mastery_score": 50.0,
        "passed": False,
    }
    await client.send({"type": "send", "client_msg_id": "c2", "content": "4"})
    error = (await client.until(of_type("error")))[-1]
    assert (error["code"], error["ref"]) == ("conversation_closed", "c2")
    await client.send({"type": "send", "client_msg_id": "c1", "content": "Paris"})
    repeat = (await client.until(of_type("ack")))[-1]
    assert repeat["duplicate"] is True  # a repeat is answered whatever the status
    await client.send({"type": "complete"})
    error = (await client.until(of_type("error")))[-1]
    assert (error["code"], error["ref"]) == ("conversation_closed", "complete")
