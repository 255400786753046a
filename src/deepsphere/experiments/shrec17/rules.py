"""What rules/shrec17.smk asks of the experiment: paths, run specs, targets, config checks.

Keras-free and Snakemake-free (the Snakefile imports it while parsing).
"""

from __future__ import annotations

from deepsphere.experiments.shapes.experiment import (
    ShapesPaths,
    pooling_errors,
    projection_mem_mb,
    run_inputs,
)
from deepsphere.experiments.shrec17 import plan
from deepsphere.workflow.runs import NETWORK, RunSpec

__all__ = ["ShrecPaths", "config_checks", "run_specs", "statistics_mem_mb", "targets"]

EXPERIMENT = plan.EXPERIMENT
RUN_KEYS = ("source", "standin", "skip_unreadable", "nside", "bandwidth", "rotation",
            "max_translation", "copies", "F", "triplet_loss", "training", "optimizers")
#: Models per split of the real data (SHREC'17 ShapeNet Core55; for the memory estimates).
_REAL_SIZES = {"train": 35764, "val": 5133, "test": 10265}  # 51,162 in all


class ShrecPaths(ShapesPaths):
    """Every path of the experiment under the configured roots."""

    def __init__(self, roots: dict, source: str):
        super().__init__(EXPERIMENT, roots, source)

    def predictions(self, run_id: str) -> str:
        return f"{self.results}/models/{run_id}/predictions.npz"

    def retrieval(self, run_id: str) -> str:
        return f"{self.results}/retrieval/{run_id}.json"

    def evaluator(self, run_id: str) -> str:
        """The official evaluator's input, zipped (``test_perturbed/<query id>``)."""
        return f"{self.results}/evaluator/{run_id}/test_perturbed.zip"


def _models(sh: dict) -> dict[str, int]:
    if sh["source"] == "download":
        return dict(_REAL_SIZES)
    return {s: sh["standin"]["n_per_split"][s] * sh["standin"]["synsets"] for s in _REAL_SIZES}


def _pixels(sh: dict, grid: str) -> int:
    return 12 * int(sh["nside"]) ** 2 if grid.startswith("hp") else 4 * int(sh["bandwidth"]) ** 2


def statistics_mem_mb(sh: dict, grid: str, copies: int) -> int:
    """The statistics job: one training file in memory."""
    return projection_mem_mb(_models(sh)["train"] * int(copies), _pixels(sh, grid))


def run_specs(config: dict, paths: ShrecPaths) -> list[RunSpec]:
    """One network run per sampling."""
    sh, seed = config[EXPERIMENT], int(config["seed"])
    specs = []
    for run in plan.planned_runs(sh):
        files = plan.projections(sh, run)
        rows = sum(_models(sh)[p.split] * p.copies for p in files.values())
        specs.append(RunSpec(
            run_id=run.run_id, experiment=EXPERIMENT, method=f"deepsphere_{run.sampling}",
            runner=NETWORK, config=plan.run_config(sh, run, seed),
            graphs=tuple(plan.required_graphs(sh, run.sampling)),
            inputs=run_inputs(files, paths.interim),
            data={"run": run.to_dict(), "shrec17": {k: sh[k] for k in RUN_KEYS}},
            record={"run": run.to_dict()}, timing_repeats=int(sh["timing"]["repeats"]),
            mem_mb=projection_mem_mb(rows, _pixels(sh, files["train"].grid)),
        ))
    return specs


def targets(paths: ShrecPaths) -> list[str]:
    """Table 1, Table 4 and the checks (CSV + MD), the six-channel figure."""
    tables = [f"{paths.results}/tables/{name}.{ext}" for name in ("table1", "table4", "checks")
              for ext in ("csv", "md")]
    return tables + [f"{paths.results}/figures/channels.png"]


def config_checks(config: dict) -> list[str]:
    """Checks across shrec17 keys (empty list: all good)."""
    sh = config.get(EXPERIMENT)
    if sh is None:
        return []
    errors = pooling_errors(EXPERIMENT, sh, sh["samplings"])
    missing = [s for s in sh["samplings"] if s not in sh["optimizers"]]
    if missing:
        errors.append(f"config key 'shrec17.optimizers': no optimizer for {missing}; add one")
    return errors
