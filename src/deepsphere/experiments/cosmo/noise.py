"""Cosmo experiment: additive Gaussian noise and the seeded, stratified train/validation split.

Noise levels are relative: in units of the training-data std, i.e. applied to data already
divided by that std (:func:`deepsphere.experiments.cosmo.preprocess.normalise`). The original used one global
``RandomState(1)``; here every stream has its own explicit seed (``numpy.random.Generator``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["add_fixed_noise", "stratified_split"]


def _check_level(level: float) -> float:
    level = float(level)
    if not level >= 0:
        raise ValueError(f"noise level {level!r} must be >= 0 (units of the training std).")
    return level


def add_fixed_noise(x: np.ndarray, level: float, seed: int) -> np.ndarray:
    """One fixed, seeded noise draw for validation/test sets: ``x + level * N(0, 1)`` (float32).

    Deterministic: the same ``(x.shape, level, seed)`` always gives the same noise.
    """
    level = _check_level(level)
    x = np.asarray(x, dtype=np.float32)
    rng = np.random.default_rng(seed)
    return x + np.float32(level) * rng.standard_normal(x.shape, dtype=np.float32)


def stratified_split(
    labels: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified split of sample indices into training and validation.

    Each class ``c`` with ``n_c`` samples contributes ``round(val_fraction * n_c)`` validation
    samples, drawn without replacement by a generator seeded with ``seed``. (Like the original,
    the unit is the patch, so patches of one map can fall on both sides.)

    Returns:
        ``(train_idx, val_idx)``: sorted int64 index arrays partitioning ``arange(len(labels))``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}.")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction={val_fraction!r} must be strictly between 0 and 1.")
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        n_val = int(round(val_fraction * idx.size))
        if n_val == 0 or n_val == idx.size:
            raise ValueError(
                f"Class {c!r} has {idx.size} samples: val_fraction={val_fraction} leaves it "
                "absent from training or validation; change the fraction or add data."
            )
        val.append(rng.choice(idx, size=n_val, replace=False))
    val_idx = np.sort(np.concatenate(val)).astype(np.int64)
    train_idx = np.setdiff1d(np.arange(labels.size), val_idx).astype(np.int64)
    return train_idx, val_idx
