"""What rules/shrec17.smk asks of the experiment: paths, run specs, targets, config checks.

Keras-free and Snakemake-free (the Snakefile imports it while parsing).
"""

from __future__ import annotations

from deepsphere.experiments.shapes.raw_files import raw_names
from deepsphere.experiments.shrec17 import plan
from deepsphere.workflow.resources import arrays_mem_mb
from deepsphere.workflow.runs import NETWORK, RunSpec

__all__ = ["ShrecPaths", "config_checks", "run_specs", "targets"]

EXPERIMENT = plan.EXPERIMENT
RUN_KEYS = ("source", "standin", "skip_unreadable", "nside", "bandwidth", "rotation",
            "max_translation", "copies", "F", "triplet_loss", "training", "optimizers")
#: Models per split of the real data (SHREC'17 ShapeNet Core55; for the memory estimate).
_REAL_SIZES = {"train": 35764, "val": 5133, "test": 10265}  # 51,162 in all


class ShrecPaths:
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

    def predictions(self, run_id: str) -> str:
        return f"{self.results}/models/{run_id}/predictions.npz"

    def retrieval(self, run_id: str) -> str:
        return f"{self.results}/retrieval/{run_id}.json"

    def evaluator(self, run_id: str) -> str:
        """The official evaluator's input, zipped (``test_perturbed/<query id>``)."""
        return f"{self.results}/evaluator/{run_id}/test_perturbed.zip"


def _mem_mb(sh: dict, sampling: str) -> int:
    npix = 12 * sh["nside"] ** 2 if sampling == "healpix" else 4 * sh["bandwidth"] ** 2
    if sh["source"] == "download":
        sizes = _REAL_SIZES
    else:
        sizes = {s: sh["standin"]["n_per_split"][s] * sh["standin"]["synsets"] for s in _REAL_SIZES}
    rows = sum(sizes[s] * int(sh["copies"][s]) for s in sizes)
    return arrays_mem_mb(rows * npix * 6, copies=3)


def run_specs(config: dict, paths: ShrecPaths) -> list[RunSpec]:
    """One network run per sampling."""
    sh, seed = config[EXPERIMENT], int(config["seed"])
    specs = []
    for run in plan.planned_runs(sh):
        files = plan.projections(sh, run)
        inputs = {k: p.path(paths.interim) for k, p in files.items()}
        inputs["statistics"] = files["train"].statistics_path(paths.interim)
        specs.append(RunSpec(
            run_id=run.run_id, experiment=EXPERIMENT, method=f"deepsphere_{run.sampling}",
            runner=NETWORK, config=plan.run_config(sh, run, seed),
            graphs=tuple(plan.required_graphs(sh, run.sampling)), inputs=inputs,
            data={"run": run.to_dict(), "shrec17": {k: sh[k] for k in RUN_KEYS}},
            record={"run": run.to_dict()}, timing_repeats=int(sh["timing"]["repeats"]),
            mem_mb=_mem_mb(sh, run.sampling),
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
    errors = []
    levels = len(sh["F"])
    if "healpix" in sh["samplings"] and int(sh["nside"]) < 2**levels:
        errors.append(
            f"config keys 'shrec17.nside' ({sh['nside']}) and 'shrec17.F' ({levels} widths): "
            f"{levels} poolings by 4 need nside >= {2**levels}; raise nside or drop widths")
    if "equiangular" in sh["samplings"] and int(sh["bandwidth"]) < 2**levels:
        errors.append(
            f"config keys 'shrec17.bandwidth' ({sh['bandwidth']}) and 'shrec17.F' ({levels} "
            f"widths): {levels} 2x2 poolings need bandwidth >= {2**levels}; raise the "
            "bandwidth or drop widths")
    missing = [s for s in sh["samplings"] if s not in sh["optimizers"]]
    if missing:
        errors.append(f"config key 'shrec17.optimizers': no optimizer for {missing}; add one")
    return errors
