"""A local HTTP server that speaks the OpenAI chat completions format, scripted per test.

Each request takes the next script from the queue: a streamed reply (server-sent
events, as the OpenAI API sends them), or a plain JSON completion, or an HTTP error.
Every request body is kept for the test to inspect.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclasses.dataclass
class Script:
    """What the server answers to one request.

    Attributes:
        chunks: text deltas to stream, one event each.
        then: what follows the chunks: ``finish`` (finish_reason, usage chunk,
            ``[DONE]``), ``error`` (an in-band error event), ``malformed`` (an event that
            is not JSON), ``stall`` (nothing, until the server is released), ``cut`` (the
            stream ends with no finish_reason).
        gate, gate_after: if set, the stream pauses after ``gate_after`` chunks until the
            event is set (a reply held mid-stream).
        pace: if set, each chunk after the first waits for a release of the semaphore
            (the test streams the reply chunk by chunk).
        json: for a request that is not streamed, the completion's message content.
        status: an HTTP error status to answer instead.
    """

    chunks: list[str] = dataclasses.field(default_factory=list)
    then: str = "finish"
    gate: asyncio.Event | None = None
    gate_after: int = 1
    pace: asyncio.Semaphore | None = None
    json: str | None = None
    status: int = 200


class FakeLLM:
    """The scripted endpoint; ``app`` is its ASGI application."""

    def __init__(self) -> None:
        self.scripts: deque[Script] = deque()
        self.requests: list[dict[str, Any]] = []
        self.release = asyncio.Event()
        self.base_url = ""  # set once served: the URL clients are given
        self.app = Starlette(
            routes=[Route("/v1/chat/completions", self._complete, methods=["POST"])]
        )

    def will(self, *scripts: Script) -> None:
        """Queue scripts for the next requests, in order."""
        self.scripts.extend(scripts)

    async def _complete(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body | {"authorization": request.headers.get("authorization")})
        script = self.scripts.popleft()
        if script.status != 200:
            return JSONResponse({"error": {"message": "overloaded"}}, status_code=script.status)
        if not body.get("stream"):
            return JSONResponse(
                {
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": script.json}}
                    ]
                }
            )
        return StreamingResponse(self._events(script), media_type="text/event-stream")

    async def _events(self, script: Script) -> AsyncIterator[str]:
        yield _event({"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
        for index, text in enumerate(script.chunks):
            if script.gate is not None and index == script.gate_after:
                await script.gate.wait()
            if script.pace is not None and index > 0:
                await script.pace.acquire()
            yield _event({"choices": [{"index": 0, "delta": {"content": text}}]})
        match script.then:
            case "finish":
                yield _event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                yield _event({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}})
                yield "data: [DONE]\n\n"
            case "error":
                yield _event({"error": {"message": "model crashed", "type": "server_error"}})
            case "malformed":
                yield "data: {not json\n\n"
            case "stall":
                await self.release.wait()
            case "cut":
                return


def _event(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"
