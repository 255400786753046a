"""Sphere graphs: weighted, undirected, sparse (the public entry point).

A :class:`SphereGraph` holds the symmetric weight matrix (``scipy.sparse.csr_matrix`` float32,
zero diagonal, shape ``(n, n)``), its :class:`~deepsphere.geometry.sampling.SphereSampling` and the
JSON-able ``definition`` that :func:`build_graph` turns back into the same graph.

Graph definitions (dicts; every key below is required unless a default is given)::

    {"sampling": "healpix", "nside": 32, "nest": True, "indexes": None, "graph": "v1"}
    {"sampling": "healpix", "nside": 32, "nest": True, "indexes": None,
     "graph": "knn", "k": 8, "t": "paper"}            # t: "paper" | "mean-distance" | float
    {"sampling": "equiangular", "bandwidth": 64, "grid": "DH", "graph": "khasanova"}
    {"sampling": "icosahedral", "level": 5, "graph": "knn", "k": 6, "t": "mean-distance"}
    {"sampling": "points", "lon_deg": [...], "lat_deg": [...], "graph": "knn", "k": 10,
     "t": "mean-distance"}
    {"sampling": "positions", "positions": "data/interim/ghcn/stations.csv", "graph": "knn",
     "k": 10, "t": "mean-distance"}   # data-defined: vertices read from a positions file

``indexes`` (HEALPix) is ``None`` (full sphere), ``{"order": o, "patch": p}`` (a NEST patch,
see ``sampling.healpix_patch_indexes``) or a list of pixel numbers (partial sphere).

Kernels (chordal distance ``d`` between unit vectors):

- HEALPix V1 (Perraudin et al. 2019): the 8 (7 at 24 pixels, 6 at nside 1) tiling neighbours,
  ``w = exp(-d^2 / (2 mean d^2))``, the mean over all kept (directed) entries.
- kNN heat kernel (Defferrard et al. 2020): k nearest neighbours, union-symmetrised,
  ``w = exp(-d^2 / (4 t))``. ``t="paper"``: the optimal width table (``kernel_widths``);
  ``t="mean-distance"``: PyGSP's NNGraph default, ``sigma = mean d`` over all entries of the
  symmetrised graph and ``t = sigma^2 / (4 ln 2)`` (``w = 1/2`` at ``d = sigma``).
  Ties: every neighbour within a relative 1e-9 of the k-th distance is kept (deliberate
  difference from cKDTree/PyGSP, which break ties arbitrarily): it keeps the graph invariant
  under the sampling's exact symmetries, e.g. the 90 degree rotations of HEALPix.
- Equiangular (Khasanova & Frossard 2017): 4 neighbours (W/E periodic, N/S; the pole rows
  connect across the pole to the antipodal longitude), ``w = 1 / d`` as in the paper. (The
  2019 PyGSP code used ``1 / (d^2 + 1e-8)``.) On the DH grid the 2b copies of the north pole
  coincide (d = 0); those edges are dropped.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from typing import Any

import numpy as np
import scipy.sparse as sp

from deepsphere.io.atomic import atomic_path

from . import _healpix_graphs as graphs_healpix
from . import kernel_widths, sampling
from ._sparse_graphs import (
    fill_edge_values,
    heat_kernel_inplace,
    knn_directed,
    mean_sqrt,
    padded_rows_to_csr,
    union_with_transpose,
)
from .definitions import _check_definition, _check_k, _check_t, graph_id
from .positions import read_positions
from .sampling import SphereSampling

__all__ = [
    "SphereGraph",
    "build_graph",
    "equiangular_khasanova_graph",
    "graph_id",
    "healpix_knn_graph",
    "healpix_v1_graph",
    "icosahedral_graph",
    "knn_heat_kernel_graph",
    "load_graph",
    "points_knn_graph",
    "save_graph",
]


@dataclasses.dataclass(frozen=True, eq=False)
class SphereGraph:
    """Weights (csr float32, symmetric, zero diagonal, ``(n, n)``), sampling and definition."""

    weights: sp.csr_matrix
    sampling: SphereSampling
    definition: dict[str, Any]

    @property
    def n_vertices(self) -> int:
        return int(self.weights.shape[0])


# ----------------------------------------------------------------------------- kernels


def _symmetrise(directed: sp.csr_matrix, t, spare=None) -> tuple[sp.csr_matrix, float]:
    """Union-symmetrise a directed kNN relation holding ``d^2`` (float64), then the kernel
    (``spare``: see ``union_with_transpose``)."""
    w = union_with_transpose(directed, spare=spare)
    if t == "mean-distance":
        t = kernel_widths.sigma_to_t(mean_sqrt(w.data))
    w.data = np.exp(-w.data / (4.0 * t)).astype(np.float32)
    return w, float(t)


def _knn_weights(vectors: np.ndarray, k: int, t) -> tuple[sp.csr_matrix, float]:
    """Union-symmetrised kNN heat kernel on arbitrary unit vectors; returns (W, t used)."""
    return _symmetrise(knn_directed(vectors, k), t)


def knn_heat_kernel_graph(vectors, k, t) -> sp.csr_matrix:
    """The generic kNN heat kernel on any unit vectors ``(n, 3)``: csr float32 ``(n, n)``.

    ``t`` is a positive float or ``"mean-distance"`` (see module docstring)."""
    vectors = np.asarray(vectors, dtype=float)
    if vectors.ndim != 2 or vectors.shape[1] != 3:
        raise ValueError(f"vectors must have shape (n, 3), got {vectors.shape}.")
    k = _check_k(k, vectors.shape[0])
    t = _check_t(t)
    if t == "paper":
        raise ValueError("t='paper' is only tabulated for HEALPix: use healpix_knn_graph.")
    return _knn_weights(vectors, k, t)[0]


def _indexes_spec(s: SphereSampling):
    return s.params["indexes"]


def healpix_v1_graph(nside, *, nest, indexes=None) -> SphereGraph:
    """The 2019 DeepSphere graph: 8 (sometimes 7) HEALPix neighbours,
    ``w = exp(-d^2 / (2 mean d^2))``; on a subset, neighbours outside it are dropped."""
    s = sampling.healpix_sampling(nside, nest=nest, indexes=indexes)
    idx = _subset_array(s)
    w, mean_d2 = graphs_healpix.v1_distances(s.params["nside"], nest=s.params["nest"],
                                             indexes=idx, vectors=s.vectors)
    heat_kernel_inplace(w, 2.0 * mean_d2)
    definition = {"sampling": "healpix", "nside": s.params["nside"], "nest": s.params["nest"],
                  "indexes": _indexes_spec(s), "graph": "v1"}
    return SphereGraph(w, s, definition)


def _subset_array(s: SphereSampling) -> np.ndarray | None:
    spec = s.params["indexes"]
    if spec is None:
        return None
    if isinstance(spec, dict):
        return sampling.healpix_patch_indexes(s.params["nside"], spec["order"], spec["patch"],
                                              nest=True)
    return np.asarray(spec, dtype=np.int64)


def healpix_knn_graph(nside, k, *, nest, indexes=None, t="paper") -> SphereGraph:
    """kNN heat-kernel graph on HEALPix pixel centres (the ICLR 2020 graph).

    ``t``: ``"paper"`` (optimal width for (nside, k), k in {8, 20, 40, 60}), ``"mean-distance"``
    or a positive float. Validation happens before any expensive work."""
    nside = sampling.check_nside(nside)
    _check_k(k, np.inf)
    t = _check_t(t)
    if t == "paper":
        kernel_widths.paper_kernel_width_t(nside, k)  # raises early for untabulated k
    s = sampling.healpix_sampling(nside, nest=nest, indexes=indexes)
    k = _check_k(k, s.n_vertices)
    t_value = kernel_widths.paper_kernel_width_t(nside, k) if t == "paper" else t
    directed, spare = graphs_healpix.knn_directed(
        nside, k, nest=s.params["nest"], indexes=_subset_array(s), vectors=s.vectors,
        scale=None if t_value == "mean-distance" else 4.0 * t_value)
    if t_value == "mean-distance":
        w, _ = _symmetrise(directed, t_value, spare)
    else:
        w = union_with_transpose(directed, spare=spare)
    definition = {"sampling": "healpix", "nside": nside, "nest": s.params["nest"],
                  "indexes": _indexes_spec(s), "graph": "knn", "k": k, "t": t}
    return SphereGraph(w, s, definition)


def equiangular_khasanova_graph(bandwidth, *, grid) -> SphereGraph:
    """Khasanova & Frossard's 4-neighbour graph on the ``2b x 2b`` equiangular grid, ``w = 1/d``."""
    s = sampling.equiangular_sampling(bandwidth, grid=grid)
    b = s.params["bandwidth"]
    m = 2 * b
    j, kk = np.divmod(np.arange(m * m), m)
    across = j * m + (kk + b) % m  # same row, antipodal longitude (across the pole)
    nbr = np.stack(
        [
            j * m + (kk - 1) % m,
            j * m + (kk + 1) % m,
            np.where(j > 0, (j - 1) * m + kk, across),
            np.where(j < m - 1, (j + 1) * m + kk, across),
        ],
        axis=1,
    )
    d2 = np.sum((s.vectors[:, None, :] - s.vectors[nbr]) ** 2, axis=-1)
    nbr = np.where(d2 > 1e-24, nbr, -1)  # DH: coincident pole copies, no edge
    w = padded_rows_to_csr([(0, nbr)], m * m, m * m, capacity=4 * m * m)
    fill_edge_values(w, s.vectors)
    w.data = (1.0 / np.sqrt(w.data.astype(np.float64))).astype(np.float32)
    definition = {"sampling": "equiangular", "bandwidth": b, "grid": s.params["grid"],
                  "graph": "khasanova"}
    return SphereGraph(w, s, definition)


