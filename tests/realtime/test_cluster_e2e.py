"""Two real server processes on PostgreSQL and a Redis of the test's own.

A student's sockets may sit on different processes, a reply started through one is
cancelled through the other, a process killed mid-reply leaves its reply ``interrupted``
and the other resumes, and a Redis restart loses no acknowledged turn and no message.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as redis

from realtime.auth import mint
from realtime.conversation.pipeline import WORKER_LINGER_SECONDS
from realtime.loadtest import LoadConfig, run_loadtest
from tests.assessment.fake_llm import FakeLLM, Script
from tests.databases import fresh_postgres_url, require_postgres
from tests.limits import TIMEOUT
from tests.processes import RedisServer, ServerProcess, require_redis_server, started
from tests.realtime.harness import (
    Client,
    Frame,
    api,
    chat_config,
    create_assessment,
    of_type,
    open_conversation,
    reply_texts,
    wait_opening,
)

SECRET = "cluster-secret-" + "c" * 64
OPENING = ["Hello ", "there, ", "student. ", "What does ", "photosynthesis ", "make?"]
HELD = "".join(OPENING[:3])
ITEMS = {
    "items": [
        {"id": f"i{n}", "text": f"{n} + {n} = ___", "answers": [str(2 * n)]} for n in (1, 2, 3)
    ]
}


@dataclasses.dataclass(frozen=True)
class Node:
    """One server process as the clients see it."""

    process: ServerProcess

    @property
    def base_url(self) -> str:
        return self.process.base_url

    @property
    def ws_base(self) -> str:
        return self.base_url.replace("http://", "ws://")

    def token(self, user: str, course: str = "course-1", *roles: str, platform: str = "lms") -> str:
        return mint(
            SECRET,
            user_id=user,
            course_id=course,
            platform_id=platform,
            roles=roles or ("Learner",),
        )


@pytest.fixture
async def redis_server() -> AsyncIterator[RedisServer]:
    server = RedisServer(require_redis_server())
    async with started(server):
        yield server


@pytest.fixture
async def nodes(redis_server: RedisServer, llm_providers: str) -> AsyncIterator[tuple[Node, Node]]:
    """Two processes on one PostgreSQL database and the Redis (and the fake LLM as the
    provider ``fake``, for a test that uses it)."""
    await require_postgres()
    env = {
        "TUTORCHAT_LLM_PROVIDERS": llm_providers,
        "DATABASE_URL": await fresh_postgres_url(),
        "REDIS_URL": redis_server.url,
        "TUTORCHAT_SECRET": SECRET,
        "TUTORCHAT_LEASE_SECONDS": "2",
        "TUTORCHAT_HEARTBEAT_INTERVAL": "3600",
        "TUTORCHAT_SHUTDOWN_GRACE": "0.5",
        # Every chunk saved: an interrupted reply keeps the text it had.
        "TUTORCHAT_FLUSH_SECONDS": "0",
    }
    first, second = ServerProcess(env), ServerProcess(env)
    async with started(first, second):  # one after the other: the first migrates
        yield Node(first), Node(second)


def _seqs(frames: list[Frame]) -> list[int]:
    """The seqs a client was given, in order: messages, acks and reply starts."""
    return [f["seq"] for f in frames if f["type"] in ("message", "ack", "assistant.start")]


def _events(frames: list[Frame]) -> list[tuple[Any, ...]]:
    """What a client saw, with its own turns' acks as the others see them (messages)."""
    seen: list[tuple[Any, ...]] = []
    for frame in frames:
        match frame["type"]:
            case "welcome" | "ping" | "pong":
                continue
            case "ack":
                seen.append(("turn", frame["seq"]))
            case "message" if frame["role"] == "user":
                seen.append(("turn", frame["seq"]))
            case _:
                seen.append(tuple(sorted(frame.items())))
    return seen


async def _history(node: Node, conversation: str) -> list[dict[str, Any]]:
    response = await api(
        node, "GET", f"/api/conversations/{conversation}/messages", node.token("student-1")
    )
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def _joined(node: Node, conversation: str, last_seq: int = 0) -> tuple[Client, list[Frame]]:
    """A student's socket on ``node``, past its welcome and replay."""
    client = await Client.connect(node, conversation, node.token("student-1"), last_seq=last_seq)
    welcome = await client.recv()
    assert welcome["type"] == "welcome", welcome
    replayed = [await client.recv() for _ in range(welcome["replay"])]
    return client, replayed


async def _turn(client: Client, msg_id: str, content: str) -> int:
    """Send a turn; its seq once acknowledged."""
    await client.send({"type": "send", "client_msg_id": msg_id, "content": content})
    ack = (await client.until(of_type("ack", client_msg_id=msg_id)))[-1]
    seq: int = ack["seq"]
    return seq


def _reply_of(frames: list[Frame], seq: int) -> bool:
    """Whether ``frames`` hold the reply at ``seq`` complete (ended, or replayed done)."""
    starts = {f["message_id"] for f in frames if f["type"] == "assistant.start" and f["seq"] == seq}
    return any(
        (f["type"] == "assistant.end" and f["message_id"] in starts)
        or (f["type"] == "message" and f["seq"] == seq and f["status"] != "streaming")
        for f in frames
    )


