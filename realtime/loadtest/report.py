"""A run's report: latency percentiles, and the table and JSON it is written as."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["format_report", "mib", "percentiles", "write_json"]


def percentiles(samples: Sequence[float]) -> dict[str, float | None]:
    """p50, p95, p99 and the largest of ``samples`` (seconds), in milliseconds."""
    if not samples:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1] * 1000, 2)}


def mib(value: float | None) -> float | None:
    """Bytes as MiB, to a tenth."""
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
    """Write the report to ``path`` as indented JSON."""
    with open(path, "w") as handle:
        json.dump(report, handle, indent=2)
        handle.write("\n")
