"""The GHCN station map: every station of a run's station set on a Mollweide projection,
coloured by that run's root-mean-square test error at the station (°C for the dense task)."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["error_map", "station_rmse"]


def station_rmse(outputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``(S,)`` RMSE per station of per-station predictions ``(n, S[, 1])`` over the test
    samples with a value (NaN targets are missing); NaN for a station without any."""
    out = np.asarray(outputs, np.float64).reshape(labels.shape[0], -1)
    y = np.asarray(labels, np.float64).reshape(labels.shape[0], -1)
    present = np.isfinite(y)
    sq = np.where(present, (out - np.where(present, y, 0)) ** 2, 0.0)
    count = present.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(sq.sum(axis=0) / count)


def error_map(predictions_path, stations_path, out_path: str | os.PathLike, *,
              run_id: str = "") -> None:
    """Draw the map of ``predictions_path`` (a dense-task run's ``predictions.npz``: scores
    ``(n, S, 1)``, labels) on the stations of ``stations_path`` (its station set)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from deepsphere.experiments.ghcn.arrays import read_arrays
    from deepsphere.reporting.figures import save_figure

    with np.load(predictions_path) as f:
        scores, labels = f["scores"], f["labels"]
    arrays = read_arrays(stations_path)
    lon, lat = arrays.coords["lon_deg"], arrays.coords["lat_deg"]
    if labels.ndim < 2 or labels.reshape(len(labels), -1).shape[1] != len(lon):
        raise ValueError(f"{predictions_path}: labels {labels.shape} are not one value per "
                         f"station of {stations_path} ({len(lon)} stations): the map needs a "
                         "dense-task run (ghcn.figure.task: temperature)")
    rmse = station_rmse(scores, labels)
    x = np.radians((np.asarray(lon) + 180) % 360 - 180)
    fig = plt.figure(figsize=(9, 4.8))
    ax = fig.add_subplot(111, projection="mollweide")
    order = np.argsort(np.nan_to_num(rmse))  # largest errors drawn last, on top
    dots = ax.scatter(x[order], np.radians(lat)[order], c=rmse[order], s=14, cmap="viridis",
                      edgecolors="k", linewidths=0.2)
    ax.grid(True, alpha=0.3)
    ax.set_xticklabels([])
    fig.colorbar(dots, ax=ax, orientation="horizontal", fraction=0.05, pad=0.04,
                 label="test RMSE per station (°C)")
    ax.set_title(f"GHCN {run_id}: {len(lon)} stations, median RMSE "
                 f"{np.nanmedian(rmse):.2f} °C", fontsize=10)
    save_figure(fig, out_path)
    plt.close(fig)
