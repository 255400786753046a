"""Seeded train/validation splits (Keras-free: planning code may call them)."""

from __future__ import annotations

import numpy as np

__all__ = ["stratified_split"]


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
