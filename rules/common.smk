"""What every experiment shares: the roots, the graph, run and targets registries."""

from deepsphere.geometry.definitions import graph_id
from deepsphere.workflow.config import path_roots, targeted_experiments
from deepsphere.workflow.resources import graph_mem_mb
from deepsphere.workflow.runs import RunRegistry


wildcard_constraints:
    graph_id=r"[A-Za-z0-9_.\-]+",


ROOTS = path_roots(config)
RESULTS, INTERIM = ROOTS["results"], ROOTS["interim"]
GRAPHS = f"{INTERIM}/graphs"

# Graph definitions registered at parse time, keyed by their file stem (graph_id). The graph
# rule looks its definition up here, so every graph a rule needs must be registered through
# graph_path() while the Snakefile is parsed.
GRAPH_DEFINITIONS = {}
# Every run of every experiment (deepsphere.workflow.runs.RunSpec), filled by the rules files.
RUNS = RunRegistry()
# experiment -> its final outputs, filled by each rules file; rule all takes those targeted.
TARGETS = {}
# The summary page of the targeted experiments (rules/report.smk); rule all takes it too.
REPORT_TARGETS = []


def graph_path(definition):
    """Register a graph definition and return the file the graph rule builds for it."""
    key = graph_id(definition)
    GRAPH_DEFINITIONS[key] = definition
    return f"{GRAPHS}/{key}.npz"


def get_graph_definition(wildcards):
    try:
        return GRAPH_DEFINITIONS[wildcards.graph_id]
    except KeyError:
        raise WorkflowError(
            f"No graph definition is registered for '{GRAPHS}/{wildcards.graph_id}.npz'. "
            "Graph files are only built for graphs that a rule asks for through graph_path()."
        ) from None


def get_graph_positions(wildcards):
    """The positions file of a data-defined graph (made by another rule), else nothing."""
    definition = get_graph_definition(wildcards)
    return [definition["positions"]] if "positions" in definition else []


def get_graph_mem_mb(wildcards, attempt):
    return graph_mem_mb(get_graph_definition(wildcards), attempt)


def register_runs(specs):
    """Register runs and the graphs they need; returns the specs."""
    specs = list(specs)
    RUNS.register(specs)
    for spec in specs:
        for definition in spec.graphs:
            graph_path(definition)
    return specs


def get_run(wildcards):
    try:
        return RUNS.get(wildcards.experiment, wildcards.run)
    except KeyError as err:
        raise WorkflowError(str(err)) from None


def get_run_spec(wildcards):
    return get_run(wildcards).to_dict()


def get_run_inputs(wildcards):
    spec = get_run(wildcards)
    return {**spec.inputs, "graphs": [graph_path(d) for d in spec.graphs]}


def get_run_mem_mb(wildcards, attempt):
    return get_run(wildcards).mem_mb * attempt


def get_final_targets():
    """The final outputs of every targeted experiment and the summary page (the default
    target)."""
    names = targeted_experiments(config)
    return [t for name in names for t in TARGETS.get(name, [])] + REPORT_TARGETS
