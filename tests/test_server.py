"""The serving process tunes the garbage collector before it serves."""

import gc

from shop import server


def test_tune_gc_freezes_start_up_and_collects_less_often():
    before = gc.get_threshold()
    try:
        server.tune_gc()

        assert gc.get_threshold() == server.GC_THRESHOLDS
        assert server.GC_THRESHOLDS[0] > before[0]
        assert gc.get_freeze_count() > 0  # start-up's objects are out of every collection
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
