"""The load generator, run small against a real server."""

from __future__ import annotations

from realtime.loadtest import LoadConfig, format_report, run_loadtest
from tests.realtime.harness import Running


def _config(run: Running, scenario: str, **options: float) -> LoadConfig:
    return LoadConfig(
        urls=(run.base_url,),
        secret=run.settings.signing_secret,
        scenario=scenario,
        students=int(options.pop("students", 4)),
        duration=options.pop("duration", 0.5),
        ramp=0.1,
        think=0.05,
        progress=False,
        **options,
    )


async def test_steady_measures_turns_and_latencies_without_errors(run: Running) -> None:
    """A short steady run reports turns, latency percentiles and no errors."""
    report = await run_loadtest(_config(run, "steady"))
    assert report["scenario"] == "steady" and report["errors"] == {}
    assert report["turns"] > 0 and report["turns_per_second"] > 0
    assert report["ack_ms"]["p99"] is not None and report["first_delta_ms"]["p50"] is not None
    assert "turns_per_second" in format_report(report)


async def test_storm_resumes_everyone_with_nothing_missing(run: Running) -> None:
    """Every cut client resumes, and what each holds equals the server's history."""
    report = await run_loadtest(_config(run, "storm", students=6))
    assert (report["resumed"], report["mismatched_conversations"]) == (6, 0)
    assert report["errors"] == {}


async def test_idle_and_slow_report_memory_and_slow_clients(run: Running) -> None:
    """Idle reports memory per socket; slow keeps some clients from ever reading."""
    idle = await run_loadtest(_config(run, "idle", duration=0.2))
    assert idle["sockets"] == 4 and idle["kib_per_socket"] is not None
    slow = await run_loadtest(_config(run, "slow", students=4, slow_fraction=0.5))
    assert slow["slow_clients"] == 2 and slow["turns"] > 0
