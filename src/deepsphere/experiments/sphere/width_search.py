"""The kernel width minimising the equivariance error (DeepSphere ICLR 2020, Fig. 3), and the
V1 heuristic width of Perraudin et al.

A fixed neighbour pattern is re-weighted with the heat kernel ``w = exp(-d^2 / (4 t))``
(:class:`KnnReweighter`); :func:`knn_width_objective` is the mean unsquared equivariance error
(:mod:`deepsphere.experiments.sphere.equivariance`) of that graph's combinatorial Laplacian on red
noise maps, and :func:`search_kernel_width` minimises it over a log grid of widths, then refines.

Kernel widths are pygsp ``sigma`` (the chordal distance where the weight is 1/2) or the paper's
``t = sigma^2 / (4 ln 2)`` in ``w = exp(-d^2 / (4 t))``; distances are chordal on the unit sphere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import healpy as hp
import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from tqdm.auto import tqdm

from deepsphere.experiments.sphere.equivariance import equivariance_ratios
from deepsphere.experiments.sphere.harmonics import default_lmax, red_noise_spectrum
from deepsphere.geometry.kernel_widths import sigma_to_t
from deepsphere.geometry.laplacian import laplacian as graph_laplacian
from deepsphere.geometry.sampling import check_nside as _check_nside
from deepsphere.reporting.paper import paper_numbers


def paper_sigma0(nside: int) -> float:
    """Centre of the paper's width grid: the "min weight 0.1 at k=50" guess, 0.0744 at nside 32,
    halving per doubling of nside."""
    return 0.0744 * 32.0 / _check_nside(nside)


def paper_v1_heuristic_t() -> dict[int, float]:
    """The V1 heuristic kernel width t = mean(d^2) / 2 over the 8-neighbour pairs, as stored by
    the paper in ``figures/deepsphere_v1_kernel.npz`` (``{nside: t}``; chordal distances, unit
    sphere; ``paper/v1_heuristic_t.csv``)."""
    frame = paper_numbers("deepsphere.experiments.sphere", "v1_heuristic_t")
    return {int(n): float(t) for n, t in zip(frame["nside"], frame["t"], strict=True)}


def v1_heuristic_t(nside: int) -> float:
    """Perraudin et al.'s V1 width: ``t = mean(d^2) / 2`` over all 8-neighbour pairs (chordal)."""
    nside = _check_nside(nside)
    npix = hp.nside2npix(nside)
    neigh = hp.get_all_neighbours(nside, np.arange(npix), nest=True)  # (8, npix), -1 if missing
    vec = np.stack(hp.pix2vec(nside, np.arange(npix), nest=True), axis=1)
    src = np.broadcast_to(np.arange(npix), neigh.shape)
    ok = neigh >= 0
    d2 = np.sum((vec[src[ok]] - vec[neigh[ok]]) ** 2, axis=1)
    return float(d2.mean() / 2.0)


class KnnReweighter:
    """Re-weight a fixed neighbour pattern with the heat kernel ``w = exp(-d^2 / (4 t))``.

    ``weights`` (``(n, n)`` sparse, symmetric) supplies only the pattern; ``vectors`` (``(n, 3)``
    unit vectors) give the chordal distances ``d``. Call with ``t`` to get a csr float64 matrix.
    """

    def __init__(self, weights, vectors: np.ndarray):
        coo = sp.triu(sp.csr_matrix(weights), k=1).tocoo()
        vectors = np.asarray(vectors, dtype=float)
        if vectors.shape != (weights.shape[0], 3):
            raise ValueError(
                f"vectors must have shape ({weights.shape[0]}, 3), got {vectors.shape}"
            )
        self.n = weights.shape[0]
        self.row, self.col = coo.row, coo.col
        self.d2 = np.sum((vectors[self.row] - vectors[self.col]) ** 2, axis=1)

    def __call__(self, t: float) -> sp.csr_matrix:
        if not t > 0:
            raise ValueError(f"kernel width t must be > 0, got {t!r}")
        w = np.exp(-self.d2 / (4.0 * t))
        upper = sp.coo_matrix((w, (self.row, self.col)), shape=(self.n, self.n))
        return (upper + upper.T).tocsr()


@dataclass(frozen=True)
class WidthSearch:
    """Result of :func:`search_kernel_width` (``sigma``: pygsp kernel widths, chordal units)."""

    sigma_grid: np.ndarray  # (n_grid,)
    errors: np.ndarray  # (n_grid,) objective on the grid
    sigma_grid_best: float  # argmin on the grid (the paper's procedure)
    sigma_best: float  # after local refinement (== sigma_grid_best if refine=False)
    error_best: float
    at_edge: bool  # grid argmin on the first/last point: widen the grid


def search_kernel_width(
    objective: Callable[[float], float],
    sigma0: float,
    *,
    n_grid: int = 20,
    span: float = 10.0,
    refine: bool = True,
    rtol: float = 1e-3,
    progress: bool = False,
) -> WidthSearch:
    """Minimise ``objective(sigma)`` over ``n_grid`` log-spaced widths in ``[sigma0/span, sigma0*span]``.

    Then (``refine``) a bounded scalar minimisation in ``log sigma`` between the grid neighbours of
    the grid argmin, to relative tolerance ``rtol``.
    """
    if not sigma0 > 0 or not span > 1 or n_grid < 3:
        raise ValueError(f"need sigma0 > 0, span > 1, n_grid >= 3; got {sigma0}, {span}, {n_grid}")
    grid = np.geomspace(sigma0 / span, sigma0 * span, int(n_grid))
    errors = np.array(
        [objective(float(s)) for s in tqdm(grid, desc="width grid", disable=not progress)]
    )
    i = int(np.nanargmin(errors))
    best, best_err = float(grid[i]), float(errors[i])
    if refine:
        lo, hi = np.log(grid[max(i - 1, 0)]), np.log(grid[min(i + 1, grid.size - 1)])
        res = minimize_scalar(
            lambda x: objective(float(np.exp(x))), bounds=(lo, hi), method="bounded",
            options={"xatol": rtol},
        )  # fmt: skip
        if res.fun < best_err:
            best, best_err = float(np.exp(res.x)), float(res.fun)
    return WidthSearch(grid, errors, float(grid[i]), best, best_err, i in (0, grid.size - 1))


def knn_width_objective(
    reweight: Callable[[float], sp.csr_matrix],
    nside: int,
    *,
    nest: bool,
    seed: int,
    n_signals: int = 1,
    n_rotations: int = 5,
    rotation: str = "haar",
    slope: float = -3.0,
    iter: int = 3,  # noqa: A002
    laplacian: Callable | None = None,
) -> Callable[[float], float]:
    """``sigma -> mean unsquared equivariance error`` of the graph ``reweight(t(sigma))`` on red
    noise maps (``C_l ~ l^slope``). The same seed is reused for every ``sigma`` (common random
    numbers), so the objective is a smooth function of ``sigma``. ``laplacian(W)`` defaults to the
    combinatorial ``D - W`` (:func:`deepsphere.geometry.laplacian.laplacian`).
    """
    lap = laplacian or (lambda w: graph_laplacian(w, "combinatorial"))
    cl = red_noise_spectrum(default_lmax(nside), slope)

    def objective(sigma: float) -> float:
        op = lap(reweight(float(sigma_to_t(sigma))))
        rng = np.random.default_rng(int(seed))
        r = equivariance_ratios(
            op, nside, cl, nest=nest, rng=rng, n_signals=n_signals, n_rotations=n_rotations,
            rotation=rotation, iter=iter,
        )  # fmt: skip
        return float(r.mean())

    return objective