def icosahedral_graph(level, k=6, t="mean-distance") -> SphereGraph:
    """kNN heat-kernel graph on the icosahedral vertices (the paper's k = 6, mean-distance t)."""
    s = sampling.icosahedral_sampling(level)
    k = _check_k(k, s.n_vertices)
    t = _check_t(t)
    if t == "paper":
        raise ValueError("t='paper' is only tabulated for HEALPix: pass 'mean-distance' or a float.")
    w, _ = _knn_weights(s.vectors, k, t)
    definition = {"sampling": "icosahedral", "level": s.params["level"], "graph": "knn", "k": k,
                  "t": t}
    return SphereGraph(w, s, definition)


def points_knn_graph(lon_deg, lat_deg, k, t="mean-distance") -> SphereGraph:
    """kNN heat-kernel graph on arbitrary points (weather stations), lon/lat in degrees."""
    s = sampling.points_sampling(lon_deg, lat_deg)
    k = _check_k(k, s.n_vertices)
    t = _check_t(t)
    if t == "paper":
        raise ValueError("t='paper' is only tabulated for HEALPix: pass 'mean-distance' or a float.")
    w, _ = _knn_weights(s.vectors, k, t)
    definition = {"sampling": "points", "lon_deg": s.params["lon_deg"],
                  "lat_deg": s.params["lat_deg"], "graph": "knn", "k": k, "t": t}
    return SphereGraph(w, s, definition)


