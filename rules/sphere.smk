"""Sphere study: equivariance error (paper Fig. 2), kernel widths (Fig. 3), filtering speed."""

from deepsphere.experiments.sphere import rules as sphere_rules
from deepsphere.workflow.resources import filtering_speed_mem_mb, v1_heuristic_mem_mb

SPHERE = config["sphere"]
SPHERE_EQ = SPHERE["equivariance"]
SPHERE_KW = SPHERE["kernel_widths"]
SPHERE_FS = SPHERE["filtering_speed"]
SPHERE_PATHS = sphere_rules.SpherePaths(ROOTS, SPHERE)
SPHERE_TABLES, SPHERE_FIGURES, SPHERE_METRICS = (
    SPHERE_PATHS.tables,
    SPHERE_PATHS.figures,
    SPHERE_PATHS.metrics,
)
SPHERE_ELL_STEPS = {r["nside"]: r["ell_step"] for r in SPHERE_EQ["resolutions"]}
for _definition in sphere_rules.study_graphs(SPHERE):
    graph_path(_definition)
TARGETS["sphere"] = SPHERE_PATHS.targets()


wildcard_constraints:
    sphere_graph=r"v1|knn[1-9][0-9]*",
    nside=r"[1-9][0-9]*",
    k=r"[1-9][0-9]*",


rule sphere_equivariance_curve:
    input:
        graph=lambda wildcards: graph_path(
            sphere_rules.study_graph_definition(
                wildcards.sphere_graph, int(wildcards.nside)
            )
        ),
    output:
        f"{SPHERE_METRICS}/equivariance/{{sphere_graph}}_nside{{nside}}.csv",
    log:
        "logs/sphere/equivariance/{sphere_graph}_nside{nside}.log",
    benchmark:
        "benchmarks/workflow/sphere/equivariance/{sphere_graph}_nside{nside}.tsv"
    conda:
        "../envs/geometry.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        ell_step=lambda wildcards: SPHERE_ELL_STEPS[int(wildcards.nside)],
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
        curves=SPHERE_PATHS.curves,
    output:
        csv=f"{SPHERE_TABLES}/equivariance_error.csv",
        md=f"{SPHERE_TABLES}/equivariance_error.md",
        figure=report(
            f"{SPHERE_FIGURES}/equivariance_error.png",
            caption="../report/sphere/figures/equivariance_error.rst",
            category="Sphere study",
            subcategory="Figures",
            labels={"title": "ICLR 2020 Fig. 2: equivariance error against ell"},
        ),
    log:
        "logs/sphere/equivariance_table.log",
    localrule: True
    conda:
        "../envs/reporting.yaml"
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
        graph=lambda wildcards: graph_path(
            sphere_rules.study_graph_definition(
                f"knn{wildcards.k}", int(wildcards.nside)
            )
        ),
    output:
        f"{SPHERE_METRICS}/kernel_widths/nside{{nside}}_k{{k}}.csv",
    log:
        "logs/sphere/kernel_widths/nside{nside}_k{k}.log",
    benchmark:
        "benchmarks/workflow/sphere/kernel_widths/nside{nside}_k{k}.tsv"
    conda:
        "../envs/geometry.yaml"
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
        searches=SPHERE_PATHS.width_searches,
    output:
        csv=f"{SPHERE_TABLES}/kernel_widths.csv",
        md=f"{SPHERE_TABLES}/kernel_widths.md",
        v1=f"{SPHERE_TABLES}/kernel_widths_v1.csv",
        figure=report(
            f"{SPHERE_FIGURES}/kernel_widths.png",
            caption="../report/sphere/figures/kernel_widths.rst",
            category="Sphere study",
            subcategory="Figures",
            labels={"title": "ICLR 2020 Fig. 3: optimal kernel widths"},
        ),
    log:
        "logs/sphere/kernel_widths_table.log",
    benchmark:
        "benchmarks/workflow/sphere/kernel_widths_table.tsv"
    localrule: True
    conda:
        "../envs/reporting.yaml"
    threads: 1
    resources:
        mem_mb=v1_heuristic_mem_mb(max(SPHERE_KW["v1_nsides"])),
        runtime=20,
    params:
        v1_nsides=SPHERE_KW["v1_nsides"],
        rtol=SPHERE["acceptance"]["width_rtol"],
    script:
        "../scripts/sphere_kernel_widths_table.py"


# Takes every core so that no other job competes with the timings.
rule sphere_filtering_speed:
    input:
        unpack(
            lambda wildcards: {
                "full": graph_path(
                    sphere_rules.speed_graph_definition(wildcards.nside)
                ),
                **{
                    f"patch{o}": graph_path(
                        sphere_rules.speed_graph_definition(wildcards.nside, o)
                    )
                    for o in SPHERE_FS["patch_orders"]
                },
            }
        ),
    output:
        f"{SPHERE_METRICS}/filtering_speed/nside{{nside}}.csv",
    log:
        "logs/sphere/filtering_speed/nside{nside}.log",
    benchmark:
        "benchmarks/workflow/sphere/filtering_speed/nside{nside}.tsv"
    conda:
        "../envs/geometry.yaml"
    # the whole machine for the timings: Snakemake caps threads at --cores locally, and on
    # a cluster (no --cores) the job asks for 8 CPUs
    threads: 8
    resources:
        mem_mb=lambda wildcards: filtering_speed_mem_mb(int(wildcards.nside)),
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
        speeds=SPHERE_PATHS.speeds,
    output:
        csv=f"{SPHERE_TABLES}/filtering_speed.csv",
        md=f"{SPHERE_TABLES}/filtering_speed.md",
        figure=report(
            f"{SPHERE_FIGURES}/filtering_speed.png",
            caption="../report/sphere/figures/filtering_speed.rst",
            category="Sphere study",
            subcategory="Figures",
            labels={"title": "Filtering speed: graph filters against harmonics"},
        ),
    log:
        "logs/sphere/filtering_speed_table.log",
    localrule: True
    conda:
        "../envs/reporting.yaml"
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
    localrule: True
    conda:
        "../envs/reporting.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        acceptance=SPHERE["acceptance"],
    script:
        "../scripts/sphere_acceptance.py"
