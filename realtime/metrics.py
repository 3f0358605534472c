"""Prometheus metrics of one server process (``GET /metrics``).

Each application gets its own registry, so several can live in one process (tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

__all__ = ["Metrics", "WriteCounts"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class WriteCounts(Protocol):
    """What a group-commit writer counts: its transactions and the writes in them."""

    @property
    def transactions(self) -> int: ...

    @property
    def operations(self) -> int: ...


class Metrics:
    """The server's counters, gauges and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)  # resident memory and CPU, read by the load generator
        self.open_sockets = Gauge("tutorchat_open_sockets", "Authenticated WebSockets", registry=r)
        self.turns = Counter("tutorchat_turns", "User turns stored", registry=r)
        self.reply_failures = Counter(
            "tutorchat_reply_failures",
            "Tutor replies that failed (LLM unreachable, timed out or broken off)",
            registry=r,
        )
        self.replies_in_flight = Gauge(
            "tutorchat_replies_in_flight", "Assistant replies streaming", registry=r
        )
        self.replay_messages = Histogram(
            "tutorchat_replay_messages",
            "Messages replayed after hello",
            buckets=(0, 1, 5, 10, 50, 100, 500, 1000),
            registry=r,
        )
        self.slow_consumer_closes = Counter(
            "tutorchat_slow_consumer_closes", "Sockets closed 4408 for a full outbox", registry=r
        )
        self.refused_frames = Counter(
            "tutorchat_refused_frames", "Frames answered with error", ["code"], registry=r
        )
        self.ack_latency = Histogram(
            "tutorchat_ack_latency_seconds",
            "From a send frame read to its ack queued",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.first_delta_latency = Histogram(
            "tutorchat_first_delta_latency_seconds",
            "From a reply's job start to its first delta published",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )

        self.grades_settled = Counter(
            "tutorchat_grades",
            "Scores of the grade outbox settled, by outcome (sent, superseded, failed)",
            ["outcome"],
            registry=r,
        )
        self.grade_retries = Counter(
            "tutorchat_grade_retries",
            "Score sends that failed and will be tried again (platform down, 429, 5xx)",
            registry=r,
        )
        self.grades_pending = Gauge(
            "tutorchat_grades_pending", "Scores waiting in the grade outbox", registry=r
        )

    def count_turn_writes(self, writer: WriteCounts) -> None:
        """Expose the turn writer's transactions and writes (their ratio is the batch size)."""
        self.registry.register(_TurnWrites(writer))

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


class _TurnWrites(Collector):
    """Read at each scrape: the writer keeps plain counters, not Prometheus ones."""

    def __init__(self, writer: WriteCounts) -> None:
        self._writer = writer

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "tutorchat_turn_write_transactions",
            "Transactions of the turn writer (each commits a batch of writes)",
            value=self._writer.transactions,
        )
        yield CounterMetricFamily(
            "tutorchat_turn_writes",
            "Writes of the turn writer (messages appended, replies updated)",
            value=self._writer.operations,
        )
