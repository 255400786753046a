"""The number of threads of the compiled loops (numba) and of the threaded healpy calls.

One knob for the whole library: ``NUMBA_NUM_THREADS`` (default: every CPU) or
:func:`set_num_threads`, which the workflow's scripts call with the rule's ``threads``. Every
parallel result is independent of the thread count (each row is computed by one thread)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


def num_threads() -> int:
    """Threads the library may use now."""
    import numba

    return int(numba.get_num_threads())


def set_num_threads(n: int) -> int:
    """Use at most ``n`` threads (capped at ``NUMBA_NUM_THREADS``); returns the number set."""
    import numba

    n = max(1, min(int(n), int(numba.config.NUMBA_NUM_THREADS)))
    numba.set_num_threads(n)
    return n


def map_chunks(func, starts) -> None:
    """Call ``func(start)`` for every start, on :func:`num_threads` threads (for functions that
    release the GIL, e.g. healpy's ufuncs, and write disjoint outputs)."""
    starts = list(starts)
    workers = min(num_threads(), len(starts))
    if workers <= 1:
        for s in starts:
            func(s)
        return
    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(func, starts):
            pass
