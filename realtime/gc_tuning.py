"""Process-wide tuning applied once the server has started."""

from __future__ import annotations

import gc

__all__ = ["tune_garbage_collector"]

# Young-generation threshold: thousands of short-lived frames and futures per second
# otherwise trigger a collection every few milliseconds.
GC_THRESHOLDS = (50_000, 20, 100)


def tune_garbage_collector() -> None:
    """Move start-up objects out of the collector's sight and collect less often.

    Long-lived objects (modules, compiled statements, configuration) would otherwise be
    traversed by every full collection, which stalls every socket on the loop.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
