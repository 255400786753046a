"""Sphere figures: equivariance error (paper Fig. 2), kernel widths (Fig. 3), filtering speed.

Every function takes tidy ``pandas.DataFrame`` objects (the CSVs the workflow writes) and a
path, and saves one PNG (150 dpi). Ours is drawn solid with filled markers, the paper dashed
or with open markers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from deepsphere.reporting.figures import plt, save_figure

GRAPH_STYLE = {
    "v1": ("V1 (Perraudin et al.), k=8; paper: near-unweighted", "tab:red"),
    "knn8": ("kNN k=8, optimal t", "tab:blue"),
    "knn20": ("kNN k=20, optimal t", "tab:green"),
    "knn40": ("kNN k=40, optimal t", "tab:purple"),
}


def _style(name: str) -> tuple[str, str]:
    return GRAPH_STYLE.get(name, (name, None))


def plot_equivariance_error(ours: pd.DataFrame, paper: pd.DataFrame, path) -> None:
    """Mean equivariance error against ell, one column per nside.

    ``ours``: columns ``graph, nside, ell, error, error_squared``; ``paper``: ``graph, nside, ell,
    error`` (unsquared, as the paper stored and plotted it). Top row: the unsquared ratio
    ``||RLf - LRf|| / ||Lf||`` (ours solid, paper dashed); bottom row: ours squared (the paper's
    equation). Graph names as in :data:`GRAPH_STYLE`.
    """
    nsides = sorted(ours["nside"].unique())
    fig, axes = plt.subplots(
        2, len(nsides), figsize=(5 * len(nsides), 8), squeeze=False, layout="constrained"
    )
    for j, nside in enumerate(nsides):
        top, bottom = axes[0, j], axes[1, j]
        for name in ours["graph"].unique():
            label, color = _style(name)
            o = ours[(ours["graph"] == name) & (ours["nside"] == nside)].sort_values("ell")
            p = paper[(paper["graph"] == name) & (paper["nside"] == nside)].sort_values("ell")
            top.plot(o["ell"], o["error"], "o-", color=color, ms=3, label=f"ours: {label}")
            if len(p):
                top.plot(
                    p["ell"], p["error"], "--", color=color, alpha=0.7, label=f"paper: {label}"
                )
            bottom.plot(o["ell"], o["error_squared"], "o-", color=color, ms=3, label=label)
        top.set_title(f"Nside = {nside}: unsquared (as plotted in paper Fig. 2)", fontsize=9)
        bottom.set_title(f"Nside = {nside}: ours squared (paper's equation)", fontsize=9)
        for ax in (top, bottom):
            ax.set_yscale("log")
            ax.set_xlabel(r"degree $\ell$")
            ax.grid(True, which="both", alpha=0.3)
        top.set_ylabel(r"mean $\|RLf-LRf\| \,/\, \|Lf\|$")
        bottom.set_ylabel(r"mean $(\|RLf-LRf\| \,/\, \|Lf\|)^2$")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=7)
    fig.suptitle(
        "Equivariance error of HEALPix graphs (combinatorial Laplacian); solid: ours, dashed: paper"
    )
    save_figure(fig, path)


def plot_kernel_widths(ours: pd.DataFrame, paper: pd.DataFrame, v1: pd.DataFrame, path) -> None:
    """Kernel width ``t`` against ``n = 12 nside^2`` (log-log), as in the paper's Fig. 3.

    ``ours``: ``nside, k, t_ours`` (searched optimum); ``paper``: ``nside, k, t`` (the paper's
    table); ``v1``: ``nside, t_ours, t_paper`` (the V1 heuristic ``mean d^2 / 2``).
    """
    fig, ax = plt.subplots(figsize=(6, 4.5), layout="constrained")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, k in enumerate(sorted(paper["k"].unique())):
        p = paper[paper["k"] == k].sort_values("nside")
        ax.plot(
            12 * p["nside"] ** 2, p["t"], "--", color=colors[i], alpha=0.7, label=f"paper k={k}"
        )
        o = ours[ours["k"] == k].sort_values("nside")
        if len(o):
            ax.plot(12 * o["nside"] ** 2, o["t_ours"], "o-", color=colors[i], label=f"ours k={k}")
    v = v1.sort_values("nside")
    ax.plot(
        12 * v["nside"] ** 2, v["t_paper"], "s--", mfc="none", color="k", label="paper V1 heuristic"
    )
    ax.plot(12 * v["nside"] ** 2, v["t_ours"], "x", color="k", label="ours V1 heuristic")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of pixels n = 12 Nside²")
    ax.set_ylabel("kernel width t  (w = exp(-d²/4t))")
    ax.set_title("Optimal kernel widths (paper Fig. 3)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    save_figure(fig, path)


def _speed_label(row) -> str:
    if row["method"] == "sh":
        return f"SH lmax={int(row['lmax_factor'])}·Nside"
    if row["method"] == "graph":
        return f"graph K={int(row['K'])}"
    return f"graph 1/{int(row['patch_fraction'])} patch K={int(row['K'])}"


def plot_filtering_speed(ours: pd.DataFrame, paper: pd.DataFrame, path) -> None:
    """Filtering time of one map against Nside (log-log): ours (min seconds) and the paper's.

    ``ours``: ``nside, method, K, lmax_factor, patch_fraction, seconds_min``; ``paper``: same
    keys with ``seconds``.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4.5), layout="constrained")
    colors = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"] * 3)
    keys = ["method", "K", "lmax_factor", "patch_fraction"]
    for key, o in ours.groupby(keys, dropna=False):
        o = o.sort_values("nside")
        label, color = _speed_label(o.iloc[0]), next(colors)
        ax.plot(o["nside"], o["seconds_min"], "o-", color=color, label=f"ours: {label}")
        match = np.ones(len(paper), bool)
        for k, val in zip(keys, key, strict=True):
            same = paper[k].isna() if pd.isna(val) else (paper[k] == val)
            match &= same.fillna(False).to_numpy(dtype=bool)
        p = paper[match].sort_values("nside")
        if len(p):
            ax.plot(
                p["nside"],
                p["seconds"],
                "s",
                mfc="none",
                ms=8,
                color=color,
                label=f"paper: {label}",
            )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("Nside")
    ax.set_ylabel("time to filter one map [s]")
    ax.set_title("Graph (Chebyshev, scipy) vs spherical-harmonic (healpy) filtering")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    save_figure(fig, path)
