"""``tutorchat loadtest``: simulated students against a running server.

Scenarios:

- ``steady``: N students, each with its own conversation (created over the HTTP API),
  answer fill-blank items over the protocol: right or wrong by ``--correct``, with an
  exponentially distributed think time of mean ``--think`` seconds between turns. It
  measures ack latency (send to ack), time to first delta (send to the first delta of the
  reply) and full-reply time (send to ``assistant.end``).
- ``idle``: N authenticated sockets held open (answering heartbeats); reports the
  server's resident memory per socket.
- ``storm``: N students each send a turn, every socket is cut at once while the replies
  stream, and all reconnect with their ``last_seq``. It reports the time until every
  client has resumed, and checks each client's messages against the HTTP history: no
  seq or text missing or doubled.
- ``slow``: ``steady``, with ``--slow-fraction`` of the students never reading.

Results are printed as a table, and as JSON with ``--json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import itertools
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import httpx
import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from realtime.auth import mint

__all__ = ["LoadConfig", "run_loadtest"]

MAX_ITEMS = 2000
CONNECT_CONCURRENCY = 100
WAIT = 60.0  # seconds: the most any single reply, connect or request may take


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LoadConfig:
    """What to run, against which servers.

    Attributes:
        urls: the servers' base URLs. With several (the processes of one deployment),
            student ``n`` uses ``urls[n % len(urls)]`` for its requests and its socket,
            as a round-robin load balancer would place it; the first also serves the
            assessment and the memory reading.
    """

    urls: tuple[str, ...]
    secret: str
    scenario: str = "steady"
    students: int = 100
    duration: float = 20.0
    ramp: float = 5.0
    think: float = 2.0
    correct: float = 0.7
    slow_fraction: float = 0.1
    progress: bool = True

    @property
    def url(self) -> str:
        return self.urls[0]


@dataclasses.dataclass
class _Stats:
    ack: list[float] = dataclasses.field(default_factory=list)
    first_delta: list[float] = dataclasses.field(default_factory=list)
    full_reply: list[float] = dataclasses.field(default_factory=list)
    turns: int = 0
    frames: int = 0
    errors: Counter[str] = dataclasses.field(default_factory=Counter)


class _Student:
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

    async def connect(self, stats: _Stats) -> None:
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
            self._hold(await self.recv(stats))

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send(orjson.dumps(frame).decode())

    async def recv(self, stats: _Stats) -> dict[str, Any]:
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

    async def think(self, seconds: float, stats: _Stats) -> None:
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
                self._hold(frame)

    async def until_idle(self, stats: _Stats) -> None:
        """Read until no reply is streaming (the opening, after a join)."""
        while any(m["status"] == "streaming" for m in self.messages.values()):
            self._hold(await self.recv(stats))

    async def turn_once(self, correct: bool, stats: _Stats) -> None:
        """Send one answer and read its ack and its whole reply, timing each."""
        n = next(self.turn)
        answer = str(n + 1) if correct else "wrong"
        started = time.perf_counter()
        await self.send({"type": "send", "client_msg_id": f"t{n}", "content": answer})
        first_delta = None
        while True:
            frame = await self.recv(stats)
            self._hold(frame)
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

    def _hold(self, frame: dict[str, Any]) -> None:
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
        self.last_seq = _complete_prefix(self.messages, self.last_seq)


def _complete_prefix(messages: dict[int, dict[str, Any]], start: int) -> int:
    """The client's position: ``start`` (a complete prefix already: a message never goes
    back to streaming) moved past what has since become complete."""
    seq = start
    while (held := messages.get(seq + 1)) is not None and held["status"] != "streaming":
        seq += 1
    return seq


async def run_loadtest(config: LoadConfig) -> dict[str, Any]:
    """Run the scenario and return the report."""
    scenarios: dict[str, Callable[[LoadConfig], Awaitable[dict[str, Any]]]] = {
        "steady": _steady,
        "slow": _steady,
        "idle": _idle,
        "storm": _storm,
    }
    if config.scenario not in scenarios:
        raise ValueError(f"unknown scenario {config.scenario!r}: {', '.join(scenarios)}")
    started = time.perf_counter()
    with _collector_paused():
        report = await scenarios[config.scenario](config)
    report = {"scenario": config.scenario, "students": config.students, **report}
    report["wall_seconds"] = round(time.perf_counter() - started, 2)
    return report


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Run without the cycle collector. Its pauses would stall every student at once and
    be measured as the server's latency: at 500 students a full collection of the
    generator's own objects took 140 ms. Reference counting still frees nearly all of
    them; what cycles remain are collected when the run ends."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


async def _setup(config: LoadConfig, count: int) -> list[_Student]:
    """An assessment of many items, and a conversation for each student."""
    run_id = f"{int(time.time() * 1000):x}"
    teacher = mint(
        config.secret,
        user_id="load-teacher",
        course_id="load",
        platform_id="load",
        roles=["Instructor"],
    )
    items = [
        {"id": f"i{n}", "text": f"{n} + 1 = ___", "answers": [str(n + 1)]}
        for n in range(_items(config))
    ]
    async with httpx.AsyncClient(
        base_url=config.url, timeout=WAIT, limits=httpx.Limits(max_connections=CONNECT_CONCURRENCY)
    ) as http:
        response = await http.put(
            "/api/assessments",
            headers={"authorization": f"Bearer {teacher}"},
            json={
                "platform_id": "load",
                "resource_link_id": f"load-{run_id}",
                "assessment_type": "fill_blank",
                "grading_schema": "mastery",
                "ai_config": {"items": items, "max_attempts": 1, "retry_rounds": 0},
            },
        )
        response.raise_for_status()
        assessment = response.json()["id"]
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def student(number: int) -> _Student:
            token = mint(
                config.secret,
                user_id=f"load-{run_id}-{number}",
                course_id="load",
                platform_id="load",
            )
            url = config.urls[number % len(config.urls)]
            # Opening a conversation is idempotent (the student's active one comes back),
            # so a request lost with a pooled connection the server had closed is retried.
            for attempt in range(3):
                try:
                    async with gate:
                        created = await http.post(
                            f"{url}/api/assessments/{assessment}/conversations",
                            headers={"authorization": f"Bearer {token}"},
                        )
                    break
                except httpx.TransportError:
                    if attempt == 2:
                        raise
            created.raise_for_status()
            return _Student(number, token, created.json()["id"], url)

        return list(await asyncio.gather(*(student(n) for n in range(count))))


def _items(config: LoadConfig) -> int:
    """Enough items that no student finishes during the run: four times the turns one
    would make at the mean think time (at least 20 ms a turn), and 50 more. No more than
    that: every join reads the conversation's plan, one id per item."""
    turns = (config.ramp + config.duration) / max(config.think, 0.02)
    return min(MAX_ITEMS, 50 + int(4 * turns))


