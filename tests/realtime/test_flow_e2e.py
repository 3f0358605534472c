"""Flow control: slow consumers, heartbeats, turns during a reply, idle conversations."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from datetime import timedelta

from persistence.store import open_store
from realtime.hub import Hub
from realtime.server import _unwrap
from realtime.settings import Settings
from tests.assessment.fake_llm import FakeLLM, Script
from tests.realtime.harness import (
    Client,
    Running,
    chat_config,
    create_assessment,
    of_type,
    open_conversation,
    reply_texts,
    running,
)
from tests.realtime.test_session_e2e import FILL_BLANK


def _hub(run: Running) -> Hub:
    hub: Hub = _unwrap(run.server.config.loaded_app).state.hub  # type: ignore[attr-defined]
    return hub


async def test_a_slow_consumer_is_closed_and_resumes_with_nothing_lost(
    settings: Settings,
    llm: FakeLLM,
) -> None:
    """A client that stops reading is closed 4408; the others are not held up; on its
    return the replay gives it everything."""
    big = ["x" * 32_768 for _ in range(320)]  # 10 MiB: more than any socket buffers
    # Paced chunks make no bursts, so a short coalescing window keeps the test quick.
    settings = dataclasses.replace(settings, outbox_bytes=256 * 1024, coalesce_seconds=0.001)
    async with running(settings) as run:
        pace = asyncio.Semaphore(0)
        llm.will(Script(chunks=big, pace=pace))
        assessment = await create_assessment(run, "chat", "mastery", chat_config())
        conversation = await open_conversation(run, assessment)
        token = run.token("student-1")
        reader = await Client.connect(run, conversation, token, max_size=None)
        # A small receive buffer, set before connecting: shrinking it afterwards would
        # leave the sender in zero-window probing, with seconds between probes.
        tiny = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tiny.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        tiny.connect(("127.0.0.1", int(run.base_url.rsplit(":", 1)[1])))
        slow = await Client.connect(run, conversation, token, sock=tiny, max_queue=1, max_size=None)
        await reader.until(of_type("welcome"))
        # One chunk at a time, each released once the reader holds the one before:
        # the reader keeps up, the slow client falls further behind with each.
        held = 0
        closes = _hub(run).metrics.slow_consumer_closes
        slow_closed: asyncio.Task[int] | None = None
        while held < len("".join(big)):
            if slow_closed is None and closes._value.get():
                # Closed for falling behind: now it reads, and finds 4408 after its backlog.
                slow_closed = asyncio.create_task(slow.closed())
            frame = await reader.recv()
            if frame["type"] == "message":
                held = len(frame["content"])
            elif frame["type"] == "assistant.delta":
                held = frame["offset"] + len(frame["text"])
            else:
                continue
            pace.release()
        await reader.until(of_type("assistant.end"))  # the reader was not held up
        assert slow_closed is not None, "the slow client was never closed"
        assert await slow_closed == 4408
        again = await Client.connect(run, conversation, token, max_size=None)
        await again.until(of_type("welcome"))
        (message,) = [await again.recv()]
        assert message["status"] == "complete" and message["content"] == "".join(big)
        metrics = _hub(run).metrics.render().decode()
        assert "tutorchat_slow_consumer_closes_total" in metrics


async def test_heartbeat_closes_a_silent_client_and_keeps_an_answering_one(
    settings: Settings,
) -> None:
    """Pings with random nonces come every interval; no pong in time closes 4408."""
    settings = dataclasses.replace(settings, heartbeat_interval=0.1, heartbeat_timeout=0.2)
    async with running(settings) as run:
        assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
        conversation = await open_conversation(run, assessment)
        token = run.token("student-1")
        silent = await Client.connect(run, conversation, token)
        answering = await Client.connect(run, conversation, token)
        nonces = []
        for _ in range(3):
            ping = (await answering.until(of_type("ping")))[-1]
            nonces.append(ping["nonce"])
            await answering.send({"type": "pong", "nonce": ping["nonce"]})
        assert await silent.closed() == 4408
        # Unpredictable: 64 random bits each, not a counter a client could answer unread.
        assert len(set(nonces)) == 3 and all(len(bytes.fromhex(n)) == 8 for n in nonces)
        ping = (await answering.until(of_type("ping")))[-1]
        await answering.send({"type": "pong", "nonce": ping["nonce"]})
        await answering.send({"type": "ping", "nonce": "still-here"})
        await answering.until(of_type("pong", nonce="still-here"))


async def test_turns_sent_during_a_reply_are_acked_at_once_and_answered_in_order(
    run: Running,
    llm: FakeLLM,
) -> None:
    """Two turns sent while the opening streams are acked before it ends, then each
    gets exactly one reply, in their order."""
    gate = asyncio.Event()
    llm.will(
        Script(chunks=["Hi. ", "First question?"], gate=gate, gate_after=1),
        Script(json='{"covered": []}'),
        Script(chunks=["Not yet."]),
        Script(json='{"covered": [0]}'),
        Script(chunks=["Well done."]),
    )
    assessment = await create_assessment(run, "chat", "mastery", chat_config())
    conversation = await open_conversation(run, assessment)
    client = await Client.connect(run, conversation, run.token("student-1"))
    await client.until(of_type("welcome"))
    for n, answer in enumerate(["Water and soil", "It produces glucose from light"]):
        await client.send({"type": "send", "client_msg_id": f"t{n}", "content": answer})
        await client.until(of_type("ack"))
    assert not any(f["type"] == "assistant.end" for f in client.frames)
    gate.set()
    await client.until(of_type("completed"))
    starts = [f["seq"] for f in client.frames if f["type"] == "assistant.start"]
    assert starts == [4, 5]
    texts = reply_texts(client.frames)
    assert sorted(texts.values()) == ["Hi. First question?", "Not yet.", "Well done."]
    async with open_store(run.settings.database_url, migrate_first=False) as store:
        rows = await store.conversations.messages_after(conversation)
    answered = [
        (r.seq, (r.metadata or {}).get("in_reply_to")) for r in rows if r.role == "assistant"
    ]
    assert answered == [(1, None), (4, 2), (5, 3)]


async def test_idle_conversations_are_abandoned_and_their_sockets_told(run: Running) -> None:
    """The sweeper abandons idle conversations and sends completed (abandoned)."""
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    conversation = await open_conversation(run, assessment)
    client = await Client.connect(run, conversation, run.token("student-1"))
    await client.until(of_type("welcome"))
    abandoned = await _hub(run).sweep_once(timedelta(seconds=-60))
    assert [c.id for c in abandoned] == [conversation]
    done = (await client.until(of_type("completed")))[-1]
    assert (done["status"], done["passed"]) == ("abandoned", False)
