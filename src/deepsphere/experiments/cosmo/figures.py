"""Cosmo figures: the cost-accuracy trade-off (ICLR 2020 Fig. 4) and example maps.

Each function saves one PNG (150 dpi). Ours is drawn with filled markers, the paper with open
markers; the two time axes are kept apart (the paper's times are GPU times at Nside 1024).
"""

from __future__ import annotations

import healpy as hp
import numpy as np
import pandas as pd

from deepsphere.reporting.figures import plt, save_figure

__all__ = ["plot_cost_accuracy", "plot_example_maps"]


def plot_cost_accuracy(ours: pd.DataFrame, paper: pd.DataFrame, path, *, title: str = "") -> None:
    """Accuracy (%) against per-sample inference time (ms), one point per Table 2 row.

    ``ours``/``paper``: columns ``label``, ``accuracy``, ``time_ms`` (and ``hardware`` for ours).
    Left panel the paper (GPU), right panel ours (the hardware in the axis label).
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    hw = "; ".join(sorted(set(ours["hardware"].dropna()))) if "hardware" in ours else ""
    for ax, frame, filled, where in ((axes[0], paper, False, "paper (GPU)"),
                                     (axes[1], ours, True, f"ours ({hw})")):
        for i, row in enumerate(frame.itertuples()):
            c = colors[i % len(colors)]
            ax.plot(row.time_ms, row.accuracy, "o", ms=8, color=c,
                    markerfacecolor=c if filled else "none", label=row.label)
        ax.set_xlabel(f"inference time per sample [ms], {where}")
        ax.set_ylabel("test accuracy [%]")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="best")
    fig.suptitle(title or "Trade-off between cost and accuracy (paper Fig. 4)")
    save_figure(fig, path)


def plot_example_maps(full_map_ring: np.ndarray, patch: np.ndarray, noisy_patch: np.ndarray,
                      *, nside: int, order: int, patch_index: int, noise: float, path,
                      label: str = "") -> None:
    """A full map (Mollweide, RING) and one NEST patch without and with noise (gnomonic).

    ``patch``/``noisy_patch``: ``(12 nside^2 / (12 order^2),)`` NEST values of patch
    ``patch_index``; they are put at their place in an otherwise UNSEEN NEST map.
    """
    npix = 12 * nside**2
    step = npix // (12 * order**2)
    centre = patch_index * step + step // 2
    lon, lat = hp.pix2ang(nside, centre, nest=True, lonlat=True)
    side_deg = np.degrees(np.sqrt(4 * np.pi / (12 * order**2)))
    reso = 1.6 * side_deg * 60 / 300  # arcmin per pixel of a 300 px image
    fig = plt.figure(figsize=(15, 4.5))
    hp.mollview(full_map_ring, nest=False, fig=fig.number, sub=(1, 3, 1),
                title=f"full map {label} (RING)", cbar=True)
    vmin, vmax = np.percentile(noisy_patch, [1, 99])
    for sub, values, name in ((2, patch, "patch"), (3, noisy_patch, f"patch + noise {noise:g}")):
        m = np.full(npix, hp.UNSEEN)
        m[patch_index * step:(patch_index + 1) * step] = values
        hp.gnomview(m, nest=True, rot=(lon, lat), reso=reso, xsize=300, fig=fig.number,
                    sub=(1, 3, sub), title=f"{name} (order {order}, NEST patch {patch_index})",
                    min=vmin, max=vmax, notext=True)
    save_figure(fig, path)
