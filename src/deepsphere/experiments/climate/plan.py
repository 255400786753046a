"""The runs of the climate experiment: architecture x loss x seed (Keras-free).

``climate.runs`` lists ``{architecture, loss, seeds}``: ``architecture`` a key of
``climate.architectures`` (``main``, ``jiang``, ``wider`` in the paper config), ``loss``
``weighted`` (cross-entropy with the per-vertex class weights of the training labels) or
``nonweighted``, ``seeds`` the number of repetitions (5 in the paper for ``main``; tables give
mean ± sample std over them). Run ids read ``<architecture>-<loss>-s<i>``.

Training (ICLR 2020 §5.4 and tf1's ``run_experiment_ico.py``): Adam (0.9, 0.999, 1e-8) at a
constant learning rate, batch and epochs from the config (the paper: 1e-3, batch 64, 30
epochs), the model of the last epoch (``keep: last``, as the original) unless the config says
``best``.
"""

from __future__ import annotations

from dataclasses import dataclass

from deepsphere.experiments.climate.models import unet_config
from deepsphere.training.seeds import name_seed

__all__ = ["EXPERIMENT", "LOSSES", "ClimateRun", "model_config", "planned_runs",
           "required_graphs", "run_config"]

EXPERIMENT = "climate"
LOSSES = ("weighted", "nonweighted")
_SEED_TAG = 10  # the experiment's tag in name_seed


@dataclass(frozen=True)
class ClimateRun:
    """One network: an architecture, a loss, and which repetition (0-based)."""

    architecture: str
    loss: str
    repetition: int

    @property
    def run_id(self) -> str:
        return f"{self.architecture}-{self.loss}-s{self.repetition}"

    def to_dict(self) -> dict:
        return {"architecture": self.architecture, "loss": self.loss,
                "repetition": self.repetition, "run_id": self.run_id}


def planned_runs(cl: dict) -> list[ClimateRun]:
    """Every configured run, in config order (repetitions innermost)."""
    return [ClimateRun(str(r["architecture"]), str(r["loss"]), i)
            for r in cl["runs"] for i in range(int(r["seeds"]))]


def model_config(cl: dict, architecture: str) -> dict:
    """The U-Net config of ``architecture`` (see :mod:`~deepsphere.experiments.climate.models`)."""
    m = cl["model"]
    return unet_config(cl["architectures"][architecture], K=int(m["K"]),
                       laplacian=m["laplacian"], unpool_fill=float(m["unpool_fill"]),
                       name=f"climate_{architecture}")


def required_graphs(cl: dict, architecture: str) -> list[dict]:
    """The graph definitions (one per resolution level) of an architecture."""
    from deepsphere.models.config import level_definitions, validate_model_config

    return level_definitions(validate_model_config(model_config(cl, architecture)))


def run_config(cl: dict, run: ClimateRun, seed: int) -> dict:
    """The ``deepsphere.training.fit`` config of a run (the class weights come with the data)."""
    t = cl["training"]
    training = {
        "epochs": int(t["epochs"]), "batch_size": int(t["batch_size"]),
        "optimizer": {"name": "adam", "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8},
        "learning_rate": float(t["learning_rate"]), "loss": "sparse_categorical_crossentropy",
        "keep": t["keep"], "resume": "auto", "deterministic": True,
    }
    return {"seed": name_seed(seed, _SEED_TAG, run.run_id), "training": training,
            "model": model_config(cl, run.architecture)}
