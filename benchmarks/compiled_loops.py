"""The facts behind the compiled graph kernels' design, measured on this machine.

One command: ``python benchmarks/compiled_loops.py``. Writes a Markdown table to
``benchmarks/results/compiled_loops.md``:

1. first-call cost: building a small kNN graph and its Laplacian in a fresh process with an
   empty numba cache (compilation) and again with that cache (loading);
2. numba's check of signed computed indices: the same gather loop (three coordinate arrays,
   a fixed offset table, as in the face-grid kernel) with int64 and with uint64 indices;
3. first touch of fresh memory: writing a new 2 GiB array, then writing it again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = (
    "import time; t = time.perf_counter()\n"
    "from deepsphere.geometry import graphs, laplacian\n"
    "g = graphs.healpix_knn_graph(16, 8, nest=True)\n"
    "laplacian.chebyshev_laplacian(g.weights, 'normalized', (-1, 1), 'bound')\n"
    "print(time.perf_counter() - t)\n"
)


def first_call_seconds() -> tuple[float, float]:
    """(empty cache, warm cache) seconds of import + build in fresh processes."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs = [float(subprocess.run([sys.executable, "-c", BUILD], env=env, check=True,
                                     capture_output=True, text=True).stdout.split()[-1])
                for _ in range(2)]
    return runs[0], runs[1]


@numba.njit
def _gather(gx, gy, gz, off, out, tile, width, r_max, reps):
    """Distances to fixed offsets over a ``tile x tile`` square of a ``width``-wide grid."""
    for _ in range(reps):
        for lx in range(tile):
            row0 = (lx + r_max) * width + r_max
            for c in range(off.size):
                o = row0 + off[c]
                for ly in range(tile):
                    ex = gx[o + ly] - gx[row0 + ly]
                    ey = gy[o + ly] - gy[row0 + ly]
                    ez = gz[o + ly] - gz[row0 + ly]
                    out[c * tile + ly] = ex * ex + ey * ey + ez * ez


def index_ns(dtype) -> float:
    """ns per distance of :func:`_gather` with indices of ``dtype``."""
    tile, r_max = 64, 4
    width = tile + 2 * r_max
    rng = np.random.default_rng(0)
    g = [rng.random(width * width) for _ in range(3)]
    dy, dx = (a.ravel() for a in np.mgrid[-2:3, -2:3])
    keep = (dx != 0) | (dy != 0)
    off = (dx[keep] * width + dy[keep]).astype(np.int64).astype(dtype)
    out = np.empty(off.size * tile)
    args = [dtype.type(v) for v in (tile, width, r_max)]
    _gather(*g, off, out, *args, 1)
    reps = 200
    t = time.perf_counter()
    _gather(*g, off, out, *args, reps)
    return (time.perf_counter() - t) / (reps * off.size * tile * tile) * 1e9


def touch_seconds_per_gib() -> tuple[float, float]:
    """(first write, second write) seconds per GiB of a fresh 2 GiB float64 array."""
    a = np.empty(2**28)
    t0 = time.perf_counter()
    a.fill(1.0)
    t1 = time.perf_counter()
    a.fill(2.0)
    t2 = time.perf_counter()
    return (t1 - t0) / 2, (t2 - t1) / 2


def main() -> None:
    cold, warm = first_call_seconds()
    signed, unsigned = index_ns(np.dtype(np.int64)), index_ns(np.dtype(np.uint64))
    first, again = touch_seconds_per_gib()
    rows = [
        ("first graph build in a fresh process, empty numba cache (compiles)", f"{cold:.1f} s"),
        ("same, cache warm (loads)", f"{warm:.1f} s"),
        ("gather loop, int64 computed indices", f"{signed:.2f} ns/distance"),
        ("gather loop, uint64 computed indices", f"{unsigned:.2f} ns/distance"),
        ("signed / unsigned", f"{signed / unsigned:.1f}x"),
        ("first write of fresh memory", f"{first:.2f} s/GiB"),
        ("second write of the same memory", f"{again:.2f} s/GiB"),
    ]
    lines = [f"Compiled loops: measured facts ({os.cpu_count()} CPUs, load "
             f"{os.getloadavg()[0]:.1f}; numba {numba.__version__}). Import included in the "
             "first two rows.", "", "| what | measured |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "compiled_loops.md"), "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
