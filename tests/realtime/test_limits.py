"""What one user may hold: sockets and turns across sockets, and attempts."""

from __future__ import annotations

import dataclasses

from realtime.limits import RateLimit, UserLimits
from realtime.settings import Settings
from tests.realtime.harness import (
    Client,
    api,
    create_assessment,
    of_type,
    open_conversation,
    running,
)
from tests.realtime.test_session_e2e import FILL_BLANK


def test_a_rate_limit_counts_the_window_only() -> None:
    """Two turns in ten seconds: the third waits until the first is out of the window."""
    limit = RateLimit(2, 10)
    for now in (0.0, 1.0):
        assert limit.allows(now)
        limit.record(now)
    assert not limit.allows(9.9)
    assert limit.allows(10.1)


def test_a_users_entry_lives_as_long_as_their_sockets_and_a_window() -> None:
    """One entry per user with sockets, shared; refused past the most; kept a window
    after the last socket (a reconnect keeps its count), then forgotten."""
    limits = UserLimits(max_sockets=2, turns=5, window=60)
    first, second = limits.join("lms", "u1"), limits.join("lms", "u1")
    assert first is not None and first is second
    assert limits.join("lms", "u1") is None
    other = limits.join("other-lms", "u1")  # another platform's u1 is another user
    assert other is not None and other is not first
    first.turns.record(0.0)
    for slot in (first, second, other):
        limits.leave(slot)
    assert len(limits) == 2
    assert limits.join("lms", "u1") is first  # back within the window: the same count
    brief = UserLimits(max_sockets=2, turns=5, window=0)
    gone = brief.join("lms", "u1")
    assert gone is not None
    brief.leave(gone)
    assert brief.join("lms", "u2") is not None and len(brief) == 1  # u1 forgotten


async def test_turns_are_limited_per_user_across_their_sockets(settings: Settings) -> None:
    """Two sockets of one learner share the limit: the third turn of either is refused,
    and a repeat still gets its ack."""
    async with running(dataclasses.replace(settings, rate_limit_turns=2)) as run:
        assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
        conversation = await open_conversation(run, assessment, "s1")
        sockets = [await Client.connect(run, conversation, run.token("s1")) for _ in range(2)]
        for client in sockets:
            await client.until(of_type("welcome"))
        for n, client in enumerate(sockets):
            await client.send({"type": "send", "client_msg_id": f"c{n}", "content": "Lyon"})
            await client.until(of_type("ack"))
        await sockets[0].send({"type": "send", "client_msg_id": "c9", "content": "Lyon"})
        error = (await sockets[0].until(of_type("error")))[-1]
        assert (error["code"], error["ref"]) == ("rate_limited", "c9")
        await sockets[1].send({"type": "send", "client_msg_id": "c0", "content": "Lyon"})
        assert (await sockets[1].until(of_type("ack")))[-1]["duplicate"] is True


async def test_a_socket_past_the_most_per_user_is_closed_1013(settings: Settings) -> None:
    """The third socket of a learner allowed two is refused; another learner is not."""
    async with running(dataclasses.replace(settings, max_sockets_per_user=2)) as run:
        assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
        conversation = await open_conversation(run, assessment, "s1")
        held = [await Client.connect(run, conversation, run.token("s1")) for _ in range(2)]
        for client in held:
            await client.until(of_type("welcome"))
        extra = await Client.connect(run, conversation, run.token("s1"))
        assert await extra.closed() == 1013
        instructor = await Client.connect(
            run, conversation, run.token("teacher", "course-1", "Instructor")
        )
        assert (await instructor.recv())["type"] == "welcome"  # a limit of s1's only


async def test_attempts_of_an_assessment_are_bounded(settings: Settings) -> None:
    """Past the most attempts, asking for a new one is 429 (opening shows the latest,
    finished one); another student is not held by it."""
    async with running(dataclasses.replace(settings, max_conversations_per_user=2)) as run:
        assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
        path = f"/api/assessments/{assessment}/conversations"
        for _ in range(2):
            opened = await api(run, "POST", path, run.token("s1"), {"new_attempt": True})
            conversation = opened.json()["id"]
            client = await Client.connect(run, conversation, run.token("s1"))
            await client.until(of_type("welcome"))
            await client.send({"type": "complete"})
            await client.until(of_type("completed"))
            await client.close()
        refused = await api(run, "POST", path, run.token("s1"), {"new_attempt": True})
        assert (refused.status_code, refused.json()) == (
            429,
            {"error": "at most 2 attempts of this assessment"},
        )
        latest = await api(run, "POST", path, run.token("s1"))
        assert (latest.status_code, latest.json()["id"]) == (200, conversation)
        assert (await api(run, "POST", path, run.token("s2"))).status_code == 201
