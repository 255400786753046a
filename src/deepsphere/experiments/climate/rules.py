"""What rules/climate.smk asks of the experiment: paths, run specs, targets, config checks and
memory estimates (Keras-free and Snakemake-free: the Snakefile imports it while parsing)."""

from __future__ import annotations

from collections.abc import Mapping

from deepsphere.experiments.climate import plan
from deepsphere.experiments.climate.sources import SPLIT_SIZES, SPLITS, manual_maps_dir
from deepsphere.workflow.resources import arrays_mem_mb
from deepsphere.workflow.runs import NETWORK, RunSpec

__all__ = ["ClimatePaths", "config_checks", "expected_maps", "figure_mem_mb", "figure_runs", "run_mem_mb",
           "run_specs", "split_maps", "targets", "unpack_inputs"]

EXPERIMENT = plan.EXPERIMENT
#: The keys a run depends on (adding a run or an architecture reruns nothing else).
RUN_KEYS = ("source", "standin", "shards", "model", "training")
_VERTICES, _CHANNELS, _CLASSES = 10242, 16, 3


class ClimatePaths:
    """Every path of the experiment under the configured roots."""

    def __init__(self, roots: Mapping, source: str):
        raw = f"{roots['raw']}/{EXPERIMENT}"
        self.download, self.standin = f"{raw}/download", f"{raw}/standin"
        self.raw = self.download if source == "download" else self.standin
        self.archive = f"{self.raw}/climate_sphere_l5.zip"
        self.interim = f"{roots['interim']}/{EXPERIMENT}"
        self.maps_record = f"{self.interim}/maps.json"
        self.statistics = f"{self.interim}/statistics.json"
        self.results = f"{roots['results']}/{EXPERIMENT}"
        self.source = source

    def split_list(self, split: str) -> str:
        return f"{self.raw}/{split}.txt"

    def shards(self, split: str) -> str:
        """The shard store of a split (a folder; its manifest.json is written last)."""
        return f"{self.interim}/shards/{split}"

    def metrics(self, run_id: str) -> str:
        return f"{self.results}/metrics/{run_id}.json"

    def predictions(self, run_id: str) -> str:
        return f"{self.results}/models/{run_id}/predictions.npz"


def unpack_inputs(cl: Mapping, paths: ClimatePaths) -> list[str]:
    """The unpack job's input: the archive, unless its unpacked ``data_5_all/`` folder was
    placed by hand (then nothing: the folder is used in place, no zip is downloaded)."""
    if cl["source"] == "download" and manual_maps_dir(cl["download"]["manual_dir"]):
        return []
    return [paths.archive]


def split_maps(cl: Mapping) -> dict[str, int]:
    """Maps per split: the real lists' sizes, or the stand-in's."""
    if cl["source"] == "download":
        return dict(SPLIT_SIZES)
    return {s: int(cl["standin"][f"n_{s}"]) for s in SPLITS}


def expected_maps(cl: Mapping, split: str) -> int:
    """The number of maps a split list must name."""
    return split_maps(cl)[split]


def run_mem_mb(cl: Mapping) -> int:
    """A run's host memory: the test predictions (maps x vertices x 3 float32, about three
    copies while scored), the report's per-class APs (an allowance of 80 bytes per test vertex
    for the float64 scores, sort indices and cumulative sums), and the activations of a batch (an allowance of 256 values per vertex and sample, 8 copies
    for the Chebyshev terms and gradients: on a CPU run they live in host memory)."""
    n_test = split_maps(cl)["test"]
    values = n_test * _VERTICES
    scores = arrays_mem_mb(values * _CLASSES, copies=3.0, base_mb=0)
    ap = arrays_mem_mb(values, bytes_per_value=8, copies=10.0, base_mb=0)  # measured ~80 B
    batch = arrays_mem_mb(int(cl["training"]["batch_size"]) * _VERTICES * 256, copies=8.0,
                          base_mb=0)
    return scores + ap + batch + 2000


def figure_mem_mb(cl: Mapping) -> int:
    """The map figure: one run's test probabilities at a time and two copies of the labels."""
    values = split_maps(cl)["test"] * _VERTICES
    return (arrays_mem_mb(values * _CLASSES, copies=1.5, base_mb=0)
            + arrays_mem_mb(values, bytes_per_value=1, copies=2.0, base_mb=0) + 1000)


