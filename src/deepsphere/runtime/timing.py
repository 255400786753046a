"""Timing a call: the one timing loop of the library (warm-up, then repeats).

Filtering-speed measurements, per-sample inference times and the ChebConv benchmark's repeat
loops use it (the graph-build benchmark times single calls, wall and CPU time, in subprocesses).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

__all__ = ["time_call", "time_per_sample"]


def time_call(fn: Callable[[], object], repeats: int, *, warmup: int = 1) -> list[float]:
    """Wall times (s) of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls."""
    if int(repeats) < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats!r}")
    for _ in range(int(warmup)):
        fn()
    times = []
    for _ in range(int(repeats)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def time_per_sample(predict, x, batch: int, repeats: int) -> dict:
    """Median over ``repeats`` of (wall time of ``predict`` on one batch) / batch, in ms.

    ``predict`` is called once first (warm-up, not timed). The paper reports t_batch / batch.
    """
    from deepsphere.runtime.hardware import hardware_label

    xb = x[:batch]
    times = time_call(lambda: predict(xb), repeats)
    return {"per_sample_ms": 1000 * float(np.median(times)) / len(xb), "batch_size": len(xb),
            "repeats": int(repeats), "hardware": hardware_label()}
