"""The service processes' garbage collector settings (gc_tuning.py)."""

from __future__ import annotations

import gc

from ticketbridge.gc_tuning import tune_for_service


def test_service_processes_collect_young_garbage_less_often() -> None:
    saved = gc.get_threshold()
    try:
        tune_for_service()
        assert gc.get_threshold() == (50_000, 20, 100)
    finally:
        gc.set_threshold(*saved)
