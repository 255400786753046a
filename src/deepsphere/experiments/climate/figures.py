"""The climate map figure: one test map's TMQ, its true labels and the labels each given run
predicts, on a Mollweide projection of the level-5 icosphere's vertices."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["choose_map", "map_figure"]

_LABEL_COLOURS = ("#f0f0f0", "#d62728", "#1f77b4")  # BG, TC, AR


def choose_map(labels: np.ndarray) -> int:
    """The test map with the most TC vertices (ties: the most AR, then the first)."""
    tc, ar = (labels == 1).sum(axis=1), (labels == 2).sum(axis=1)
    return int(np.lexsort((-np.arange(len(labels)), ar, tc))[-1])


def map_figure(predictions_paths, runs, test_store, out_path: str | os.PathLike) -> str:
    """Draw the test map :func:`choose_map` picks, with the predictions of each run
    (``predictions_paths``: their ``predictions.npz``, in the order of ``runs``); returns the
    map's file name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    from deepsphere.experiments.climate.maps import CHANNELS, CLASSES
    from deepsphere.geometry.sampling import icosahedral_sampling
    from deepsphere.io.shards import open_store
    from deepsphere.reporting.figures import save_figure

    with np.load(predictions_paths[0]) as f:
        labels = f["labels"]
    i = choose_map(labels)
    predicted = []  # one map's predicted labels per run (one run's scores in memory at a time)
    for path in predictions_paths:
        with np.load(path) as f:
            if not np.array_equal(f["labels"], labels):
                raise ValueError(f"{path} and {predictions_paths[0]}: the runs' test labels "
                                 "differ: rerun them on the current test store")
            predicted.append(np.argmax(f["scores"][i], axis=-1))
    with open_store(test_store) as store:
        if store.n_samples != len(labels):
            raise ValueError(f"{predictions_paths[0]} holds {len(labels)} test maps but "
                             f"{test_store} {store.n_samples}: rerun the run on the current "
                             "test store")
        x, y = store.read(np.array([i]))
        name = store.names[i]
    if not np.array_equal(y[0], labels[i]):
        raise ValueError(f"{predictions_paths[0]}: the labels of map {i} differ from the test "
                         "store's: the predictions are of another test set")
    s = icosahedral_sampling(5)
    lon = np.angle(np.exp(1j * s.lon))  # (-pi, pi] for Mollweide
    lat = s.lat
    tmq = x[0, CHANNELS.index("TMQ")]
    cmap = ListedColormap(_LABEL_COLOURS)
    n = 2 + len(runs)
    fig, axes = plt.subplots(1, n, figsize=(5 * n, 3.6), subplot_kw={"projection": "mollweide"})
    panels = [(tmq, "viridis", f"TMQ (kg/m²) of {name}", None),
              (labels[i], cmap, "true labels", (0, 2)),
              *[(pred, cmap, f"predicted: {run}", (0, 2))
                for pred, run in zip(predicted, runs, strict=True)]]
    for ax, (values, colours, title, limits) in zip(axes, panels, strict=True):
        vmin, vmax = limits if limits else (None, None)
        sc = ax.scatter(lon, lat, c=values, s=2.5, cmap=colours, vmin=vmin, vmax=vmax,
                        linewidths=0)
        ax.set_title(title, fontsize=9)
        ax.set_xticklabels([])
        ax.grid(True, alpha=0.3)
        if limits is None:
            fig.colorbar(sc, ax=ax, orientation="horizontal", fraction=0.05, pad=0.05)
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=n)
               for c, n in zip(_LABEL_COLOURS, CLASSES, strict=True)]
    axes[-1].legend(handles=handles, loc="lower right", fontsize=7, framealpha=0.8)
    save_figure(fig, out_path)
    return name
