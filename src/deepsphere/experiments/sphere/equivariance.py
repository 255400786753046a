"""The paper's mean equivariance error (DeepSphere ICLR 2020, Fig. 2) and kernel-width search (Fig. 3).

Definitions (see ``docs/design.md`` and the reference note on Fig. 2):

* Signals are Gaussian random fields with a given angular power spectrum ``C_l``. The equivariance
  study uses a one-degree spectrum ``C_l' = delta_{l' l}`` (a "pure degree-l signal", as
  ``healpy.synfast`` would draw it); the kernel-width search uses red noise ``C_l ~ l^-3``.
  Coefficients are drawn directly in harmonic space from a seeded ``numpy.random.Generator``.
* A rotation ``R`` is a 3x3 rotation matrix applied in harmonic space (``healpy.rotate_alm``, an
  *active* rotation: a dipole pointing along ``v`` ends up pointing along ``R v``).
  Two distributions are offered:

  - ``"haar"`` (default): uniform on SO(3) (unit quaternion with i.i.d. normal components);
  - ``"paper"``: the 2019 code's ``healpy.Rotator(rot=[a, b, c])`` (ZYX, degrees) with ``a, b, c``
    i.i.d. uniform on [0, 360). This is *not* Haar-uniform (it over-weights some axes).

* For an operator ``L`` acting on maps, one signal ``f`` and one rotation ``R``::

      e(f, R) = ||R L f - L R f||_2 / ||L f||_2

  ``R (L f)`` goes through ``map2alm`` (``iter`` Jacobi iterations, 3 by default) and
  ``rotate_alm``; by default ``R f`` takes the same path (as the paper did), so that the quadrature
  errors of the two rotations cancel to first order (``rotate_signal="exact"`` rotates the exact
  coefficients of ``f`` instead). The study reports both

  - ``error`` = mean over signals and rotations of ``e`` (UNSQUARED): the numbers plotted in the
    paper's Fig. 2, and
  - ``error_squared`` = mean of ``e**2``: the paper's equation ``E = (...)**2``.

All maps are float64 of shape ``(12 nside^2,)``; HEALPix ordering is always explicit (``nest=``).
Kernel widths are pygsp ``sigma`` (the chordal distance where the weight is 1/2) or the paper's
``t = sigma^2 / (4 ln 2)`` in ``w = exp(-d^2 / (4 t))``; distances are chordal on the unit sphere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import healpy as hp
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from tqdm.auto import tqdm

from deepsphere.geometry.kernel_widths import sigma_to_t
from deepsphere.geometry.sampling import check_nside as _check_nside
from deepsphere.reporting.paper import paper_numbers

ROTATION_DISTRIBUTIONS = ("haar", "paper")

def default_lmax(nside: int) -> int:
    """The band limit the study uses: ``3 nside - 1`` (as ``healpy.synfast`` by default)."""
    return 3 * _check_nside(nside) - 1


# --------------------------------------------------------------------------------------------
# signals
# --------------------------------------------------------------------------------------------
def single_degree_spectrum(ell: int, lmax: int) -> np.ndarray:
    """``C`` of shape ``(lmax + 1,)`` with ``C[ell] = 1`` and zeros elsewhere."""
    if not 1 <= ell <= lmax:
        raise ValueError(f"ell must be in [1, lmax={lmax}], got {ell!r}")
    cl = np.zeros(lmax + 1)
    cl[ell] = 1.0
    return cl


def red_noise_spectrum(lmax: int, slope: float = -3.0) -> np.ndarray:
    """``C_l = l^slope`` for ``1 <= l <= lmax`` and ``C_0 = 0``; shape ``(lmax + 1,)``."""
    if lmax < 1:
        raise ValueError(f"lmax must be >= 1, got {lmax!r}")
    ell = np.arange(lmax + 1, dtype=float)
    cl = np.zeros(lmax + 1)
    cl[1:] = ell[1:] ** slope
    return cl


def random_alm(cl: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw the coefficients of a real Gaussian random field with power spectrum ``cl``.

    ``a_l0 ~ N(0, C_l)`` (real) and ``a_lm ~ sqrt(C_l / 2) (N(0,1) + i N(0,1))`` for ``m > 0``, so
    ``E|a_lm|^2 = C_l`` as in ``healpy.synfast``. Returns healpy-ordered complex128 coefficients of
    shape ``(healpy.Alm.getsize(lmax),)`` with ``lmax = len(cl) - 1``.
    """
    cl = np.asarray(cl, dtype=float)
    if cl.ndim != 1 or cl.size < 2 or np.any(cl < 0) or not np.all(np.isfinite(cl)):
        raise ValueError("cl must be a 1-d array of finite non-negative numbers, length >= 2")
    lmax = cl.size - 1
    ell, m = hp.Alm.getlm(lmax)
    size = ell.size
    re, im = rng.standard_normal(size), rng.standard_normal(size)
    amp = np.sqrt(cl[ell])
    alm = np.where(m == 0, amp * re, amp * (re + 1j * im) / np.sqrt(2.0))
    return alm.astype(np.complex128)


