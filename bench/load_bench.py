"""Load benchmark: every ``tutorchat loadtest`` scenario against a real server, beside
a bare Starlette echo server on the same uvicorn settings, measured in the same run.

Usage: ``python bench/load_bench.py [--idle 10000] [--steady 1000] [--duration 20]
[--saturation-clients 300] [--sweep 1500,2000,3000]``

Each server runs in its own process on this machine (SQLite in a temporary folder), and
the load generator in another. Saturation runs the same number of clients, each sending
its next frame as soon as the last is answered, against both servers. The sweep runs
``steady`` at each number of students (think 2 s) to find the highest turn rate that
still meets the latency limits of issue 5. It prints the figures as JSON and writes them
to ``--json`` if given.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import websockets

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "b" * 64
ACK_P99_LIMIT_MS = 25.0
FIRST_DELTA_P99_LIMIT_MS = 50.0
PYTHON = sys.executable
TUTORCHAT = str(Path(sys.executable).with_name("tutorchat"))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def wait_http(url: str) -> None:
    for _ in range(200):
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def start_server(folder: Path, port: int, **env: str) -> subprocess.Popen[bytes]:
    environment = os.environ | {
        "DATABASE_URL": f"sqlite:///{folder}/bench.db",
        "TUTORCHAT_SECRET": SECRET,
        # The per-connection turn limit (30 a minute) protects a real deployment; it
        # would cap a saturation run at the limit instead of the server's capacity.
        "TUTORCHAT_RATE_LIMIT_TURNS": "1000000",
        **env,
    }
    process = subprocess.Popen(
        [TUTORCHAT, "serve", "--port", str(port)],
        env=environment,
        cwd=folder,
        stderr=open(folder / f"server-{port}.log", "wb"),
    )
    wait_http(f"http://127.0.0.1:{port}/healthz")
    return process


def loadtest(urls: str, scenario: str, *options: str) -> dict[str, Any]:
    """Run ``tutorchat loadtest`` against ``urls`` (comma-separated); its report."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [
            TUTORCHAT,
            "loadtest",
            scenario,
            "--url",
            urls,
            "--secret",
            SECRET,
            "--json",
            out.name,
            "--quiet",
            *options,
        ]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        report: dict[str, Any] = json.loads(Path(out.name).read_text())
    report["command"] = " ".join(["tutorchat", "loadtest", scenario, *options])
    report["run_seconds"] = round(time.perf_counter() - started, 1)
    return report


async def _echo_idle(port: int, pid: int, sockets: int) -> dict[str, Any]:
    before = rss_kib(pid)
    gate = asyncio.Semaphore(100)

    async def open_one() -> websockets.ClientConnection:
        async with gate:
            ws = await websockets.connect(f"ws://127.0.0.1:{port}/echo")
            await ws.send("hello")
            await ws.recv()
            return ws

    opened = await asyncio.gather(*(open_one() for _ in range(sockets)))
    after = rss_kib(pid)
    for ws in opened:
        await ws.close()
    return {"sockets": sockets, "kib_per_socket": round((after - before) / sockets, 1)}


async def _echo_saturation(port: int, clients: int, seconds: float) -> dict[str, Any]:
    frames = 0
    deadline = time.perf_counter() + seconds
    payload = orjson.dumps(
        {"type": "assistant.delta", "message_id": "m" * 32, "offset": 0, "text": "word "}
    ).decode()

    async def client() -> None:
        nonlocal frames
        async with websockets.connect(f"ws://127.0.0.1:{port}/echo") as ws:
            while time.perf_counter() < deadline:
                await ws.send(payload)
                await ws.recv()
                frames += 1

    await asyncio.gather(*(client() for _ in range(clients)))
    return {"clients": clients, "frames_sent_per_second": round(frames / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=10_000)
    parser.add_argument("--steady", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--saturation-clients", type=int, default=300)
    parser.add_argument(
        "--sweep",
        type=lambda text: [int(n) for n in text.split(",") if n],
        default=[1500, 2000, 3000],
        help="more student counts for steady, comma-separated",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    steady_options = ["--think", "2", "--duration", str(args.duration), "--ramp", "5"]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        echo = subprocess.Popen([PYTHON, str(ROOT / "bench" / "echo_server.py"), "8911"])
        time.sleep(1.0)
        try:
            results["echo_idle"] = asyncio.run(_echo_idle(8911, echo.pid, args.idle))
            results["echo_saturation"] = asyncio.run(
                _echo_saturation(8911, args.saturation_clients, args.duration / 2)
            )
        finally:
            echo.terminate()
            echo.wait()
        runs = [
            ("idle", "idle", ["--students", str(args.idle), "--duration", "5"]),
            ("steady", "steady", ["--students", str(args.steady), *steady_options]),
            *(
                (f"steady_{n}", "steady", ["--students", str(n), *steady_options])
                for n in args.sweep
            ),
            (
                "saturation",
                "steady",
                [
                    "--students",
                    str(args.saturation_clients),
                    "--think",
                    "0",
                    "--duration",
                    str(args.duration / 2),
                    "--ramp",
                    "1",
                ],
            ),
            (
                "slow",
                "slow",
                ["--students", str(args.steady), *steady_options, "--slow-fraction", "0.1"],
            ),
            ("storm", "storm", ["--students", str(args.steady)]),
        ]
        for name, scenario, options in runs:
            run_folder = folder / name
            run_folder.mkdir()
            server = start_server(run_folder, 8912)
            try:
                results[name] = loadtest("http://127.0.0.1:8912", scenario, *options)
                results[name]["server_cpu_seconds"] = cpu_seconds(server.pid)
            finally:
                server.terminate()
                server.wait()
            print(json.dumps({name: results[name]}), flush=True)
    summary = {
        "idle_memory_ratio": round(
            results["idle"]["kib_per_socket"] / results["echo_idle"]["kib_per_socket"], 2
        ),
        "saturation_frames_ratio": round(
            results["saturation"]["frames_received_per_second"]
            / results["echo_saturation"]["frames_sent_per_second"],
            2,
        ),
        "slow_p99_ack_change": round(
            results["slow"]["ack_ms"]["p99"] / results["steady"]["ack_ms"]["p99"] - 1, 3
        ),
        "highest_turns_per_second_within_limits": max(
            (
                report["turns_per_second"]
                for name, report in results.items()
                if name.startswith("steady") and within_limits(report)
            ),
            default=None,
        ),
    }
    results["summary"] = summary
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


def within_limits(report: dict[str, Any]) -> bool:
    return (
        not report["errors"]
        and report["ack_ms"]["p99"] <= ACK_P99_LIMIT_MS
        and report["first_delta_ms"]["p99"] <= FIRST_DELTA_P99_LIMIT_MS
    )


def cpu_seconds(pid: int) -> float:
    """The user and system CPU seconds a process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


if __name__ == "__main__":
    main()
