"""Cosmology: two cosmologies from partial convergence maps (ICLR 2020 Table 2, Perraudin 2019).

raw (zenodo download or stand-in) -> unpacked maps -> HDF5 patch caches + training std ->
one run per (method, order, noise[, graph]) -> tables, checks and figures under results/cosmo.
"""


rule cosmo_download:
    output:
        readme="data/raw/cosmo/zenodo/README.md",
        training="data/raw/cosmo/zenodo/training.zip",
        testing="data/raw/cosmo/zenodo/testing.zip",
    log:
        "logs/cosmo/download.log",
    localrule: True
    conda:
        "../envs/deepsphere.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=240,
    params:
        manual_dir=lambda wildcards: config["cosmo"]["zenodo"]["manual_dir"],
        retries=lambda wildcards: config["cosmo"]["zenodo"]["retries"],
    script:
        "../scripts/cosmo_download.py"


rule cosmo_standin:
    output:
        params="data/raw/cosmo/standin/standin.json",
        training="data/raw/cosmo/standin/training.zip",
        testing="data/raw/cosmo/standin/testing.zip",
    log:
        "logs/cosmo/standin.log",
    benchmark:
        "benchmarks/workflow/cosmo/standin.tsv"
    conda:
        "../envs/deepsphere.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        standin=lambda wildcards: config["cosmo"]["standin"],
        seed=lambda wildcards: config["seed"],
    script:
        "../scripts/cosmo_standin.py"


rule cosmo_unpack:
    input:
        get_cosmo_raw_files,
    output:
        directory("data/interim/cosmo/maps"),
    log:
        "logs/cosmo/unpack.log",
    conda:
        "../envs/deepsphere.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        source=lambda wildcards: config["cosmo"]["source"],
    script:
        "../scripts/cosmo_unpack.py"


rule cosmo_patches:
    input:
        maps="data/interim/cosmo/maps",
    output:
        "data/interim/cosmo/patches/{split}_o{order}.h5",
    log:
        "logs/cosmo/patches/{split}_o{order}.log",
    benchmark:
        "benchmarks/workflow/cosmo/patches/{split}_o{order}.tsv"
    wildcard_constraints:
        split="training|testing",
        order=r"\d+",
    conda:
        "../envs/deepsphere.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        cosmo=lambda wildcards: {
            k: config["cosmo"][k] for k in ("preprocess", "maps_per_class")
        },
    script:
        "../scripts/cosmo_patches.py"


rule cosmo_normalisation:
    input:
        "data/interim/cosmo/patches/training_o{order}.h5",
    output:
        "data/interim/cosmo/patches/normalisation_o{order}.json",
    log:
        "logs/cosmo/patches/normalisation_o{order}.log",
    wildcard_constraints:
        order=r"\d+",
    conda:
        "../envs/deepsphere.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    script:
        "../scripts/cosmo_normalisation.py"


rule cosmo_train:
    input:
        unpack(get_cosmo_run_inputs),
    output:
        metrics="results/cosmo/metrics/{run}.json",
        model="results/cosmo/models/{run}/model.keras",
    log:
        "logs/cosmo/runs/{run}.log",
    benchmark:
        "benchmarks/workflow/cosmo/runs/{run}.tsv"
    wildcard_constraints:
        run=r"(fcn|cnn|fcn2d|cnn2d)-[A-Za-z0-9_]+-o\d+-n[0-9.]+",
    conda:
        "../envs/deepsphere.yaml"
    threads: 2
    resources:
        mem_mb=get_cosmo_mem_mb,
        runtime=1440,
        gpu=1,
    params:
        spec=get_cosmo_run_params,
    script:
        "../scripts/cosmo_train.py"


rule cosmo_svm:
    input:
        unpack(get_cosmo_run_inputs),
    output:
        metrics="results/cosmo/metrics/{run}.json",
        model="results/cosmo/models/{run}/svm.json",
    log:
        "logs/cosmo/runs/{run}.log",
    benchmark:
        "benchmarks/workflow/cosmo/runs/{run}.tsv"
    wildcard_constraints:
        run=r"(psd|hist)-none-o\d+-n[0-9.]+",
    conda:
        "../envs/deepsphere.yaml"
    threads: 1
    resources:
        mem_mb=get_cosmo_mem_mb,
        runtime=720,
    params:
        spec=get_cosmo_run_params,
    script:
        "../scripts/cosmo_svm.py"


rule cosmo_tables:
    input:
        get_cosmo_all_metrics,
    output:
        table2_csv="results/cosmo/tables/table2.csv",
        table2_md="results/cosmo/tables/table2.md",
        grid_csv="results/cosmo/tables/grid.csv",
        grid_md="results/cosmo/tables/grid.md",
        checks_csv="results/cosmo/tables/checks.csv",
        checks_md="results/cosmo/tables/checks.md",
    log:
        "logs/cosmo/tables.log",
    localrule: True
    conda:
        "../envs/deepsphere.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        cosmo=lambda wildcards: {
            k: config["cosmo"][k] for k in ("grid", "table2", "acceptance", "source")
        },
    script:
        "../scripts/cosmo_tables.py"


rule cosmo_cost_figure:
    input:
        get_cosmo_table2_metrics,
    output:
        "results/cosmo/figures/cost_accuracy.png",
    log:
        "logs/cosmo/cost_figure.log",
    localrule: True
    conda:
        "../envs/deepsphere.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        table2=lambda wildcards: config["cosmo"]["table2"],
    script:
        "../scripts/cosmo_cost_figure.py"


rule cosmo_example_maps:
    input:
        unpack(get_cosmo_example_inputs),
    output:
        "results/cosmo/figures/example_maps.png",
    log:
        "logs/cosmo/example_maps.log",
    localrule: True
    conda:
        "../envs/deepsphere.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        noise=lambda wildcards: config["cosmo"]["table2"]["noise"],
        seed=lambda wildcards: config["seed"],
    script:
        "../scripts/cosmo_example_maps.py"
