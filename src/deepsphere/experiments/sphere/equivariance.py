"""The paper's mean equivariance error (DeepSphere ICLR 2020, Fig. 2).

Definitions (see ``docs/design.md`` and the reference note on Fig. 2); signals, transforms and
rotations are in :mod:`deepsphere.experiments.sphere.harmonics`, the kernel-width search (Fig. 3)
in :mod:`deepsphere.experiments.sphere.width_search`.

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
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm.auto import tqdm

from deepsphere.experiments.sphere.harmonics import (
    Operator,
    alm_to_map,
    default_lmax,
    map_to_alm,
    random_alm,
    random_rotations,
    rotate_alm,
    single_degree_spectrum,
)
from deepsphere.geometry.sampling import check_nside as _check_nside


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
