"""Cosmo experiment plan: the runs (method, order, noise[, graph]) and their configs.

Light on purpose (no Keras/TensorFlow import): the workflow imports it while parsing, to list
the runs and register the graphs every DeepSphere run needs (:func:`required_graphs`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from deepsphere.training.seeds import name_seed

__all__ = [
    "SPHERE_METHODS", "PLANAR_METHODS", "SVM_METHODS", "table2_rows", "CosmoRun",
    "table2_runs", "grid_runs", "planned_runs", "smoothing_arcmin", "batch_size",
    "sphere_model_config", "planar_model_config", "required_graphs", "run_config", "run_seed",
]


SPHERE_METHODS = ("fcn", "cnn")
PLANAR_METHODS = ("fcn2d", "cnn2d")
SVM_METHODS = ("psd", "hist")


def table2_rows() -> list[tuple[str, str | None]]:
    """ICLR 2020 Table 2's ``(method, graph)`` rows in the paper's order (``paper/table2.csv``)."""
    from deepsphere.reporting.paper import paper_numbers

    paper = paper_numbers("deepsphere.experiments.cosmo", "table2")
    return [(m, None if g == "none" else g) for m, g in zip(paper["method"], paper["graph"],
                                                           strict=True)]


@dataclass(frozen=True, order=True)
class CosmoRun:
    """One cell: ``graph`` is the name of a graph in ``cosmo.graphs`` (DeepSphere) or None."""

    method: str
    order: int
    noise: float
    graph: str | None = None

    def __post_init__(self):
        known = SPHERE_METHODS + PLANAR_METHODS + SVM_METHODS
        if self.method not in known:
            raise ValueError(f"method {self.method!r} is not one of {known}")
        if (self.graph is not None) != (self.method in SPHERE_METHODS):
            raise ValueError(f"{self.method}: a graph is needed for fcn/cnn and only for them")

    @property
    def run_id(self) -> str:
        """File stem, e.g. ``fcn-knn8-o1-n3.5`` or ``psd-none-o2-n0``."""
        return f"{self.method}-{self.graph or 'none'}-o{self.order}-n{self.noise:g}"

    def to_dict(self) -> dict:
        return {**asdict(self), "run_id": self.run_id}


def table2_runs(cosmo: dict) -> list[CosmoRun]:
    t = cosmo["table2"]
    return [CosmoRun(m, t["order"], float(t["noise"]), g) for m, g in table2_rows()]


def grid_runs(cosmo: dict) -> list[CosmoRun]:
    g = cosmo["grid"]
    return [
        CosmoRun(m, o, float(n), g["graph"] if m in SPHERE_METHODS else None)
        for o in g["orders"] for n in g["noises"] for m in g["methods"]
    ]


def planned_runs(cosmo: dict) -> list[CosmoRun]:
    """Every run of the grid and of Table 2, without duplicates, sorted."""
    return sorted(set(grid_runs(cosmo)) | set(table2_runs(cosmo)))


# --------------------------------------------------------------------------- configs
def smoothing_arcmin(cosmo: dict) -> float:
    """Gaussian smoothing sigma in arcmin: ``sigma_arcmin``, or ``sigma_pixels`` pixel sizes."""
    s = cosmo["preprocess"]["smoothing"]
    if "sigma_arcmin" in s:
        return float(s["sigma_arcmin"])
    nside = int(cosmo["preprocess"]["nside"])
    pixel_arcmin = math.degrees(math.sqrt(4 * math.pi / (12 * nside**2))) * 60  # healpy nside2resol
    return float(s["sigma_pixels"]) * pixel_arcmin


def batch_size(cosmo: dict, order: int) -> int:
    """``training.batch_size * order^2`` (ICLR: 8 at order 1; a patch shrinks by order^2)."""
    return int(cosmo["training"]["batch_size"]) * order**2


def sphere_model_config(cosmo: dict, method: str, graph: str, order: int) -> dict:
    """DeepSphere model config (:mod:`deepsphere.models.config`) of a cosmo run.

    FCN: convs ``F + [2]``, pooled after each of the first ``len(F)``, last conv linear, global
    average. CNN: convs ``F``, each pooled, flatten, FC 2 (the originals' two variants).
    """
    if graph not in cosmo["graphs"]:
        raise ValueError(f"graph {graph!r} is not defined under cosmo.graphs "
                         f"({sorted(cosmo['graphs'])})")
    d = cosmo["deepsphere"]
    F = [int(f) for f in d["F"]]
    common = {
        "sampling": "healpix", "nside": int(cosmo["preprocess"]["nside"]), "order": int(order),
        "patch": 0, "in_channels": 1, "graph": dict(cosmo["graphs"][graph]),
        "laplacian": dict(d["laplacian"]), "K": int(d["K"]), "pool_mode": "max",
        "batch_norm": True, "n_classes": 2, "name": f"deepsphere_{method}_{graph}",
    }
    if method == "fcn":
        return {**common, "F": F + [2], "pool": [1] * len(F) + [0], "head": "fcn"}
    if method == "cnn":
        return {**common, "F": F, "pool": [1] * len(F), "head": "flatten", "fc": []}
    raise ValueError(f"sphere_model_config: method {method!r} is not fcn or cnn")


def planar_model_config(cosmo: dict, method: str, order: int) -> dict:
    """:mod:`deepsphere.models.planar` config: images of side ``nside / order``."""
    p = cosmo["planar"]
    if method not in PLANAR_METHODS:
        raise ValueError(f"planar_model_config: method {method!r} is not fcn2d or cnn2d")
    return {"image_size": int(cosmo["preprocess"]["nside"]) // order, "in_channels": 1,
            "F": [int(f) for f in p["F"]], "kernel_size": int(p["kernel_size"]),
            "stride": int(p["stride"]), "head": method[:-2], "n_classes": 2, "name": method}


def run_seed(seed: int, run: CosmoRun) -> int:
    """The seed of one run's weights, data order and training noise."""
    return name_seed(seed, 2, run.run_id)


def required_graphs(cosmo: dict, run: CosmoRun) -> list[dict]:
    """Graph definitions (one per resolution level) a DeepSphere run needs; [] otherwise."""
    if run.method not in SPHERE_METHODS:
        return []
    from deepsphere.models.config import level_definitions, validate_model_config

    return level_definitions(validate_model_config(
        sphere_model_config(cosmo, run.method, run.graph, run.order)))


def run_config(cosmo: dict, run: CosmoRun, seed: int) -> dict:
    """The ``deepsphere.training.loop.fit`` config of a network run (seed, training, model)."""
    t = cosmo["training"]
    training = {
        "epochs": int(t["epochs"]), "batch_size": batch_size(cosmo, run.order),
        "optimizer": {"name": "adam", "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8},
        "learning_rate": t["learning_rate"], "loss": "sparse_categorical_crossentropy",
        "noise_std": float(run.noise), "validation_noise_std": 0.0,  # already noised, fixed
        "keep": t["keep"], "resume": "auto", "deterministic": True,
    }
    if run.method in SPHERE_METHODS:
        model = sphere_model_config(cosmo, run.method, run.graph, run.order)
    else:
        model = planar_model_config(cosmo, run.method, run.order)
    return {"seed": run_seed(seed, run), "training": training, "model": model,
            "run": run.to_dict()}
