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
def get_cosmo_targets():
    return []

# --- end cosmo ---
