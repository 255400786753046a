"""Cosmo experiment: additive Gaussian noise and the seeded, stratified train/validation split.

Noise levels are relative: in units of the training-data std, i.e. applied to data already
divided by that std (:func:`deepsphere.experiments.cosmo.preprocess.normalise`). The original used one global
``RandomState(1)``; here every stream has its own explicit seed (``numpy.random.Generator``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["add_fixed_noise"]


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
