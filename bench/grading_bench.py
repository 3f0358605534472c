"""The grader against a teacher's labels: accuracy, false accepts and false refusals.

Usage: ``python bench/grading_bench.py [--set bench/grading/set] [--held-out-only]
[--errors] [--speed] [--json FILE]``

Each file of the set is one assessment (its ``ai_config`` as an instructor writes it)
and its labelled cases: a student's answer to one item, the teacher's verdict
(``accept`` for blanks and cards, ``covers``, the key points stated, for chat), a
category and the reason. Every case goes through the product's own preview
(``assessment.preview``), the rules a student's turn is graded by.

A blank or card case is right when the verdict is the teacher's; a false accept is an
answer the teacher refused and the grader accepted. A chat case is right when the key
points found are exactly the teacher's; it is a false accept when the grader credits a
key point the teacher did not, a false refusal when it misses one. Figures are given
per type and per category, for the whole set and for its held-out files (set aside
while the rules were tuned). ``--speed`` adds the grader's time per answer, by type
(the best of five passes over the set, after a warm-up pass).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assessment.preview import preview  # noqa: E402 - after the path is set
from assessment.session import Catalog  # noqa: E402
from assessment.spec import AssessmentSpec  # noqa: E402

SET = ROOT / "bench" / "grading" / "set"


def load(path: Path) -> tuple[dict[str, Any], AssessmentSpec, Catalog]:
    """One file of the set: its data, and its assessment as the product reads it."""
    data = json.loads(path.read_text())
    spec = AssessmentSpec.from_config(
        assessment_type=data["assessment_type"],
        grading_schema="percentage",
        mastery_threshold=0,
        ai_config=data["ai_config"],
    )
    return data, spec, Catalog.of(spec)


def graded(path: Path) -> Iterable[dict[str, Any]]:
    """Each case of one file with the grader's outcome."""
    data, spec, catalog = load(path)
    for case in data["cases"]:
        (verdict,) = preview(spec, case["item"], [case["answer"]], catalog=catalog)
        if "covers" in case:
            expected, found = set(case["covers"]), set(verdict.covered)
            false_accept, false_refusal = bool(found - expected), bool(expected - found)
        else:
            accepted = verdict.verdict == "correct"
            false_accept = accepted and not case["accept"]
            false_refusal = case["accept"] and not accepted
        yield {
            "file": path.name,
            "held_out": bool(data.get("held_out")),
            "type": data["assessment_type"],
            "category": case["category"],
            "answer": case["answer"],
            "item": case["item"],
            "reason": case["reason"],
            "rule": verdict.rule,
            "covered": list(verdict.covered),
            "expected": case.get("covers", case.get("accept")),
            "right": not (false_accept or false_refusal),
            "false_accept": false_accept,
            "false_refusal": false_refusal,
        }


def speed(paths: list[Path]) -> dict[str, float]:
    """Microseconds per graded answer, by type: the grader alone, its inputs prepared."""
    work: dict[str, list[tuple[Any, Any, str, str]]] = collections.defaultdict(list)
    for path in paths:
        data, spec, catalog = load(path)
        for case in data["cases"]:
            work[data["assessment_type"]].append((spec, catalog, case["item"], case["answer"]))
    timings: dict[str, float] = {}
    for kind, cases in sorted(work.items()):
        best = float("inf")
        for _ in range(6):  # the first pass warms the caches, as a running server's are
            started = time.perf_counter()
            for spec, catalog, item, answer in cases:
                preview(spec, item, [answer], catalog=catalog)
            best = min(best, time.perf_counter() - started)
        timings[kind] = round(1e6 * best / len(cases), 1)
    return timings


def tally(cases: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """Cases, right, accuracy, false accepts and false refusals per value of ``key``."""
    groups: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for case in cases:
        groups[case[key]].append(case)
    groups["all"] = cases
    return {
        name: {
            "cases": len(group),
            "right": sum(c["right"] for c in group),
            "accuracy": round(100 * sum(c["right"] for c in group) / len(group), 1),
            "false_accepts": sum(c["false_accept"] for c in group),
            "false_refusals": sum(c["false_refusal"] for c in group),
        }
        for name, group in sorted(groups.items())
        if group
    }


def table(title: str, rows: dict[str, dict[str, Any]]) -> str:
    lines = [
        f"| {title} | cases | right | accuracy | false accepts | false refusals |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        lines.append(
            f"| {name} | {row['cases']} | {row['right']} | {row['accuracy']}% "
            f"| {row['false_accepts']} | {row['false_refusals']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=SET)
    parser.add_argument("--held-out-only", action="store_true")
    parser.add_argument("--errors", action="store_true", help="list every wrong verdict")
    parser.add_argument("--speed", action="store_true", help="time per answer, by type")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    paths = sorted(args.set.glob("*.json"))
    cases = [c for path in paths for c in graded(path)]
    held_out = [c for c in cases if c["held_out"]]
    if args.held_out_only:
        cases = held_out
    print(table("type", tally(cases, "type")))
    print()
    print(table("category", tally(cases, "category")))
    if not args.held_out_only and held_out:
        print()
        print(table("held-out files, by type", tally(held_out, "type")))
    if args.speed:
        print()
        print("| type | µs per answer |\n|---|---|")
        for kind, micros in speed(paths).items():
            print(f"| {kind} | {micros} |")
    if args.errors:
        print()
        for case in cases:
            if not case["right"]:
                print(
                    f"{case['file']} {case['item']} [{case['category']}] {case['answer']!r}: "
                    f"expected {case['expected']}, got {case['rule']} {case['covered']}"
                    f" ({case['reason']})"
                )
    if args.json:
        args.json.write_text(json.dumps({"cases": cases}, indent=1))


if __name__ == "__main__":
    main()
