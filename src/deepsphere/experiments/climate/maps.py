"""One climate map: reading and checking it, and checking the vertex order.

The real data (Jiang et al. 2019, ``climate_sphere_l5.zip`` -> ``data_5_all/``) are files
``data-YYYY-MM-DD-HH-R-mesh.npz``, each with ``data`` ``(16, 10242)`` (the channels
:data:`CHANNELS`, in that order, physical units) and ``labels`` ``(3, 10242)`` one-hot over
:data:`CLASSES` (background, tropical cyclone, atmospheric river) on the vertices of the level-5
icosphere (:func:`deepsphere.geometry.sampling.icosahedral_sampling`, our vertex order).

- :func:`read_map`: one file -> ``(data float32 (16, V), labels int8 (V,))``, with one
  :class:`MapFileError` naming the file for every way it can be wrong.
- the channel statistics and class weights are computed by the shared
  :mod:`deepsphere.training.statistics`.
- :func:`vertex_order_ratio`, :func:`check_vertex_order`: smooth fields (TMQ) vary little across
  graph edges only if the files use our icosphere vertex order; the check refuses files that do
  not (a model trained on the wrong graph would be meaningless).
"""

from __future__ import annotations

import functools
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

__all__ = [
    "CHANNELS",
    "CLASSES",
    "N_VERTICES",
    "LEVEL",
    "MapFileError",
    "VertexOrderError",
    "read_map",
    "icosphere_edges",
    "vertex_order_ratio",
    "check_vertex_order",
]

CHANNELS = ("TMQ", "U850", "V850", "UBOT", "VBOT", "QREFHT", "PS", "PSL", "T200", "T500",
            "PRECT", "TS", "TREFHT", "Z1000", "Z200", "ZBOT")
CLASSES = ("BG", "TC", "AR")
LEVEL = 5
N_VERTICES = 10 * 4**LEVEL + 2  # 10242


class MapFileError(ValueError):
    """A climate map file that cannot be read or does not hold a valid map."""


class VertexOrderError(ValueError):
    """Maps whose vertex order is not that of our icosphere."""


# ----------------------------------------------------------------------------- one map
def _load_arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    fix = "re-download or re-extract it (or delete it and rerun the step that wrote it)"
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise MapFileError(
            f"{path} is not a readable .npz archive ({type(err).__name__}: {err}): truncated or "
            f"corrupt; {fix}.") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise MapFileError(f"{path} is a single .npy array, not an .npz archive; {fix}.")
    with npz:
        missing = [k for k in ("data", "labels") if k not in npz.files]
        if missing:
            raise MapFileError(
                f"{path} has no array {' or '.join(repr(m) for m in missing)} (it holds "
                f"{sorted(npz.files)}; a climate map holds 'data' (16, {N_VERTICES}) and "
                f"'labels' (3, {N_VERTICES})); {fix}.")
        try:
            return np.asarray(npz["data"]), np.asarray(npz["labels"])
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise MapFileError(
                f"{path}: its arrays cannot be read ({type(err).__name__}: {err}): truncated "
                f"or corrupt .npz; {fix}.") from None


def _check_numeric(path: Path, name: str, array: np.ndarray) -> None:
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise MapFileError(f"{path}: array '{name}' has dtype {array.dtype}, expected a numeric "
                           "dtype; the file is not a climate map.")


def _check_shape(path: Path, name: str, array: np.ndarray, expected: tuple[int, int]) -> None:
    if array.shape != expected:
        raise MapFileError(
            f"{path}: array '{name}' has shape {array.shape}, expected {expected} "
            f"({'channels' if name == 'data' else 'classes'} x level-{LEVEL} icosphere "
            "vertices); the file is not a level-5 climate map of this dataset.")


def read_map(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read and check one map file; return ``(data, labels)``.

    ``data``: float32 ``(16, 10242)``, channels :data:`CHANNELS` (physical units);
    ``labels``: int8 ``(10242,)``, the class index into :data:`CLASSES`. Both arrays may be
    stored with any numeric dtype. Raises :class:`FileNotFoundError` if ``path`` does not exist
    and :class:`MapFileError` naming the file if it is not a readable ``.npz``, lacks ``data``
    or ``labels``, has a wrong shape, holds NaN or infinite data (the first such channel and
    vertex are named) or labels that are not one-hot (the first bad vertex is named).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"climate map {path} does not exist: check the path, or "
                                "re-extract the archive.")
    data, labels = _load_arrays(path)
    _check_numeric(path, "data", data)
    _check_numeric(path, "labels", labels)
    _check_shape(path, "data", data, (len(CHANNELS), N_VERTICES))
    _check_shape(path, "labels", labels, (len(CLASSES), N_VERTICES))

    data = data.astype(np.float32)
    bad = ~np.isfinite(data)
    if bad.any():
        c, v = np.argwhere(bad)[0]
        raise MapFileError(
            f"{path}: 'data' holds {int(bad.sum())} NaN or infinite value(s), the first in "
            f"channel {CHANNELS[c]} (index {c}) at vertex {v} (value {data[c, v]}); the file is "
            "corrupt: re-download or re-extract it.")

    not_binary = ~((labels == 0) | (labels == 1))
    if not_binary.any():
        k, v = np.argwhere(not_binary)[0]
        raise MapFileError(
            f"{path}: 'labels' is not one-hot: value {labels[k, v]!r} for class {CLASSES[k]} at "
            f"vertex {v} (only 0 and 1 allowed); the file is corrupt or not a label map.")
    sums = labels.astype(np.int64).sum(axis=0)
    off = np.flatnonzero(sums != 1)
    if off.size:
        v = off[0]
        raise MapFileError(
            f"{path}: 'labels' is not one-hot: vertex {v} has {sums[v]} classes set (expected "
            f"exactly 1; {off.size} such vertices); the file is corrupt or not a label map.")
    return data, np.argmax(labels, axis=0).astype(np.int8)


