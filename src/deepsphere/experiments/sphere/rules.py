"""What rules/sphere.smk asks of the sphere study: paths, graph definitions, targets, checks.

Snakemake-free (imported while the Snakefile is parsed); the rules file binds these to the
config and registers the graphs with the graph rule.
"""

from __future__ import annotations

from deepsphere.experiments.sphere.study import study_graph_definition

__all__ = ["SpherePaths", "config_checks", "speed_graph_definition", "study_graph_definition"]

EXPERIMENT = "sphere"


class SpherePaths:
    """The study's outputs under the configured results root."""

    def __init__(self, roots: dict, sphere: dict):
        root = f"{roots['results']}/{EXPERIMENT}"
        self.tables, self.figures, self.metrics = (f"{root}/tables", f"{root}/figures",
                                                   f"{root}/metrics")
        eq, kw, fs = sphere["equivariance"], sphere["kernel_widths"], sphere["filtering_speed"]
        self.curves = [f"{self.metrics}/equivariance/{g}_nside{r['nside']}.csv"
                       for r in eq["resolutions"] for g in eq["graphs"]]
        self.width_searches = [f"{self.metrics}/kernel_widths/nside{s['nside']}_k{s['k']}.csv"
                               for s in kw["search"]]
        self.speeds = [f"{self.metrics}/filtering_speed/nside{n}.csv" for n in fs["nsides"]]

    def targets(self) -> list[str]:
        """Three paper-vs-ours tables with figures, the V1 widths and the verdict."""
        names = ["equivariance_error", "kernel_widths", "filtering_speed"]
        return ([f"{self.tables}/{n}.{ext}" for n in names for ext in ("csv", "md")]
                + [f"{self.figures}/{n}.png" for n in names]
                + [f"{self.tables}/kernel_widths_v1.csv"]
                + [f"{self.tables}/acceptance.csv", f"{self.tables}/acceptance.md"])


def speed_graph_definition(nside, patch_order=None) -> dict:
    """The V1 graph timed by the filtering-speed rule: full sphere or NEST patch 0 of an order."""
    indexes = None if patch_order is None else {"order": int(patch_order), "patch": 0}
    return {"sampling": "healpix", "nside": int(nside), "nest": True, "indexes": indexes,
            "graph": "v1"}


def study_graphs(sphere: dict) -> list[dict]:
    """Every graph definition the study needs (registered at parse time)."""
    eq, kw, fs = sphere["equivariance"], sphere["kernel_widths"], sphere["filtering_speed"]
    out = [study_graph_definition(g, r["nside"]) for r in eq["resolutions"] for g in eq["graphs"]]
    out += [study_graph_definition(f"knn{s['k']}", s["nside"]) for s in kw["search"]]
    for n in fs["nsides"]:
        out += [speed_graph_definition(n)] + [speed_graph_definition(n, o)
                                              for o in fs["patch_orders"]]
    return out


def config_checks(config: dict) -> list[str]:
    """The acceptance must check what is computed; a patch order must fit every nside."""
    sphere = config.get(EXPERIMENT)
    if sphere is None:
        return []
    errors = []
    a, eq, kw, fs = (sphere["acceptance"], sphere["equivariance"], sphere["kernel_widths"],
                     sphere["filtering_speed"])
    computed = {r["nside"] for r in eq["resolutions"]}
    missing = sorted(set(a["error_nsides"]) - computed)
    if missing:
        errors.append(f"config key 'sphere.acceptance.error_nsides': {missing} not in "
                      "'sphere.equivariance.resolutions'; compute them or drop them")
    searched = {s["nside"] for s in kw["search"] if s["k"] == a["width_k"]}
    missing = sorted(set(a["width_nsides"]) - searched)
    if missing:
        errors.append(f"config key 'sphere.acceptance.width_nsides': {missing} not searched with "
                      f"k={a['width_k']} in 'sphere.kernel_widths.search'; add them or drop them")
    for order in fs["patch_orders"]:
        bad = [n for n in fs["nsides"] if n % int(order) or n // int(order) < 1]
        if bad:
            errors.append(f"config keys 'sphere.filtering_speed.patch_orders' ({order}) and "
                          f"'sphere.filtering_speed.nsides' ({bad}): an order-{order} patch needs "
                          "an nside divisible by the order")
    return errors
