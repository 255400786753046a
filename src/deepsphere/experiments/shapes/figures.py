"""The shapes figure: one mesh and its six projected channels on the sphere (HEALPix, NEST)."""

from __future__ import annotations

import os

import healpy as hp
import numpy as np

from deepsphere.experiments.shapes.projection import (
    CHANNELS,
    convex_hull,
    place_mesh,
    ray_channels,
    sphere_grid,
)
from deepsphere.reporting.figures import plt, save_figure

__all__ = ["plot_mesh_channels"]

_TITLES = {"dist": "distance", "cos": "cos(angle)", "sin": "sin(angle)",
           "hull_dist": "hull distance", "hull_cos": "hull cos(angle)",
           "hull_sin": "hull sin(angle)"}


def plot_mesh_channels(vertices: np.ndarray, faces: np.ndarray, path: str | os.PathLike, *,
                       nside: int, no_hit_distance: float, title: str = "") -> np.ndarray:
    """Draw the normalised mesh (no rotation, no translation) and its 6 channels at ``nside``
    (Mollweide views of the NEST maps); save a PNG; return the ``(12 nside^2, 6)`` channels."""
    mesh = place_mesh(vertices, faces, rotation=np.eye(3), translation=np.zeros(3), name=title)
    grid = sphere_grid({"sampling": "healpix", "nside": int(nside), "nest": True})
    channels = np.concatenate([ray_channels(mesh, grid, no_hit_distance=no_hit_distance),
                               ray_channels(convex_hull(mesh), grid,
                                            no_hit_distance=no_hit_distance)], axis=1)
    fig = plt.figure(figsize=(16, 6.5))
    ax = fig.add_subplot(2, 4, 1, projection="3d")
    v = mesh.vertices
    ax.plot_trisurf(v[:, 0], v[:, 1], v[:, 2], triangles=mesh.faces, color="0.7",
                    edgecolor="0.3", linewidth=0.1)
    ax.set_box_aspect((1, 1, 1))
    for lim in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
        lim(-1, 1)
    ax.set_title(f"mesh ({len(mesh.faces):,} faces)")
    slots = [2, 3, 4, 6, 7, 8]
    for slot, i in zip(slots, range(len(CHANNELS)), strict=True):
        hp.mollview(channels[:, i], nest=True, fig=fig.number, sub=(2, 4, slot),
                    title=_TITLES[CHANNELS[i]], cbar=True, notext=True)
    fig.text(0.02, 0.25, f"rays from the HEALPix Nside {nside} pixel centres (NEST) towards "
             f"the centre;\nno hit: distance {no_hit_distance:g}, angles 0", fontsize=9)
    fig.suptitle(title or "a mesh and its six spherical maps")
    save_figure(fig, path)
    return channels.astype(np.float32)
