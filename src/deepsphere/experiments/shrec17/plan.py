"""The runs of the SHREC'17 experiment: one network per sampling (HEALPix, equiangular),
trained on the perturbed training split, validated on ``val``, tested on ``test`` (Keras-free).

Models (tf1-spec §2.5, :mod:`deepsphere.experiments.shapes.models`): 5 x [ChebConv K = 4 + BN +
ReLU + max pool] with F = 16 ... 256, global average, dense 55 (HEALPix Nside 32 NEST; SOFT
equiangular b = 64 with 2 x 2 pooling), the config's ``F`` overriding the widths (one pooling
per width). Loss: cross-entropy plus, with ``triplet_loss``, the semi-hard triplet loss of the
L2-normalised global-average descriptor (the original: weight 1, margin 1). Optimiser per
sampling as the originals: Adam (ε = 0.1) at 5e-2 for HEALPix, SGD at 0.5 for equiangular,
constant. Projections: no extra rotation by default (the perturbed set is already randomly
rotated), a random translation |t| ~ U(0, 0.1), ``copies`` augmented draws per split; the test
softmax is averaged over an object's copies.
"""

from __future__ import annotations

from dataclasses import dataclass

from deepsphere.experiments.shapes.settings import Projection, grid_name
from deepsphere.training.seeds import name_seed

__all__ = ["EXPERIMENT", "SAMPLINGS", "ShrecRun", "model_config", "n_classes", "planned_runs",
           "projections", "required_graphs", "run_config"]

EXPERIMENT = "shrec17"
SAMPLINGS = ("healpix", "equiangular")


@dataclass(frozen=True)
class ShrecRun:
    """One network: its sampling."""

    sampling: str

    @property
    def run_id(self) -> str:
        return self.sampling

    def to_dict(self) -> dict:
        return {"sampling": self.sampling, "run_id": self.run_id}


def planned_runs(sh: dict) -> list[ShrecRun]:
    return [ShrecRun(s) for s in sh["samplings"]]


def grid(sh: dict, sampling: str) -> str:
    size = sh["nside"] if sampling == "healpix" else sh["bandwidth"]
    return grid_name(sampling, int(size))


def projections(sh: dict, run: ShrecRun) -> dict[str, Projection]:
    """``{"train", "val", "test"}`` projected files of a run."""
    return {split: Projection(EXPERIMENT, grid(sh, run.sampling), split, sh["rotation"],
                              int(sh["copies"][split])) for split in ("train", "val", "test")}


def n_classes(sh: dict) -> int:
    """55 for the real data; the stand-in's synset count."""
    from deepsphere.experiments.shapes.models import SHREC17_CLASSES

    return int(sh["standin"]["synsets"]) if sh["source"] == "standin" else SHREC17_CLASSES


def model_config(sh: dict, sampling: str) -> dict:
    from deepsphere.experiments.shapes.models import (
        shrec17_equiangular_config,
        shrec17_healpix_config,
    )

    if sampling == "healpix":
        config = shrec17_healpix_config(nside=int(sh["nside"]))
    else:
        config = shrec17_equiangular_config(bandwidth=int(sh["bandwidth"]))
    config["F"] = [int(f) for f in sh["F"]]
    config["pool"] = [1] * len(config["F"])
    config["n_classes"] = n_classes(sh)
    return config


def required_graphs(sh: dict, sampling: str) -> list[dict]:
    from deepsphere.models.config import level_definitions, validate_model_config

    return level_definitions(validate_model_config(model_config(sh, sampling)))


def run_config(sh: dict, run: ShrecRun, seed: int) -> dict:
    """The ``deepsphere.training.fit`` config of a run."""
    t, opt = sh["training"], sh["optimizers"][run.sampling]
    if opt["name"] == "adam":
        optimizer = {"name": "adam", "beta_1": 0.9, "beta_2": 0.999,
                     "epsilon": float(opt["epsilon"])}
    else:
        optimizer = {"name": "sgd", "momentum": 0.0}
    triplet = sh["triplet_loss"]
    training = {
        "epochs": int(t["epochs"]), "batch_size": int(t["batch_size"]), "optimizer": optimizer,
        "learning_rate": float(opt["learning_rate"]), "loss": "sparse_categorical_crossentropy",
        "triplet_loss": None if triplet is None else {
            "weight": float(triplet["weight"]), "margin": float(triplet["margin"]),
            "layer": "global_avg"},
        "keep": t["keep"], "resume": "auto", "deterministic": True,
    }
    return {"seed": name_seed(seed, 17, run.run_id), "training": training,
            "model": model_config(sh, run.sampling)}
