"""The grader against a teacher's labels: accuracy, false accepts and false refusals.

Usage: ``python bench/grading_bench.py [--set bench/grading/set] [--held-out-only]
[--errors] [--json FILE]``

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
while the rules were tuned).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assessment.preview import preview  # noqa: E402 - after the path is set
from assessment.session import Catalog  # noqa: E402
from assessment.spec import AssessmentSpec  # noqa: E402

SET = ROOT / "bench" / "grading" / "set"


def graded(path: Path) -> Iterable[dict[str, Any]]:
    """Each case of one file with the grader's outcome."""
    data = json.loads(path.read_text())
    spec = AssessmentSpec.from_config(
        assessment_type=data["assessment_type"],
        grading_schema="percentage",
        mastery_threshold=0,
        ai_config=data["ai_config"],
    )
    catalog = Catalog.of(spec)
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
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cases = [c for path in sorted(args.set.glob("*.json")) for c in graded(path)]
    held_out = [c for c in cases if c["held_out"]]
    if args.held_out_only:
        cases = held_out
    print(table("type", tally(cases, "type")))
    print()
    print(table("category", tally(cases, "category")))
    if not args.held_out_only and held_out:
        print()
        print(table("held-out files, by type", tally(held_out, "type")))
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
