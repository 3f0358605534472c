"""Process-wide tuning applied once the server has started."""

from __future__ import annotations

import gc

__all__ = ["tune_garbage_collector"]

# A young collection traverses every container allocated since the last one, and stalls
# every socket on the loop meanwhile: with the young threshold at 50,000 each took 15 to
# 30 ms, a stall seen by about one turn in a hundred. At 2,000 one takes a few ms. The
# middle generation holds what survived the young collections since its last one, such
# as the objects of every socket that joined meanwhile: collected every 100 young
# collections it took 40 to 70 ms after a ramp of 500 students, every 10 it takes 5 to
# 17 ms. The oldest is collected as rarely as before (every 100,000 young collections):
# it traverses every live conversation.
GC_THRESHOLDS = (2_000, 10, 10_000)


def tune_garbage_collector() -> None:
    """Move start-up objects out of the collector's sight and collect less often.

    Long-lived objects (modules, compiled statements, configuration) would otherwise be
    traversed by every full collection, which stalls every socket on the loop.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
