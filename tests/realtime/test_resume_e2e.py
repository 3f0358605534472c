"""Replies that outlive sockets: reconnect mid-reply, cancel, shutdown and restart."""

from __future__ import annotations

import asyncio
import dataclasses

from persistence.store import open_store
from realtime.settings import Settings
from tests.assessment.fake_llm import FakeLLM, Script
from tests.realtime.harness import (
    Client,
    Frame,
    Running,
    chat_config,
    create_assessment,
    of_type,
    open_conversation,
    running,
)

OPENING = ["Hello ", "there, ", "student. ", "What does ", "photosynthesis ", "make?"]
FULL = "".join(OPENING)


async def _held_opening(run: Running, llm: FakeLLM) -> tuple[str, asyncio.Event]:
    """A chat conversation whose opening reply is held after three chunks."""
    gate = asyncio.Event()
    llm.will(Script(chunks=OPENING, gate=gate, gate_after=3))
    assessment = await create_assessment(run, "chat", "mastery", chat_config())
    return await open_conversation(run, assessment), gate


async def _streaming_replay(client: Client) -> Frame:
    """Welcome, then the opening replayed mid-stream; returns the replayed message."""
    welcome = await client.recv()
    assert welcome["type"] == "welcome" and welcome["replay"] == 1
    message = await client.recv()
    assert message["type"] == "message" and message["seq"] == 1
    return message


def _contiguous(frames: list[Frame], start: str) -> str:
    """The reply as the deltas extend ``start``, checking each continues exactly there."""
    text = start
    for frame in frames:
        if frame["type"] == "assistant.delta":
            assert frame["offset"] == len(text), "deltas must neither overlap nor leave gaps"
            text += frame["text"]
    return text


async def test_reconnect_mid_reply_gets_the_whole_reply_exactly_once(
    run: Running, llm: FakeLLM
) -> None:
    """A client that drops mid-reply and returns with last_seq holds it all, once."""
    conversation, gate = await _held_opening(run, llm)
    token = run.token("student-1")
    first = await Client.connect(run, conversation, token)
    replayed = await _streaming_replay(first)
    assert replayed["status"] == "streaming"
    await first.close()  # the reply goes on without any socket

    again = await Client.connect(run, conversation, token, last_seq=0)
    message = await _streaming_replay(again)
    assert message["status"] == "streaming" and FULL.startswith(message["content"])
    gate.set()
    live = await again.until(of_type("assistant.end"))
    assert _contiguous(live, message["content"]) == FULL
    assert live[-1] == {
        "type": "assistant.end",
        "message_id": message["id"],
        "status": "complete",
        "length": len(FULL),
    }
    assert not any(f["type"] == "assistant.start" for f in live)  # replayed: no start
    async with open_store(run.settings.database_url, migrate_first=False) as store:
        (row,) = await store.conversations.messages_after(conversation)
    assert (row.content, row.status) == (FULL, "complete")


async def test_a_client_up_to_date_gets_nothing_replayed(run: Running, llm: FakeLLM) -> None:
    """last_seq at (or beyond) the head replays nothing; live events still come."""
    conversation, gate = await _held_opening(run, llm)
    client = await Client.connect(run, conversation, run.token("student-1"), last_seq=5)
    welcome = await client.recv()
    assert welcome["replay"] == 0
    gate.set()
    await client.send({"type": "ping", "nonce": "after"})
    frames = await client.until(of_type("pong"))
    assert frames == [{"type": "pong", "nonce": "after"}]  # seq 1 is held: nothing of it


async def test_cancel_stops_the_reply_in_flight(run: Running, llm: FakeLLM) -> None:
    """cancel ends the reply cancelled with the text so far; a second cancel is refused."""
    conversation, _gate = await _held_opening(run, llm)
    client = await Client.connect(run, conversation, run.token("student-1"))
    message = await _streaming_replay(client)
    await client.send({"type": "cancel", "message_id": message["id"]})
    end = (await client.until(of_type("assistant.end")))[-1]
    assert end["status"] == "cancelled"
    await client.send({"type": "cancel", "message_id": message["id"]})
    error = (await client.until(of_type("error")))[-1]
    assert error == {
        "type": "error",
        "code": "unknown_message",
        "message": f"no reply {message['id']} is in flight",
        "ref": "cancel",
    }
    async with open_store(run.settings.database_url, migrate_first=False) as store:
        (row,) = await store.conversations.messages_after(conversation)
    assert row.status == "cancelled" and FULL.startswith(row.content)
    assert len(row.content) == end["length"]


async def test_a_stopped_server_interrupts_the_reply_and_a_new_one_resumes(
    settings: Settings, llm: FakeLLM
) -> None:
    """Shutdown mid-reply: sockets close 1012, the row is interrupted with its text, and
    after a restart the client resumes and sees it."""
    settings = dataclasses.replace(settings, shutdown_grace=0.2)
    async with running(settings) as run:
        conversation, _gate = await _held_opening(run, llm)
        token = run.token("student-1")
        client = await Client.connect(run, conversation, token)
        message = await _streaming_replay(client)
        stopping = asyncio.create_task(run.stop())
        assert await client.closed() == 1012
        await stopping
        ends = [f for f in client.frames if f["type"] == "assistant.end"]
        assert [e["status"] for e in ends] == ["interrupted"]
    async with running(settings) as restarted:
        again = await Client.connect(restarted, conversation, token)
        resumed = await _streaming_replay(again)
        assert resumed["id"] == message["id"] and resumed["status"] == "interrupted"
        assert resumed["content"] == FULL[: ends[0]["length"]]
