"""What rules/modelnet40.smk asks of the experiment: paths, run specs, targets, config checks.

Keras-free and Snakemake-free (the Snakefile imports it while parsing).
"""

from __future__ import annotations

from deepsphere.experiments.modelnet40 import plan
from deepsphere.experiments.shapes.raw_files import raw_names
from deepsphere.workflow.resources import arrays_mem_mb
from deepsphere.workflow.runs import NETWORK, RunSpec

__all__ = ["ModelNetPaths", "config_checks", "run_specs", "targets"]

EXPERIMENT = plan.EXPERIMENT
#: The keys a run depends on (the settings list is left out: adding one reruns nothing else).
RUN_KEYS = ("source", "standin", "skip_unreadable", "nside", "max_translation", "copies",
            "val_fraction", "F", "training")


class ModelNetPaths:
    """Every path of the experiment under the configured roots."""

    def __init__(self, roots: dict, source: str):
        self.download = f"{roots['raw']}/{EXPERIMENT}/download"
        self.standin = f"{roots['raw']}/{EXPERIMENT}/standin"
        self.raw = self.download if source == "download" else self.standin
        self.interim = roots["interim"]
        self.meshes = f"{roots['interim']}/{EXPERIMENT}/meshes"
        self.results = f"{roots['results']}/{EXPERIMENT}"
        self.source = source

    def raw_files(self) -> list[str]:
        extra = ["standin.json"] if self.source == "standin" else []
        return [f"{self.raw}/{n}" for n in (*raw_names(EXPERIMENT), *extra)]

    def metrics(self, run_id: str) -> str:
        return f"{self.results}/metrics/{run_id}.json"


def _mem_mb(mn: dict, n_rows: int) -> int:
    npix = 12 * int(mn["nside"]) ** 2
    return arrays_mem_mb(n_rows * npix * 6, copies=3)


def _row_estimate(mn: dict) -> int:
    totals = ({"train": 9843, "test": 2468} if mn["source"] == "download" else
                 {"train": mn["standin"]["n_train"] * mn["standin"]["classes"],
                  "test": mn["standin"]["n_test"] * mn["standin"]["classes"]})
    return (totals["train"] * int(mn["copies"]["train"])
            + 4 * totals["test"] * int(mn["copies"]["test"]))


def run_specs(config: dict, paths: ModelNetPaths) -> list[RunSpec]:
    """One network run per training rotation (see :mod:`~deepsphere.experiments.modelnet40.plan`)."""
    mn, seed = config[EXPERIMENT], int(config["seed"])
    graphs = tuple(plan.required_graphs(mn))
    specs = []
    for run in plan.planned_runs(mn):
        files = plan.projections(mn, run)
        inputs = {k: p.path(paths.interim) for k, p in files.items()}
        inputs["statistics"] = files["train"].statistics_path(paths.interim)
        specs.append(RunSpec(
            run_id=run.run_id, experiment=EXPERIMENT, method="deepsphere", runner=NETWORK,
            config=plan.run_config(mn, run, seed), graphs=graphs, inputs=inputs,
            data={"run": run.to_dict(), "val_fraction": float(mn["val_fraction"]),
                  "seed": seed, "modelnet40": {k: mn[k] for k in RUN_KEYS}},
            record={"run": {**run.to_dict(), "run_id": run.run_id}},
            timing_repeats=int(mn["timing"]["repeats"]), mem_mb=_mem_mb(mn, _row_estimate(mn)),
        ))
    return specs


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
    levels = len(mn["F"])
    if int(mn["nside"]) < 2**levels:
        errors.append(
            f"config keys 'modelnet40.nside' ({mn['nside']}) and 'modelnet40.F' ({levels} "
            f"widths): {levels} poolings by 4 need nside >= {2**levels}; raise nside or drop "
            "widths")
    if mn["source"] == "standin":
        n_val = mn["val_fraction"] * mn["standin"]["n_train"]
        if round(n_val) < 1 or round(n_val) >= mn["standin"]["n_train"]:
            errors.append(
                f"config keys 'modelnet40.val_fraction' ({mn['val_fraction']}) and "
                f"'modelnet40.standin.n_train' ({mn['standin']['n_train']}): no validation "
                "mesh (or no training mesh) per class; change one of them")
    return errors
