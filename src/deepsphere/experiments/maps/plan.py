"""The network of a maps run, from the section's settings and the facts of the data (nside,
observed pixels, channels, outputs): model config (:mod:`deepsphere.models.config`), training
config and the graphs it needs. Keras-free (the Snakefile plans while it parses).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["DataFacts", "auto_depth", "level_vertex_counts", "model_config", "run_config"]

MAX_AUTO_DEPTH = 4
_TAG = 13


@dataclass(frozen=True)
class DataFacts:
    """What the model needs to know of the data: the model's ``nside``, the observed NEST
    pixels (None: full sky), the NEST patch order (None: whole maps), the input channels and
    the outputs (classes, targets or segmentation classes)."""

    nside: int
    observed: tuple | None
    patches: int | None
    in_channels: int
    n_out: int

    @property
    def n_vertices(self) -> int:
        if self.observed is not None:
            return len(self.observed)
        return 12 * self.nside**2 // (12 * self.patches**2 if self.patches else 1)


def level_vertex_counts(facts: DataFacts, levels: int) -> list[int]:
    """Vertices at nside, nside/2, ... (``levels`` of them), each ``None``-free; 0 where nside
    cannot halve further."""
    counts = []
    for level in range(levels):
        nside = facts.nside >> level
        if nside < max(facts.patches or 1, 1) or (nside << level) != facts.nside:
            counts.append(0)
        elif facts.observed is not None:
            counts.append(len({int(p) >> (2 * level) for p in facts.observed}))
        else:
            counts.append(12 * nside**2 // (12 * facts.patches**2 if facts.patches else 1))
    return counts


def auto_depth(facts: DataFacts, k: int) -> int:
    """Pooled convs: as many as keep more than ``max(4, k)`` vertices at the deepest level,
    at least 1, at most :data:`MAX_AUTO_DEPTH`."""
    counts = level_vertex_counts(facts, MAX_AUTO_DEPTH + 1)
    depth = 0
    while depth < MAX_AUTO_DEPTH and counts[depth + 1] > max(4, k):
        depth += 1
    return max(depth, 1)


def _filters(network: Mapping, n: int) -> list[int]:
    f = network["filters"]
    if isinstance(f, list):
        if len(f) != n:
            raise ValueError(f"maps.network.filters: {len(f)} entries for {n} convs; give one "
                             "per conv (maps.network.depth) or a single number")
        return [int(x) for x in f]
    return [int(f) * min(2**i, 4) for i in range(n)]


def model_config(s: Mapping, facts: DataFacts) -> dict:
    """The model config of the run (see the module docstring). FCN: ``depth`` pooled convs
    then a linear conv to the outputs and a global average; CNN: ``depth`` pooled convs,
    flatten, a linear layer; segmentation: a U-Net of ``depth`` pooled levels."""
    net, graph = s["network"], s["graph"]
    k = int(graph["k"])
    depth = auto_depth(facts, k) if net["depth"] == "auto" else int(net["depth"])
    size = {"nside": facts.nside}
    if facts.observed is not None:
        size["indexes"] = list(facts.observed)
    elif facts.patches:
        size.update(order=int(facts.patches), patch=0)
    definition = ({"graph": "knn", "k": k, "t": "paper"} if graph["kind"] == "knn"
                  else {"graph": "v1"})
    common = {"sampling": "healpix", **size, "in_channels": facts.in_channels,
              "graph": definition, "K": int(net["K"]), "pool_mode": net["pool_mode"],
              "batch_norm": True, "n_classes": facts.n_out, "name": s["name"]}
    if s["task"] == "segmentation":
        if net["kind"] != "fcn":
            raise ValueError("maps.network.kind: segmentation uses a U-Net; leave kind: fcn")
        return {**common, "F": _filters(net, depth + 1), "pool": [1] * depth + [0],
                "head": "unet"}
    if net["kind"] == "fcn":
        return {**common, "F": _filters(net, depth) + [facts.n_out],
                "pool": [1] * depth + [0], "head": "fcn"}
    return {**common, "F": _filters(net, depth), "pool": [1] * depth, "head": "flatten",
            "fc": []}


def run_config(s: Mapping, facts: DataFacts, seed: int) -> dict:
    """The ``deepsphere.training.fit`` config of the run: seed, training and model."""
    from deepsphere.training.seeds import name_seed

    t = s["training"]
    loss = "mse" if s["task"] == "regression" else "sparse_categorical_crossentropy"
    training = {"epochs": int(t["epochs"]), "batch_size": int(t["batch_size"]),
                "optimizer": {"name": t["optimizer"]}, "learning_rate": float(t["learning_rate"]),
                "loss": loss, "keep": t["keep"], "resume": "auto", "deterministic": True}
    return {"seed": name_seed(seed, _TAG, s["name"]), "training": training,
            "model": model_config(s, facts)}
