"""Config access, input functions and wildcard constraints shared by every stage."""

from deepsphere.graphs import graph_id
from deepsphere.workflow_config import estimate_graph_mem_mb


wildcard_constraints:
    graph_id=r"[A-Za-z0-9_.\-]+",
    notebook=r"[A-Za-z0-9_]+",


# Graph definitions registered at parse time, keyed by their file stem (graph_id).
# The graph rule looks its definition up here, so every graph a rule needs must be
# registered through graph_path() while the Snakefile is parsed.
GRAPH_DEFINITIONS = {}


def graph_path(definition):
    """Register a graph definition and return the file the graph rule builds for it."""
    key = graph_id(definition)
    GRAPH_DEFINITIONS[key] = definition
    return f"data/interim/graphs/{key}.npz"


def get_graph_definition(wildcards):
    try:
        return GRAPH_DEFINITIONS[wildcards.graph_id]
    except KeyError:
        raise WorkflowError(
            f"No graph definition is registered for 'data/interim/graphs/{wildcards.graph_id}.npz'. "
            "Graph files are only built for graphs that a rule asks for through graph_path()."
        ) from None


def get_graph_mem_mb(wildcards, attempt):
    """Memory for a graph build, grown on retry."""
    return estimate_graph_mem_mb(get_graph_definition(wildcards)) * attempt


def get_final_targets():
    """The final outputs of each experiment named in config["targets"] (the default target)."""
    targets = []
    if "sphere" in config["targets"]:
        targets += get_sphere_targets()
    if "cosmo" in config["targets"]:
        targets += get_cosmo_targets()
    if "notebooks" in config["targets"]:
        targets += get_notebook_targets()
    return targets


def get_notebook_parameters(wildcards):
    try:
        return config["notebooks"][wildcards.notebook]
    except KeyError:
        raise WorkflowError(
            f"Notebook '{wildcards.notebook}' has no parameters under config key 'notebooks'."
        ) from None


def get_notebook_targets():
    return [f"results/notebooks/{name}.ipynb" for name in config["notebooks"]]


# --- cosmo: input functions of rules/cosmo.smk ---
from deepsphere.experiments import cosmo_plan

# Every cosmo run, keyed by its file stem (run_id); the graphs of DeepSphere runs are
# registered here, at parse time, for the graph rule.
COSMO_RUNS = {}
if "cosmo" in config:
    for _run in cosmo_plan.planned_runs(config["cosmo"]):
        COSMO_RUNS[_run.run_id] = _run
        for _definition in cosmo_plan.required_graphs(config["cosmo"], _run):
            graph_path(_definition)

# The parts of config["cosmo"] a run depends on (params: a change reruns the runs; the grid
# and table lists are left out so that adding a cell reruns nothing else).
_COSMO_RUN_KEYS = (
    "preprocess",
    "val_fraction",
    "graphs",
    "deepsphere",
    "planar",
    "training",
    "baselines",
    "timing",
)


def get_cosmo_raw_files(wildcards):
    """The raw files of the configured source (downloaded, or generated stand-in data)."""
    source = config["cosmo"]["source"]
    names = ["README.md"] if source == "zenodo" else ["standin.json"]
    return [
        f"data/raw/cosmo/{source}/{n}" for n in names + ["training.zip", "testing.zip"]
    ]


def get_cosmo_run(wildcards):
    try:
        return COSMO_RUNS[wildcards.run]
    except KeyError:
        raise WorkflowError(
            f"'{wildcards.run}' is not a cosmo run of this config (cosmo.grid, cosmo.table2); "
            f"known runs: {sorted(COSMO_RUNS)}"
        ) from None


def get_cosmo_run_params(wildcards):
    cosmo = config["cosmo"]
    return {
        "run": get_cosmo_run(wildcards).to_dict(),
        "cosmo": {k: cosmo[k] for k in _COSMO_RUN_KEYS},
        "seed": config["seed"],
    }


def get_cosmo_run_inputs(wildcards):
    run = get_cosmo_run(wildcards)
    patches = "data/interim/cosmo/patches"
    return {
        "train": f"{patches}/training_o{run.order}.h5",
        "test": f"{patches}/testing_o{run.order}.h5",
        "normalisation": f"{patches}/normalisation_o{run.order}.json",
        "graphs": [
            graph_path(d) for d in cosmo_plan.required_graphs(config["cosmo"], run)
        ],
    }


def get_cosmo_mem_mb(wildcards, attempt):
    """Patches in memory (train, val, test, noisy copies) plus the model; grown on retry."""
    run = get_cosmo_run(wildcards)
    npix = 12 * config["cosmo"]["preprocess"]["nside"] ** 2
    maps = sum(
        (config["cosmo"]["maps_per_class"][s] or 20) for s in ("training", "testing")
    )
    return int((2000 + 2 * maps * npix * 4 * 6 / 1e6) * attempt)


def _cosmo_metrics(runs):
    return [f"results/cosmo/metrics/{r.run_id}.json" for r in runs]


def get_cosmo_all_metrics(wildcards):
    return _cosmo_metrics(sorted(COSMO_RUNS.values()))


def get_cosmo_table2_metrics(wildcards):
    return _cosmo_metrics(cosmo_plan.table2_runs(config["cosmo"]))


def get_cosmo_example_inputs(wildcards):
    order = config["cosmo"]["table2"]["order"]
    return {
        "maps": "data/interim/cosmo/maps",
        "patches": f"data/interim/cosmo/patches/testing_o{order}.h5",
        "normalisation": f"data/interim/cosmo/patches/normalisation_o{order}.json",
    }


def get_cosmo_targets():
    tables = [
        f"results/cosmo/tables/{name}.{ext}"
        for name in ("table2", "grid", "checks")
        for ext in ("csv", "md")
    ]
    figures = [
        "results/cosmo/figures/cost_accuracy.png",
        "results/cosmo/figures/example_maps.png",
    ]
    return tables + figures


# The cosmo steps live in cosmo.smk (steps only, for the linter). Included from here until
# the Snakefile includes rules/cosmo.smk itself (its owner's file).
include: "cosmo.smk"


# --- end cosmo ---