def run_specs(config: Mapping, paths: ClimatePaths) -> list[RunSpec]:
    """One network run per (architecture, loss, repetition); see
    :mod:`~deepsphere.experiments.climate.plan`."""
    cl, seed = config[EXPERIMENT], int(config["seed"])
    inputs = {**{s: paths.shards(s) for s in SPLITS}, "statistics": paths.statistics}
    specs = []
    for run in plan.planned_runs(cl):
        specs.append(RunSpec(
            run_id=run.run_id, experiment=EXPERIMENT, method="deepsphere", runner=NETWORK,
            task="segmentation", config=plan.run_config(cl, run, seed),
            graphs=tuple(plan.required_graphs(cl, run.architecture)), inputs=inputs,
            data={"run": run.to_dict(), "window": int(cl["shards"]["window"]),
                  "climate": {k: cl[k] for k in RUN_KEYS
                              if k != "standin" or cl["source"] == "standin"}},
            record={"run": run.to_dict()},
            timing_repeats=int(cl["timing"]["repeats"]), mem_mb=run_mem_mb(cl),
        ))
    return specs


def targets(paths: ClimatePaths) -> list[str]:
    """Tables 3, 5, 6, 7 and the checks (CSV + MD), and the map figure."""
    tables = [f"{paths.results}/tables/{name}.{ext}"
              for name in ("table3", "table5", "table6", "table7", "checks")
              for ext in ("csv", "md")]
    return tables + [f"{paths.results}/figures/map.png"]


def figure_runs(cl: Mapping) -> list[str]:
    """The runs whose test predictions the map figure shows beside the truth:
    ``climate.figure.runs``, else the first run of each loss."""
    wanted = cl["figure"].get("runs")
    if wanted:
        return list(wanted)
    first = {}
    for run in plan.planned_runs(cl):
        first.setdefault(run.loss, run.run_id)
    return list(first.values())


def config_checks(config: Mapping) -> list[str]:
    """Checks across climate keys (empty list: all good)."""
    cl = config.get(EXPERIMENT)
    if cl is None:
        return []
    errors = []
    ids = []
    for i, r in enumerate(cl["runs"]):
        if r["architecture"] not in cl["architectures"]:
            errors.append(f"config key 'climate.runs[{i}].architecture' ({r['architecture']!r}) "
                          f"is not one of climate.architectures {sorted(cl['architectures'])}")
        ids += [f"{r['architecture']}-{r['loss']}"]
    if len(set(ids)) != len(ids):
        errors.append("config key 'climate.runs': an (architecture, loss) pair is listed twice; "
                      "list it once with the number of seeds")
    for name, arch in cl["architectures"].items():
        F, pool = arch["F"], arch["pool"]
        key = f"climate.architectures.{name}"
        if len(F) != len(pool):
            errors.append(f"config keys '{key}.F' ({len(F)} widths) and '{key}.pool' "
                          f"({len(pool)} entries): give one pool entry per conv")
        elif sum(pool) > 5:
            errors.append(f"config key '{key}.pool': {sum(pool)} levels dropped from level 5; "
                          "at most 5 (level 0 is the icosahedron)")
    runs = {r.run_id for r in plan.planned_runs(cl)} if not errors else set()
    unknown = [r for r in cl["figure"].get("runs") or [] if runs and r not in runs]
    if unknown:
        errors.append(f"config key 'climate.figure.runs': {unknown} are not planned runs; "
                      f"choose among {sorted(runs)}")
    compared = cl["acceptance"]["architecture"]
    losses = {r["loss"] for r in cl["runs"] if r["architecture"] == compared}
    if compared not in cl["architectures"] or losses != {"weighted", "nonweighted"}:
        errors.append(f"config key 'climate.acceptance.architecture' ({compared!r}): the checks "
                      "compare its weighted and non-weighted runs, so it must be one of "
                      f"climate.architectures {sorted(cl['architectures'])} with runs of both "
                      f"losses in climate.runs (it has {sorted(losses) or 'none'})")
    if cl["source"] == "standin":
        batch = int(cl["training"]["batch_size"])
        if cl["standin"]["n_train"] < batch:
            errors.append(f"config keys 'climate.standin.n_train' ({cl['standin']['n_train']}) "
                          f"and 'climate.training.batch_size' ({batch}): fewer training maps "
                          "than one batch; raise n_train or lower the batch size")
    return errors
