"""A/B benchmark: this working tree against an earlier revision, on the same load.

Usage: ``python bench/ab_bench.py --baseline REV [--rounds 2] [--students 1000]
[--idle 5000] [--duration 20] [--json FILE]``

The revision is checked out in a temporary git worktree; each round runs ``steady``
(``--students`` students, think 2 s) and ``idle`` (``--idle`` sockets) once against a
server of the revision and once against one of the working tree, interleaved, so a
machine that speeds up or slows down during the run moves both alike. Both servers are
driven by the same load generator (this tree's). It reports, per tree, the server's CPU
seconds over the whole steady run, its CPU per turn over the measured window (utime and
stime from the server's metrics, after the ramp), the latency percentiles, and the
memory per idle socket; then the working tree's figures as ratios of the revision's
(medians over the rounds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from load_bench import ROOT, cpu_seconds, loadtest, start_server

PORT = 8913


def _run(tree: Path, scenario: str, options: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), PORT, PYTHONPATH=str(tree))
        try:
            report = loadtest(f"http://127.0.0.1:{PORT}", scenario, *options)
            report["server_cpu_seconds"] = cpu_seconds(server.pid)
        finally:
            server.terminate()
            server.wait()
    return report


def _row(report: dict[str, Any]) -> dict[str, Any]:
    if "kib_per_socket" in report:
        return {"kib_per_socket": report["kib_per_socket"], "errors": report["errors"]}
    turns = report["turns"]
    return {
        "turns": turns,
        "server_cpu_seconds": report["server_cpu_seconds"],
        "cpu_ms_per_turn": report["server_cpu_ms_per_turn"],
        "ack_p99_ms": report["ack_ms"]["p99"],
        "first_delta_p99_ms": report["first_delta_ms"]["p99"],
        "errors": report["errors"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="the git revision to compare with")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    steady = ["--students", str(args.students), "--think", "2", "--ramp", "5"]
    steady += ["--duration", str(args.duration)]
    idle = ["--students", str(args.idle), "--duration", "5"]
    rows: dict[str, list[dict[str, Any]]] = {"baseline": [], "tree": []}
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(worktree), args.baseline],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            for _ in range(args.rounds):
                for name, tree in (("baseline", worktree), ("tree", ROOT)):
                    row = _row(_run(tree, "steady", steady)) | _row(_run(tree, "idle", idle))
                    rows[name].append(row)
                    print(json.dumps({name: row}), flush=True)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, check=True
            )
    ratios = {
        key: round(
            statistics.median(r[key] for r in rows["tree"])
            / statistics.median(r[key] for r in rows["baseline"]),
            3,
        )
        for key in ("cpu_ms_per_turn", "ack_p99_ms", "first_delta_p99_ms", "kib_per_socket")
    }
    result = {"baseline": args.baseline, "rounds": rows, "tree_over_baseline": ratios}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