async def _until_reply(client: Client, seq: int) -> None:
    while not _reply_of(client.frames, seq):
        await client.recv()


async def _fill_blank_on_both(a: Node, b: Node) -> tuple[str, Client, Client]:
    """A fill-blank conversation created through ``a``, its opening done, and a socket
    of its student on each process."""
    conversation = await open_conversation(
        a, await create_assessment(a, "fill_blank", "mastery", ITEMS)
    )
    await wait_opening(a, conversation)
    on_a, _ = await _joined(a, conversation)
    on_b, _ = await _joined(b, conversation)
    return conversation, on_a, on_b


async def test_sockets_on_two_processes_see_the_same_events(nodes: tuple[Node, Node]) -> None:
    """Turns from either socket are answered once, in order, and both sockets see the
    same events in the same order (each its own turns as acks)."""
    a, b = nodes
    conversation, on_a, on_b = await _fill_blank_on_both(a, b)
    first = await _turn(on_a, "t1", "2")  # A holds the lease: answered there
    await _until_reply(on_a, first + 1)
    second = await _turn(on_b, "t2", "4")  # stored by B, answered by the lease holder
    await _until_reply(on_b, second + 1)
    await _turn(on_a, "t3", "6")
    for client in (on_a, on_b):
        await client.until(of_type("completed"))
    assert _events(on_a.frames) == _events(on_b.frames)
    assert _seqs(on_a.frames) == list(range(1, 8)) == _seqs(on_b.frames)
    history = await _history(b, conversation)
    assert [m["seq"] for m in history] == list(range(1, 8))
    texts = {m["id"]: m["content"] for m in history if m["role"] == "assistant"}
    assert reply_texts(on_a.frames) == texts == reply_texts(on_b.frames)


async def _held_opening(a: Node, llm: FakeLLM) -> tuple[str, asyncio.Event, Client, str]:
    """A chat conversation created through ``a``, its opening held after three chunks,
    and a socket on ``a`` that has them all; returns the reply's id too."""
    gate = asyncio.Event()
    llm.will(Script(chunks=OPENING, gate=gate, gate_after=3))
    assessment = await create_assessment(a, "chat", "mastery", chat_config())
    conversation = await open_conversation(a, assessment)
    on_a, replayed = await _joined(a, conversation)
    (opening,) = replayed
    while reply_texts(on_a.frames).get(opening["id"]) != HELD:
        await on_a.recv()
    return conversation, gate, on_a, opening["id"]


async def test_a_reply_started_through_one_process_is_cancelled_through_the_other(
    nodes: tuple[Node, Node], llm: FakeLLM
) -> None:
    a, b = nodes
    conversation, _gate, on_a, reply = await _held_opening(a, llm)
    on_b, replayed = await _joined(b, conversation)
    # The text so far, from the process running the reply (not just what was saved).
    assert [(m["id"], m["status"], m["content"]) for m in replayed] == [(reply, "streaming", HELD)]
    await on_b.send({"type": "cancel", "message_id": reply})
    for client in (on_a, on_b):
        (end,) = [
            f for f in await client.until(of_type("assistant.end")) if f["type"] == "assistant.end"
        ]
        assert end == {
            "type": "assistant.end",
            "message_id": reply,
            "status": "cancelled",
            "length": len(HELD),
        }
    (row,) = await _history(a, conversation)
    assert (row["status"], row["content"]) == ("cancelled", HELD)


async def _replies_streamed(node: Node) -> int:
    """How many replies ``node`` has streamed (its first-delta histogram's count)."""
    text = (await api(node, "GET", "/metrics", None)).text
    (line,) = [
        n for n in text.splitlines() if n.startswith("tutorchat_first_delta_latency_seconds_count")
    ]
    return int(float(line.split()[-1]))


@contextlib.asynccontextmanager
async def _lease_events(redis_server: RedisServer) -> AsyncIterator[redis.client.PubSub]:
    """Redis's notifications of changes to lease keys, live when the block starts."""
    client = redis.Redis.from_url(redis_server.url)
    await client.config_set("notify-keyspace-events", "Kg")
    pubsub = client.pubsub()
    try:
        await pubsub.psubscribe("__keyspace@0__:tutorchat:lease:*")
        async with asyncio.timeout(TIMEOUT):
            while await pubsub.get_message(timeout=None) is None:
                pass
        yield pubsub
    finally:
        await pubsub.aclose()
        await client.aclose()


async def _released(events: redis.client.PubSub, conversation: str) -> None:
    """Wait for the conversation's lease to be let go, well before an idle worker ends."""
    async with asyncio.timeout(WORKER_LINGER_SECONDS / 2):
        while (event := await events.get_message(timeout=None)) is None or not (
            event["channel"].endswith(conversation.encode()) and event["data"] == b"del"
        ):
            pass


