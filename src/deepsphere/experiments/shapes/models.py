"""The shapes experiment's DeepSphere models as config dicts (``deepsphere.models.build_model``).

Keras-free: the workflow can import this while planning, and ``required_graphs`` of a config
lists the graphs to cache. Architectures from tf1-spec §2.4 (ModelNet40) and §2.5 (SHREC'17):

- :func:`shrec17_healpix_config`: HEALPix Nside 32, full sphere, NEST; ChebConv F = 16, 32, 64,
  128, 256 with K = 4, each conv -> BN -> bias -> ReLU -> max pool by 4 (nside 32 -> 16 -> 8 ->
  4 -> 2 -> 1), global average over the 12 pixels of nside 1, bias-free dense 55.
- :func:`modelnet40_config`: nsides [32, 32, 16, 16, ..., 2, 2, 1]: two convs per resolution
  (the first not pooled, ``pool`` 0; the second pooled, ``pool`` 1), F [16, 16, 32, 32, 64, 64,
  128, 128, 256, 256], K 4, BN, max pool, global average, dense 40.
- :func:`shrec17_equiangular_config`: SOFT equiangular bandwidths 64 -> 32 -> 16 -> 8 -> 4 -> 2
  (128^2 -> 4^2 grids, 2x2 max pooling), otherwise as the HEALPix SHREC'17 CNN.

Graph "V2 k=8" (tf1-spec §1.2 (a), the original's ``SphereHealpix(new=True, n_neighbors=8)``):
the k = 8 nearest neighbours (chordal distance), union-symmetrised, Gaussian kernel
``w = exp(ln(1/2) d^2 / sigma^2)`` with sigma from the original's ``opt_std[8][nside]`` table
(0.025 at nside 32, extrapolated as ``0.025 * 32 / nside`` below). That is exactly our
``{"graph": "knn", "k": 8, "t": "paper"}``: ``deepsphere.geometry.kernel_widths`` holds the same
table (nside < 32 extrapolated the same way) and converts sigma to the heat-kernel width
``t = sigma^2 / (4 ln 2)`` of ``w = exp(-d^2 / (4 t))``, the same weights. (Only difference:
ties at the k-th distance are all kept, where cKDTree broke them arbitrarily.)

The equiangular graph is our ``khasanova`` 4-neighbour SOFT graph (the original's
``SphereEquiangular(sampling='SOFT')`` neighbourhood); its weights are ``1 / d`` where the 2019
code used ``1 / (d^2 + 1e-8)`` (see ``deepsphere.geometry.graphs``): the models config offers no
other equiangular graph.

Trainable parameters (tf1-spec Appendix A; BN without gamma/beta adds none): SHREC'17 HEALPix and
equiangular 189,040 (pooling does not change the count); ModelNet40 534,880.
"""

from __future__ import annotations

__all__ = [
    "V2_GRAPH",
    "paper_parameter_counts",
    "SHREC17_CLASSES",
    "MODELNET40_CLASSES",
    "shrec17_healpix_config",
    "shrec17_equiangular_config",
    "modelnet40_config",
    "shapes_model_config",
]

#: The original's HEALPix "V2" graph with 8 neighbours (see the module docstring).
V2_GRAPH = {"graph": "knn", "k": 8, "t": "paper"}
SHREC17_CLASSES = 55  # the synsets of paper/shrec17_synsets.csv (a test checks the count)
MODELNET40_CLASSES = 40


def paper_parameter_counts() -> dict[str, int]:
    """The original architectures' trainable parameter counts (``paper/parameter_counts.csv``,
    tf1-spec Appendix A), by model name."""
    from deepsphere.reporting.paper import paper_numbers

    frame = paper_numbers("deepsphere.experiments.shapes", "parameter_counts")
    return {str(m): int(n) for m, n in zip(frame["model"], frame["parameters"], strict=True)}

_SHAPES_F = [16, 32, 64, 128, 256]
_IN_CHANNELS = 6  # [dist, cos, sin] on the mesh and on its convex hull (tf1-spec §2.4)


def _common(n_classes: int, name: str, in_channels: int) -> dict:
    return {
        "in_channels": int(in_channels),
        "laplacian": {"kind": "normalized", "interval": [-1.0, 1.0], "lmax": "eigsh"},
        "K": 4,
        "pool_mode": "max",
        "batch_norm": True,
        "head": "global_avg",  # the original's statistics='mean', then FC M = [n_classes]
        "fc": [],
        "n_classes": int(n_classes),
        "name": name,
    }


def _full_healpix(nside: int, graph: dict | None) -> dict:
    """The full HEALPix sphere at ``nside`` (NEST, the models' ordering) with one graph per level."""
    return {"sampling": "healpix", "nside": int(nside), "order": 0, "patch": 0,
            "graph": dict(graph or V2_GRAPH)}


def shrec17_healpix_config(
    *, nside: int = 32, in_channels: int = _IN_CHANNELS, graph: dict | None = None
) -> dict:
    """SHREC'17 HEALPix CNN (tf1-spec §2.5): 5 pooled convs, global average, dense 55.

    ``graph``: one graph definition for every level (default :data:`V2_GRAPH`).
    """
    return {
        **_full_healpix(nside, graph),
        "F": list(_SHAPES_F),
        "pool": [1] * len(_SHAPES_F),
        **_common(SHREC17_CLASSES, "deepsphere_shrec17_healpix", in_channels),
    }


def modelnet40_config(
    *, nside: int = 32, in_channels: int = _IN_CHANNELS, graph: dict | None = None
) -> dict:
    """ModelNet40 CNN (tf1-spec §2.4): two convs per resolution then pool, dense 40.

    The original's nsides ``[32, 32, 16, 16, ..., 2, 2, 1]`` (p = [1, 4] * 5) is ``pool`` =
    ``[0, 1] * 5`` here: the second conv of each resolution is followed by the 4:1 pooling.
    """
    F = [f for f in _SHAPES_F for _ in range(2)]
    return {
        **_full_healpix(nside, graph),
        "F": F,
        "pool": [0, 1] * len(_SHAPES_F),
        **_common(MODELNET40_CLASSES, "deepsphere_modelnet40", in_channels),
    }


def shrec17_equiangular_config(
    *, bandwidth: int = 64, in_channels: int = _IN_CHANNELS, graph: dict | None = None
) -> dict:
    """SHREC'17 equiangular CNN (tf1-spec §2.5): SOFT bandwidths 64 -> 2, 2x2 max pooling."""
    return {
        "sampling": "equiangular",
        "bandwidth": int(bandwidth),
        "grid": "SOFT",
        "graph": dict(graph or {"graph": "khasanova"}),
        "F": list(_SHAPES_F),
        "pool": [1] * len(_SHAPES_F),
        **_common(SHREC17_CLASSES, "deepsphere_shrec17_equiangular", in_channels),
    }


_BUILDERS = {
    "shrec17_healpix": shrec17_healpix_config,
    "shrec17_equiangular": shrec17_equiangular_config,
    "modelnet40": modelnet40_config,
}


def shapes_model_config(model: str, **kwargs) -> dict:
    """The config of ``model`` (``shrec17_healpix``, ``shrec17_equiangular``, ``modelnet40``)."""
    if model not in _BUILDERS:
        raise ValueError(f"shapes model {model!r} is not one of {sorted(_BUILDERS)}")
    return _BUILDERS[model](**kwargs)