async def _connect_all(config: LoadConfig, students: Sequence[_Student], stats: _Stats) -> None:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(student: _Student) -> None:
        async with gate:
            await student.connect(stats)
            await student.until_idle(stats)

    await asyncio.gather(*(one(s) for s in students))


async def _steady(config: LoadConfig) -> dict[str, Any]:
    slow_count = int(config.students * config.slow_fraction) if config.scenario == "slow" else 0
    students = await _setup(config, config.students + slow_count)
    stats = _Stats()
    await _connect_all(config, students, stats)
    readers, slow = students[: config.students], students[config.students :]
    memory_before = await _server_memory(config)
    deadline = time.perf_counter() + config.ramp + config.duration
    measure_from = time.perf_counter() + config.ramp
    cpu_before = time.process_time()

    async def drive(student: _Student) -> None:
        await asyncio.sleep(random.uniform(0, config.ramp))
        while time.perf_counter() < deadline:
            try:
                if config.think > 0:
                    # A think that would end past the deadline ends at it: the run's
                    # length, and so its turn rate, must not depend on the longest one.
                    pause = random.expovariate(1 / config.think)
                    await student.think(min(pause, deadline - time.perf_counter()), stats)
                    if time.perf_counter() >= deadline:
                        return
                await student.turn_once(random.random() < config.correct, stats)
            except (websockets.ConnectionClosed, TimeoutError) as error:
                stats.errors[type(error).__name__] += 1
                return

    stop_progress = asyncio.Event()
    progress = asyncio.create_task(_progress(stats, stop_progress)) if config.progress else None
    for s in slow:  # connected, then never read again: their outboxes fill
        await s.send({"type": "send", "client_msg_id": "slow", "content": "x"})
    turns_at_start = 0

    async def mark_start() -> None:
        nonlocal turns_at_start
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        turns_at_start = stats.turns
        stats.ack.clear()
        stats.first_delta.clear()
        stats.full_reply.clear()

    await asyncio.gather(mark_start(), *(drive(s) for s in readers))
    stop_progress.set()
    if progress is not None:
        await progress
    measured = time.perf_counter() - measure_from
    memory_after = await _server_memory(config)
    for s in students:
        if s.ws is not None:
            with contextlib.suppress(Exception):
                await s.ws.close()
    return {
        "turns": stats.turns - turns_at_start,
        "turns_per_second": round((stats.turns - turns_at_start) / measured, 1),
        "frames_received_per_second": round(stats.frames / (measured + config.ramp), 1),
        "ack_ms": _percentiles(stats.ack),
        "first_delta_ms": _percentiles(stats.first_delta),
        "full_reply_ms": _percentiles(stats.full_reply),
        "errors": dict(stats.errors),
        "slow_clients": len(slow),
        "server_rss_mib": _mib(memory_after),
        "server_rss_before_mib": _mib(memory_before),
        "client_cpu_seconds": round(time.process_time() - cpu_before, 2),
    }