async def test_a_conversation_is_answered_where_its_student_is(
    nodes: tuple[Node, Node], redis_server: RedisServer
) -> None:
    """The opening runs in the process the conversation was created through (over HTTP,
    with no socket there), which lets the lease go once it is done: the turns of a
    student whose socket is on the other process are answered there, not relayed. That
    process lets it go in turn when the student leaves."""
    a, b = nodes
    async with _lease_events(redis_server) as events:
        conversation = await open_conversation(
            a, await create_assessment(a, "fill_blank", "mastery", ITEMS)
        )
        await _released(events, conversation)
        on_b, _ = await _joined(b, conversation)
        for n, answer in enumerate(("2", "4")):
            seq = await _turn(on_b, f"t{n}", answer)
            await _until_reply(on_b, seq + 1)
        assert (await _replies_streamed(a), await _replies_streamed(b)) == (1, 2)
        await on_b.close()
        await _released(events, conversation)


async def test_a_join_after_a_reply_ended_elsewhere_is_replayed_the_stored_reply(
    nodes: tuple[Node, Node], llm: FakeLLM
) -> None:
    """B loaded the conversation while A's reply streamed; once it ended, a new socket
    on B is replayed the reply as stored, not as B first saw it."""
    a, b = nodes
    conversation, gate, on_a, reply = await _held_opening(a, llm)
    on_b, _ = await _joined(b, conversation)
    gate.set()
    for client in (on_a, on_b):
        await client.until(of_type("assistant.end"))
    _, replayed = await _joined(b, conversation)
    assert [(m["id"], m["status"], m["content"]) for m in replayed] == [
        (reply, "complete", "".join(OPENING))
    ]


async def test_a_process_killed_mid_reply_leaves_it_interrupted_and_the_other_resumes(
    nodes: tuple[Node, Node], llm: FakeLLM
) -> None:
    a, b = nodes
    conversation, _gate, on_a, reply = await _held_opening(a, llm)
    await a.process.kill()
    assert await on_a.closed() == 1006
    # The student comes back through B; B claims the dead process's lease.
    client, replayed = await _joined(b, conversation)
    (message,) = replayed
    assert message["id"] == reply and message["content"] == HELD
    if message["status"] == "streaming":
        end = (await client.until(of_type("assistant.end")))[-1]
        assert (end["status"], end["length"]) == ("interrupted", len(HELD))
    else:
        assert message["status"] == "interrupted"
    (row,) = await _history(b, conversation)
    assert (row["status"], row["content"]) == ("interrupted", HELD)
    # And the conversation goes on there.
    llm.will(Script(json='{"covered": []}'), Script(chunks=["Not yet. ", "Think of sugar."]))
    seq = await _turn(client, "after", "light")
    await _until_reply(client, seq + 1)
    history = await _history(b, conversation)
    assert [(m["seq"], m["status"]) for m in history] == [
        (1, "interrupted"),
        (2, "complete"),
        (3, "complete"),
    ]
    assert history[2]["content"] == "Not yet. Think of sugar."


async def test_a_redis_restart_loses_no_acknowledged_turn_and_no_message(
    nodes: tuple[Node, Node], redis_server: RedisServer
) -> None:
    """Events published while Redis is down are lost to the other process; its room
    resynchronises from the database when Redis is back, so every socket ends with every
    message once, in order, with the stored text."""
    a, b = nodes
    conversation, on_a, on_b = await _fill_blank_on_both(a, b)
    first = await _turn(on_a, "t1", "2")
    await _until_reply(on_b, first + 1)
    await redis_server.stop()
    second = await _turn(on_a, "t2", "4")  # A holds the lease and needs no Redis for it
    await _until_reply(on_a, second + 1)
    await redis_server.start()
    await _until_reply(on_b, second + 1)  # B's resync, once it is subscribed again
    third = await _turn(on_b, "t3", "6")
    for client in (on_a, on_b):
        await _until_reply(client, third + 1)
    history = await _history(a, conversation)
    assert [m["seq"] for m in history] == list(range(1, 8))
    assert [m["client_msg_id"] for m in history if m["role"] == "user"] == ["t1", "t2", "t3"]
    texts = {m["id"]: m["content"] for m in history if m["role"] == "assistant"}
    for client in (on_a, on_b):
        assert _seqs(client.frames) == list(range(1, 8))
        assert reply_texts(client.frames) == texts


async def test_load_over_two_processes_runs_clean_and_storms_resume_on_the_other(
    nodes: tuple[Node, Node],
) -> None:
    """The load generator's students spread over both processes; in the storm every
    socket is cut mid-reply and comes back through the other process, and what each
    client holds equals the stored history."""
    a, b = nodes
    urls = (a.base_url, b.base_url)
    options: dict[str, Any] = {"ramp": 0.1, "think": 0.05, "progress": False}
    steady = await run_loadtest(
        LoadConfig(urls=urls, secret=SECRET, scenario="steady", students=6, duration=1, **options)
    )
    assert steady["errors"] == {} and steady["turns"] > 0
    storm = await run_loadtest(
        LoadConfig(urls=urls, secret=SECRET, scenario="storm", students=8, **options)
    )
    assert (storm["resumed"], storm["mismatched_conversations"], storm["errors"]) == (8, 0, {})
