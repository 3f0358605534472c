"""Every bad input gets the protocol's answer and harms no other session."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import websockets

from realtime.settings import Settings
from tests.realtime.harness import (
    Client,
    Running,
    create_assessment,
    of_type,
    open_conversation,
    running,
)
from tests.realtime.test_session_e2e import FILL_BLANK


@pytest.fixture
async def strict(settings: Settings) -> AsyncIterator[Running]:
    """A server with a short hello deadline and a low rate limit."""
    tight = dataclasses.replace(settings, hello_timeout=0.3, rate_limit_turns=2)
    async with running(tight) as server:
        yield server


async def _conversation(run: Running, user: str = "student-1") -> str:
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    return await open_conversation(run, assessment, user)


async def _ready(run: Running, conversation: str, user: str = "student-1") -> Client:
    client = await Client.connect(run, conversation, run.token(user), last_seq=10**6)
    await client.until(of_type("welcome"))
    return client


async def _still_works(client: Client) -> None:
    await client.send({"type": "ping", "nonce": "alive"})
    assert (await client.until(of_type("pong")))[-1] == {"type": "pong", "nonce": "alive"}


ERRORS = [
    ("not json", "bad_frame", None),
    ("[1]", "bad_frame", None),
    ('{"type": "launch"}', "bad_frame", "launch"),
    ('{"type": "send", "content": "x"}', "bad_frame", "send"),
    ('{"type": "send", "client_msg_id": "", "content": "x"}', "bad_frame", "send"),
    ('{"type": "send", "client_msg_id": "' + "c" * 65 + '", "content": "x"}', "bad_frame", "send"),
    ('{"type": "send", "client_msg_id": "c1", "content": ""}', "bad_frame", "c1"),
    ('{"type": "send", "client_msg_id": "c1", "content": 5}', "bad_frame", "c1"),
    ('{"type": "send", "client_msg_id": "c1", "content": "' + "x" * 8001 + '"}', "too_long", "c1"),
    ('{"type": "cancel", "message_id": 3}', "bad_frame", "cancel"),
    ('{"type": "cancel", "message_id": "nope"}', "unknown_message", "cancel"),
    ('{"type": "send", "client_msg_id": "c1", "content": "a\\u0000b"}', "bad_frame", "c1"),
    ('{"type": "cancel", "message_id": "m\\u0000"}', "bad_frame", "cancel"),
]


async def test_refused_frames_get_errors_and_the_socket_stays_open(strict: Running) -> None:
    """Each malformed frame is answered with its code and ref; the socket works on."""
    client = await _ready(strict, await _conversation(strict))
    for text, code, ref in ERRORS:
        await client.ws.send(text)
        error = (await client.until(of_type("error")))[-1]
        assert (error["code"], error["ref"]) == (code, ref), text[:60]
    await _still_works(client)


@pytest.mark.parametrize("last_seq", [2**31, 2**63 - 1])
async def test_a_last_seq_beyond_any_seq_replays_nothing_and_goes_live(
    run: Running, last_seq: int
) -> None:
    """A position past what the seq column holds (on either engine) is past the head."""
    conversation = await _conversation(run)
    client = await Client.connect(run, conversation, run.token("student-1"), last_seq=last_seq)
    welcome = (await client.until(of_type("welcome")))[-1]
    assert welcome["replay"] == 0
    await client.send({"type": "send", "client_msg_id": "c1", "content": "Lyon"})
    await client.until(of_type("assistant.end"))


async def test_the_21st_refused_frame_in_a_minute_closes(strict: Running) -> None:
    """Twenty refusals are answered; the next closes 4400."""
    client = await _ready(strict, await _conversation(strict))
    for _ in range(20):
        await client.ws.send("garbage")
        await client.until(of_type("error"))
    await client.ws.send("garbage")
    assert await client.closed() == 4400


async def test_rate_limit_refuses_new_turns_but_not_repeats(strict: Running) -> None:
    """Past the limit a new turn is rate_limited; a repeat still gets its ack."""
    client = await _ready(strict, await _conversation(strict))
    for n in range(2):
        await client.send({"type": "send", "client_msg_id": f"c{n}", "content": "Lyon"})
        await client.until(of_type("ack"))
    await client.send({"type": "send", "client_msg_id": "c2", "content": "Lyon"})
    error = (await client.until(of_type("error")))[-1]
    assert (error["code"], error["ref"]) == ("rate_limited", "c2")
    await client.send({"type": "send", "client_msg_id": "c0", "content": "Lyon"})
    assert (await client.until(of_type("ack")))[-1]["duplicate"] is True


def _expired(run: Running) -> str:
    claims = {
        "sub": "student-1",
        "course": "course-1",
        "platform": "lms",
        "roles": ["Learner"],
        "exp": datetime.now(UTC) - timedelta(minutes=1),
    }
    return jwt.encode(claims, run.settings.signing_secret, algorithm="HS256")


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("binary frame", 4400),
        ("second hello", 4400),
        ("negative last_seq", 4400),
        ("fractional last_seq", 4400),
        ("no hello in time", 4401),
        ("first frame not hello", 4401),
        ("bad token", 4401),
        ("expired token", 4401),
        ("another student's conversation", 4403),
        # Another tenant's conversation is not theirs to know of (the protocol's 4404).
        ("instructor of another course", 4404),
        ("unknown conversation", 4404),
        ("frame over 64 KiB", 1009),
    ],
)
async def test_closing_inputs_close_with_their_code_and_harm_no_one(
    strict: Running, case: str, code: int
) -> None:
    """Each input closes its socket with the protocol's code; another session carries on."""
    conversation = await _conversation(strict)
    bystander = await _ready(strict, await _conversation(strict, "student-2"), "student-2")
    token = strict.token("student-1")
    hello = {"type": "hello", "token": token}
    target = conversation
    first: object = hello
    then: object = None
    match case:
        case "binary frame":
            then = b"\x00\x01"
        case "second hello":
            then = hello
        case "negative last_seq":
            first = hello | {"last_seq": -1}
        case "fractional last_seq":
            first = hello | {"last_seq": 1.5}
        case "no hello in time":
            first = None
        case "first frame not hello":
            first = {"type": "ping"}
        case "bad token":
            first = {"type": "hello", "token": "not-a-token"}
        case "expired token":
            first = {"type": "hello", "token": _expired(strict)}
        case "another student's conversation":
            first = {"type": "hello", "token": strict.token("student-9")}
        case "instructor of another course":
            first = {"type": "hello", "token": strict.token("t", "course-2", "Instructor")}
        case "unknown conversation":
            target = "no-such-conversation"
        case "frame over 64 KiB":
            then = "x" * (64 * 1024 + 1)
    client = await Client.connect(strict, target, None, max_size=None)
    for frame in (first, then):
        if isinstance(frame, dict):
            await client.send(frame)
        elif frame is not None:
            await client.ws.send(frame)  # type: ignore[arg-type]
    assert await client.closed() == code
    await _still_works(bystander)


