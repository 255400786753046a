"""Model configs: defaults, validation, and the graph definition of every resolution level.

A model config (JSON/YAML-able dict)::

    sampling: healpix | icosahedral | equiangular | points
    # input size, by sampling
    nside: 1024, order: 0, patch: 0      # healpix, NEST; order o > 0: patch p of 12 o^2
    indexes: [...]                       # healpix, or: a sorted NEST pixel subset (a mask);
                                         # level l has its parents at nside / 2**l
    level: 5                             # icosahedral
    bandwidth: 64, grid: SOFT            # equiangular (2b x 2b grid)
    lon_deg: [...], lat_deg: [...]       # points (weather stations)
    positions: data/interim/x.csv        # positions: stations read from a positions file
                                         # (deepsphere.geometry.positions) that a rule writes
    in_channels: 1
    graph: {graph: knn, k: 8, t: paper}  # or a list, one per resolution level (coarsening order)
                                         # healpix: v1 | knn; icosahedral: knn; equiangular:
                                         # khasanova; points, positions: knn
    laplacian: {kind: normalized, interval: [-1, 1], lmax: eigsh}   # or a list per level
    F: [16, 32, 64, 64, 64, 2]           # output features of each graph conv
    K: 5                                 # Chebyshev terms (P = K - 1), int or list per conv
    pool: [1, 1, 1, 1, 1, 0]             # coarsening steps after each conv: nside / 2**p,
                                         # level - p, bandwidth / 2**p; 0 = none
    pool_mode: max | avg
    batch_norm: true
    head: fcn | dense | flatten | global_avg | global_max | unet
    fc: []                               # hidden FC sizes (flatten / global_* heads)
    n_classes: 2                         # outputs: classes, or regressed values
    unpool_fill: 0.0                     # icosahedral U-Net unpooling (the original: 1.0)

Heads: ``fcn`` last conv linear with F[-1] = n_classes, then global average (the cosmo FCN);
``dense`` last conv linear, one output per vertex (GHCN next-day); ``flatten`` / ``global_*``
every conv is conv-BN-bias-ReLU-pool, then flatten or pool over vertices, FC hidden layers and a
bias-free linear FC to n_classes; ``unet`` encoder (last conv linear) and decoder (see
:mod:`deepsphere.models.spherical`), per-vertex logits.
"""

from __future__ import annotations

import copy
import numbers

from deepsphere.geometry import sampling as _sampling

__all__ = ["level_definitions", "validate_model_config"]

_SIZE_KEYS = {
    "healpix": {"nside", "order", "patch", "indexes"},
    "icosahedral": {"level"},
    "equiangular": {"bandwidth", "grid"},
    "points": {"lon_deg", "lat_deg"},
    "positions": {"positions"},
}
_GRAPH_DEFAULTS = {
    "healpix": {"graph": "knn", "k": 8, "t": "paper"},
    "icosahedral": {"graph": "knn", "k": 6, "t": "mean-distance"},
    "equiangular": {"graph": "khasanova"},
    "points": {"graph": "knn", "k": 10, "t": "mean-distance"},
    "positions": {"graph": "knn", "k": 10, "t": "mean-distance"},
}
_COMMON = {
    "sampling": None,
    "in_channels": 1,
    "graph": None,
    "laplacian": {"kind": "normalized", "interval": [-1.0, 1.0], "lmax": "eigsh"},
    "F": None,
    "K": None,
    "pool": None,
    "pool_mode": "max",
    "batch_norm": True,
    "head": None,
    "fc": [],
    "n_classes": None,
    "unpool_fill": 0.0,
    "name": "deepsphere",
}
HEADS = ("fcn", "dense", "flatten", "global_avg", "global_max", "unet")


def _fail(key: str, problem: str, fix: str):
    raise ValueError(f"model.{key}: {problem}; {fix}")


def _int(cfg, key, low=1):
    v = cfg[key]
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
        _fail(key, f"got {v!r}", f"give an integer >= {low}")
    return int(v)


def _per_layer(cfg, key, n, low):
    v = cfg[key]
    values = [v] * n if isinstance(v, numbers.Integral) and not isinstance(v, bool) else v
    if not isinstance(values, list | tuple) or len(values) != n:
        _fail(key, f"got {v!r}", f"give one integer or a list of {n} (one per entry of F)")
    for x in values:
        if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < low:
            _fail(key, f"got {v!r}", f"every entry must be an integer >= {low}")
    return [int(x) for x in values]


