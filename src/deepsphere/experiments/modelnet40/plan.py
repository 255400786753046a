"""The runs of the ModelNet40 experiment: one network per training rotation, tested on each
test rotation the configured settings pair with it (Keras-free).

A setting ``train/test`` in the paper's notation (``no/no``, ``z/z``, ``SO3/SO3``, ``z/SO3``)
names the random rotation of the training and of the test projections. Settings that share
their training rotation share one run (``z/z`` and ``z/SO3``: the same network, scored on two
test sets), so no network is trained twice.

The model is tf1-spec §2.4's (:func:`deepsphere.experiments.shapes.models.modelnet40_config`:
two ChebConvs per resolution, K = 4, BN, max pooling, global average, dense 40) with the
config's ``F`` (one width per resolution) and ``nside``; Adam with ε = ``epsilon`` (the
original: 0.1) at a constant learning rate (the original: 2e-2, 30 epochs, batch 32).
"""

from __future__ import annotations

from dataclasses import dataclass

from deepsphere.experiments.shapes.settings import Projection, grid_name, rotation_label
from deepsphere.training.seeds import name_seed

__all__ = ["EXPERIMENT", "ModelNetRun", "copies", "model_config", "n_classes", "parse_setting",
           "planned_runs", "projections", "required_graphs", "run_config"]

EXPERIMENT = "modelnet40"
_ROTATION_OF = {"no": "none", "z": "z", "SO3": "so3"}


def parse_setting(setting: str) -> tuple[str, str]:
    """``"z/SO3"`` -> ``("z", "so3")`` (training rotation, test rotation)."""
    parts = str(setting).split("/")
    if len(parts) != 2 or any(p not in _ROTATION_OF for p in parts):
        raise ValueError(f"setting {setting!r}: use train/test with each of "
                         f"{sorted(_ROTATION_OF)}, e.g. 'z/SO3'")
    return _ROTATION_OF[parts[0]], _ROTATION_OF[parts[1]]


@dataclass(frozen=True)
class ModelNetRun:
    """One network: its training rotation and the test rotations it is scored on (the first
    is its main test set)."""

    train_rotation: str
    test_rotations: tuple

    @property
    def run_id(self) -> str:
        return f"train-{self.train_rotation}"

    def settings(self) -> list[str]:
        return [f"{rotation_label(self.train_rotation)}/{rotation_label(t)}"
                for t in self.test_rotations]

    def to_dict(self) -> dict:
        return {"train_rotation": self.train_rotation,
                "test_rotations": list(self.test_rotations), "settings": self.settings()}


def planned_runs(mn: dict) -> list[ModelNetRun]:
    """The runs of the configured settings, in the order their training rotation first appears."""
    tests: dict[str, list[str]] = {}
    for setting in mn["settings"]:
        train, test = parse_setting(setting)
        if test not in tests.setdefault(train, []):
            tests[train].append(test)
    return [ModelNetRun(train, tuple(t)) for train, t in tests.items()]


def _grid(mn: dict) -> str:
    return grid_name("healpix", int(mn["nside"]))


def projections(mn: dict, run: ModelNetRun) -> dict[str, Projection]:
    """``{"train": ..., "test": ... (the main test), "test_<rotation>": ...}`` of a run."""
    out = {"train": Projection(EXPERIMENT, _grid(mn), "train", run.train_rotation,
                               copies(mn, "train", run.train_rotation))}
    for i, rotation in enumerate(run.test_rotations):
        key = "test" if i == 0 else f"test_{rotation}"
        out[key] = Projection(EXPERIMENT, _grid(mn), "test", rotation, copies(mn, "test", rotation))
    return out


def copies(mn: dict, split: str, rotation: str) -> int:
    """The configured copies of a split, or 1 where every copy would be the same projection
    (no rotation and no translation: the draws have nothing to vary)."""
    if rotation == "none" and float(mn["max_translation"]) == 0:
        return 1
    return int(mn["copies"][split])


def n_classes(mn: dict) -> int:
    """40 for the real data; the stand-in's class count."""
    from deepsphere.experiments.shapes.models import MODELNET40_CLASSES

    return int(mn["standin"]["classes"]) if mn["source"] == "standin" else MODELNET40_CLASSES


def model_config(mn: dict) -> dict:
    """The ModelNet40 CNN at the config's ``nside`` and ``F`` (two convs per width)."""
    from deepsphere.experiments.shapes.models import modelnet40_config

    config = modelnet40_config(nside=int(mn["nside"]))
    F = [int(f) for f in mn["F"]]
    config["F"] = [f for f in F for _ in range(2)]
    config["pool"] = [0, 1] * len(F)
    config["n_classes"] = n_classes(mn)
    return config


def required_graphs(mn: dict) -> list[dict]:
    """The graph definitions (one per conv) of the model."""
    from deepsphere.models.config import level_definitions, validate_model_config

    return level_definitions(validate_model_config(model_config(mn)))


def run_config(mn: dict, run: ModelNetRun, seed: int) -> dict:
    """The ``deepsphere.training.fit`` config of a run."""
    t = mn["training"]
    training = {
        "epochs": int(t["epochs"]), "batch_size": int(t["batch_size"]),
        "optimizer": {"name": "adam", "beta_1": 0.9, "beta_2": 0.999,
                      "epsilon": float(t["epsilon"])},
        "learning_rate": float(t["learning_rate"]), "loss": "sparse_categorical_crossentropy",
        "keep": t["keep"], "resume": "auto", "deterministic": True,
    }
    return {"seed": name_seed(seed, 40, run.run_id), "training": training,
            "model": model_config(mn)}
