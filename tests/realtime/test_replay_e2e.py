"""Replay: the cap, and joins that race live events."""

from __future__ import annotations

import asyncio
import dataclasses

import orjson

from realtime.settings import Settings
from tests.realtime.harness import (
    Client,
    Frame,
    create_assessment,
    of_type,
    open_conversation,
    running,
    wait_opening,
)
from tests.realtime.test_session_e2e import FILL_BLANK

MANY = {
    "items": [{"id": f"i{n}", "text": f"{n} + 1 = ___", "answers": [str(n + 1)]} for n in range(30)]
}


async def test_past_the_replay_cap_only_the_newest_rows_are_sent(settings: Settings) -> None:
    """More rows than the cap: recovered is false and the newest cap rows come."""
    async with running(dataclasses.replace(settings, replay_cap=3)) as run:
        assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
        conversation = await open_conversation(run, assessment)
        await wait_opening(run, conversation)
        client = await Client.connect(run, conversation, run.token("student-1"), last_seq=1)
        await client.until(of_type("welcome"))
        for n, answer in enumerate(["Lyon", "Paris"]):
            await client.send({"type": "send", "client_msg_id": f"c{n}", "content": answer})
            await client.until(of_type("assistant.end"))
        fresh = await Client.connect(run, conversation, run.token("student-1"))
        welcome = await fresh.recv()
        assert (welcome["recovered"], welcome["replay"]) == (False, 3)
        assert [(await fresh.recv())["seq"] for _ in range(3)] == [3, 4, 5]
        assert welcome["conversation"]["last_seq"] == 5


# Eight wrong turns before the end: each item comes back once, as its variant.
WITH_VARIANTS = {
    "items": [
        {**item, "variants": [{"text": item["text"], "answers": ["other"]}]}
        for item in FILL_BLANK["items"]
    ]
}


async def test_a_replay_is_kept_within_the_outbox_bound(settings: Settings) -> None:
    """A replay larger than half the socket's outbox sends only the newest rows that fit
    (recovered false: the client loads the rest over HTTP), so a socket that never reads
    holds no more than its bound."""
    async with running(dataclasses.replace(settings, outbox_bytes=8000)) as run:
        assessment = await create_assessment(run, "fill_blank", "mastery", WITH_VARIANTS)
        conversation = await open_conversation(run, assessment)
        await wait_opening(run, conversation)
        client = await Client.connect(run, conversation, run.token("student-1"), last_seq=1)
        await client.until(of_type("welcome"))
        for n in range(6):
            await client.send({"type": "send", "client_msg_id": f"c{n}", "content": "x" * 900})
            await client.until(of_type("assistant.end"))
        fresh = await Client.connect(run, conversation, run.token("student-1"))
        welcome = await fresh.recv()
        replayed = [await fresh.recv() for _ in range(welcome["replay"])]
        assert welcome["recovered"] is False
        assert 0 < len(replayed) < welcome["conversation"]["last_seq"]
        assert sum(len(orjson.dumps(frame)) for frame in replayed) <= 4000
        seqs = [frame["seq"] for frame in replayed]
        assert seqs == list(
            range(welcome["conversation"]["last_seq"] - len(seqs) + 1, seqs[-1] + 1)
        )


def _seqs(frames: list[Frame]) -> list[int]:
    """The seq of every message the client learned of, in order (replay or live)."""
    seqs = []
    for frame in frames:
        if frame["type"] in ("message", "assistant.start", "ack"):
            seqs.append(frame["seq"])
    return seqs


async def test_joins_racing_live_turns_see_every_seq_once_without_gaps(settings: Settings) -> None:
    """Clients joining at every moment of a busy conversation see each seq exactly once,
    in order, from their position on (a last_seq beyond the head at join time gets the
    messages created after), and every reply's text is whole. (Thirteen sockets of one
    student: more than the default limit.)"""
    async with running(dataclasses.replace(settings, max_sockets_per_user=16)) as run:
        assessment = await create_assessment(run, "fill_blank", "percentage", MANY)
        conversation = await open_conversation(run, assessment)
        await wait_opening(run, conversation)
        token = run.token("student-1")
        sender = await Client.connect(run, conversation, token, last_seq=1)
        await sender.until(of_type("welcome"))
        joiners: list[tuple[int, Client]] = []

        async def send_all() -> None:
            for n in range(30):
                await sender.send({"type": "send", "client_msg_id": f"c{n}", "content": str(n + 1)})
                await sender.until(of_type("ack"))

        async def join_all() -> None:
            for n in range(12):
                last_seq = (n * 5) % 40
                joiners.append(
                    (last_seq, await Client.connect(run, conversation, token, last_seq=last_seq))
                )
                await sender.ws.ping()

        await asyncio.gather(send_all(), join_all())
        await sender.until(of_type("completed"))
        for last_seq, joiner in joiners:
            await joiner.until(of_type("completed"))
            seqs = _seqs(joiner.frames)
            head = 61  # opening, then 30 turns and 30 replies
            # From its position (its last_seq, or the head if it claimed more) to the end:
            # consecutive, each once.
            assert seqs and seqs[0] <= last_seq + 1, f"joined at {last_seq}"
            assert seqs == list(range(seqs[0], head + 1)), f"joined at {last_seq}"
            texts: dict[str, str] = {}
            for frame in joiner.frames:
                if frame["type"] == "message" and frame["role"] == "assistant":
                    texts[frame["id"]] = frame["content"]
                elif frame["type"] == "assistant.start":
                    texts[frame["message_id"]] = ""
                elif frame["type"] == "assistant.delta":
                    assert frame["offset"] == len(texts[frame["message_id"]])
                    texts[frame["message_id"]] += frame["text"]
                elif frame["type"] == "assistant.end":
                    assert frame["length"] == len(texts[frame["message_id"]])
