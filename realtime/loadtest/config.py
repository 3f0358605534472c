"""What a load test runs, against which servers."""

from __future__ import annotations

import dataclasses

__all__ = ["CONNECT_CONCURRENCY", "WAIT", "LoadConfig"]

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