# ----------------------------------------------------------------------------- vertex order
@functools.cache
def icosphere_edges(level: int = LEVEL, k: int = 6) -> np.ndarray:
    """Undirected edges ``(m, 2)`` int64 (``i < j``) of the kNN graph (``k`` neighbours) on the
    vertices of the level-``level`` icosphere, our vertex order."""
    from scipy.spatial import cKDTree

    from deepsphere.geometry.sampling import icosahedral_sampling

    vectors = icosahedral_sampling(level).vectors
    _, idx = cKDTree(vectors).query(vectors, k=k + 1)
    i = np.repeat(np.arange(len(vectors)), k)
    j = idx[:, 1:].ravel()
    pairs = np.unique(np.sort(np.stack([i, j], axis=1), axis=1), axis=0)
    pairs.setflags(write=False)
    return pairs


def _edge_array(edges, n_vertices: int) -> np.ndarray:
    if edges is None:
        levels = {10 * 4**lv + 2: lv for lv in range(12)}
        if n_vertices not in levels:
            raise ValueError(f"{n_vertices} vertices is no icosphere level: pass the edges.")
        return icosphere_edges(levels[n_vertices])
    if sp.issparse(edges):
        coo = sp.triu(edges, k=1).tocoo()
        return np.stack([coo.row, coo.col], axis=1).astype(np.int64)
    edges = np.asarray(edges, dtype=np.int64)
    if edges.ndim != 2 or edges.shape[1] != 2 or edges.size == 0:
        raise ValueError(f"edges must be an (m, 2) index array or a sparse adjacency matrix, "
                         f"got shape {edges.shape}.")
    return edges


def vertex_order_ratio(values, edges=None, *, n_pairs: int = 100_000, seed: int = 0) -> float:
    """Mean ``|f_i - f_j|`` over graph edges divided by that over random vertex pairs.

    ``values``: a smooth field (TMQ), ``(V,)`` or ``(n_maps, V)``; ``edges``: ``(m, 2)`` vertex
    pairs or a sparse adjacency ``(V, V)``, default the kNN (k = 6) edges of the icosphere with
    ``V`` vertices. ``n_pairs`` random pairs ``i != j`` are drawn from ``default_rng(seed)``.
    Well below 1 (~0.1) for smooth data in our vertex order, about 1 for a scrambled order.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[None]
    if values.ndim != 2:
        raise ValueError(f"values must be (V,) or (n_maps, V), got shape {values.shape}.")
    n_vertices = values.shape[1]
    pairs = _edge_array(edges, n_vertices)
    if pairs.max() >= n_vertices:
        raise ValueError(f"edges refer to vertex {pairs.max()} but values have {n_vertices}.")
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n_vertices, n_pairs)
    b = (a + rng.integers(1, n_vertices, n_pairs)) % n_vertices  # b != a
    across_edges = np.mean(np.abs(values[:, pairs[:, 0]] - values[:, pairs[:, 1]]))
    across_pairs = np.mean(np.abs(values[:, a] - values[:, b]))
    if not across_pairs > 0:
        raise ValueError("the field is constant: the vertex order cannot be checked on it.")
    return float(across_edges / across_pairs)


def _channel_rows(item, c: int) -> np.ndarray:
    array = np.asarray(item, dtype=np.float64)
    if array.ndim == 3:  # full maps (n_maps, C, V)
        if array.shape[1] != len(CHANNELS):
            raise ValueError(f"full maps must be (n_maps, {len(CHANNELS)}, V), got {array.shape}.")
        return array[:, c]
    if array.ndim in (1, 2):  # values of the channel, (V,) or (n_maps, V)
        return np.atleast_2d(array)
    raise ValueError(f"expected channel values (V,) or (n_maps, V), or full maps "
                     f"(n_maps, {len(CHANNELS)}, V); got shape {array.shape}.")


def check_vertex_order(paths_or_arrays, threshold: float = 0.5, *, channel: str = "TMQ") -> float:
    """Check that maps use our icosphere vertex order; return :func:`vertex_order_ratio`.

    ``paths_or_arrays``: a map file, an array, or a sequence of files and arrays. An array holds
    the ``channel`` values, ``(V,)`` or ``(n_maps, V)``, or full maps ``(n_maps, 16, V)`` (a
    single full map: pass ``data[None]``). Raises :class:`VertexOrderError` when the ratio
    exceeds ``threshold`` (the smooth ``channel`` is not smooth on our graph).
    """
    items = paths_or_arrays
    if isinstance(items, str | os.PathLike | np.ndarray):
        items = [items]
    if not isinstance(items, Sequence) or not len(items):
        raise ValueError("pass one or more map files or arrays to check.")
    names, rows = [], []
    c = CHANNELS.index(channel)
    for item in items:
        if isinstance(item, str | os.PathLike):
            rows.append(read_map(item)[0][c][None].astype(np.float64))
            names.append(str(item))
        else:
            rows.append(_channel_rows(item, c))
    ratio = vertex_order_ratio(np.concatenate(rows))
    if ratio > threshold:
        where = f" ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})" if names else ""
        raise VertexOrderError(
            f"the maps{where} do not use our level-{LEVEL} icosphere vertex order: {channel} "
            f"varies across graph edges {ratio:.2f} times as much as between random vertices "
            f"(threshold {threshold}; smooth fields in the right order give ~0.1). A network "
            "trained on a graph that does not match the data's vertices would be meaningless: "
            "reorder the vertices to deepsphere.geometry.sampling.icosahedral_sampling(5) "
            "(e.g. by nearest vertex) before using these files.")
    return ratio
