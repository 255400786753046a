"""What rules/ghcn.smk asks of the experiment: paths, run specs, targets, config checks and
memory estimates (Keras-free and Snakemake-free: the Snakefile imports it while parsing)."""

from __future__ import annotations

from collections.abc import Mapping

from deepsphere.experiments.ghcn import plan
from deepsphere.experiments.ghcn.sources import STATIONS, year_file
from deepsphere.experiments.ghcn.tasks import TASKS
from deepsphere.workflow.resources import arrays_mem_mb
from deepsphere.workflow.runs import NETWORK, RunSpec

__all__ = ["GhcnPaths", "config_checks", "figure_run", "run_mem_mb", "run_specs",
           "station_sets", "targets"]

EXPERIMENT = plan.EXPERIMENT
#: The keys a run depends on (adding a task or an order reruns nothing else).
RUN_KEYS = ("source", "years", "standin", "coverage", "graph", "window", "split", "model",
            "training")
#: Allowances (not measured: the real files were never read here) for the memory estimates:
#: stations reporting in a year, and days of a leap year.
_REAL_STATIONS, _DAYS_PER_YEAR = 40_000, 366


class GhcnPaths:
    """Every path of the experiment under the configured roots."""

    def __init__(self, roots: Mapping, source: str):
        raw = f"{roots['raw']}/{EXPERIMENT}"
        self.download, self.standin = f"{raw}/download", f"{raw}/standin"
        self.raw = self.download if source == "download" else self.standin
        self.interim = f"{roots['interim']}/{EXPERIMENT}"
        self.results = f"{roots['results']}/{EXPERIMENT}"

    @property
    def stations(self) -> str:
        return f"{self.raw}/{STATIONS}"

    def year_csv(self, year) -> str:
        return f"{self.raw}/{year_file(year)}"

    def year_arrays(self, year) -> str:
        return f"{self.interim}/years/{year}.h5"

    def station_set(self, name: str) -> str:
        return f"{self.interim}/sets/{name}.h5"

    def positions(self, name: str) -> str:
        return f"{self.interim}/sets/{name}-positions.csv"

    def metrics(self, run_id: str) -> str:
        return f"{self.results}/metrics/{run_id}.json"

    def predictions(self, run_id: str) -> str:
        return f"{self.results}/models/{run_id}/predictions.npz"


def station_sets(gh: Mapping) -> dict[str, list[str]]:
    """``{set name: elements}`` of the configured tasks."""
    return {plan.station_set_name(t): list(TASKS[t].elements) for t in gh["tasks"]}


def _n_stations(gh: Mapping) -> int:
    return int(gh["standin"]["n_stations"]) if gh["source"] == "standin" else _REAL_STATIONS


def parse_mem_mb(gh: Mapping) -> int:
    """A year's parse: three (stations x 366) float32 grids over the whole station list (an
    allowance of 160,000 listed stations for the real list) and pyarrow's blocks."""
    listed = int(gh["standin"]["n_stations"]) if gh["source"] == "standin" else 160_000
    return arrays_mem_mb(3 * listed * _DAYS_PER_YEAR, copies=2.0, base_mb=1500)


def set_mem_mb(gh: Mapping) -> int:
    """Joining the years: three element grids of the reporting stations over every day, twice."""
    values = 3 * _n_stations(gh) * _DAYS_PER_YEAR * len(gh["years"])
    return arrays_mem_mb(values, copies=3.0, base_mb=1000)


def run_mem_mb(gh: Mapping) -> int:
    """A run holds every sample of its task in memory: dense, 2 x days samples of stations x
    (window + 1) values, a few copies while split and standardised."""
    days = _DAYS_PER_YEAR * len(gh["years"])
    values = 2 * days * _n_stations(gh) * (int(gh["window"]) + 2)
    return arrays_mem_mb(values, copies=4.0, base_mb=2000)


def run_specs(config: Mapping, paths: GhcnPaths) -> list[RunSpec]:
    """One network run per (task, order, repetition); see :mod:`~deepsphere.experiments.ghcn.plan`."""
    gh, seed = config[EXPERIMENT], int(config["seed"])
    specs = []
    for run in plan.planned_runs(gh):
        name = plan.station_set_name(run.task)
        positions = paths.positions(name)
        specs.append(RunSpec(
            run_id=run.run_id, experiment=EXPERIMENT, method="deepsphere", runner=NETWORK,
            task="regression", config=plan.run_config(gh, run, seed, positions),
            graphs=(plan.graph_definition(gh, positions),),
            inputs={"stations": paths.station_set(name), "positions": positions},
            data={"run": run.to_dict(), "window": int(gh["window"]), "split": dict(gh["split"]),
                  "ghcn": {k: gh[k] for k in RUN_KEYS
                           if k != "standin" or gh["source"] == "standin"}},
            record={"run": run.to_dict()},
            timing_repeats=int(gh["timing"]["repeats"]), mem_mb=run_mem_mb(gh),
        ))
    return specs


def figure_run(gh: Mapping) -> str:
    """The run whose per-station test error the map shows (``ghcn.figure``, repetition 0)."""
    f = gh["figure"]
    return plan.GhcnRun(f["task"], int(f["order"]), 0).run_id


def targets(paths: GhcnPaths) -> list[str]:
    """Table 8 and the checks (CSV + MD), and the station error map."""
    tables = [f"{paths.results}/tables/{name}.{ext}" for name in ("table8", "checks")
              for ext in ("csv", "md")]
    return tables + [f"{paths.results}/figures/error_map.png"]


def config_checks(config: Mapping) -> list[str]:
    """Checks across GHCN keys (empty list: all good)."""
    gh = config.get(EXPERIMENT)
    if gh is None:
        return []
    errors = []
    years = [int(y) for y in gh["years"]]
    if years != list(range(years[0], years[0] + len(years))):
        errors.append(f"config key 'ghcn.years' ({years}): give consecutive years in order "
                      "(the splits are chronological over one run of days)")
    unknown = [t for t in gh["tasks"] if t not in TASKS]
    if unknown:
        errors.append(f"config key 'ghcn.tasks': {unknown} are not tasks; choose among "
                      f"{sorted(TASKS)}")
    if len(set(gh["tasks"])) != len(gh["tasks"]):
        errors.append("config key 'ghcn.tasks': a task is listed twice")
    f, a = gh["figure"], gh["acceptance"]
    if f["task"] not in gh["tasks"] or int(f["order"]) not in gh["orders"]:
        errors.append(f"config key 'ghcn.figure' ({dict(f)}): the task and order must be among "
                      f"ghcn.tasks {list(gh['tasks'])} and ghcn.orders {list(gh['orders'])}")
    for key in ("better", "than"):
        if int(a[key]) not in gh["orders"]:
            errors.append(f"config key 'ghcn.acceptance.{key}' ({a[key]}): not one of "
                          f"ghcn.orders {list(gh['orders'])}")
    if gh["source"] == "standin" and int(gh["graph"]["k"]) >= int(gh["standin"]["n_stations"]):
        errors.append(f"config keys 'ghcn.graph.k' ({gh['graph']['k']}) and "
                      f"'ghcn.standin.n_stations' ({gh['standin']['n_stations']}): k must be "
                      "smaller than the number of stations")
    return errors
