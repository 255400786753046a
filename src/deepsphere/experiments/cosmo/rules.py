"""What rules/cosmo.smk asks of the experiment: its paths, run specs, targets and config checks.

Keras-free and Snakemake-free (the Snakefile imports it while parsing); the rules file holds
only the rules and binds these to the config.
"""

from __future__ import annotations

from deepsphere.experiments.cosmo import plan
from deepsphere.geometry.definitions import graph_vertex_count
from deepsphere.workflow.resources import arrays_mem_mb
from deepsphere.workflow.runs import NETWORK, RunSpec

__all__ = ["CosmoPaths", "config_checks", "run_specs", "targets"]

EXPERIMENT = "cosmo"
#: The parts of the cosmo section a run depends on (a change reruns the runs; the grid and
#: table lists are left out so that adding a cell reruns nothing else).
RUN_KEYS = ("preprocess", "val_fraction", "graphs", "deepsphere", "planar", "training",
            "baselines", "timing")


class CosmoPaths:
    """Every path of the experiment under the configured roots."""

    def __init__(self, roots: dict, source: str):
        self.zenodo = f"{roots['raw']}/{EXPERIMENT}/zenodo"
        self.standin = f"{roots['raw']}/{EXPERIMENT}/standin"
        self.raw = self.zenodo if source == "zenodo" else self.standin
        self.interim = f"{roots['interim']}/{EXPERIMENT}"
        self.maps = f"{self.interim}/maps"
        self.patches = f"{self.interim}/patches"
        self.results = f"{roots['results']}/{EXPERIMENT}"
        self.source = source

    def raw_files(self) -> list[str]:
        """The raw files of the configured source (downloaded, or generated stand-in data)."""
        names = ["README.md"] if self.source == "zenodo" else ["standin.json"]
        return [f"{self.raw}/{n}" for n in names + ["training.zip", "testing.zip"]]

    def run_inputs(self, order: int) -> dict:
        return {"train": f"{self.patches}/training_o{order}.h5",
                "test": f"{self.patches}/testing_o{order}.h5",
                "normalisation": f"{self.patches}/normalisation_o{order}.json"}

    def metrics(self, run_id: str) -> str:
        return f"{self.results}/metrics/{run_id}.json"


def _mem_mb(cosmo: dict) -> int:
    """Patches in memory (train, val, test, noisy copies) plus the model."""
    npix = 12 * int(cosmo["preprocess"]["nside"]) ** 2
    maps = sum((cosmo["maps_per_class"][s] or 20) for s in ("training", "testing"))
    return arrays_mem_mb(2 * maps * npix, copies=6 * 2**20 / 1e6)


def run_specs(config: dict, paths: CosmoPaths) -> list[RunSpec]:
    """One :class:`RunSpec` per planned cell: network runs and SVM runs (runner ``svm``)."""
    cosmo, seed = config[EXPERIMENT], int(config["seed"])
    data = {"cosmo": {k: cosmo[k] for k in RUN_KEYS}, "seed": seed}
    specs = []
    for run in plan.planned_runs(cosmo):
        svm = run.method in plan.SVM_METHODS
        specs.append(RunSpec(
            run_id=run.run_id, experiment=EXPERIMENT, method=run.method,
            runner="svm" if svm else NETWORK,
            model_kind="planar" if run.method in plan.PLANAR_METHODS else "sphere",
            config={} if svm else plan.run_config(cosmo, run, seed),
            graphs=tuple(plan.required_graphs(cosmo, run)),
            inputs=paths.run_inputs(run.order), data={**data, "run": run.to_dict()},
            record={"run": run.to_dict()}, timing_repeats=int(cosmo["timing"]["repeats"]),
            mem_mb=_mem_mb(cosmo),
        ))
    return specs


def targets(paths: CosmoPaths) -> list[str]:
    """The final outputs: Table 2, the grid and the checks (CSV + MD), two figures."""
    tables = [f"{paths.results}/tables/{name}.{ext}"
              for name in ("table2", "grid", "checks") for ext in ("csv", "md")]
    figures = [f"{paths.results}/figures/cost_accuracy.png",
               f"{paths.results}/figures/example_maps.png"]
    return tables + figures


def config_checks(config: dict) -> list[str]:
    """Checks across cosmo keys, each message naming the keys (empty list: all good)."""
    cosmo = config.get(EXPERIMENT)
    if cosmo is None:
        return []
    errors = []
    nside = int(cosmo["preprocess"]["nside"])
    if cosmo["source"] == "standin":
        s = cosmo["standin"]
        if nside > int(s["nside"]):
            errors.append(
                f"config keys 'cosmo.preprocess.nside' ({nside}) and 'cosmo.standin.nside' "
                f"({s['nside']}): the maps are never up-graded; lower the preprocess nside or "
                "raise the stand-in nside")
        for split, key in (("training", "n_train_per_class"), ("testing", "n_test_per_class")):
            wanted = cosmo["maps_per_class"][split]
            if wanted is not None and int(wanted) > int(s[key]):
                errors.append(
                    f"config keys 'cosmo.maps_per_class.{split}' ({wanted}) and "
                    f"'cosmo.standin.{key}' ({s[key]}): more maps per class than the stand-in "
                    f"generates; lower the first or raise the second")
    orders = sorted(set(cosmo["grid"]["orders"]) | {cosmo["table2"]["order"]})
    for order in orders:
        side = nside // int(order) if nside % int(order) == 0 else 0
        if side < 8:
            errors.append(
                f"config keys 'cosmo.preprocess.nside' ({nside}) and the patch order {order} "
                "('cosmo.grid.orders' / 'cosmo.table2.order'): a patch would be "
                f"{max(side, 0)} x {max(side, 0)} pixels (at least 8 x 8 are needed for the "
                "PSD and the 2-D baselines); use a smaller order or a larger nside")
    if not errors:
        errors += _graph_size_errors(cosmo)
    return errors


def _graph_size_errors(cosmo: dict) -> list[str]:
    """A kNN k at least a conv level's vertex count (FCN convs at nside / 2^i, i <= len(F);
    CNN convs i < len(F); an order-o patch of nside n has (n / o)^2 vertices)."""
    errors = []
    nside, n_pool = int(cosmo["preprocess"]["nside"]), len(cosmo["deepsphere"]["F"])
    for run in plan.planned_runs(cosmo):
        if run.method not in plan.SPHERE_METHODS:
            continue
        k = cosmo["graphs"][run.graph].get("k")
        levels = n_pool + 1 if run.method == "fcn" else n_pool
        for level in range(levels if k is not None else 0):
            n = graph_vertex_count({"sampling": "healpix", "nside": nside // 2**level,
                                    "indexes": {"order": int(run.order), "patch": 0}})
            if int(k) >= n:
                errors.append(
                    f"config key 'cosmo.graphs.{run.graph}.k' ({k}): conv level {level} of "
                    f"the order-{run.order} patches has only {n} vertices (from "
                    "'cosmo.preprocess.nside' and the pooling levels of 'cosmo.deepsphere.F'); "
                    "use a smaller k, a shorter F or a larger nside")
                break
    return sorted(set(errors))
