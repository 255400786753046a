"""Graph (Chebyshev) versus spherical-harmonic filtering, and how long each takes.

* Graph filtering: ``y = sum_{k<K} c_k T_k(L~) x`` with the Chebyshev recursion
  ``T_0 x = x, T_1 x = L~ x, T_k x = 2 L~ T_{k-1} x - T_{k-2} x`` on a scipy sparse ``L~``
  (a Laplacian rescaled to [-1, 1] by :func:`deepsphere.geometry.laplacian.rescale_laplacian`,
  in the Laplacian's dtype): ``K - 1`` sparse products, cost linear in the number of
  pixels; compiled and threaded like healpy's transforms (``deepsphere.runtime.threads``).
* Spherical-harmonic filtering (healpy): ``map2alm -> almxfl(h) -> alm2map`` up to ``lmax``, cost
  ``O(nside^3)`` (``lmax`` = 2 or 3 nside).

Timings are wall-clock seconds for filtering one map (float64 for SH, the graph's dtype for the
graph filter), the minimum and median over ``repeats`` runs after one warm-up run. The paper's
numbers (cosmo-tf1 ``results/filtering_speed.npz``, "processing time [s]") are in
:func:`paper_filtering_speed`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import healpy as hp
import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm.auto import tqdm

from deepsphere.geometry.laplacian import rescale_laplacian
from deepsphere.geometry.sampling import check_nside
from deepsphere.reporting.checks import Check
from deepsphere.reporting.paper import paper_numbers
from deepsphere.runtime.timing import time_call as runtime_time_call


def paper_filtering_speed() -> pd.DataFrame:
    """The paper's filtering times in seconds (DeepSphere cosmo-tf1, one map), by method and nside.

    ``method``: ``graph`` (full sphere), ``graph_patch`` (1/``patch_fraction`` of the sphere) or
    ``sh`` (spherical harmonics); ``K`` Chebyshev terms or ``lmax_factor`` (lmax = factor *
    nside). Source: cosmo-tf1 ``results/filtering_speed.npz`` (``paper/filtering_speed.csv``).
    """
    paper = paper_numbers("deepsphere.experiments.sphere", "filtering_speed")
    return paper.astype({"K": "Int64", "lmax_factor": "Int64"})


def chebyshev_filter(
    rescaled_laplacian, x: np.ndarray, coefficients: Sequence[float]
) -> np.ndarray:
    """Apply ``sum_k c_k T_k(L~)`` to ``x`` of shape ``(n,)`` or ``(n, f)``; returns the same shape.

    ``rescaled_laplacian`` is ``(n, n)`` sparse with spectrum in [-1, 1]; ``K = len(coefficients)``.
    """
    coefficients = np.asarray(coefficients, dtype=float)
    lap = rescaled_laplacian
    x = np.asarray(x)
    if coefficients.ndim != 1 or coefficients.size < 1:
        raise ValueError("coefficients must be a non-empty 1-d sequence (K >= 1)")
    if lap.shape[0] != lap.shape[1] or x.shape[0] != lap.shape[0]:
        raise ValueError(f"shape mismatch: L~ is {lap.shape}, x is {x.shape}")
    from deepsphere.geometry import _compiled_loops as compiled_loops

    dtype = np.result_type(x.dtype, lap.dtype)
    lap = sp.csr_matrix(lap, dtype=dtype)
    lap.sort_indices()
    one_d = x.ndim == 1
    x2 = np.ascontiguousarray(x.reshape(x.shape[0], -1), dtype=dtype)
    y = x2 * dtype.type(coefficients[0])
    # compiled and threaded (the SH side, healpy, uses the rule's threads too): one pass per
    # term computes 2 L~ T_{k-1} x - T_{k-2} x and adds c_k T_k x to y
    buffers = [np.empty_like(x2) for _ in range(3)]  # never the input, never read and written
    t_prev, t_cur = x2, x2
    for k, c in enumerate(coefficients[1:], start=1):
        out = buffers[k % 3]
        compiled_loops.chebyshev_step(lap.indptr, lap.indices, lap.data, t_cur, t_prev,
                                   dtype.type(c), k == 1, out, y)
        t_prev, t_cur = (x2, out) if k == 1 else (t_cur, out)
    return y[:, 0] if one_d else y.reshape(x.shape)


def sh_filter(
    m: np.ndarray,
    h_ell: np.ndarray,
    *,
    nest: bool,
    lmax: int,
    iter: int = 0,  # noqa: A002
) -> np.ndarray:
    """Filter a map in harmonic space: ``map2alm -> almxfl(h_ell) -> alm2map``.

    ``m``: ``(12 nside^2,)`` in the ``nest`` ordering; ``h_ell``: ``(lmax + 1,)`` per-degree gains.
    ``iter=0`` (one quadrature, no Jacobi iteration) is the speed benchmark's setting.
    """
    m = np.asarray(m, dtype=np.float64)
    nside = hp.npix2nside(m.size)
    h_ell = np.asarray(h_ell, dtype=float)
    if h_ell.shape != (lmax + 1,):
        raise ValueError(f"h_ell must have shape ({lmax + 1},), got {h_ell.shape}")
    ring = hp.reorder(m, n2r=True) if nest else m
    alm = hp.almxfl(hp.map2alm(ring, lmax=lmax, iter=int(iter)), h_ell)
    out = hp.alm2map(alm, nside, lmax=lmax)
    return hp.reorder(out, r2n=True) if nest else out


def time_call(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(min, median) wall-clock seconds of ``fn()`` over ``repeats`` runs after one warm-up run
    (the one timing loop, ``deepsphere.runtime.timing.time_call``)."""
    times = runtime_time_call(fn, repeats)
    return float(np.min(times)), float(np.median(times))


