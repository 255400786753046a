"""The runs of the GHCN experiment: task x polynomial order P x seed (Keras-free).

Every run is the paper's network (ICLR 2020 §5.5 and tf1's ``GHCN_train.py``): three graph
convolutions of ``ghcn.model.F`` (50, 100, 100) features with K = P + 1 Chebyshev terms (P = 0
is a per-station network that ignores the graph), batch normalisation, then
- dense task: a fourth, linear graph convolution to one value per station (tf1's F [50, 100,
  100, 1]; 77,000 parameters for P = 4 and a 5-day window);
- global tasks: global average over the stations and a linear layer to the one target (75,600
  parameters for P = 4 and one input channel).
Loss MSE; RMSProp (rho 0.9, no momentum) at a constant learning rate; the paper: 250 epochs,
batch 64, 1e-3.

The graph is the kNN graph of the task's station set with k = ``ghcn.graph.k``: tf1's code
uses 10 (``clean_nodes``' default), while its experiment name and the paper say 5; the paper
config keeps the code's 10. Its Laplacian is combinatorial, as the original, but rescaled to
[-1, 1] before the Chebyshev recursion: the original fed the unscaled Laplacian (eigenvalues up
to ~2 x the largest degree) to the recursion, whose polynomials then grow without bound.
Run ids read ``<task>-P<order>-s<i>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from deepsphere.experiments.ghcn.tasks import TASKS
from deepsphere.training.seeds import name_seed

__all__ = ["EXPERIMENT", "GhcnRun", "graph_definition", "model_config", "planned_runs",
           "run_config", "station_set_name"]

EXPERIMENT = "ghcn"
_SEED_TAG = 11  # the experiment's tag in name_seed


@dataclass(frozen=True)
class GhcnRun:
    """One network: a task, a polynomial order, and which repetition (0-based)."""

    task: str
    order: int
    repetition: int

    @property
    def run_id(self) -> str:
        return f"{self.task}-P{self.order}-s{self.repetition}"

    def to_dict(self) -> dict:
        return {"task": self.task, "order": self.order, "repetition": self.repetition,
                "run_id": self.run_id}


def planned_runs(gh: dict) -> list[GhcnRun]:
    """Every configured run: tasks in config order, then orders, then repetitions."""
    return [GhcnRun(str(t), int(p), i) for t in gh["tasks"] for p in gh["orders"]
            for i in range(int(gh["seeds"]))]


def station_set_name(task: str) -> str:
    """The station set of a task, named by its elements (``tmax-tmin``, ``prcp``): tasks that
    read the same elements share their stations and graph."""
    return "-".join(TASKS[task].elements).lower()


def graph_definition(gh: dict, positions: str) -> dict:
    """The kNN graph of a station set's positions file (built by the shared graph rule)."""
    return {"sampling": "positions", "positions": positions, "graph": "knn",
            "k": int(gh["graph"]["k"]), "t": "mean-distance"}


def model_config(gh: dict, task: str, order: int, positions: str) -> dict:
    """The model of a task at polynomial order ``order`` on the station set in ``positions``."""
    t, m = TASKS[task], gh["model"]
    F = [int(f) for f in m["F"]]
    cfg = {"sampling": "positions", "positions": positions,
           "graph": {"graph": "knn", "k": int(gh["graph"]["k"]), "t": "mean-distance"},
           "laplacian": {"kind": m["laplacian"], "interval": [-1.0, 1.0], "lmax": "eigsh"},
           "K": int(order) + 1, "batch_norm": bool(m["batch_norm"]), "n_classes": 1,
           "name": f"ghcn_{task}"}
    if t.kind == "dense":
        cfg.update(in_channels=int(gh["window"]), F=F + [1], pool=[0] * (len(F) + 1),
                   head="dense")
    else:
        cfg.update(in_channels=len(t.elements), F=F, pool=[0] * len(F), head="global_avg",
                   fc=[])
    return cfg


def run_config(gh: dict, run: GhcnRun, seed: int, positions: str) -> dict:
    """The ``deepsphere.training.fit`` config of a run."""
    tr = gh["training"]
    training = {
        "epochs": int(tr["epochs"]), "batch_size": int(tr["batch_size"]),
        "optimizer": {"name": "rmsprop", "rho": 0.9, "momentum": 0.0},
        "learning_rate": float(tr["learning_rate"]), "loss": "mse", "keep": tr["keep"],
        "resume": "auto", "deterministic": True,
    }
    return {"seed": name_seed(seed, _SEED_TAG, run.run_id), "training": training,
            "model": model_config(gh, run.task, run.order, positions)}
