"""Compile the library's numba kernels once, into numba's on-disk cache.

The graph kernels (``geometry._compiled_loops``, ``geometry._facegrid``) are compiled with
``cache=True``: the first process that calls one compiles it (about 17 s of CPU for the graph kernels on a 2-core Xeon) and writes the
machine code beside the sources, and later processes load it in milliseconds. Processes that
start together before the cache exists each compile: on a fresh checkout, a workflow's first
graph jobs (or the jobs of a cluster, which share the checkout) all pay it. Run this once first:

    python -m deepsphere.runtime.compiled

It builds a small kNN graph and its Chebyshev Laplacian with the argument types of the
workflow's calls (float64 positions and weights, int64 indexes), so the cached signatures are
the ones the graph jobs look up. (The few other kernels, the climate streams' gather and the
mesh repair, compile in a second or two where they are used.)
"""

from __future__ import annotations

import time

__all__ = ["compile_kernels"]


def compile_kernels() -> float:
    """Call the graph kernels on small inputs (compiling them, or loading them from numba's
    cache); the seconds taken."""
    from deepsphere.geometry import graphs, laplacian

    start = time.perf_counter()
    graph = graphs.healpix_knn_graph(4, 8, nest=True)
    laplacian.chebyshev_laplacian(graph.weights, "normalized", (-1, 1), "bound")
    return time.perf_counter() - start


if __name__ == "__main__":
    print(f"numba kernels compiled or loaded from their cache in {compile_kernels():.1f} s")
