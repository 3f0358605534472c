"""Process-wide tuning applied once the server has started."""

from __future__ import annotations

import gc

__all__ = ["tune_garbage_collector"]

# A young collection traverses every container allocated since the last one, and stalls
# every socket on the loop meanwhile: with the young threshold at 50,000 each took 15 to
# 30 ms, a stall seen by about one turn in a hundred. At 2,000 one takes a few ms. The
# older generations are collected rarely (every 100 young collections, and the oldest
# every 1,000 of those): each traverses every live conversation.
GC_THRESHOLDS = (2_000, 100, 1_000)


def tune_garbage_collector() -> None:
    """Move start-up objects out of the collector's sight and collect less often.

    Long-lived objects (modules, compiled statements, configuration) would otherwise be
    traversed by every full collection, which stalls every socket on the loop.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
