"""Figures of one network run: its training curves (from ``log.csv``, which
:func:`deepsphere.training.loop.fit` writes beside the model) and, for regression, the
predictions against the truth."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from deepsphere.reporting.figures import plt, save_figure

__all__ = ["predicted_vs_true", "training_curves"]


def training_curves(log_csv: str | os.PathLike, out_png: str | os.PathLike, *,
                    selected_epoch: int | None = None, title: str = "Training") -> None:
    """Loss (and the other logged metrics, one panel each) per epoch, training and validation;
    the epoch whose weights the model kept marked."""
    import pandas as pd

    log = pd.read_csv(log_csv)
    if log.empty or "epoch" not in log:
        raise ValueError(f"{log_csv}: no epoch was logged; train the run first")
    metrics = [c for c in log.columns if c not in ("epoch", "learning_rate")
               and not c.startswith("val_")]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.5), squeeze=False)
    for ax, name in zip(axes[0], metrics, strict=True):
        ax.plot(log.epoch, log[name], marker="o", label="training")
        if f"val_{name}" in log:
            ax.plot(log.epoch, log[f"val_{name}"], marker="o", label="validation")
        if selected_epoch is not None:
            ax.axvline(selected_epoch, color="grey", ls="--", lw=1, label="kept")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    save_figure(fig, out_png)


def predicted_vs_true(true: np.ndarray, predicted: np.ndarray, names: Sequence[str],
                      out_png: str | os.PathLike, *, title: str = "Test maps") -> None:
    """One panel per target: predicted against true values, the line y = x, R² in the title.
    ``true`` and ``predicted`` are ``(n, T)`` with ``T = len(names)``."""
    from deepsphere.metrics import r2

    true, predicted = np.asarray(true, float), np.asarray(predicted, float)
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 4), squeeze=False)
    for j, (ax, name) in enumerate(zip(axes[0], names, strict=True)):
        t, p = true[:, j], predicted[:, j]
        ax.scatter(t, p, s=14)
        lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1)
        ax.set_xlabel(f"true {name}")
        ax.set_ylabel(f"predicted {name}")
        ax.set_title(f"{name}: R² = {r2(t, p):.3f}")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    save_figure(fig, out_png)
