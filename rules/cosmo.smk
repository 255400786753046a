"""Cosmology: two cosmologies from partial convergence maps (ICLR 2020 Table 2, Perraudin 2019).

raw (zenodo download or stand-in) -> unpacked maps -> HDF5 patch caches + training std ->
one run per (method, order, noise[, graph]) -> tables, checks and figures under results/cosmo.
The network runs go through the shared rule train_network (rules/training.smk); the paths,
run specs, targets and config checks come from deepsphere.experiments.cosmo.rules.
"""

from deepsphere.experiments.cosmo import plan as cosmo_plan
from deepsphere.experiments.cosmo import rules as cosmo_rules

COSMO = config["cosmo"]
COSMO_PATHS = cosmo_rules.CosmoPaths(ROOTS, COSMO["source"])
COSMO_RUNS = register_runs(cosmo_rules.run_specs(config, COSMO_PATHS))
COSMO_METRICS = [COSMO_PATHS.metrics(s.run_id) for s in COSMO_RUNS]
COSMO_TABLE2_METRICS = [
    COSMO_PATHS.metrics(r.run_id) for r in cosmo_plan.table2_runs(COSMO)
]
TARGETS["cosmo"] = cosmo_rules.targets(COSMO_PATHS)


rule cosmo_download:
    output:
        readme=f"{COSMO_PATHS.zenodo}/README.md",
        training=f"{COSMO_PATHS.zenodo}/training.zip",
        testing=f"{COSMO_PATHS.zenodo}/testing.zip",
    log:
        "logs/cosmo/download.log",
    localrule: True
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=240,
    params:
        manual_dir=lambda wildcards: COSMO["zenodo"]["manual_dir"],
        retries=lambda wildcards: COSMO["zenodo"]["retries"],
    script:
        "../scripts/cosmo_download.py"


rule cosmo_standin:
    output:
        params=f"{COSMO_PATHS.standin}/standin.json",
        training=f"{COSMO_PATHS.standin}/training.zip",
        testing=f"{COSMO_PATHS.standin}/testing.zip",
    log:
        "logs/cosmo/standin.log",
    benchmark:
        "benchmarks/workflow/cosmo/standin.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        standin=lambda wildcards: COSMO["standin"],
        seed=lambda wildcards: config["seed"],
    script:
        "../scripts/cosmo_standin.py"


rule cosmo_unpack:
    input:
        COSMO_PATHS.raw_files(),
    output:
        directory(COSMO_PATHS.maps),
    log:
        "logs/cosmo/unpack.log",
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        source=lambda wildcards: COSMO["source"],
    script:
        "../scripts/cosmo_unpack.py"


rule cosmo_patches:
    input:
        maps=COSMO_PATHS.maps,
    output:
        f"{COSMO_PATHS.patches}/{{split}}_o{{order}}.h5",
    log:
        "logs/cosmo/patches/{split}_o{order}.log",
    benchmark:
        "benchmarks/workflow/cosmo/patches/{split}_o{order}.tsv"
    wildcard_constraints:
        split="training|testing",
        order=r"\d+",
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        cosmo=lambda wildcards: {k: COSMO[k] for k in ("preprocess", "maps_per_class")},
    script:
        "../scripts/cosmo_patches.py"


rule cosmo_normalisation:
    input:
        f"{COSMO_PATHS.patches}/training_o{{order}}.h5",
    output:
        f"{COSMO_PATHS.patches}/normalisation_o{{order}}.json",
    log:
        "logs/cosmo/patches/normalisation_o{order}.log",
    wildcard_constraints:
        order=r"\d+",
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    script:
        "../scripts/cosmo_normalisation.py"


rule cosmo_svm:
    input:
        unpack(lambda wildcards: RUNS.get("cosmo", wildcards.run).inputs),
    output:
        metrics=f"{COSMO_PATHS.results}/metrics/{{run}}.json",
        model=f"{COSMO_PATHS.results}/models/{{run}}/svm.json",
    log:
        "logs/cosmo/runs/{run}.log",
    benchmark:
        "benchmarks/workflow/cosmo/runs/{run}.tsv"
    wildcard_constraints:
        run=RUNS.wildcard("svm", "cosmo"),
    conda:
        "../envs/training.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: RUNS.get("cosmo", wildcards.run).mem_mb
        * attempt,
        runtime=720,
    params:
        spec=lambda wildcards: RUNS.get("cosmo", wildcards.run).to_dict(),
    script:
        "../scripts/cosmo_svm.py"


rule cosmo_tables:
    input:
        COSMO_METRICS,
    output:
        table2_csv=f"{COSMO_PATHS.results}/tables/table2.csv",
        table2_md=f"{COSMO_PATHS.results}/tables/table2.md",
        grid_csv=f"{COSMO_PATHS.results}/tables/grid.csv",
        grid_md=f"{COSMO_PATHS.results}/tables/grid.md",
        checks_csv=f"{COSMO_PATHS.results}/tables/checks.csv",
        checks_md=f"{COSMO_PATHS.results}/tables/checks.md",
    log:
        "logs/cosmo/tables.log",
    localrule: True
    conda:
        "../envs/reporting.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        cosmo=lambda wildcards: {
            k: COSMO[k] for k in ("grid", "table2", "acceptance", "source")
        },
    script:
        "../scripts/cosmo_tables.py"


rule cosmo_cost_figure:
    input:
        COSMO_TABLE2_METRICS,
    output:
        report(
            f"{COSMO_PATHS.results}/figures/cost_accuracy.png",
            caption="../report/cosmo/figures/cost_accuracy.rst",
            category="Cosmo",
            subcategory="Figures",
            labels={"title": "ICLR 2020 Fig. 4: accuracy against inference time"},
        ),
    log:
        "logs/cosmo/cost_figure.log",
    localrule: True
    conda:
        "../envs/reporting.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        table2=lambda wildcards: COSMO["table2"],
    script:
        "../scripts/cosmo_cost_figure.py"


rule cosmo_example_maps:
    input:
        maps=COSMO_PATHS.maps,
        patches=COSMO_PATHS.run_inputs(COSMO["table2"]["order"])["test"],
        normalisation=COSMO_PATHS.run_inputs(COSMO["table2"]["order"])["normalisation"],
    output:
        report(
            f"{COSMO_PATHS.results}/figures/example_maps.png",
            caption="../report/cosmo/figures/example_maps.rst",
            category="Cosmo",
            subcategory="Figures",
            labels={"title": "A test map and a patch without and with noise"},
        ),
    log:
        "logs/cosmo/example_maps.log",
    localrule: True
    conda:
        "../envs/reporting.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        noise=lambda wildcards: COSMO["table2"]["noise"],
        seed=lambda wildcards: config["seed"],
    script:
        "../scripts/cosmo_example_maps.py"