def alm_to_map(alm: np.ndarray, nside: int, *, nest: bool, lmax: int) -> np.ndarray:
    """Synthesise a map of shape ``(12 nside^2,)`` in the requested ordering."""
    m = hp.alm2map(np.ascontiguousarray(alm), _check_nside(nside), lmax=lmax)
    return hp.reorder(m, r2n=True) if nest else m


def map_to_alm(m: np.ndarray, *, nest: bool, lmax: int, iter: int = 3) -> np.ndarray:  # noqa: A002
    """Analyse a map (ordering given by ``nest``) into healpy-ordered coefficients up to ``lmax``.

    ``iter`` Jacobi iterations improve the HEALPix quadrature (3 is healpy's default and keeps the
    harmonic rotation error well below the graph error at low degrees).
    """
    m = np.asarray(m, dtype=float)
    if nest:
        m = hp.reorder(m, n2r=True)
    return hp.map2alm(m, lmax=lmax, iter=int(iter))


# --------------------------------------------------------------------------------------------
# rotations
# --------------------------------------------------------------------------------------------
def _quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def random_rotations(n: int, rng: np.random.Generator, distribution: str = "haar") -> np.ndarray:
    """``n`` random rotation matrices, shape ``(n, 3, 3)``.

    ``"haar"``: uniform on SO(3) (normalised 4-d normal vector as a unit quaternion).
    ``"paper"``: ``healpy.Rotator(rot=[a, b, c], deg=True)`` (ZYX Euler angles) with ``a, b, c``
    i.i.d. uniform on [0, 360) degrees, as in the code behind the paper's Fig. 2 (not Haar).
    """
    if distribution not in ROTATION_DISTRIBUTIONS:
        raise ValueError(
            f"rotation distribution must be one of {ROTATION_DISTRIBUTIONS}, got {distribution!r}"
        )
    if n < 1:
        raise ValueError(f"number of rotations must be >= 1, got {n!r}")
    if distribution == "haar":
        return np.stack([_quaternion_to_matrix(rng.standard_normal(4)) for _ in range(n)])
    angles = rng.uniform(0.0, 360.0, size=(n, 3))
    return np.stack([hp.Rotator(rot=list(a), deg=True, eulertype="ZYX").mat for a in angles])


def rotate_alm(alm: np.ndarray, rotation: np.ndarray, *, lmax: int) -> np.ndarray:
    """Return a rotated copy of ``alm`` (active rotation by the 3x3 matrix ``rotation``)."""
    rotation = np.asarray(rotation, dtype=float)
    if rotation.shape != (3, 3) or not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-8):
        raise ValueError("rotation must be a 3x3 orthogonal matrix")
    out = np.array(alm, dtype=np.complex128, copy=True)
    hp.rotate_alm(out, matrix=rotation, lmax=lmax)
    return out


def rotate_map(
    m: np.ndarray,
    rotation: np.ndarray,
    *,
    nest: bool,
    lmax: int,
    iter: int = 3,  # noqa: A002
) -> np.ndarray:
    """Rotate a band-limited map in harmonic space: ``map2alm -> rotate_alm -> alm2map``."""
    nside = hp.npix2nside(np.asarray(m).size)
    alm = rotate_alm(map_to_alm(m, nest=nest, lmax=lmax, iter=iter), rotation, lmax=lmax)
    return alm_to_map(alm, nside, nest=nest, lmax=lmax)


# --------------------------------------------------------------------------------------------
# operators and the error
# --------------------------------------------------------------------------------------------
Operator = Callable[[np.ndarray], np.ndarray]


def as_operator(op: sp.spmatrix | sp.sparray | np.ndarray | Operator) -> Operator:
    """A map -> map callable from a (sparse or dense) matrix or a callable."""
    if callable(op) and not sp.issparse(op) and not isinstance(op, np.ndarray):
        return op
    if sp.issparse(op):
        mat = sp.csr_matrix(op, dtype=np.float64)
    elif isinstance(op, np.ndarray) and op.ndim == 2:
        mat = op.astype(np.float64)
    else:
        raise ValueError("operator must be a square matrix (sparse or dense) or a callable")
    if mat.shape[0] != mat.shape[1]:
        raise ValueError(f"operator matrix must be square, got shape {mat.shape}")
    return lambda x: mat @ x


def harmonic_laplacian(nside: int, *, nest: bool, lmax: int, iter: int = 3) -> Operator:  # noqa: A002
    """The spherical Laplacian applied in harmonic space (``a_lm -> -l(l+1) a_lm``): exactly
    rotation-equivariant up to the quadrature error of ``map2alm``."""
    fl = -np.arange(lmax + 1.0) * np.arange(1.0, lmax + 2.0)

    def apply(m: np.ndarray) -> np.ndarray:
        alm = hp.almxfl(map_to_alm(m, nest=nest, lmax=lmax, iter=iter), fl)
        return alm_to_map(alm, nside, nest=nest, lmax=lmax)

    return apply