def validate_model_config(model: dict) -> dict:
    """Return the model config with defaults filled in and per-layer lists expanded.

    Raises one ``ValueError`` naming the key and the fix; nothing expensive happens here.
    """
    if not isinstance(model, dict):
        raise ValueError(f"config['model'] must be a mapping, got {type(model).__name__}")
    kind = model.get("sampling")
    if kind not in _SIZE_KEYS:
        _fail("sampling", f"got {kind!r}", f"use one of {sorted(_SIZE_KEYS)}")
    allowed = set(_COMMON) | _SIZE_KEYS[kind]
    unknown = sorted(set(model) - allowed)
    if unknown:
        raise ValueError(
            f"model: unknown key(s) {unknown} for sampling {kind!r}; "
            f"allowed keys are {sorted(allowed)}"
        )
    cfg = copy.deepcopy(_COMMON)
    if kind == "healpix":
        cfg.update(order=0, patch=0, indexes=None)
    if kind == "equiangular":
        cfg.update(grid="SOFT")
    cfg.update(copy.deepcopy(model))
    for key in ("F", "K", "pool", "head", "n_classes"):
        if cfg[key] is None:
            _fail(key, "missing", "it is required (see deepsphere.models.config)")
    F = cfg["F"]
    if not isinstance(F, list | tuple) or not F:
        _fail("F", f"got {F!r}", "give a non-empty list of feature counts, one per graph conv")
    n = len(F)
    cfg["F"] = _per_layer(cfg, "F", n, 1)
    cfg["K"] = _per_layer(cfg, "K", n, 1)
    cfg["pool"] = _per_layer(cfg, "pool", n, 0)
    _int(cfg, "in_channels")
    _int(cfg, "n_classes")
    if cfg["head"] not in HEADS:
        _fail("head", f"got {cfg['head']!r}", f"use one of {list(HEADS)}")
    if cfg["pool_mode"] not in ("max", "avg"):
        _fail("pool_mode", f"got {cfg['pool_mode']!r}", "use 'max' or 'avg'")
    if not isinstance(cfg["batch_norm"], bool):
        _fail("batch_norm", f"got {cfg['batch_norm']!r}", "use true or false")
    if not isinstance(cfg["fc"], list | tuple) or any(
        isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < 1 for x in cfg["fc"]
    ):
        _fail("fc", f"got {cfg['fc']!r}", "give a list of positive hidden-layer sizes")
    head = cfg["head"]
    if head in ("fcn", "dense", "unet"):
        if head != "unet" and cfg["F"][-1] != cfg["n_classes"]:
            _fail(
                "F",
                f"the last conv of a {head!r} head gives the outputs but F[-1] = "
                f"{cfg['F'][-1]} != n_classes = {cfg['n_classes']}",
                "make the last entry of F equal to n_classes",
            )
        if cfg["pool"][-1]:
            _fail(
                "pool",
                f"the last conv of a {head!r} head is linear and cannot be pooled",
                "set the last entry of pool to 0",
            )
        if cfg["fc"]:
            _fail(
                "fc", f"a {head!r} head has no FC layers", "remove fc or use a flatten/global head"
            )
    if head == "dense" and any(cfg["pool"]):
        _fail(
            "pool",
            "a dense per-vertex head needs the input resolution",
            "use pool 0 everywhere, or head: unet",
        )
    if head == "unet" and kind in ("points", "positions"):
        _fail("head", "points samplings have no pooling", "use head: dense")
    if kind in ("points", "positions") and any(cfg["pool"]):
        _fail("pool", "points samplings (stations) have no pooling", "use pool 0 everywhere")
    _check_size(cfg, kind)
    n_levels = len(_resolutions(cfg))
    cfg["graph"] = _levels_list(cfg, "graph", n_levels, _GRAPH_DEFAULTS[kind])
    cfg["laplacian"] = _levels_list(cfg, "laplacian", n_levels, None)
    for i, lap in enumerate(cfg["laplacian"]):
        if set(lap) - {"kind", "interval", "lmax"} or lap.get("kind") not in (
            "normalized",
            "combinatorial",
        ):
            _fail(
                f"laplacian[{i}]",
                f"got {lap!r}",
                "give {kind: normalized|combinatorial, interval: [a, b], lmax: eigsh|bound}",
            )
    for i, d in enumerate(level_definitions(cfg)):
        k, n_v = d.get("k"), n_vertices(d)
        if (d.get("graph") == "knn" and isinstance(k, numbers.Integral) and n_v is not None
                and k >= n_v):
            _fail(
                f"graph[{i}].k",
                f"k={k} but level {i} has only {n_v} vertices",
                "use a smaller k for that level (graph may be a list, one per level) or pool less",
            )
    return cfg


def _levels_list(cfg, key, n_levels, default):
    v = cfg[key] if cfg[key] is not None else default
    values = [v] * n_levels if isinstance(v, dict) else v
    if (
        not isinstance(values, list)
        or len(values) != n_levels
        or not all(isinstance(x, dict) for x in values)
    ):
        _fail(
            key,
            f"got {v!r}",
            f"give one mapping or a list of {n_levels} (one per resolution "
            "level, in coarsening order)",
        )
    return [copy.deepcopy(x) for x in values]


