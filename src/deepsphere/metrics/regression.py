"""Regression metrics of the DeepSphere experiments (plain NumPy, no framework).

``y_true`` and ``y_pred`` are real arrays of any shape, equal; every metric pools all entries
(flattened). :func:`mse`, :func:`mae`, :func:`r2`, :func:`explained_variance`;
:func:`regression_report` bundles them into a JSON-able dict; :func:`per_target_report` scores
each target (column) on its own.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "explained_variance",
    "mae",
    "mse",
    "per_target_report",
    "r2",
    "regression_report",
]


def _regression(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape:
        raise ValueError(f"y_true shape {t.shape} differs from y_pred shape {p.shape}")
    if t.size == 0:
        raise ValueError("metrics need at least one sample")
    return t.reshape(-1), p.reshape(-1)


def mse(y_true, y_pred) -> float:
    """Mean squared error over all entries."""
    t, p = _regression(y_true, y_pred)
    return float(np.mean((t - p) ** 2))


def mae(y_true, y_pred) -> float:
    """Mean absolute error over all entries."""
    t, p = _regression(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def r2(y_true, y_pred) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot over all entries (flattened)."""
    t, p = _regression(y_true, y_pred)
    ss_tot = np.sum((t - t.mean()) ** 2)
    ss_res = np.sum((t - p) ** 2)
    if ss_tot == 0:
        return 1.0 if ss_res == 0 else 0.0
    return float(1.0 - ss_res / ss_tot)


def explained_variance(y_true, y_pred) -> float:
    """1 - Var(y - y_hat) / Var(y) over all entries (flattened)."""
    t, p = _regression(y_true, y_pred)
    var = np.var(t)
    if var == 0:
        return 1.0 if np.var(t - p) == 0 else 0.0
    return float(1.0 - np.var(t - p) / var)


def regression_report(y_true, y_pred) -> dict:
    """MSE, MAE, R² and explained variance as a JSON-able dict."""
    return {
        "mse": mse(y_true, y_pred),
        "mae": mae(y_true, y_pred),
        "r2": r2(y_true, y_pred),
        "explained_variance": explained_variance(y_true, y_pred),
        "n": int(np.asarray(y_true).size),
    }


def per_target_report(y_true, y_pred, names) -> dict:
    """MSE, MAE and R² of each target: ``{name: {"mse", "mae", "r2", "n"}}``.

    ``y_true`` and ``y_pred`` are ``(n, T)`` with ``T = len(names)``; rows whose true value of a
    target is not finite (a missing target) are left out of that target's scores only.
    """
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    names = list(names)
    if t.ndim != 2 or t.shape != p.shape or t.shape[1] != len(names):
        raise ValueError(f"per_target_report: y_true {t.shape} and y_pred {p.shape} must both be "
                         f"(n, {len(names)}), one column per target name {names}")
    out = {}
    for j, name in enumerate(names):
        present = np.isfinite(t[:, j])
        if not present.any():
            raise ValueError(f"per_target_report: target {name!r} has no finite true value")
        tj, pj = t[present, j], p[present, j]
        out[str(name)] = {"mse": mse(tj, pj), "mae": mae(tj, pj), "r2": r2(tj, pj),
                          "n": int(present.sum())}
    return out
