"""Peer comparison: tutorchat beside python-socketio doing a turn's work, and the bare
echo server, in one run on this machine.

Usage: ``python bench/peer_bench.py [--students 1000] [--duration 20] [--think 2]
[--idle 2000] [--json PATH]`` (python-socketio comes with ``pip install -e '.[bench]'``).

Three servers, each started fresh in its own process (SQLite in a temporary folder), the
load in this one:

- the bare Starlette echo (``bench/echo_server.py``): KiB per idle socket, and the
  server's CPU per round trip with those ``--idle`` sockets sending one frame each every
  ``think`` seconds on average;
- tutorchat (``tutorchat serve``), driven by its own ``tutorchat loadtest idle`` and
  ``steady``;
- the python-socketio peer (``bench/sio_peer.py``), driven by a Socket.IO client on plain
  ``websockets`` that behaves as ``tutorchat loadtest steady`` does: every student
  thinks (exponential, mean ``think``), sends a turn, reads its ack and its reply to the
  end, and thinks again; ack and first delta are timed from the send; the first
  ``--ramp`` seconds start everyone and are not measured.

Server CPU per turn is the server process's utime + stime over the measured window
divided by the turns completed in it: the figure that holds across days on a shared
machine. Prints a Markdown table and the figures as JSON (also to ``--json``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import orjson
import websockets
from load_bench import ROOT, SECRET, cpu_seconds, loadtest, rss_kib, start_server, wait_http
from sio_peer import SCHEMA

OPEN_AT_ONCE = 200  # sockets opened side by side, as tutorchat's load client does
WAIT = 30.0  # seconds: the most any one frame or connect is waited for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if values else 0.0


@contextlib.contextmanager
def _process(command: list[str], folder: Path, health: str | None) -> Iterator[int]:
    """A server process for the block; its PID."""
    server = subprocess.Popen(command, cwd=folder, stderr=open(folder / "server.log", "wb"))
    try:
        if health is not None:
            wait_http(health)
        yield server.pid
    finally:
        server.terminate()
        server.wait()


async def _open_all(opener: Any, count: int) -> list[Any]:
    opened: list[Any] = []
    for first in range(0, count, OPEN_AT_ONCE):
        batch = range(first, min(count, first + OPEN_AT_ONCE))
        opened += await asyncio.gather(*(opener(i) for i in batch))
    return opened


# ---------------------------------------------------------------- the bare echo


async def echo(port: int, pid: int, sockets: int, think: float, seconds: float) -> dict[str, Any]:
    """KiB per idle socket; CPU per round trip at one frame per ``think`` per socket."""
    frame = orjson.dumps({"type": "assistant.delta", "message_id": "m" * 32, "text": "word "})

    async def opened(_: int) -> websockets.ClientConnection:
        ws = await websockets.connect(f"ws://127.0.0.1:{port}/echo", compression=None)
        await ws.send(frame.decode())
        await asyncio.wait_for(ws.recv(), WAIT)
        return ws

    before = rss_kib(pid)
    held = await _open_all(opened, sockets)
    kib = (rss_kib(pid) - before) / sockets
    trips = 0
    deadline = time.perf_counter() + seconds

    async def talk(ws: websockets.ClientConnection) -> None:
        nonlocal trips
        while (left := deadline - time.perf_counter()) > 0:
            await asyncio.sleep(min(random.expovariate(1 / think), left))
            await ws.send(frame.decode())
            await asyncio.wait_for(ws.recv(), WAIT)
            trips += 1

    cpu = cpu_seconds(pid)
    await asyncio.gather(*(talk(ws) for ws in held))
    cpu = cpu_seconds(pid) - cpu
    await asyncio.gather(*(ws.close() for ws in held))
    return {
        "kib_per_socket": round(kib, 2),
        "round_trips": trips,
        "server_cpu_ms_per_round_trip": round(1000 * cpu / trips, 3),
    }


# ---------------------------------------------------------------- the python-socketio peer


@dataclass
class Timings:
    """What the peer's students measured."""

    ack: list[float] = field(default_factory=list)
    first_delta: list[float] = field(default_factory=list)
    turns: int = 0
    errors: int = 0


