"""Sphere study: equivariance error (paper Fig. 2), kernel widths (Fig. 3), filtering speed."""


wildcard_constraints:
    sphere_graph=r"v1|knn[1-9][0-9]*",
    nside=r"[1-9][0-9]*",
    k=r"[1-9][0-9]*",


rule sphere_equivariance_curve:
    input:
        graph=get_sphere_study_graph,
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
        graph=get_sphere_width_graph,
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
        mem_mb=1000 + 12 * max(SPHERE_KW["v1_nsides"]) ** 2 * 150 // 2**20,
        runtime=20,
    params:
        v1_nsides=SPHERE_KW["v1_nsides"],
        rtol=SPHERE["acceptance"]["width_rtol"],
    script:
        "../scripts/sphere_kernel_widths_table.py"


# Takes every core so that no other job competes with the timings.
rule sphere_filtering_speed:
    input:
        unpack(get_sphere_speed_graphs),
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
        mem_mb=get_sphere_speed_mem_mb,
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
