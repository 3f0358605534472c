"""End-to-end helpers: the real server on a free port, real WebSocket and HTTP clients."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any, Protocol

import httpx
import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from realtime.app import create_app
from realtime.auth import mint
from realtime.server import Server, uvicorn_config
from realtime.settings import Settings
from tests.limits import TIMEOUT

# The LLM provider, and its model, of test servers that have the fake endpoint
# (``llm_providers``).
FAKE_PROVIDER = "fake"
FAKE_MODEL = "tutor-1"

Frame = dict[str, Any]


class Endpoint(Protocol):
    """A server the clients talk to: one in this process, or a process of its own."""

    @property
    def base_url(self) -> str: ...

    @property
    def ws_base(self) -> str: ...

    def token(
        self, user: str, course: str = "course-1", *roles: str, platform: str = "lms"
    ) -> str: ...


@dataclasses.dataclass
class Running:
    """A server under test."""

    settings: Settings
    base_url: str
    server: Server
    task: asyncio.Task[None]

    @property
    def ws_base(self) -> str:
        return self.base_url.replace("http://", "ws://")

    def token(
        self,
        user: str,
        course: str = "course-1",
        *roles: str,
        platform: str = "lms",
        ttl: timedelta = timedelta(hours=8),
    ) -> str:
        return mint(
            self.settings.signing_secret,
            user_id=user,
            course_id=course,
            platform_id=platform,
            roles=roles or ("Learner",),
            ttl=ttl,
        )

    async def stop(self) -> None:
        """Stop as SIGTERM would, and wait for it."""
        self.server.should_exit = True
        await asyncio.wait_for(self.task, TIMEOUT)


@contextlib.asynccontextmanager
async def running(settings: Settings, port: int = 0) -> AsyncIterator[Running]:
    """Serve the application with ``settings`` until the block ends.

    Args:
        port: 0 for a free port; a port a stopped server used, to restart it there.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(512)
    port = sock.getsockname()[1]
    server = Server(uvicorn_config(create_app(settings), settings, log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    run = Running(settings, f"http://127.0.0.1:{port}", server, task)
    try:
        yield run
    finally:
        if not task.done():
            await run.stop()
        sock.close()


async def api(
    run: Endpoint, method: str, path: str, token: str | None, body: Any = None
) -> httpx.Response:
    """One HTTP API request."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=run.base_url, timeout=TIMEOUT) as client:
        return await client.request(method, path, headers=headers, json=body)


async def create_assessment(
    run: Endpoint, kind: str, schema: str, ai_config: dict[str, Any]
) -> str:
    """An assessment created by an instructor; returns its id."""
    instructor = run.token("teacher", "course-1", "Instructor")
    response = await api(
        run,
        "PUT",
        "/api/assessments",
        instructor,
        {
            "platform_id": "lms",
            "resource_link_id": f"link-{kind}-{schema}",
            "assessment_type": kind,
            "grading_schema": schema,
            "ai_config": ai_config,
        },
    )
    assert response.status_code == 200, response.text
    assessment_id: str = response.json()["id"]
    return assessment_id


async def open_conversation(run: Endpoint, assessment_id: str, user: str = "student-1") -> str:
    """The student's conversation of the assessment (created if need be)."""
    response = await api(
        run, "POST", f"/api/assessments/{assessment_id}/conversations", run.token(user)
    )
    assert response.status_code in (200, 201), response.text
    conversation_id: str = response.json()["id"]
    return conversation_id


class Client:
    """A WebSocket client of one conversation that keeps every frame it received."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[Frame] = []

    @classmethod
    async def connect(
        cls,
        run: Endpoint,
        conversation_id: str,
        token: str | None,
        *,
        last_seq: int = 0,
        **options: Any,
    ) -> Client:
        """Open the socket and, if ``token`` is given, say hello."""
        ws = await asyncio.wait_for(
            websockets.connect(f"{run.ws_base}/ws/conversations/{conversation_id}", **options),
            TIMEOUT,
        )
        client = cls(ws)
        if token is not None:
            await client.send({"type": "hello", "token": token, "last_seq": last_seq})
        return client

    async def send(self, frame: Frame) -> None:
        await self.ws.send(orjson.dumps(frame).decode())

    async def recv(self) -> Frame:
        """The next frame (under the suite's timeout)."""
        frame: Frame = orjson.loads(await asyncio.wait_for(self.ws.recv(), TIMEOUT))
        self.frames.append(frame)
        return frame

    async def until(self, done: Callable[[Frame], bool]) -> list[Frame]:
        """Frames up to and including the first for which ``done`` is true."""
        received = []
        while True:
            frame = await self.recv()
            received.append(frame)
            if done(frame):
                return received

    async def closed(self) -> int:
        """Wait for the server to close the socket; its close code."""
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                frame = orjson.loads(await asyncio.wait_for(self.ws.recv(), TIMEOUT))
                self.frames.append(frame)
        code = self.ws.close_code
        assert code is not None
        return code

    async def close(self) -> None:
        await self.ws.close()


def of_type(kind: str, **fields: Any) -> Callable[[Frame], bool]:
    """A predicate: a frame of this type with these field values."""
    return lambda frame: frame["type"] == kind and all(frame.get(k) == v for k, v in fields.items())


def reply_texts(frames: list[Frame]) -> dict[str, str]:
    """The text of each assistant reply as a client assembles it (replay, then deltas by
    offset); raises if a delta would leave a gap."""
    texts: dict[str, str] = {}
    for frame in frames:
        if frame["type"] == "message" and frame["role"] == "assistant":
            texts[frame["id"]] = frame["content"]
        elif frame["type"] == "assistant.start":
            texts[frame["message_id"]] = ""
        elif frame["type"] == "assistant.delta":
            held = texts[frame["message_id"]]
            assert frame["offset"] <= len(held), "a delta beyond the text held"
            texts[frame["message_id"]] = held[: frame["offset"]] + frame["text"]
    return texts


async def take_attempt(run: Endpoint, assessment: str, user: str, answers: list[str]) -> str:
    """A student's attempt: ``answers`` to the first items (each answered by the tutor),
    then the end; returns its conversation id."""
    opened = await api(run, "POST", f"/api/assessments/{assessment}/conversations", run.token(user))
    conversation: str = opened.json()["id"]
    client = await Client.connect(run, conversation, run.token(user))
    await client.until(of_type("welcome"))
    for number, answer in enumerate(answers):
        await client.send({"type": "send", "client_msg_id": f"{user}-{number}", "content": answer})
        await client.until(of_type("ack"))
        await client.until(of_type("assistant.end"))
    await client.send({"type": "complete"})
    await client.until(of_type("completed"))
    await client.close()
    return conversation


async def wait_opening(run: Endpoint, conversation: str, user: str = "student-1") -> None:
    """Wait until the conversation's opening reply (seq 1) is complete."""
    client = await Client.connect(run, conversation, run.token(user))
    welcome = await client.recv()
    frames = [await client.recv() for _ in range(welcome["replay"])]
    if not any(f.get("status") == "complete" for f in frames):
        await client.until(of_type("assistant.end"))
    await client.close()


def chat_config() -> dict[str, Any]:
    """A one-objective chat assessment speaking through the ``fake`` provider."""
    return {
        "objectives": [
            {
                "id": "o1",
                "question": "What does photosynthesis make?",
                "key_points": ["produces glucose"],
            }
        ],
        "llm": {"provider": FAKE_PROVIDER, "model": FAKE_MODEL},
    }
