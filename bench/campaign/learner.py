"""A student who survives faults: answers, reconnects with its position when the socket
drops, sends an unacknowledged turn again with the same ``client_msg_id``, and keeps a
history of what it was told for the check afterwards.

While it runs it checks what only the client can see: on each socket, every new row
(``message``, ``assistant.start``, a new ``ack``) carries the next ``seq``, none twice
and none skipped, and a repeated turn's ``ack`` names the ``seq`` of the first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from typing import Any

import websockets

from realtime.loadtest.student import Stats, Student

__all__ = ["DROPPED", "Learner", "Recovery"]

# What a fault does to a client's socket or its connect.
DROPPED = (websockets.WebSocketException, OSError, TimeoutError, RuntimeError)
RECONNECT_DELAYS = (0.05, 0.1, 0.2, 0.5, 1.0)  # then 1 s apart
RECONNECT_FOR = 120.0  # seconds: the longest a fault may keep a student out
RETRY_REFUSED_SECONDS = 0.2


@dataclasses.dataclass(slots=True)
class Recovery:
    """When a student lost its socket, and when it had the welcome of the next."""

    dropped: float
    welcomed: float | None = None


class Learner(Student):
    """A student who keeps going through faults, and the history it kept."""

    def __init__(self, student: Student, think: tuple[float, float], pulse: asyncio.Event) -> None:
        super().__init__(student.number, student.token, student.conversation, student.url)
        self.urls = [student.url]
        self._think = think
        self._pulse = pulse  # set on each acknowledgement and each reply begun
        self.pending: str | None = None  # a turn sent, not yet acknowledged
        self.pending_content = ""
        self.acked: dict[str, int] = {}  # client_msg_id -> seq
        self.acked_at: dict[str, float] = {}  # client_msg_id -> when its first ack came
        self.answered_from = 0  # the seq after which the current turn's reply comes
        self.refused: dict[str, int] = {}  # error code -> times
        self.violations: list[str] = []
        self.recoveries: list[Recovery] = []
        self.completed = False
        self._expect = 1
        self._connects = 0

    async def run(self, until: asyncio.Event, stats: Stats) -> None:
        """Answer until ``until`` is set, through whatever happens to the server; then
        finish the turn in hand and end the assessment, so that it is scored."""
        while not until.is_set() and not self.completed:
            try:
                await self._ensure_connected(stats)
                await self.think(random.uniform(*self._think), stats)
                if not until.is_set():
                    await self._turn(stats)
            except DROPPED:
                self._dropped()
        await self.finish(stats)

    async def finish(self, stats: Stats) -> None:
        """The turn in hand acknowledged and answered, then ``complete`` and its
        ``completed``."""
        while not self.completed:
            try:
                await self._ensure_connected(stats)
                if self.pending is not None or not self._answered():
                    if not await self._turn(stats):
                        await asyncio.sleep(RETRY_REFUSED_SECONDS)
                    continue
                await self.send({"type": "complete"})
                while not self.completed:
                    self.hold(await self.recv(stats))
            except DROPPED:
                self._dropped()
        await self.close()

    async def _turn(self, stats: Stats) -> bool:
        """Send the turn in hand (a new one if none is), then read until it is acked
        and its reply has ended; False if the server refused it."""
        if self.pending is None and self._answered():
            number = next(self.turn)
            self.pending = f"t{number}"
            self.pending_content = str(number + 1) if random.random() < 0.7 else "wrong"
        if self.pending is not None:
            await self.send(
                {"type": "send", "client_msg_id": self.pending, "content": self.pending_content}
            )
        while self.pending is not None or not self._answered():
            frame = await self.recv(stats)
            self.hold(frame)
            if frame["type"] == "error" and frame.get("ref") == self.pending:
                self.refused[frame["code"]] = self.refused.get(frame["code"], 0) + 1
                self._pulse.set()
                return False  # sent again later, with the same client_msg_id
            if self.completed:
                break
        return True

    def _answered(self) -> bool:
        """The reply after the last acknowledged turn has ended (replies answer turns in
        order, one each, and this student has one socket)."""
        return (
            any(
                seq > self.answered_from
                and held["content"] is not None
                and held["status"] != "streaming"
                for seq, held in self.messages.items()
            )
            or not self.acked
        )

    async def _ensure_connected(self, stats: Stats) -> None:
        if self.ws is not None:
            return
        started = time.perf_counter()
        for attempt in range(10_000):
            self.url = self.urls[self._connects % len(self.urls)]
            self._connects += 1
            try:
                await self.connect(stats)
            except DROPPED:
                await self.close()
                self.ws = None
                if time.perf_counter() - started > RECONNECT_FOR:
                    raise
                await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
                continue
            if self.recoveries and self.recoveries[-1].welcomed is None:
                self.recoveries[-1].welcomed = time.perf_counter()
            return

    async def connect(self, stats: Stats) -> None:
        self._expect = self.last_seq + 1
        await super().connect(stats)

    def _dropped(self) -> None:
        if self.ws is not None:
            self.ws.transport.abort()
        self.ws = None
        if not self.recoveries or self.recoveries[-1].welcomed is not None:
            self.recoveries.append(Recovery(dropped=time.perf_counter()))

    def hold(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "ack":
            self._on_ack(frame)
            self._pulse.set()
        elif kind in ("message", "assistant.start"):
            self._next_row(frame["seq"], kind)
            self._pulse.set()
        elif kind == "completed":
            self.completed = True
        try:
            super().hold(frame)
        except (KeyError, RuntimeError) as error:
            self.violations.append(f"{kind} could not be applied: {error!r}")

    def describe(self) -> str:
        """Where the student stands, for a report."""
        newest = sorted(self.messages.items())[-3:]
        return (
            f"conversation {self.conversation}: pending {self.pending}, answered after"
            f" {self.answered_from}, last_seq {self.last_seq}, newest held {newest}"
        )

    def connected(self) -> bool:
        """Whether the student is on a socket (or has ended its assessment)."""
        return self.ws is not None or self.completed

    def streaming(self) -> bool:
        """Whether the newest message held is a reply still streaming."""
        return bool(self.messages) and self.messages[max(self.messages)]["status"] == "streaming"

    def _on_ack(self, frame: dict[str, Any]) -> None:
        client_msg_id, seq = frame["client_msg_id"], frame["seq"]
        first = self.acked.get(client_msg_id)
        if frame["duplicate"]:
            if first is not None and first != seq:
                self.violations.append(f"{client_msg_id} acked at {first}, then at {seq}")
        else:
            if first is not None:
                self.violations.append(f"{client_msg_id} stored twice: {first} and {seq}")
            self._next_row(seq, "ack")
            self.acked_at[client_msg_id] = time.perf_counter()
        self.acked[client_msg_id] = seq
        if client_msg_id == self.pending:
            self.pending = None
            self.answered_from = seq

    def _next_row(self, seq: int, kind: str) -> None:
        if seq != self._expect:
            what = "again" if seq < self._expect else "past a gap"
            self.violations.append(f"{kind} seq {seq} {what} (expected {self._expect})")
        self._expect = max(self._expect, seq + 1)

    def reply_texts(self) -> dict[str, tuple[str, str]]:
        """The replies the student holds as ended: message id -> (status, text)."""
        return {
            held["id"]: (held["status"], held["content"])
            for held in self.messages.values()
            if held["content"] is not None and held["status"] != "streaming"
        }
