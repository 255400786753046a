"""SHREC'17: 3-D shape retrieval (ICLR 2020 Table 1 and Table 4; tf1-spec §2.5).

raw (download or stand-in: {train,val,test}_perturbed.zip and the CSVs) -> unpacked mesh tree
-> HEALPix and equiangular projections per split (+ the training split's channel statistics)
-> one network per sampling (the shared train_network rule) -> retrieval lists and scores (and
the official evaluator's input) -> Table 1, Table 4, the checks, the six-channel figure.
"""

from deepsphere.experiments.shrec17 import plan as shrec17_plan
from deepsphere.experiments.shrec17 import rules as shrec17_rules
from deepsphere.experiments.shapes.sources import SHREC17_FILES

SHREC17 = config["shrec17"]
SHREC17_PATHS = shrec17_rules.ShrecPaths(ROOTS, SHREC17["source"])
SHREC17_RUNS = register_runs(shrec17_rules.run_specs(config, SHREC17_PATHS))
SHREC17_SUMMARIES = sorted(
    {
        p.summary_path(INTERIM)
        for run in shrec17_plan.planned_runs(SHREC17)
        for p in shrec17_plan.projections(SHREC17, run).values()
    }
)
TARGETS["shrec17"] = shrec17_rules.targets(SHREC17_PATHS)


rule shrec17_download:
    output:
        [f"{SHREC17_PATHS.download}/{name}" for name in SHREC17_FILES],
    log:
        "logs/shrec17/download.log",
    localrule: True
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=240,
    params:
        dataset="shrec17",
        manual_dir=lambda wildcards: SHREC17["download"]["manual_dir"],
        mirrors=lambda wildcards: SHREC17["download"]["mirrors"],
        retries=lambda wildcards: SHREC17["download"]["retries"],
    script:
        "../scripts/shapes_download.py"


rule shrec17_standin:
    output:
        archives=[f"{SHREC17_PATHS.standin}/{name}" for name in SHREC17_FILES],
        record=f"{SHREC17_PATHS.standin}/standin.json",
    log:
        "logs/shrec17/standin.log",
    benchmark:
        "benchmarks/workflow/shrec17/standin.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        dataset="shrec17",
        standin=lambda wildcards: SHREC17["standin"],
        seed=lambda wildcards: config["seed"],
    script:
        "../scripts/shapes_standin.py"


rule shrec17_unpack:
    input:
        SHREC17_PATHS.raw_files(),
    output:
        directory(SHREC17_PATHS.meshes),
    log:
        "logs/shrec17/unpack.log",
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        dataset="shrec17",
        source=lambda wildcards: SHREC17["source"],
    script:
        "../scripts/shapes_unpack.py"


rule shrec17_project:
    input:
        meshes=SHREC17_PATHS.meshes,
    output:
        projections=f"{INTERIM}/shrec17/projections/{{grid}}/{{split}}_{{rotation}}_c{{copies}}.h5",
        summary=f"{INTERIM}/shrec17/projections/{{grid}}/{{split}}_{{rotation}}_c{{copies}}.json",
    log:
        "logs/shrec17/projections/{grid}/{split}_{rotation}_c{copies}.log",
    benchmark:
        "benchmarks/workflow/shrec17/projections/{grid}/{split}_{rotation}_c{copies}.tsv"
    wildcard_constraints:
        grid=r"(hp|eq)\d+",
        split="train|val|test",
        rotation="none|z|so3",
        copies=r"\d+",
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=720,
    params:
        dataset="shrec17",
        max_translation=lambda wildcards: SHREC17["max_translation"],
        skip_unreadable=lambda wildcards: SHREC17["skip_unreadable"],
        seed=lambda wildcards: config["seed"],
    script:
        "../scripts/shapes_project.py"


rule shrec17_statistics:
    input:
        f"{INTERIM}/shrec17/projections/{{grid}}/train_{{rotation}}_c{{copies}}.h5",
    output:
        f"{INTERIM}/shrec17/projections/{{grid}}/statistics_{{rotation}}_c{{copies}}.json",
    log:
        "logs/shrec17/projections/{grid}/statistics_{rotation}_c{copies}.log",
    wildcard_constraints:
        grid=r"(hp|eq)\d+",
        rotation="none|z|so3",
        copies=r"\d+",
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards: shrec17_rules.statistics_mem_mb(
            SHREC17, wildcards.grid, int(wildcards.copies)
        ),
        runtime=30,
    script:
        "../scripts/shapes_statistics.py"


rule shrec17_retrieval:
    input:
        predictions=lambda wildcards: SHREC17_PATHS.predictions(wildcards.run),
        meshes=SHREC17_PATHS.meshes,
    output:
        scores=f"{SHREC17_PATHS.results}/retrieval/{{run}}.json",
        evaluator=f"{SHREC17_PATHS.results}/evaluator/{{run}}/test_perturbed.zip",
        summary=f"{SHREC17_PATHS.results}/evaluator/{{run}}/test_perturbed.summary.csv",
    log:
        "logs/shrec17/retrieval/{run}.log",
    wildcard_constraints:
        run=RUNS.wildcard("network", "shrec17"),
    conda:
        "../envs/reporting.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    script:
        "../scripts/shrec17_retrieval.py"


rule shrec17_tables:
    input:
        metrics=[SHREC17_PATHS.metrics(s.run_id) for s in SHREC17_RUNS],
        retrieval=[SHREC17_PATHS.retrieval(s.run_id) for s in SHREC17_RUNS],
        summaries=SHREC17_SUMMARIES,
    output:
        table1_csv=f"{SHREC17_PATHS.results}/tables/table1.csv",
        table1_md=f"{SHREC17_PATHS.results}/tables/table1.md",
        table4_csv=f"{SHREC17_PATHS.results}/tables/table4.csv",
        table4_md=f"{SHREC17_PATHS.results}/tables/table4.md",
        checks_csv=f"{SHREC17_PATHS.results}/tables/checks.csv",
        checks_md=f"{SHREC17_PATHS.results}/tables/checks.md",
    log:
        "logs/shrec17/tables.log",
    localrule: True
    conda:
        "../envs/reporting.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        shrec17=lambda wildcards: {k: SHREC17[k] for k in ("source", "acceptance")},
    script:
        "../scripts/shrec17_tables.py"


rule shrec17_channels_figure:
    input:
        meshes=SHREC17_PATHS.meshes,
    output:
        report(
            f"{SHREC17_PATHS.results}/figures/channels.png",
            caption="../report/shrec17/figures/channels.rst",
            category="SHREC'17",
            subcategory="Figures",
            labels={"title": "A SHREC'17 test mesh and its six spherical maps"},
        ),
    log:
        "logs/shrec17/channels_figure.log",
    localrule: True
    conda:
        "../envs/reporting.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        dataset="shrec17",
        nside=lambda wildcards: SHREC17["nside"],
    script:
        "../scripts/shapes_channels_figure.py"