def equivariance_ratios(
    operator,
    nside: int,
    cl: np.ndarray,
    *,
    nest: bool,
    rng: np.random.Generator,
    n_signals: int = 5,
    n_rotations: int = 5,
    rotation: str = "haar",
    iter: int = 3,  # noqa: A002
    rotate_signal: str = "analysis",
) -> np.ndarray:
    """The ratios ``||R L f - L R f|| / ||L f||`` of shape ``(n_signals, n_rotations)`` (unsquared).

    ``cl`` (shape ``(lmax + 1,)``) is the signals' power spectrum; ``lmax`` must not exceed
    ``3 nside - 1``. ``operator`` is a matrix or callable acting on maps in the ``nest`` ordering.
    ``rotate_signal``: how ``R f`` is formed. ``"analysis"`` (default, the paper's way): the same
    ``map2alm -> rotate_alm -> alm2map`` path as ``R (L f)``, so that the quadrature errors of the
    two rotations largely cancel when ``f`` is close to an eigenvector of ``L`` (they otherwise
    dominate near ``l = 3 nside``); ``"exact"``: from the exact coefficients of ``f``.
    """
    if rotate_signal not in ("analysis", "exact"):
        raise ValueError(f"rotate_signal must be 'analysis' or 'exact', got {rotate_signal!r}")
    nside = _check_nside(nside)
    op = as_operator(operator)
    cl = np.asarray(cl, dtype=float)
    lmax = cl.size - 1
    if lmax > default_lmax(nside):
        raise ValueError(f"lmax={lmax} exceeds 3*nside-1={default_lmax(nside)}")
    if n_signals < 1 or n_rotations < 1:
        raise ValueError("n_signals and n_rotations must be >= 1")
    ratios = np.empty((n_signals, n_rotations))
    for i in range(n_signals):
        alm_f = random_alm(cl, rng)
        f = alm_to_map(alm_f, nside, nest=nest, lmax=lmax)
        lf = op(f)
        if rotate_signal == "analysis":
            alm_f = map_to_alm(f, nest=nest, lmax=lmax, iter=iter)
        norm = np.linalg.norm(lf)
        if norm == 0.0:
            raise ValueError("L f is zero: the operator annihilates the signal (is ell = 0?)")
        alm_lf = map_to_alm(lf, nest=nest, lmax=lmax, iter=iter)
        for j, rot in enumerate(random_rotations(n_rotations, rng, rotation)):
            r_lf = alm_to_map(rotate_alm(alm_lf, rot, lmax=lmax), nside, nest=nest, lmax=lmax)
            l_rf = op(alm_to_map(rotate_alm(alm_f, rot, lmax=lmax), nside, nest=nest, lmax=lmax))
            ratios[i, j] = np.linalg.norm(r_lf - l_rf) / norm
    return ratios


def equivariance_error_curve(
    operator,
    nside: int,
    ells: Sequence[int],
    *,
    nest: bool,
    seed: int,
    n_signals: int = 5,
    n_rotations: int = 5,
    rotation: str = "haar",
    iter: int = 3,  # noqa: A002
    rotate_signal: str = "analysis",
    progress: bool = True,
) -> pd.DataFrame:
    """Mean equivariance error against the degree of pure degree-``ell`` signals.

    Each ``ell`` draws from its own generator ``default_rng([seed, ell])``, so a point does not
    depend on which other degrees are computed. Returns one row per ``ell`` with columns ``ell``,
    ``error`` (mean unsquared ratio: the definition plotted in the paper's Fig. 2),
    ``error_squared`` (mean squared ratio: the paper's equation), ``error_std`` (standard deviation
    of the unsquared ratio over signals and rotations), ``n_signals``, ``n_rotations``.
    """
    lmax = default_lmax(nside)
    op = as_operator(operator)
    rows = []
    for ell in tqdm(list(ells), desc=f"equivariance nside={nside}", disable=not progress):
        rng = np.random.default_rng([int(seed), int(ell)])
        r = equivariance_ratios(
            op, nside, single_degree_spectrum(int(ell), lmax), nest=nest, rng=rng,
            n_signals=n_signals, n_rotations=n_rotations, rotation=rotation,
            rotate_signal=rotate_signal, iter=iter,
        )  # fmt: skip
        rows.append(
            {"ell": int(ell), "error": r.mean(), "error_squared": (r**2).mean(),
             "error_std": r.std(), "n_signals": n_signals, "n_rotations": n_rotations}
        )  # fmt: skip
    return pd.DataFrame(rows)


def paper_ell_grid(nside: int, step: int) -> np.ndarray:
    """The paper's degrees: ``arange(step, 3 nside, step)`` (its ``ell = 0`` placeholder dropped)."""
    if step < 1:
        raise ValueError(f"ell step must be >= 1, got {step!r}")
    return np.arange(step, 3 * _check_nside(nside), step)


# --------------------------------------------------------------------------------------------
# kernel widths
# --------------------------------------------------------------------------------------------
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


def combinatorial_laplacian(weights) -> sp.csr_matrix:
    """``L = D - W`` in float64 (what the paper's Fig. 2 used)."""
    w = sp.csr_matrix(weights, dtype=np.float64)
    return (sp.diags(np.asarray(w.sum(axis=1)).ravel()) - w).tocsr()


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
    combinatorial ``D - W``.
    """
    lap = laplacian or combinatorial_laplacian
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
