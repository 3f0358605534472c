"""One simulated student: a conversation, its socket, and what the client holds of it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import re
import time
from collections import Counter
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from realtime.loadtest.config import WAIT

__all__ = ["Stats", "Student", "complete_prefix"]


@dataclasses.dataclass
class Stats:
    """What the students measured."""

    ack: list[float] = dataclasses.field(default_factory=list)
    first_delta: list[float] = dataclasses.field(default_factory=list)
    full_reply: list[float] = dataclasses.field(default_factory=list)
    turns: int = 0
    frames: int = 0
    errors: Counter[str] = dataclasses.field(default_factory=Counter)


class Student:
    """One simulated student: a conversation and its socket."""

    def __init__(self, number: int, token: str, conversation: str, url: str) -> None:
        self.number = number
        self.token = token
        self.conversation = conversation
        self.url = url
        self.ws: ClientConnection | None = None
        self.last_seq = 0
        self.messages: dict[int, dict[str, Any]] = {}  # seq -> what the client holds
        self.replies: dict[str, int] = {}  # message id -> seq
        self.turn = itertools.count()

    async def close(self) -> None:
        """Close the socket, if one is open, whatever state it is in."""
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()

    async def connect(self, stats: Stats) -> None:
        ws_url = re.sub(r"^http", "ws", self.url)
        self.ws = await asyncio.wait_for(
            websockets.connect(f"{ws_url}/ws/conversations/{self.conversation}", max_size=None),
            WAIT,
        )
        await self.send({"type": "hello", "token": self.token, "last_seq": self.last_seq})
        welcome = await self.recv(stats)
        if welcome.get("type") != "welcome":
            raise RuntimeError(f"expected welcome, got {welcome.get('type')}")
        for _ in range(welcome["replay"]):
            self.hold(await self.recv(stats))

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send(orjson.dumps(frame).decode())

    async def recv(self, stats: Stats) -> dict[str, Any]:
        assert self.ws is not None
        while True:
            # asyncio.timeout, not wait_for: wait_for makes a task of every receive.
            async with asyncio.timeout(WAIT):
                text = await self.ws.recv()
            frame: dict[str, Any] = orjson.loads(text)
            stats.frames += 1
            if frame["type"] == "ping":
                await self.send({"type": "pong", "nonce": frame.get("nonce")})
                continue
            return frame

    async def think(self, seconds: float, stats: Stats) -> None:
        """Wait ``seconds`` as a student thinks, still answering the server's pings."""
        assert self.ws is not None
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0:
            try:
                async with asyncio.timeout(left):
                    text = await self.ws.recv()
            except TimeoutError:
                return
            stats.frames += 1
            frame = orjson.loads(text)
            if frame["type"] == "ping":
                await self.send({"type": "pong", "nonce": frame.get("nonce")})
            else:
                self.hold(frame)

    async def until_idle(self, stats: Stats) -> None:
        """Read until no reply is streaming (the opening, after a join)."""
        while any(m["status"] == "streaming" for m in self.messages.values()):
            self.hold(await self.recv(stats))

    async def turn_once(self, correct: bool, stats: Stats) -> None:
        """Send one answer and read its ack and its whole reply, timing each."""
        n = next(self.turn)
        answer = str(n + 1) if correct else "wrong"
        started = time.perf_counter()
        await self.send({"type": "send", "client_msg_id": f"t{n}", "content": answer})
        first_delta = None
        while True:
            frame = await self.recv(stats)
            self.hold(frame)
            kind = frame["type"]
            now = time.perf_counter()
            if kind == "ack":
                stats.ack.append(now - started)
            elif kind == "assistant.delta" and first_delta is None:
                first_delta = now - started
                stats.first_delta.append(first_delta)
            elif kind == "assistant.end":
                stats.full_reply.append(now - started)
                stats.turns += 1
                return
            elif kind == "error":
                stats.errors[f"error:{frame['code']}"] += 1
                return

    def hold(self, frame: dict[str, Any]) -> None:
        """Apply a frame to what the client holds, as a careful client does."""
        match frame["type"]:
            case "message":
                self.messages[frame["seq"]] = {
                    "id": frame["id"],
                    "content": frame["content"],
                    "status": frame["status"],
                }
                self.replies[frame["id"]] = frame["seq"]
            case "ack":
                self.messages[frame["seq"]] = {
                    "id": frame["message_id"],
                    "content": None,
                    "status": "complete",
                }
            case "assistant.start":
                self.messages[frame["seq"]] = {
                    "id": frame["message_id"],
                    "content": "",
                    "status": "streaming",
                }
                self.replies[frame["message_id"]] = frame["seq"]
            case "assistant.delta":
                held = self.messages[self.replies[frame["message_id"]]]
                if frame["offset"] > len(held["content"]):
                    raise RuntimeError("a delta beyond the text held")
                held["content"] = held["content"][: frame["offset"]] + frame["text"]
            case "assistant.end":
                held = self.messages[self.replies[frame["message_id"]]]
                held["status"] = frame["status"]
        self.last_seq = complete_prefix(self.messages, self.last_seq)


def complete_prefix(messages: dict[int, dict[str, Any]], start: int) -> int:
    """The client's position: ``start`` (a complete prefix already: a message never goes
    back to streaming) moved past what has since become complete."""
    seq = start
    while (held := messages.get(seq + 1)) is not None and held["status"] != "streaming":
        seq += 1
    return seq