async def _idle(config: LoadConfig) -> dict[str, Any]:
    memory_before = await _server_memory(config)
    students = await _setup(config, config.students)
    memory_conversations = await _server_memory(config)
    stats = _Stats()
    await _connect_all(config, students, stats)
    memory_sockets = await _server_memory(config)

    async def hold(student: _Student) -> None:
        with contextlib.suppress(TimeoutError, websockets.ConnectionClosed):
            async with asyncio.timeout(config.duration):
                while True:
                    await student.recv(stats)

    await asyncio.gather(*(hold(s) for s in students))
    memory_after = await _server_memory(config)
    for s in students:
        if s.ws is not None:
            with contextlib.suppress(Exception):
                await s.ws.close()
    per_socket = None
    if memory_sockets is not None and memory_conversations is not None:
        per_socket = round((memory_sockets - memory_conversations) / config.students / 1024, 1)
    return {
        "sockets": len(students),
        "server_rss_before_mib": _mib(memory_before),
        "server_rss_with_conversations_mib": _mib(memory_conversations),
        "server_rss_with_sockets_mib": _mib(memory_sockets),
        "server_rss_after_hold_mib": _mib(memory_after),
        "kib_per_socket": per_socket,
        "errors": dict(stats.errors),
    }


async def _storm(config: LoadConfig) -> dict[str, Any]:
    students = await _setup(config, config.students)
    stats = _Stats()
    await _connect_all(config, students, stats)
    for s in students:  # every student sends a turn; its reply is on its way
        await s.send({"type": "send", "client_msg_id": "storm", "content": "1"})
    for s in students:
        frame = await s.recv(stats)
        s._hold(frame)
    for s in students:  # the storm: every socket cut at once
        assert s.ws is not None
        s.ws.transport.abort()
    cut = time.perf_counter()
    resumed: list[float] = []

    async def resume(student: _Student) -> None:
        # With several processes, each student comes back through the next one.
        student.url = config.urls[(student.number + 1) % len(config.urls)]
        try:
            await student.connect(stats)
            await student.until_idle(stats)
            while not _has_reply(student):
                student._hold(await student.recv(stats))
            resumed.append(time.perf_counter() - cut)
        except (websockets.ConnectionClosed, TimeoutError, OSError) as error:
            stats.errors[type(error).__name__] += 1

    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def gated(student: _Student) -> None:
        async with gate:
            await resume(student)

    await asyncio.gather(*(gated(s) for s in students))
    mismatches = await _verify(config, students)
    for s in students:
        if s.ws is not None:
            with contextlib.suppress(Exception):
                await s.ws.close()
    return {
        "resumed": len(resumed),
        "all_resumed_seconds": round(max(resumed), 3) if resumed else None,
        "resume_ms": _percentiles(resumed),
        "mismatched_conversations": mismatches,
        "errors": dict(stats.errors),
    }


def _has_reply(student: _Student) -> bool:
    """The reply to the storm turn is held whole (the last message is a complete reply)."""
    if not student.messages:
        return False
    last = student.messages[max(student.messages)]
    return (
        max(student.messages) >= 3 and last["status"] != "streaming" and last["content"] is not None
    )


async def _verify(config: LoadConfig, students: Sequence[_Student]) -> int:
    """Conversations whose client-held messages differ from the server's history."""
    mismatched = 0
    async with httpx.AsyncClient(base_url=config.url, timeout=WAIT) as http:
        for s in students:
            response = await http.get(
                f"{s.url}/api/conversations/{s.conversation}/messages",
                params={"limit": 1000},
                headers={"authorization": f"Bearer {s.token}"},
            )
            history = {m["seq"]: m for m in response.json()["messages"]}
            held = s.messages
            if sorted(history) != sorted(held) or any(
                held[seq]["id"] != m["id"]
                or (held[seq]["content"] is not None and held[seq]["content"] != m["content"])
                or held[seq]["status"] != m["status"]
                for seq, m in history.items()
            ):
                mismatched += 1
    return mismatched


async def _server_memory(config: LoadConfig) -> float | None:
    """The server's resident memory in bytes, from its metrics."""
    async with httpx.AsyncClient(base_url=config.url, timeout=WAIT) as http:
        text = (await http.get("/metrics")).text
    found = re.search(r"^process_resident_memory_bytes ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


async def _progress(stats: _Stats, stop: asyncio.Event) -> None:
    last = 0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await stop.wait()
        p99 = _percentiles(stats.ack[-2000:])["p99"]
        errors = sum(stats.errors.values())
        rate = stats.turns - last
        sys.stderr.write(f"\rturns {stats.turns} (+{rate}/s) ack p99 {p99} ms errors {errors}   ")
        last = stats.turns
    sys.stderr.write("\n")


def _percentiles(samples: Sequence[float]) -> dict[str, float | None]:
    if not samples:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1] * 1000, 2)}


def _mib(value: float | None) -> float | None:
    return None if value is None else round(value / 2**20, 1)


def format_report(report: dict[str, Any]) -> str:
    """The report as an aligned two-column table."""
    rows = []
    for key, value in report.items():
        if isinstance(value, dict):
            value = "  ".join(f"{k}={v}" for k, v in value.items()) or "-"
        rows.append((key, str(value)))
    width = max(len(key) for key, _ in rows)
    return "\n".join(f"{key.ljust(width)}  {value}" for key, value in rows)


def write_json(report: dict[str, Any], path: str) -> None:
    with open(path, "w") as handle:
        json.dump(report, handle, indent=2)
        handle.write("\n")