def time_graph_filter(
    laplacian, K: int, *, repeats: int, seed: int, lmax: float | None = None
) -> tuple[float, float]:
    """Time a ``K``-term Chebyshev filter of one random map on ``laplacian`` (``(n, n)`` sparse).

    ``lmax`` (largest eigenvalue bound) defaults to Gershgorin's ``2 max(degree)`` (exact enough for
    a speed test). Returns (min, median) seconds.
    """
    if K < 1:
        raise ValueError(f"K must be >= 1, got {K!r}")
    lap = sp.csr_matrix(laplacian)
    if lmax is None:
        lmax = 2.0 * float(np.abs(lap.diagonal()).max())
    rescaled = rescale_laplacian(lap, lmax, (-1.0, 1.0), dtype=lap.dtype)  # L~ = 2 L / lmax - I
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(lap.shape[0]).astype(lap.dtype)
    coeffs = rng.standard_normal(K)
    return time_call(lambda: chebyshev_filter(rescaled, x, coeffs), repeats)


def time_sh_filter(nside: int, lmax: int, *, repeats: int, seed: int) -> tuple[float, float]:
    """Time ``map2alm -> almxfl -> alm2map`` of one random RING map. Returns (min, median) s."""
    nside = check_nside(nside)
    rng = np.random.default_rng(seed)
    m = rng.standard_normal(hp.nside2npix(nside))
    h = rng.standard_normal(lmax + 1)
    return time_call(lambda: sh_filter(m, h, nest=False, lmax=lmax), repeats)


def measure_filtering_speed(
    nside: int,
    *,
    graph_laplacians: dict[int, object],
    Ks: Sequence[int],
    lmax_factors: Sequence[int],
    repeats: int,
    seed: int,
    threads: int,
    progress: bool = True,
) -> pd.DataFrame:
    """All timings at one ``nside``.

    ``graph_laplacians`` maps a patch fraction (1 = full sphere, 12 = one base pixel, ...) to the
    graph's combinatorial Laplacian. Returns rows ``nside, method, K, lmax_factor, patch_fraction,
    n_vertices, threads, seconds_min, seconds_median`` (``method`` as in
    :func:`paper_filtering_speed`).
    """
    nside = check_nside(nside)
    jobs = [("sh", None, f, 1) for f in lmax_factors]
    for frac in sorted(graph_laplacians):
        method = "graph" if frac == 1 else "graph_patch"
        jobs += [(method, K, None, frac) for K in Ks]
    rows = []
    for method, K, factor, frac in tqdm(
        jobs, desc=f"filtering nside={nside}", disable=not progress
    ):
        if method == "sh":
            tmin, tmed = time_sh_filter(nside, factor * nside, repeats=repeats, seed=seed)
            n = hp.nside2npix(nside)
        else:
            lap = graph_laplacians[frac]
            tmin, tmed = time_graph_filter(lap, K, repeats=repeats, seed=seed)
            n = lap.shape[0]
        rows.append((nside, method, K, factor, frac, n, threads, tmin, tmed))
    cols = ["nside", "method", "K", "lmax_factor", "patch_fraction", "n_vertices", "threads"]
    df = pd.DataFrame(rows, columns=cols + ["seconds_min", "seconds_median"])
    return df.astype({"K": "Int64", "lmax_factor": "Int64"})


def check_filtering_speed(table: pd.DataFrame, *, nside_min: int = 256) -> list[Check]:
    """Acceptance, at every measured ``nside >= nside_min`` (``seconds_ours``: our minimum over
    repeats), two readings of "graph filtering is faster than SH filtering": the cheapest
    full-sphere graph filter (K = 5) beats the fastest SH filter, and the strict one, every
    graph filter (K = 15 included) beats every SH filter.

    ``table``: columns ``nside, method, seconds_ours`` (``method`` in graph/graph_patch/sh).
    """
    checks = []
    big = table[(table["nside"] >= nside_min) & table["seconds_ours"].notna()]
    if big.empty:
        return [Check(f"graph faster than SH from nside {nside_min}", False, "not measured")]
    for nside, at in big.groupby("nside"):
        graph = at.loc[at["method"] == "graph", "seconds_ours"]
        sh = at.loc[at["method"] == "sh", "seconds_ours"]
        if graph.empty or sh.empty:
            checks.append(Check(f"graph faster than SH at nside {nside}", False, "missing"))
            continue
        for which, seconds in (("cheapest", graph.min()), ("every", graph.max())):
            checks.append(
                Check(f"{which} graph filter faster than every SH filter at nside {nside}",
                      bool(seconds < sh.min()),
                      f"{'fastest' if which == 'cheapest' else 'slowest'} graph {seconds:.3g} s "
                      f"vs fastest SH {sh.min():.3g} s")
            )  # fmt: skip
    return checks
