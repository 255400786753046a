"""Cosmo experiment baselines: PSD and histogram features, a linear SVM, and 2-D patch images.

- :func:`psd_features`: ``C_l * l (l + 1)`` of each patch embedded in an otherwise zero full map.
- :func:`histogram_edges` / :func:`histogram_features`: 100 bins over the training range.
- :class:`Standardiser`: per-feature mean/std fitted on training features only.
- :func:`select_linear_svm`: ``LinearSVC`` whose ``C`` is chosen on the VALIDATION set.
- the 2-D images of the planar baselines: :mod:`deepsphere.geometry.patch_images`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import healpy as hp
import numpy as np
from sklearn.svm import LinearSVC
from tqdm import tqdm

from deepsphere.geometry.sampling import check_nside, healpix_patch_indexes

__all__ = [
    "psd_features",
    "histogram_edges",
    "histogram_features",
    "Standardiser",
    "SVMSelection",
    "select_linear_svm",
]


# --------------------------------------------------------------------------- PSD
def psd_features(
    x: np.ndarray,
    patch_index: np.ndarray,
    *,
    nside: int,
    order: int,
    lmax: int | None = None,
    iter: int = 3,
    progress: bool = True,
) -> np.ndarray:
    """Angular power spectrum features of NEST patches.

    Each patch is put at its place in a full NEST map of zeros (the original used ``UNSEEN``,
    which healpy's ``map2alm`` also treats as 0), reordered to RING, and ``healpy.anafast`` gives
    ``C_l``; the feature is ``C_l * l (l + 1)``.

    Args:
        x: ``(n, 12 nside^2 / (12 order^2))`` patches, NEST order.
        patch_index: ``(n,)`` index of each patch among the ``12 order^2`` NEST patches.
        nside, order: the map's Nside and the patch order.
        lmax: maximum multipole (default ``3 nside - 1``).
        iter: healpy's ``map2alm`` iterations.

    Returns:
        float64 ``(n, lmax + 1)``; column ``l`` is ``l (l + 1) C_l`` (column 0 is always 0).
    """
    nside = check_nside(nside)
    x = np.asarray(x)
    patch_index = np.asarray(patch_index)
    npix = 12 * nside**2
    n_patches = 12 * order**2
    healpix_patch_indexes(nside, order, 0, nest=True)  # validates order
    if x.ndim != 2 or x.shape[1] * n_patches != npix:
        raise ValueError(
            f"x has shape {x.shape}; patches of order {order} at nside {nside} need "
            f"(n, {npix // n_patches})."
        )
    if patch_index.shape != (x.shape[0],) or np.any((patch_index < 0) | (patch_index >= n_patches)):
        raise ValueError(f"patch_index must be (n,)={x.shape[0]} integers in [0, {n_patches}).")
    lmax = 3 * nside - 1 if lmax is None else int(lmax)
    ell = np.arange(lmax + 1, dtype=np.float64)
    out = np.empty((x.shape[0], lmax + 1))
    full = np.zeros(npix)
    step = npix // n_patches
    for i in tqdm(range(x.shape[0]), desc="psd features", disable=not progress):
        full[:] = 0.0
        p = int(patch_index[i])
        full[p * step : (p + 1) * step] = x[i]
        cl = hp.anafast(hp.reorder(full, n2r=True), lmax=lmax, iter=iter)
        out[i] = cl * ell * (ell + 1)
    return out


# --------------------------------------------------------------------------- histogram
def histogram_edges(x_train: np.ndarray, n_bins: int = 100) -> np.ndarray:
    """``n_bins + 1`` equal-width edges over ``[min, max]`` of the TRAINING data."""
    lo, hi = float(np.min(x_train)), float(np.max(x_train))
    if not hi > lo:
        raise ValueError("The training data are constant: no histogram range.")
    return np.linspace(lo, hi, n_bins + 1)


def histogram_features(x: np.ndarray, edges: np.ndarray, *, progress: bool = True) -> np.ndarray:
    """Pixel-value counts per patch: ``(n, npix_patch)`` -> float64 ``(n, len(edges) - 1)``.

    Values outside ``[edges[0], edges[-1]]`` are not counted (as ``numpy.histogram``, and the
    original, do).
    """
    x = np.asarray(x)
    out = np.empty((x.shape[0], len(edges) - 1))
    for i in tqdm(range(x.shape[0]), desc="histogram features", disable=not progress):
        out[i] = np.histogram(x[i], bins=edges)[0]
    return out


# --------------------------------------------------------------------------- standardise / SVM
class Standardiser:
    """Per-feature ``(f - mean) / std`` with mean and std fitted on training features only.

    Features with zero training std (e.g. the ``l = 0`` PSD column) get std 1. (The original
    divided by ``std + 1e-6``, which blows such columns up by 1e6 if noise makes them non-zero.)
    """

    def fit(self, features: np.ndarray) -> Standardiser:
        f = np.asarray(features, dtype=np.float64)
        self.mean_ = f.mean(axis=0)
        std = f.std(axis=0)
        self.std_ = np.where(std > 0, std, 1.0)
        return self

    def transform(self, features: np.ndarray) -> np.ndarray:
        if not hasattr(self, "mean_"):
            raise RuntimeError("Standardiser.transform before fit: fit on the training features.")
        return (np.asarray(features, dtype=np.float64) - self.mean_) / self.std_


@dataclass(frozen=True)
class SVMSelection:
    """``model`` fitted on the training set with the ``C`` of best validation accuracy;
    ``val_accuracy`` maps every tried ``C`` to its validation accuracy (fraction)."""

    model: LinearSVC
    C: float
    val_accuracy: dict[float, float]


def select_linear_svm(
    f_train: np.ndarray,
    y_train: np.ndarray,
    f_val: np.ndarray,
    y_val: np.ndarray,
    *,
    Cs: Sequence[float] = tuple(np.logspace(-2, 2, 9)),
    seed: int,
    max_iter: int = 10000,
) -> SVMSelection:
    """Fit ``LinearSVC(C)`` for every ``C`` on (standardised) training features and keep the one
    with the HIGHEST validation accuracy (ties: the smallest ``C``). The test set is never seen.

    Deliberate difference: the original's ``classification_error`` returned the accuracy and the
    code took its argmin, i.e. it picked the worst ``C``; its demo also selected ``C`` on the
    test set. Both are fixed here.
    """
    accuracy: dict[float, float] = {}
    models = {}
    for C in Cs:
        model = LinearSVC(C=float(C), random_state=seed, max_iter=max_iter)
        model.fit(f_train, y_train)
        accuracy[float(C)] = float(np.mean(model.predict(f_val) == np.asarray(y_val)))
        models[float(C)] = model
    best = max(accuracy.values())
    C_best = min(C for C, a in accuracy.items() if a == best)
    return SVMSelection(models[C_best], C_best, accuracy)


