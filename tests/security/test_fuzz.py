"""Property-based fuzz of the HTTP API and of the socket's frames, on a real server.

Hypothesis draws a method, a route with ids (real ones, strangers, NUL, huge numbers,
any text), a query, a body and a token; the server must answer every request with a
status below 500 and JSON, and every frame on the socket without a server error: an
``error`` frame, or a close with one of the protocol's codes. The examples are few
enough to stay within a minute on both engines. (The frames are written with the
standard library's json, which writes integers of any size, as a careless client may.)

Hypothesis runs its (synchronous) examples in a thread of its own; each example's
requests run on the test's event loop, where the server runs too.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.limits import TIMEOUT
from tests.realtime.harness import Client, Running, api, create_assessment, of_type
from tests.realtime.test_session_e2e import FILL_BLANK

T = TypeVar("T")
EXAMPLES = 150
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # One server serves every example: its state carries over, as a real one's does.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=16,
)
ids = st.one_of(
    st.sampled_from(["ASSESSMENT", "CONVERSATION", "nope", "0", "-1", "a\x00b", "é" * 300]),
    st.text(min_size=1, max_size=30),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
ROUTES = [
    ("PUT", "/api/assessments"),
    ("GET", "/api/assessments/{id}"),
    ("POST", "/api/assessments/{id}/conversations"),
    ("GET", "/api/assessments/{id}/attempts"),
    ("GET", "/api/assessments/{id}/results"),
    ("POST", "/api/assessments/{id}/clone"),
    ("POST", "/api/assessments/{id}/archive"),
    ("POST", "/api/assessments/{id}/restore"),
    ("POST", "/api/conversations/{id}/score"),
    ("POST", "/api/assessments/{id}/content"),
    ("GET", "/api/assessments/{id}/content"),
    ("POST", "/api/assessments/{id}/content/{id}/approve"),
    ("PUT", "/api/assessments/{id}/content/{id}"),
    ("GET", "/api/conversations/{id}"),
    ("GET", "/api/conversations/{id}/messages"),
    ("GET", "/api/courses/{id}/progress"),
    ("GET", "/api/courses/{id}/assessments"),
    ("GET", "/api/courses/{id}/analytics"),
    ("POST", "/api/courses/{id}/analytics"),
]
queries = st.dictionaries(
    st.sampled_from(["after_seq", "limit", "assignment_id", "x"]),
    st.one_of(st.integers(min_value=-(2**70), max_value=2**70).map(str), st.text(max_size=20)),
    max_size=3,
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "platform_id": json_values | st.just("lms"),
            "resource_link_id": json_values,
            "assessment_type": json_values | st.sampled_from(["chat", "flashcards", "fill_blank"]),
            "grading_schema": json_values | st.sampled_from(["mastery", "percentage"]),
            "mastery_threshold": json_values,
            "ai_config": json_values | st.just(FILL_BLANK),
            "source": json_values,
            "kind": json_values,
            "count": json_values,
            "terms": json_values,
        },
    ),
)
who = st.sampled_from(["learner", "instructor", "none", "garbage"])


def _on(loop: asyncio.AbstractEventLoop) -> Callable[[Coroutine[Any, Any, T]], T]:
    """Run a coroutine on ``loop`` from Hypothesis's thread, and wait for its result."""

    def run(coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(TIMEOUT)

    return run


def _token(run: Running, kind: str) -> str | None:
    match kind:
        case "learner":
            return run.token("s1")
        case "instructor":
            return run.token("teacher", "course-1", "Instructor")
        case "garbage":
            return "not.a.token"
    return None


async def _ids(run: Running) -> dict[str, str]:
    assessment = await create_assessment(run, "fill_blank", "mastery", FILL_BLANK)
    opened = await api(run, "POST", f"/api/assessments/{assessment}/conversations", run.token("s1"))
    return {"ASSESSMENT": assessment, "CONVERSATION": opened.json()["id"]}


async def test_the_http_api_never_fails_with_a_server_error(run: Running) -> None:
    """Any request to any route: a status below 500, and a JSON answer."""
    known = await _ids(run)
    on_loop = _on(asyncio.get_running_loop())
    async with httpx.AsyncClient(base_url=run.base_url, timeout=TIMEOUT) as client:

        @FUZZ
        @given(
            route=st.sampled_from(ROUTES),
            first=ids,
            second=ids,
            query=queries,
            body=bodies,
            raw=st.booleans(),
            kind=who,
        )
        def request(
            route: tuple[str, str],
            first: str,
            second: str,
            query: dict[str, str],
            body: Any,
            raw: bool,
            kind: str,
        ) -> None:
            method, template = route
            names = [known.get(first, first), known.get(second, second)]
            path = template
            for name in names:
                path = path.replace("{id}", quote(name, safe=""), 1)
            token = _token(run, kind)
            headers = {"authorization": f"Bearer {token}"} if token else {}
            content = (json.dumps(body) if not raw else repr(body)).encode()
            response = on_loop(
                client.request(method, path, params=query, headers=headers, content=content)
            )
            assert response.status_code < 500, (method, path, response.text)
            assert isinstance(response.json(), dict)

        await asyncio.to_thread(request)


client_frames = st.one_of(
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["send", "cancel", "complete", "ping", "pong", "hello", "x"])},
        optional={
            "client_msg_id": json_values,
            "content": json_values,
            "message_id": json_values,
            "nonce": json_values,
            "token": json_values,
            "last_seq": json_values,
        },
    ).map(json.dumps),
    st.text(max_size=60),
)
PROTOCOL_CLOSES = {1000, 1009, 4400, 4401, 4403, 4404, 4408}


async def test_no_frame_makes_the_socket_fail_with_a_server_error(run: Running) -> None:
    """After hello, any frame gets an answer or a protocol close, never 1011; a closed
    socket is reopened and the next frames go on."""
    known = await _ids(run)
    conversation = known["CONVERSATION"]
    holder: list[Client] = []

    async def socket() -> Client:
        if not holder or holder[0].ws.close_code is not None:
            client = await Client.connect(run, conversation, run.token("s1"), last_seq=10**6)
            await client.until(of_type("welcome"))
            holder[:] = [client]
        return holder[0]

    async def one(text: str) -> None:
        client = await socket()
        await client.ws.send(text)
        await client.send({"type": "ping", "nonce": "after"})
        try:
            await client.until(of_type("pong", nonce="after"))
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else None
            assert code in PROTOCOL_CLOSES, (text, code)

    on_loop = _on(asyncio.get_running_loop())

    @FUZZ
    @given(text=client_frames)
    def frame(text: str) -> None:
        on_loop(one(text))

    await asyncio.to_thread(frame)
