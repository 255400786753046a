"""ModelNet40: 3-D shape classification under rotations (tf1-spec §2.4).

raw (download or stand-in, ModelNet40.zip) -> unpacked mesh tree -> HEALPix projections per
split, rotation and copies (+ the training split's channel statistics) -> one network per
training rotation (the shared train_network rule) -> the rotation table and checks.
"""

from deepsphere.experiments.modelnet40 import plan as modelnet40_plan
from deepsphere.experiments.modelnet40 import rules as modelnet40_rules

MODELNET40 = config["modelnet40"]
MODELNET40_PATHS = modelnet40_rules.ModelNetPaths(ROOTS, MODELNET40["source"])
MODELNET40_RUNS = register_runs(modelnet40_rules.run_specs(config, MODELNET40_PATHS))
MODELNET40_SUMMARIES = sorted(
    {
        p.summary_path(INTERIM)
        for run in modelnet40_plan.planned_runs(MODELNET40)
        for p in modelnet40_plan.projections(MODELNET40, run).values()
    }
)
TARGETS["modelnet40"] = modelnet40_rules.targets(MODELNET40_PATHS)


rule modelnet40_download:
    output:
        f"{MODELNET40_PATHS.download}/ModelNet40.zip",
    log:
        "logs/modelnet40/download.log",
    localrule: True
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=240,
    params:
        dataset="modelnet40",
        manual_dir=lambda wildcards: MODELNET40["download"]["manual_dir"],
        mirrors=lambda wildcards: MODELNET40["download"]["mirrors"],
        retries=lambda wildcards: MODELNET40["download"]["retries"],
    script:
        "../scripts/shapes_download.py"


rule modelnet40_standin:
    output:
        archive=f"{MODELNET40_PATHS.standin}/ModelNet40.zip",
        record=f"{MODELNET40_PATHS.standin}/standin.json",
    log:
        "logs/modelnet40/standin.log",
    benchmark:
        "benchmarks/workflow/modelnet40/standin.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        dataset="modelnet40",
        standin=lambda wildcards: MODELNET40["standin"],
        seed=lambda wildcards: config["seed"],
    script:
        "../scripts/shapes_standin.py"


rule modelnet40_unpack:
    input:
        MODELNET40_PATHS.raw_files(),
    output:
        directory(MODELNET40_PATHS.meshes),
    log:
        "logs/modelnet40/unpack.log",
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        dataset="modelnet40",
        source=lambda wildcards: MODELNET40["source"],
    script:
        "../scripts/shapes_unpack.py"


rule modelnet40_project:
    input:
        meshes=MODELNET40_PATHS.meshes,
    output:
        projections=f"{INTERIM}/modelnet40/projections/{{grid}}/{{split}}_{{rotation}}_c{{copies}}.h5",
        summary=f"{INTERIM}/modelnet40/projections/{{grid}}/{{split}}_{{rotation}}_c{{copies}}.json",
    log:
        "logs/modelnet40/projections/{grid}/{split}_{rotation}_c{copies}.log",
    benchmark:
        "benchmarks/workflow/modelnet40/projections/{grid}/{split}_{rotation}_c{copies}.tsv"
    wildcard_constraints:
        grid=r"hp\d+",
        split="train|test",
        rotation="none|z|so3",
        copies=r"\d+",
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=720,
    params:
        dataset="modelnet40",
        max_translation=lambda wildcards: MODELNET40["max_translation"],
        skip_unreadable=lambda wildcards: MODELNET40["skip_unreadable"],
        seed=lambda wildcards: config["seed"],
    script:
        "../scripts/shapes_project.py"


rule modelnet40_statistics:
    input:
        f"{INTERIM}/modelnet40/projections/{{grid}}/train_{{rotation}}_c{{copies}}.h5",
    output:
        f"{INTERIM}/modelnet40/projections/{{grid}}/statistics_{{rotation}}_c{{copies}}.json",
    log:
        "logs/modelnet40/projections/{grid}/statistics_{rotation}_c{copies}.log",
    wildcard_constraints:
        grid=r"hp\d+",
        rotation="none|z|so3",
        copies=r"\d+",
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards: modelnet40_rules.statistics_mem_mb(
            MODELNET40, int(wildcards.copies)
        ),
        runtime=30,
    script:
        "../scripts/shapes_statistics.py"


rule modelnet40_tables:
    input:
        metrics=[MODELNET40_PATHS.metrics(s.run_id) for s in MODELNET40_RUNS],
        summaries=MODELNET40_SUMMARIES,
    output:
        rotations_csv=f"{MODELNET40_PATHS.results}/tables/rotations.csv",
        rotations_md=f"{MODELNET40_PATHS.results}/tables/rotations.md",
        checks_csv=f"{MODELNET40_PATHS.results}/tables/checks.csv",
        checks_md=f"{MODELNET40_PATHS.results}/tables/checks.md",
    log:
        "logs/modelnet40/tables.log",
    localrule: True
    conda:
        "../envs/reporting.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        modelnet40=lambda wildcards: {
            k: MODELNET40[k] for k in ("source", "acceptance")
        },
    script:
        "../scripts/modelnet40_tables.py"


rule modelnet40_channels_figure:
    input:
        meshes=MODELNET40_PATHS.meshes,
    output:
        report(
            f"{MODELNET40_PATHS.results}/figures/channels.png",
            caption="../report/modelnet40/figures/channels.rst",
            category="ModelNet40",
            subcategory="Figures",
            labels={"title": "A ModelNet40 test mesh and its six spherical maps"},
        ),
    log:
        "logs/modelnet40/channels_figure.log",
    localrule: True
    conda:
        "../envs/reporting.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        dataset="modelnet40",
        nside=lambda wildcards: MODELNET40["nside"],
    script:
        "../scripts/shapes_channels_figure.py"