# ----------------------------------------------------------------------------- definitions
# (checking a definition, its vertex count and graph_id live in .definitions)

def build_graph(definition: dict) -> SphereGraph:
    """Build the graph a definition describes (see the module docstring for the schema)."""
    d = _check_definition(definition)
    kind, graph = d["sampling"], d["graph"]
    if kind == "healpix" and graph == "v1":
        return healpix_v1_graph(d["nside"], nest=d["nest"], indexes=d.get("indexes"))
    if kind == "healpix":
        return healpix_knn_graph(d["nside"], d["k"], nest=d["nest"], indexes=d.get("indexes"),
                                 t=d.get("t", "paper"))
    if kind == "equiangular":
        return equiangular_khasanova_graph(d["bandwidth"], grid=d["grid"])
    if kind == "icosahedral":
        return icosahedral_graph(d["level"], k=d.get("k", 6), t=d.get("t", "mean-distance"))
    if kind == "positions":  # the vertices are a file's: the definition keeps its path
        g = points_knn_graph(*read_positions(d["positions"]), d["k"], t=d.get("t", "mean-distance"))
        return SphereGraph(g.weights, g.sampling, dict(d))
    return points_knn_graph(d["lon_deg"], d["lat_deg"], d["k"], t=d.get("t", "mean-distance"))


# ----------------------------------------------------------------------------- files


def save_graph(path, graph: SphereGraph) -> None:
    """Write a graph to ``path`` (.npz) atomically (``deepsphere.io.atomic``)."""
    w = graph.weights
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as f:
        np.savez(
            f, data=w.data, indices=w.indices, indptr=w.indptr,
            shape=np.asarray(w.shape, dtype=np.int64), vectors=graph.sampling.vectors,
            definition=np.asarray(json.dumps(graph.definition)),
            sampling_kind=np.asarray(graph.sampling.kind),
            sampling_params=np.asarray(json.dumps(graph.sampling.params)),
        )


def load_graph(path) -> SphereGraph:
    """Read a graph written by :func:`save_graph`; a truncated or foreign file names itself."""
    try:
        with np.load(os.fspath(path), allow_pickle=False) as z:
            shape = tuple(int(x) for x in z["shape"])
            w = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=shape, copy=False)
            s = SphereSampling(str(z["sampling_kind"]), z["vectors"],
                               json.loads(str(z["sampling_params"])))
            return SphereGraph(w, s, json.loads(str(z["definition"])))
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(
            f"{path}: not a readable graph file ({type(err).__name__}: {err}); it is truncated "
            "or was not written by save_graph. Delete it and rerun to rebuild the graph."
        ) from None
