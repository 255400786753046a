"""DeepSphere models built from a config dict (one code path for the demo and the paper).

The config format is documented in :mod:`deepsphere.models.config`. Example, the cosmology FCN
(Perraudin et al. 2019; 54,720 trainable parameters)::

    {"sampling": "healpix", "nside": 1024, "order": 1, "patch": 0, "in_channels": 1,
     "graph": {"graph": "knn", "k": 8, "t": "paper"},
     "laplacian": {"kind": "normalized", "interval": [-1, 1], "lmax": "eigsh"},
     "F": [16, 32, 64, 64, 64, 2], "K": 5, "pool": [1, 1, 1, 1, 1, 0], "pool_mode": "max",
     "head": "fcn", "n_classes": 2}

Layer order (as the paper and tf1-spec §1.6): ``ChebConv -> BN -> Bias -> ReLU -> pool``; the
last conv of ``fcn``/``dense``/``unet`` heads is linear (no BN, bias, activation or pooling).
BN has no gamma/beta (the bias plays beta). FC layers: truncated normal with std
``1/sqrt(n_in)``, zero bias, ReLU; the logits FC has no bias.

U-Net decoder (tf1-spec §1.7), for encoder conv ``j`` from the deepest to the first: unpool by
``pool[j]`` (back to conv ``j``'s resolution), an "up-conv" ``ChebConv(F[j]) + Bias``, concatenate
with conv ``j``'s input (the skip), then ``ChebConv(F[j]) -> BN -> Bias -> ReLU``; finally a
``K = 1`` conv to ``n_classes`` (a per-vertex linear map, no bias). Every encoder conv gets a
skip, which is what the icosahedral original did (its pooling "targets" were all > 1) and gives
its 12,932,608 parameters. (For HEALPix/equiangular layers without pooling the original decoder
had no up-conv and no skip; here the rule is the same for every sampling, deliberately.)

Each conv gets ``laplacian={"graph": <definition of its level>, "kind", "interval", "lmax"}``
so the saved model rebuilds its graphs; or, when ``laplacians`` maps that level's
``graphs.graph_id`` to a prebuilt object, that object (a rescaled sparse matrix is used as is; a
``SphereGraph`` is turned into a rescaled Laplacian with the level's settings).
"""

from __future__ import annotations

import math

import keras
import numpy as np

from deepsphere.models.config import (
    layer_levels,
    level_definitions,
    n_vertices,
    validate_model_config,
)

__all__ = [
    "build_model",
    "level_definitions",
    "required_graphs",
    "trainable_parameter_count",
    "validate_model_config",
]


def required_graphs(config: dict) -> list[dict]:
    """The graph definitions a model config needs, one per resolution level (coarsening order).

    For the workflow: ``graphs.graph_id`` of each names the cached graph file.
    """
    return level_definitions(validate_model_config(config))


def trainable_parameter_count(model: keras.Model) -> int:
    """Number of trainable scalars (the Laplacians and BN statistics are not trainable)."""
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))


def _laplacian_argument(definition: dict, settings: dict, laplacians: dict | None):
    """``(laplacian argument for ChebConv, prebuilt matrix or None)``."""
    spec = {"graph": definition, **settings}
    if not laplacians:
        return spec, None
    from deepsphere.geometry.graphs import SphereGraph, graph_id

    gid = graph_id(definition)
    prebuilt = laplacians.get(gid)
    if prebuilt is None:
        return spec, None
    if isinstance(prebuilt, SphereGraph):
        if graph_id(prebuilt.definition) != gid:
            raise ValueError(
                f"laplacians[{gid!r}] holds the graph {graph_id(prebuilt.definition)!r}; "
                "key every prebuilt graph by graphs.graph_id of its own definition"
            )
        from deepsphere.geometry.laplacian import chebyshev_laplacian

        matrix = chebyshev_laplacian(
            prebuilt.weights,
            settings.get("kind", "normalized"),
            tuple(settings.get("interval", (-1.0, 1.0))),
            settings.get("lmax", "eigsh"),
        )
        # Same graph, same settings: the saved config records the definition (small, and the
        # loaded model rebuilds the same Laplacian) instead of the matrix written inline.
        return spec, matrix
    return prebuilt, None


def _fc_initializer(n_in: int):
    return keras.initializers.TruncatedNormal(stddev=1.0 / math.sqrt(n_in))


