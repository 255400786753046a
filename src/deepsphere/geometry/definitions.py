"""Graph definitions: the JSON-able dicts that say what a graph is, without building it.

The format is documented in :mod:`deepsphere.geometry.graphs` (``build_graph`` turns a
definition into a graph). Here: checking a definition (required and optional keys per sampling
and graph kind, k and kernel width), its vertex count, and :func:`graph_id`, the canonical file
stem keyed by everything that defines the graph (the workflow's cache key).
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os

import numpy as np

from . import kernel_widths, sampling

__all__ = ["graph_id", "graph_vertex_count"]


def _check_k(k, n: int) -> int:
    if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k={k!r}: the number of neighbours must be a positive integer.")
    if k >= n:
        raise ValueError(f"k={k} but the sampling has only {n} vertices: pass k < {n}.")
    return int(k)


def _check_t(t) -> str | float:
    if isinstance(t, str):
        if t not in ("paper", "mean-distance"):
            raise ValueError(f"t={t!r}: pass 'paper', 'mean-distance' or a positive float.")
        return t
    if isinstance(t, bool) or not isinstance(t, numbers.Real) or not (t > 0 and math.isfinite(t)):
        raise ValueError(f"t={t!r}: the kernel width must be a positive finite float.")
    return float(t)


# ----------------------------------------------------------------------------- definitions

_KEYS = {
    ("healpix", "v1"): ({"sampling", "nside", "nest", "graph"}, {"indexes"}),
    ("healpix", "knn"): ({"sampling", "nside", "nest", "graph", "k"}, {"indexes", "t"}),
    ("equiangular", "khasanova"): ({"sampling", "bandwidth", "grid", "graph"}, set()),
    ("icosahedral", "knn"): ({"sampling", "level", "graph"}, {"k", "t"}),
    ("points", "knn"): ({"sampling", "lon_deg", "lat_deg", "graph", "k"}, {"t"}),
    ("positions", "knn"): ({"sampling", "positions", "graph", "k"}, {"t"}),
}


def _check_definition(definition) -> dict:
    if not isinstance(definition, dict):
        raise ValueError(f"a graph definition must be a dict, got {type(definition).__name__}.")
    key = (definition.get("sampling"), definition.get("graph"))
    if key not in _KEYS:
        known = ", ".join(f"{a}/{b}" for a, b in _KEYS)
        raise ValueError(f"unknown sampling/graph {key[0]!r}/{key[1]!r}: pass one of {known}.")
    required, optional = _KEYS[key]
    missing = required - definition.keys()
    extra = definition.keys() - required - optional
    if missing or extra:
        raise ValueError(
            f"graph definition for {key[0]}/{key[1]}: missing keys {sorted(missing)}, unknown keys "
            f"{sorted(extra)}; required {sorted(required)}, optional {sorted(optional)}."
        )
    return definition


def graph_vertex_count(definition: dict) -> int | None:
    """Vertex count of a graph definition without building it; None for a data-defined
    (``positions``) graph, whose vertices are in a file."""
    kind = definition["sampling"]
    if kind == "healpix":
        nside, idx = int(definition["nside"]), definition.get("indexes")
        if idx is None:
            return 12 * nside**2
        return nside**2 // int(idx["order"]) ** 2 if isinstance(idx, dict) else len(idx)
    if kind == "icosahedral":
        return 10 * 4 ** int(definition["level"]) + 2
    if kind == "equiangular":
        return (2 * int(definition["bandwidth"])) ** 2
    return len(definition["lon_deg"]) if kind == "points" else None


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, separators=(",", ":")).encode()).hexdigest()[:12]


def _t_id(t) -> str:
    if t == "paper":
        return "tpaper"
    if t == "mean-distance":
        return "tmeandist"
    return f"t{float(t)!r}"


def graph_id(definition: dict) -> str:
    """Canonical, readable file stem keyed by everything that defines the graph, e.g.
    ``healpix-nside32-nest-all-knn8-tpaper``, ``healpix-nside1024-nest-o1p0-v1``,
    ``healpix-nside32-ring-idx100-<sha12>-knn8-t1e-05``, ``equiangular-b64-dh-khasanova``,
    ``icosahedral-l5-knn6-tmeandist``, ``points-n100-<sha12>-knn10-tmeandist``."""
    d = _check_definition(definition)
    kind, graph = d["sampling"], d["graph"]
    if kind == "healpix":
        nside = sampling.check_nside(d["nside"])
        nest = sampling._check_nest(d["nest"])
        spec = d.get("indexes")
        if isinstance(spec, dict):
            sampling.healpix_patch_indexes(nside, spec.get("order"), spec.get("patch"), nest=nest)
            sel = f"o{spec['order']}p{spec['patch']}"
        elif spec is None:
            sel = "all"
        else:
            idx = sampling.check_indexes(spec, 12 * nside**2)
            patch = sampling.patch_of_indexes(nside, idx) if nest else None
            sel = f"o{patch[0]}p{patch[1]}" if patch else f"idx{idx.size}-{_digest(idx.tolist())}"
        head = f"healpix-nside{nside}-{'nest' if nest else 'ring'}-{sel}"
    elif kind == "equiangular":
        grid = d["grid"]
        sampling.equiangular_colatitudes(1, grid)  # validates the grid name
        head = f"equiangular-b{sampling._check_bandwidth(d['bandwidth'])}-{grid.lower()}"
    elif kind == "icosahedral":
        head = f"icosahedral-l{int(d['level'])}"
    elif kind == "positions":  # keyed by the file's path: its rule decides its content
        path = str(d["positions"])
        stem = "".join(c if c.isalnum() else "_" for c in os.path.basename(path).split(".")[0])
        head = f"positions-{stem}-{_digest(path)}"
    else:
        pts = [np.asarray(d["lon_deg"], float).tolist(), np.asarray(d["lat_deg"], float).tolist()]
        head = f"points-n{len(pts[0])}-{_digest(pts)}"
    if graph in ("v1", "khasanova"):
        return f"{head}-{graph}"
    default_t = "paper" if kind == "healpix" else "mean-distance"
    k = d.get("k", 6)
    _check_k(k, np.inf)
    t = _check_t(d.get("t", default_t))
    if kind == "healpix" and t == "paper":
        kernel_widths.paper_kernel_width_t(nside, k)  # a k without a tabulated width: refuse now
    return f"{head}-knn{int(k)}-{_t_id(t)}"