async def test_an_origin_not_allowed_is_refused_at_the_upgrade(strict: Running) -> None:
    """A foreign Origin gets HTTP 403 instead of a socket; allowed and absent ones pass."""
    conversation = await _conversation(strict)
    with pytest.raises(websockets.InvalidStatus) as refused:
        await Client.connect(strict, conversation, None, origin="http://evil.example")
    assert refused.value.response.status_code == 403
    assert refused.value.response.headers["x-content-type-options"] == "nosniff"
    allowed = await Client.connect(
        strict, conversation, strict.token("student-1"), origin="http://allowed.example"
    )
    assert (await allowed.recv())["type"] == "welcome"


async def test_the_servers_own_origin_is_allowed(strict: Running) -> None:
    """A page the server served (its own scheme, host and port) may open a socket."""
    conversation = await _conversation(strict)
    own = await Client.connect(
        strict, conversation, strict.token("student-1"), origin=strict.base_url
    )
    assert (await own.recv())["type"] == "welcome"
    # Another port, or the same host and port under another scheme, is another origin.
    https_twin = strict.base_url.replace("http://", "https://")
    for foreign in ("http://127.0.0.1:1", https_twin):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await Client.connect(strict, conversation, None, origin=foreign)
        assert refused.value.response.status_code == 403


async def test_a_socket_is_closed_4401_when_its_token_expires(run: Running) -> None:
    """A socket's authority ends with its token: the server closes it at exp."""
    conversation = await _conversation(run)
    # Long enough to be welcomed first on a loaded machine; the close comes at exp.
    token = run.token("student-1", ttl=timedelta(seconds=3))
    client = await Client.connect(run, conversation, token)
    await client.until(of_type("welcome"))
    assert await client.closed() == 4401