class _Builder:
    """Creates the layers of one model; names them by role for readable summaries."""

    def __init__(self, cfg: dict, laplacians: dict | None):
        from deepsphere import layers as L

        self.L = L
        self.cfg = cfg
        self.definitions = level_definitions(cfg)
        self.laps = [
            _laplacian_argument(d, s, laplacians)
            for d, s in zip(self.definitions, cfg["laplacian"], strict=True)
        ]
        self.levels = layer_levels(cfg)

    def cheb(self, filters, K, level, name):
        """A ChebConv on the graph of resolution ``level``."""
        argument, matrix = self.laps[level]
        return self.L.ChebConv(filters, K, argument, matrix=matrix, name=name)

    def conv(self, x, filters, K, level, name, *, block: bool):
        """ChebConv (-> BN -> Bias -> ReLU when ``block``). ``(b, n, f) -> (b, n, filters)``."""
        x = self.cheb(filters, K, level, name)(x)
        if block:
            if self.cfg["batch_norm"]:
                x = self.L.ChebBatchNormalization(name=f"{name}_bn")(x)
            x = self.L.Bias(name=f"{name}_bias")(x)
            x = keras.layers.ReLU(name=f"{name}_relu")(x)
        return x

    def pool(self, x, p, level_in, name):
        kind, mode = self.cfg["sampling"], self.cfg["pool_mode"]
        if kind == "healpix" and self.cfg["indexes"] is not None:
            indexes = self.definitions[level_in]["indexes"]
            return self.L.HealpixSubsetPooling(indexes, 4**p, mode=mode, name=name)(x)
        if kind == "healpix":
            return self.L.HealpixPooling(4**p, mode=mode, name=name)(x)
        if kind == "equiangular":
            return self.L.EquiangularPooling(4**p, mode=mode, name=name)(x)
        return self.L.IcosahedralPooling(self.definitions[level_in]["level"] - p, name=name)(x)

    def unpool(self, x, p, level_out, name):
        kind = self.cfg["sampling"]
        if kind == "healpix" and self.cfg["indexes"] is not None:
            indexes = self.definitions[level_out]["indexes"]
            return self.L.HealpixSubsetUnpooling(indexes, 4**p, name=name)(x)
        if kind == "healpix":
            return self.L.HealpixUnpooling(4**p, name=name)(x)
        if kind == "equiangular":
            return self.L.EquiangularUnpooling(4**p, name=name)(x)
        return self.L.IcosahedralUnpooling(
            self.definitions[level_out]["level"], fill_value=self.cfg["unpool_fill"], name=name
        )(x)

    def encoder(self, x):
        """Returns the encoder output and the input of every conv (the U-Net skips)."""
        cfg, n = self.cfg, len(self.cfg["F"])
        linear_last = cfg["head"] in ("fcn", "dense", "unet")
        skips = []
        for i, (f, k, p) in enumerate(zip(cfg["F"], cfg["K"], cfg["pool"], strict=True)):
            skips.append(x)
            last = i == n - 1
            x = self.conv(x, f, k, self.levels[i], f"conv{i + 1}", block=not (last and linear_last))
            if p:
                x = self.pool(x, p, self.levels[i], f"pool{i + 1}")
        return x, skips

    def decoder(self, x, skips):
        cfg = self.cfg
        for j in reversed(range(len(cfg["F"]))):
            f, k, p, level = cfg["F"][j], cfg["K"][j], cfg["pool"][j], self.levels[j]
            if p:
                x = self.unpool(x, p, level, f"unpool{j + 1}")
            x = self.cheb(f, k, level, f"upconv{j + 1}")(x)
            x = self.L.Bias(name=f"upconv{j + 1}_bias")(x)
            x = keras.layers.Concatenate(axis=-1, name=f"skip{j + 1}")([x, skips[j]])
            x = self.conv(x, f, k, level, f"deconv{j + 1}", block=True)
        return self.cheb(cfg["n_classes"], 1, 0, "outconv")(x)

    def head(self, x):
        cfg, head = self.cfg, self.cfg["head"]
        if head == "fcn":
            return self.L.GlobalVertexPooling("avg", name="global_avg")(x)
        if head == "dense":
            return x
        if head == "flatten":
            x = keras.layers.Flatten(name="flatten")(x)
        else:
            mode = "avg" if head == "global_avg" else "max"
            x = self.L.GlobalVertexPooling(mode, name=head)(x)
        for i, units in enumerate(cfg["fc"]):
            x = keras.layers.Dense(
                units,
                activation="relu",
                name=f"fc{i + 1}",
                kernel_initializer=_fc_initializer(x.shape[-1]),
            )(x)
        return keras.layers.Dense(
            cfg["n_classes"],
            use_bias=False,
            name="logits",
            kernel_initializer=_fc_initializer(x.shape[-1]),
        )(x)


def build_model(config: dict, *, laplacians: dict | None = None) -> keras.Model:
    """Build the Keras model a model config describes (validated first, before any graph work).

    Args:
        config: the model config (see :mod:`deepsphere.models.config`).
        laplacians: optional ``{graph_id: rescaled sparse matrix | SphereGraph}``: prebuilt
            graphs (the workflow's cached files) used instead of rebuilding a level's graph.

    Returns:
        A functional model. Input ``(batch, n_vertices, in_channels)``, with ``n_vertices`` of
        the first level (``12 nside^2 / (12 order^2)`` for a HEALPix patch, ``len(indexes)``
        for a pixel subset). Output: logits or
        values ``(batch, n_classes)`` (fcn, flatten, global_*), or per vertex ``(batch,
        n_vertices, n_classes)`` (dense, unet).
    """
    cfg = validate_model_config(config)
    builder = _Builder(cfg, laplacians)
    n = n_vertices(builder.definitions[0])
    inputs = keras.Input(shape=(n, cfg["in_channels"]), name="signal")
    x, skips = builder.encoder(inputs)
    x = builder.decoder(x, skips) if cfg["head"] == "unet" else builder.head(x)
    return keras.Model(inputs, x, name=cfg["name"])
