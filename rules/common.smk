"""Config access, input functions and wildcard constraints shared by every stage."""

from deepsphere.experiments.sphere.study import study_graph_definition
from deepsphere.geometry.graphs import graph_id
from deepsphere.workflow.config import estimate_graph_mem_mb


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


# --- sphere: input functions and targets of rules/sphere.smk ---
SPHERE = config["sphere"]
SPHERE_EQ = SPHERE["equivariance"]
SPHERE_KW = SPHERE["kernel_widths"]
SPHERE_FS = SPHERE["filtering_speed"]
SPHERE_TABLES = "results/sphere/tables"
SPHERE_FIGURES = "results/sphere/figures"
SPHERE_METRICS = "results/sphere/metrics"


def sphere_study_graph(name, nside):
    """The graph file of a study graph (registers its definition with the graph rule)."""
    return graph_path(study_graph_definition(name, int(nside), nest=True))


def sphere_speed_graph(nside, patch_order=None):
    """The V1 graph timed by the filtering-speed rule: full sphere or NEST patch 0 of an order."""
    indexes = None if patch_order is None else {"order": int(patch_order), "patch": 0}
    definition = {"sampling": "healpix", "nside": int(nside), "nest": True}
    return graph_path({**definition, "indexes": indexes, "graph": "v1"})


def sphere_speed_graphs(nside):
    """The graphs whose filtering is timed at one nside: {"full": ..., "patch<o>": ...}."""
    graphs = {"full": sphere_speed_graph(nside)}
    for order in SPHERE_FS["patch_orders"]:
        graphs[f"patch{order}"] = sphere_speed_graph(nside, order)
    return graphs


def get_sphere_ell_step(wildcards):
    steps = {r["nside"]: r["ell_step"] for r in SPHERE_EQ["resolutions"]}
    return steps[int(wildcards.nside)]


def get_sphere_speed_mem_mb(wildcards):
    return 1000 + int(12 * int(wildcards.nside) ** 2 * 240 / 2**20)


SPHERE_CURVES = [
    f"{SPHERE_METRICS}/equivariance/{g}_nside{r['nside']}.csv"
    for r in SPHERE_EQ["resolutions"]
    for g in SPHERE_EQ["graphs"]
]
SPHERE_WIDTH_SEARCHES = [
    f"{SPHERE_METRICS}/kernel_widths/nside{s['nside']}_k{s['k']}.csv"
    for s in SPHERE_KW["search"]
]
SPHERE_SPEEDS = [
    f"{SPHERE_METRICS}/filtering_speed/nside{n}.csv" for n in SPHERE_FS["nsides"]
]

# Register every graph at parse time (the graph rule looks definitions up by file stem).
for _r in SPHERE_EQ["resolutions"]:
    for _g in SPHERE_EQ["graphs"]:
        sphere_study_graph(_g, _r["nside"])
for _s in SPHERE_KW["search"]:
    sphere_study_graph(f"knn{_s['k']}", _s["nside"])
for _n in SPHERE_FS["nsides"]:
    sphere_speed_graphs(_n)


def get_sphere_targets():
    """The final sphere outputs: three paper-vs-ours tables with figures, and the verdict."""
    names = ["equivariance_error", "kernel_widths", "filtering_speed"]
    return (
        [f"{SPHERE_TABLES}/{n}.{ext}" for n in names for ext in ("csv", "md")]
        + [f"{SPHERE_FIGURES}/{n}.png" for n in names]
        + [f"{SPHERE_TABLES}/kernel_widths_v1.csv"]
        + [f"{SPHERE_TABLES}/acceptance.csv", f"{SPHERE_TABLES}/acceptance.md"]
    )


def get_sphere_study_graph(wildcards):
    return sphere_study_graph(wildcards.sphere_graph, wildcards.nside)


def get_sphere_width_graph(wildcards):
    return sphere_study_graph(f"knn{wildcards.k}", wildcards.nside)


def get_sphere_speed_graphs(wildcards):
    return sphere_speed_graphs(wildcards.nside)


# --- end sphere ---


# --- cosmo: input functions of rules/cosmo.smk ---
from deepsphere.experiments.cosmo import plan as cosmo_plan

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

# --- end cosmo ---
