"""What rules/modelnet40.smk asks of the experiment: paths, run specs, targets, config checks.

Keras-free and Snakemake-free (the Snakefile imports it while parsing).
"""

from __future__ import annotations

from deepsphere.experiments.modelnet40 import plan
from deepsphere.experiments.shapes.experiment import (
    ShapesPaths,
    pooling_errors,
    projection_mem_mb,
    run_inputs,
)
from deepsphere.workflow.runs import NETWORK, RunSpec

__all__ = ["ModelNetPaths", "config_checks", "run_specs", "statistics_mem_mb", "targets"]

EXPERIMENT = plan.EXPERIMENT
#: The keys a run depends on (the settings list is left out: adding one reruns nothing else).
RUN_KEYS = ("source", "standin", "skip_unreadable", "nside", "max_translation", "copies",
            "val_fraction", "F", "training")
#: Meshes per split of the real data (for the memory estimates).
_REAL_SIZES = {"train": 9843, "test": 2468}


class ModelNetPaths(ShapesPaths):
    """Every path of the experiment under the configured roots."""

    def __init__(self, roots: dict, source: str):
        super().__init__(EXPERIMENT, roots, source)


def _meshes(mn: dict) -> dict[str, int]:
    if mn["source"] == "download":
        return dict(_REAL_SIZES)
    s = mn["standin"]
    return {"train": s["n_train"] * s["classes"], "test": s["n_test"] * s["classes"]}


def _run_mem_mb(mn: dict, run: plan.ModelNetRun) -> int:
    files = plan.projections(mn, run)
    rows = sum(_meshes(mn)[p.split] * p.copies for p in files.values())
    return projection_mem_mb(rows, 12 * int(mn["nside"]) ** 2, copies=2.0)  # + train/val subsets


def statistics_mem_mb(mn: dict, copies: int) -> int:
    """The statistics job: one training file in memory."""
    return projection_mem_mb(_meshes(mn)["train"] * int(copies), 12 * int(mn["nside"]) ** 2)


def run_specs(config: dict, paths: ModelNetPaths) -> list[RunSpec]:
    """One network run per training rotation (see :mod:`~deepsphere.experiments.modelnet40.plan`)."""
    mn, seed = config[EXPERIMENT], int(config["seed"])
    graphs = tuple(plan.required_graphs(mn))
    return [RunSpec(
        run_id=run.run_id, experiment=EXPERIMENT, method="deepsphere", runner=NETWORK,
        config=plan.run_config(mn, run, seed), graphs=graphs,
        inputs=run_inputs(plan.projections(mn, run), paths.interim),
        data={"run": run.to_dict(), "val_fraction": float(mn["val_fraction"]), "seed": seed,
              "modelnet40": {k: mn[k] for k in RUN_KEYS}},
        record={"run": {**run.to_dict(), "run_id": run.run_id}},
        timing_repeats=int(mn["timing"]["repeats"]), mem_mb=_run_mem_mb(mn, run),
    ) for run in plan.planned_runs(mn)]


def targets(paths: ModelNetPaths) -> list[str]:
    """The rotation table and the checks (CSV + MD), the six-channel figure."""
    return [f"{paths.results}/tables/{name}.{ext}" for name in ("rotations", "checks")
            for ext in ("csv", "md")] + [f"{paths.results}/figures/channels.png"]


def config_checks(config: dict) -> list[str]:
    """Checks across modelnet40 keys (empty list: all good)."""
    mn = config.get(EXPERIMENT)
    if mn is None:
        return []
    errors = []
    for setting in mn["settings"]:
        try:
            plan.parse_setting(setting)
        except ValueError as err:
            errors.append(f"config key 'modelnet40.settings': {err}")
    errors += pooling_errors(EXPERIMENT, mn, ["healpix"])
    if mn["source"] == "standin":
        # the stand-in's one unreadable mesh is a training mesh: one class has n_train - 1
        readable = mn["standin"]["n_train"] - 1
        n_val = round(mn["val_fraction"] * readable)
        if n_val < 1 or n_val >= readable:
            errors.append(
                f"config keys 'modelnet40.val_fraction' ({mn['val_fraction']}) and "
                f"'modelnet40.standin.n_train' ({mn['standin']['n_train']}, one of which is "
                "unreadable in one class): no validation mesh (or no training mesh) in a "
                "class; change one of them")
    return errors
