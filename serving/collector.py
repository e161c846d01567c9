"""The garbage collector of a server that holds thousands of sockets.

CPython's thresholds are (700, 10, 10): a full collection each time the
long-lived objects grow by a quarter. Every open socket keeps a few hundred
tracked objects, so a server holding thousands of them ran a full collection
every few hundred connections, each scanning everything, and every push
waited for it. bench/README.md has the figures.
"""

import gc

GC_THRESHOLDS = (20_000, 10, 100)


def tune_gc(thresholds=GC_THRESHOLDS) -> None:
    """Leave start-up's objects out of every collection and collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
