"""Sphere study: equivariance error (paper Fig. 2), kernel widths (Fig. 3), filtering speed."""

from deepsphere.equivariance import study_graph_definition

SPHERE = config["sphere"]
SPHERE_EQ = SPHERE["equivariance"]
SPHERE_KW = SPHERE["kernel_widths"]
SPHERE_FS = SPHERE["filtering_speed"]
SPHERE_TABLES = "results/sphere/tables"
SPHERE_FIGURES = "results/sphere/figures"
SPHERE_METRICS = "results/sphere/metrics"


wildcard_constraints:
    sphere_graph=r"v1|knn[1-9][0-9]*",
    nside=r"[1-9][0-9]*",
    k=r"[1-9][0-9]*",


def sphere_study_graph(name, nside):
    """The graph file of a study graph (registers its definition with the graph rule)."""
    return graph_path(study_graph_definition(name, int(nside), nest=True))


def sphere_speed_graph(nside, patch_order=None):
    """The V1 graph timed by the filtering-speed rule: full sphere or NEST patch 0 of an order."""
    indexes = None if patch_order is None else {"order": int(patch_order), "patch": 0}
    definition = {"sampling": "healpix", "nside": int(nside), "nest": True}
    return graph_path({**definition, "indexes": indexes, "graph": "v1"})


def sphere_speed_graphs(nside):
    """The graphs the filtering-speed rule times at one nside: {"full": ..., "patch<o>": ...}."""
    graphs = {"full": sphere_speed_graph(nside)}
    for order in SPHERE_FS["patch_orders"]:
        graphs[f"patch{order}"] = sphere_speed_graph(nside, order)
    return graphs


def get_sphere_ell_step(wildcards):
    steps = {r["nside"]: r["ell_step"] for r in SPHERE_EQ["resolutions"]}
    return steps[int(wildcards.nside)]


def sphere_speed_mem_mb(wildcards):
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


rule sphere_equivariance_curve:
    input:
        graph=lambda wc: sphere_study_graph(wc.sphere_graph, wc.nside),
    output:
        f"{SPHERE_METRICS}/equivariance/{{sphere_graph}}_nside{{nside}}.csv",
    log:
        "logs/sphere/equivariance/{sphere_graph}_nside{nside}.log",
    benchmark:
        "benchmarks/workflow/sphere/equivariance/{sphere_graph}_nside{nside}.tsv"
    conda:
        "../envs/deepsphere.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        ell_step=get_sphere_ell_step,
        n_signals=SPHERE_EQ["n_signals"],
        n_rotations=SPHERE_EQ["n_rotations"],
        rotation=SPHERE_EQ["rotation"],
        map2alm_iter=SPHERE_EQ["map2alm_iter"],
        rotate_signal=SPHERE_EQ["rotate_signal"],
        seed=config["seed"],
    script:
        "../scripts/sphere_equivariance_curve.py"


rule sphere_equivariance_table:
    input:
        curves=SPHERE_CURVES,
    output:
        csv=f"{SPHERE_TABLES}/equivariance_error.csv",
        md=f"{SPHERE_TABLES}/equivariance_error.md",
        figure=f"{SPHERE_FIGURES}/equivariance_error.png",
    log:
        "logs/sphere/equivariance_table.log",
    conda:
        "../envs/deepsphere.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        factor=SPHERE["acceptance"]["error_factor"],
        ell_min=SPHERE["acceptance"]["ell_min"],
    script:
        "../scripts/sphere_equivariance_table.py"


rule sphere_kernel_width_search:
    input:
        graph=lambda wc: sphere_study_graph(f"knn{wc.k}", wc.nside),
    output:
        f"{SPHERE_METRICS}/kernel_widths/nside{{nside}}_k{{k}}.csv",
    log:
        "logs/sphere/kernel_widths/nside{nside}_k{k}.log",
    benchmark:
        "benchmarks/workflow/sphere/kernel_widths/nside{nside}_k{k}.tsv"
    conda:
        "../envs/deepsphere.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        n_grid=SPHERE_KW["n_grid"],
        span=SPHERE_KW["span"],
        refine=SPHERE_KW["refine"],
        n_signals=SPHERE_KW["n_signals"],
        n_rotations=SPHERE_KW["n_rotations"],
        slope=SPHERE_KW["spectrum_slope"],
        rotation=SPHERE_EQ["rotation"],
        map2alm_iter=SPHERE_EQ["map2alm_iter"],
        seed=config["seed"],
    script:
        "../scripts/sphere_kernel_width_search.py"


rule sphere_kernel_widths_table:
    input:
        searches=SPHERE_WIDTH_SEARCHES,
    output:
        csv=f"{SPHERE_TABLES}/kernel_widths.csv",
        md=f"{SPHERE_TABLES}/kernel_widths.md",
        v1=f"{SPHERE_TABLES}/kernel_widths_v1.csv",
        figure=f"{SPHERE_FIGURES}/kernel_widths.png",
    log:
        "logs/sphere/kernel_widths_table.log",
    benchmark:
        "benchmarks/workflow/sphere/kernel_widths_table.tsv"
    conda:
        "../envs/deepsphere.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc: 1000 + 12 * max(SPHERE_KW["v1_nsides"]) ** 2 * 150 // 2**20,
        runtime=20,
    params:
        v1_nsides=SPHERE_KW["v1_nsides"],
        rtol=SPHERE["acceptance"]["width_rtol"],
    script:
        "../scripts/sphere_kernel_widths_table.py"


# Takes every core so that no other job competes with the timings.
rule sphere_filtering_speed:
    input:
        unpack(lambda wc: sphere_speed_graphs(wc.nside)),
    output:
        f"{SPHERE_METRICS}/filtering_speed/nside{{nside}}.csv",
    log:
        "logs/sphere/filtering_speed/nside{nside}.log",
    benchmark:
        "benchmarks/workflow/sphere/filtering_speed/nside{nside}.tsv"
    conda:
        "../envs/deepsphere.yaml"
    threads: workflow.cores
    resources:
        mem_mb=sphere_speed_mem_mb,
        runtime=60,
    params:
        Ks=SPHERE_FS["chebyshev_K"],
        lmax_factors=SPHERE_FS["lmax_factors"],
        patch_orders=SPHERE_FS["patch_orders"],
        repeats=SPHERE_FS["repeats"],
        seed=config["seed"],
    script:
        "../scripts/sphere_filtering_speed.py"


rule sphere_filtering_speed_table:
    input:
        speeds=SPHERE_SPEEDS,
    output:
        csv=f"{SPHERE_TABLES}/filtering_speed.csv",
        md=f"{SPHERE_TABLES}/filtering_speed.md",
        figure=f"{SPHERE_FIGURES}/filtering_speed.png",
    log:
        "logs/sphere/filtering_speed_table.log",
    conda:
        "../envs/deepsphere.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/sphere_filtering_speed_table.py"


rule sphere_acceptance:
    input:
        equivariance=f"{SPHERE_TABLES}/equivariance_error.csv",
        kernel_widths=f"{SPHERE_TABLES}/kernel_widths.csv",
        filtering_speed=f"{SPHERE_TABLES}/filtering_speed.csv",
    output:
        csv=f"{SPHERE_TABLES}/acceptance.csv",
        md=f"{SPHERE_TABLES}/acceptance.md",
    log:
        "logs/sphere/acceptance.log",
    conda:
        "../envs/deepsphere.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        acceptance=SPHERE["acceptance"],
    script:
        "../scripts/sphere_acceptance.py"