def _check_size(cfg, kind):
    total = sum(cfg["pool"])
    if kind == "healpix":
        try:
            nside = _sampling.check_nside(cfg["nside"])
        except (ValueError, TypeError) as err:
            _fail("nside", str(err), "give a power of 2")
        order = _int(cfg, "order", 0)
        if nside >> total < max(order, 1) or (nside >> total) << total != nside:
            _fail(
                "pool",
                f"{total} halvings of nside {nside} go below "
                f"{'the patch order ' + str(order) if order else 'nside 1'}",
                "pool less or start from a larger nside",
            )
        if cfg["indexes"] is not None:
            if order:
                _fail("indexes", "a pixel subset and a patch order were both given",
                      "give either indexes (any footprint) or order/patch (one NEST patch)")
            cfg["indexes"] = _check_subset(cfg["indexes"], nside)
        if order:
            _sampling.check_nside(order)
            patch = _int(cfg, "patch", 0)
            if patch >= 12 * order**2:
                _fail("patch", f"got {patch}", f"order {order} has patches 0..{12 * order**2 - 1}")
    elif kind == "icosahedral":
        level = _int(cfg, "level", 0)
        if total > level:
            _fail("pool", f"{total} coarsenings of level {level} go below level 0", "pool less")
    elif kind == "equiangular":
        b = _int(cfg, "bandwidth")
        if (b >> total) << total != b or b >> total < 1:
            _fail("pool", f"bandwidth {b} cannot be halved {total} times", "pool less")
        if cfg["grid"] not in ("SOFT", "DH"):
            _fail("grid", f"got {cfg['grid']!r}", "use 'SOFT' or 'DH'")
    elif kind == "positions":
        if not isinstance(cfg.get("positions"), str) or not cfg["positions"]:
            _fail("positions", f"got {cfg.get('positions')!r}",
                  "give the path of the positions file (a CSV with lon_deg, lat_deg)")
    else:
        lon, lat = cfg.get("lon_deg"), cfg.get("lat_deg")
        if (
            not isinstance(lon, list | tuple)
            or not isinstance(lat, list | tuple)
            or len(lon) != len(lat)
            or len(lon) < 2
        ):
            _fail(
                "lon_deg",
                "points need equal-length lists lon_deg and lat_deg",
                "give the station coordinates in degrees",
            )


def _check_subset(indexes, nside) -> list[int]:
    """A pixel subset as a sorted list of ints (the vertex order of the input)."""
    import numpy as np

    try:
        arr = _sampling.check_indexes(indexes, 12 * nside**2)
    except (ValueError, TypeError) as err:
        _fail("indexes", str(err), f"give NEST pixel numbers of nside {nside}")
    if np.any(np.diff(arr) <= 0):
        _fail("indexes", "the pixels are not sorted",
              "sort them (numpy.sort): the input's vertices are in increasing NEST order")
    return arr.tolist()


def _conv_resolutions(cfg) -> list:
    """The resolution (nside / level / bandwidth / None for points) each encoder conv runs at."""
    kind = cfg["sampling"]
    size = {"healpix": "nside", "icosahedral": "level", "equiangular": "bandwidth"}.get(kind)
    res, out = (cfg[size] if size else None), []
    for p in cfg["pool"]:
        out.append(res)
        if p:
            res = res - p if kind == "icosahedral" else res >> p
    return out


def _resolutions(cfg) -> list:
    """The distinct resolutions of the convs, in coarsening order (one graph each)."""
    out = []
    for res in _conv_resolutions(cfg):
        if not out or out[-1] != res:
            out.append(res)
    return out


def layer_levels(cfg) -> list[int]:
    """For each encoder conv, the index of its resolution level in :func:`level_definitions`."""
    level, out = 0, []
    for p in cfg["pool"]:
        out.append(level)
        level += 1 if p else 0
    return out


def level_definitions(cfg) -> list[dict]:
    """Graph definition (``deepsphere.geometry.graphs`` format) of each resolution level.

    ``cfg`` must be validated. HEALPix partial spheres use ``{"order": o, "patch": p}`` at every
    level: the NEST patch keeps its number while nside halves. A pixel subset (``indexes``)
    has at each level the parents of the input's pixels
    (:func:`~deepsphere.geometry.sampling.healpix_parent_indexes`), as a sorted list.
    """
    kind = cfg["sampling"]
    out = []
    for res, graph in zip(_resolutions(cfg), cfg["graph"], strict=True):
        g = dict(graph)
        if kind == "healpix":
            if cfg.get("indexes") is not None:
                steps = (cfg["nside"] // res).bit_length() - 1
                indexes = _sampling.healpix_parent_indexes(cfg["indexes"], steps).tolist()
            elif cfg["order"]:
                indexes = {"order": cfg["order"], "patch": cfg["patch"]}
            else:
                indexes = None
            base = {"sampling": "healpix", "nside": res, "nest": True, "indexes": indexes}
        elif kind == "icosahedral":
            base = {"sampling": "icosahedral", "level": res}
        elif kind == "equiangular":
            base = {"sampling": "equiangular", "bandwidth": res, "grid": cfg["grid"]}
        elif kind == "positions":
            base = {"sampling": "positions", "positions": cfg["positions"]}
        else:
            base = {
                "sampling": "points",
                "lon_deg": list(cfg["lon_deg"]),
                "lat_deg": list(cfg["lat_deg"]),
            }
        out.append({**base, **g})
    return out


def n_vertices(definition: dict) -> int:
    """Vertex count of a graph definition, without building it."""
    from deepsphere.geometry.definitions import graph_vertex_count

    return graph_vertex_count(definition)