class SocketIOStudent:
    """A student on Engine.IO 4 / Socket.IO 5 over plain ``websockets``."""

    def __init__(self, port: int, user: str, conversation: str) -> None:
        self._url = f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"
        self._auth = {"token": _token(user), "conversation_id": conversation}
        self._ws: websockets.ClientConnection | None = None
        self._turn = 0

    async def connect(self) -> None:
        self._ws = ws = await websockets.connect(self._url, compression=None)
        try:
            if not str(await asyncio.wait_for(ws.recv(), WAIT)).startswith("0"):
                raise RuntimeError("no Engine.IO open packet")
            await ws.send("40" + json.dumps(self._auth))
            answer = await self._packet()
            if not answer.startswith("40"):
                raise RuntimeError(f"join refused: {answer[:80]}")
        except BaseException:
            await ws.close()
            raise

    async def _packet(self, within: float = WAIT) -> str:
        """The next packet that is not the server's ping (answered here)."""
        assert self._ws is not None
        while True:
            packet = str(await asyncio.wait_for(self._ws.recv(), within))
            if packet != "2":
                return packet
            await self._ws.send("3")

    async def think(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            while True:  # nothing else arrives between turns but pings
                await self._packet(within=seconds)

    async def turn_once(self, timings: Timings) -> None:
        assert self._ws is not None
        self._turn += 1
        turn = {"client_msg_id": f"t{self._turn}", "content": str(self._turn)}
        started = time.perf_counter()
        await self._ws.send(f"42{self._turn}" + json.dumps(["send", turn]))
        first_delta = True
        while True:
            packet = await self._packet()
            now = time.perf_counter()
            if packet.startswith(f"43{self._turn}["):
                if "error" in packet:
                    timings.errors += 1
                    return
                timings.ack.append(now - started)
            elif packet.startswith('42["assistant.delta"') and first_delta:
                first_delta = False
                timings.first_delta.append(now - started)
            elif packet.startswith('42["assistant.end"'):
                timings.turns += 1
                return

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()


def _token(user: str) -> str:
    return jwt.encode({"sub": user, "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256")


def seed(database: Path, count: int) -> None:
    with contextlib.closing(sqlite3.connect(database)) as db:
        db.executescript(SCHEMA)
        db.executemany(
            "INSERT INTO conversations (id, user_id) VALUES (?, ?)",
            [(f"c{i}", f"u{i}") for i in range(count)],
        )
        db.commit()


async def peer_idle(port: int, pid: int, count: int) -> dict[str, Any]:
    before = rss_kib(pid)
    students = await _open_all(lambda i: _connected(port, i), count)
    kib = (rss_kib(pid) - before) / count
    await asyncio.gather(*(s.close() for s in students))
    return {"kib_per_socket": round(kib, 2)}


async def _connected(port: int, i: int) -> SocketIOStudent:
    student = SocketIOStudent(port, f"u{i}", f"c{i}")
    await student.connect()
    return student


async def peer_steady(
    port: int, pid: int, count: int, think: float, seconds: float, ramp: float
) -> dict[str, Any]:
    students = await _open_all(lambda i: _connected(port, i), count)
    timings = Timings()
    deadline = time.perf_counter() + ramp + seconds
    marks: dict[str, float] = {}

    async def drive(student: SocketIOStudent) -> None:
        await asyncio.sleep(random.uniform(0, ramp))
        while (left := deadline - time.perf_counter()) > 0:
            await student.think(min(random.expovariate(1 / think), left))
            if time.perf_counter() >= deadline:
                return
            try:
                await student.turn_once(timings)
            except (websockets.ConnectionClosed, TimeoutError):
                timings.errors += 1
                return

    async def mark_start() -> None:
        await asyncio.sleep(ramp)
        marks.update(turns=timings.turns, cpu=cpu_seconds(pid))
        timings.ack.clear()
        timings.first_delta.clear()

    await asyncio.gather(mark_start(), *(drive(s) for s in students))
    cpu, turns = cpu_seconds(pid) - marks["cpu"], timings.turns - int(marks["turns"])
    await asyncio.gather(*(s.close() for s in students))
    return {
        "turns": turns,
        "turns_per_second": round(turns / seconds, 1),
        "ack_ms": _latencies(timings.ack),
        "first_delta_ms": _latencies(timings.first_delta),
        "errors": timings.errors,
        "server_cpu_ms_per_turn": round(1000 * cpu / turns, 3) if turns else None,
    }


def _latencies(seconds: list[float]) -> dict[str, float]:
    return {f"p{p}": round(1000 * _percentile(seconds, p), 2) for p in (50, 99)}


# ---------------------------------------------------------------- the run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--ramp", type=float, default=5.0, help="seconds to start everyone")
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds between turns")
    parser.add_argument("--idle", type=int, default=2000, help="sockets held for memory")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    python = sys.executable
    command = " ".join(["python", "bench/peer_bench.py", *sys.argv[1:]])
    results: dict[str, Any] = {"command": command}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port = _free_port()
        echo_command = [python, str(ROOT / "bench" / "echo_server.py"), str(port)]
        with _process(echo_command, folder, None) as pid:
            wait_tcp(port)
            results["echo"] = asyncio.run(echo(port, pid, args.idle, args.think, args.duration))
        steady = ["--students", str(args.students), "--duration", str(args.duration)]
        steady += ["--ramp", str(args.ramp), "--think", str(args.think)]
        idle = ["--students", str(args.idle), "--duration", "5"]
        for scenario, options in (("idle", idle), ("steady", steady)):
            run = folder / f"tutorchat-{scenario}"
            run.mkdir()
            port = _free_port()
            server = start_server(run, port)
            try:
                results[f"tutorchat_{scenario}"] = loadtest(
                    f"http://127.0.0.1:{port}", scenario, *options
                )
            finally:
                server.terminate()
                server.wait()
        for scenario in ("idle", "steady"):
            run = folder / f"peer-{scenario}"
            run.mkdir()
            database = run / "peer.db"
            seed(database, max(args.idle, args.students))
            port = _free_port()
            peer = [python, str(ROOT / "bench" / "sio_peer.py"), str(port), str(database), SECRET]
            with _process(peer, run, None) as pid:
                wait_tcp(port)
                results[f"peer_{scenario}"] = asyncio.run(
                    peer_idle(port, pid, args.idle)
                    if scenario == "idle"
                    else peer_steady(port, pid, args.students, args.think, args.duration, args.ramp)
                )
    print(table(results))
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


def wait_tcp(port: int) -> None:
    for _ in range(200):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def table(results: dict[str, Any]) -> str:
    """The figures side by side, as bench/RESULTS.md shows them."""
    echo_kib = results["echo"]["kib_per_socket"]
    echo_cpu = results["echo"]["server_cpu_ms_per_round_trip"]
    lines = [
        "| system | idle KiB/socket (x echo) | turns/s | p50 / p99 ack ms"
        " | p50 / p99 first delta ms | errors | server CPU ms/turn (x echo round trip) |",
        "|---|---|---|---|---|---|---|",
        f"| bare echo | {echo_kib} (1.00x) | | | | | {echo_cpu} per round trip (1.00x) |",
    ]
    for name, system in (("tutorchat", "tutorchat"), ("peer", "python-socketio peer")):
        idle, run = results[f"{name}_idle"], results[f"{name}_steady"]
        kib, cpu = idle["kib_per_socket"], run["server_cpu_ms_per_turn"]
        errors = run["errors"] if isinstance(run["errors"], int) else sum(run["errors"].values())
        lines.append(
            f"| {system} | {kib} ({kib / echo_kib:.2f}x) | {run['turns_per_second']}"
            f" | {run['ack_ms']['p50']} / {run['ack_ms']['p99']}"
            f" | {run['first_delta_ms']['p50']} / {run['first_delta_ms']['p99']}"
            f" | {errors} | {cpu} ({cpu / echo_cpu:.1f}x) |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
