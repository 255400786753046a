"""Climate: segmentation of tropical cyclones and atmospheric rivers (ICLR 2020 Tables 3, 5-7).

raw (climate_sphere_l5.zip and the split lists, downloaded or placed by hand, or the stand-in)
-> unpacked maps (or a hand-placed data_5_all/ used in place) -> one HDF5 shard store per split
-> the training split's channel statistics and class weights -> one run per (architecture,
loss, seed) through the shared rule train_network -> Tables 3, 5, 6, 7, the checks and the map
figure under results/climate. Paths, run specs, targets and config checks come from
deepsphere.experiments.climate.rules.
"""

from deepsphere.experiments.climate import rules as climate_rules

CLIMATE = config["climate"]
CLIMATE_PATHS = climate_rules.ClimatePaths(ROOTS, CLIMATE["source"])
CLIMATE_RUNS = register_runs(climate_rules.run_specs(config, CLIMATE_PATHS))
CLIMATE_FIGURE_RUNS = climate_rules.figure_runs(CLIMATE)
TARGETS["climate"] = climate_rules.targets(CLIMATE_PATHS)


rule climate_download:
    output:
        f"{CLIMATE_PATHS.download}/climate_sphere_l5.zip",
    log:
        "logs/climate/download.log",
    localrule: True
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=1440,
    params:
        download=lambda wildcards: CLIMATE["download"],
    script:
        "../scripts/climate_download.py"


rule climate_split_lists:
    output:
        expand(
            "{raw}/{split}.txt",
            raw=CLIMATE_PATHS.download,
            split=["train", "val", "test"],
        ),
    log:
        "logs/climate/split_lists.log",
    localrule: True
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        download=lambda wildcards: CLIMATE["download"],
    script:
        "../scripts/climate_split_lists.py"


rule climate_standin:
    output:
        archive=f"{CLIMATE_PATHS.standin}/climate_sphere_l5.zip",
        lists=expand(
            "{raw}/{split}.txt",
            raw=CLIMATE_PATHS.standin,
            split=["train", "val", "test"],
        ),
        record=f"{CLIMATE_PATHS.standin}/standin.json",
    log:
        "logs/climate/standin.log",
    benchmark:
        "benchmarks/workflow/climate/standin.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        standin=lambda wildcards: CLIMATE["standin"],
        seed=lambda wildcards: config["seed"],
    script:
        "../scripts/climate_standin.py"


rule climate_unpack:
    input:
        lambda wildcards: climate_rules.unpack_inputs(CLIMATE, CLIMATE_PATHS),
    output:
        CLIMATE_PATHS.maps_record,
    log:
        "logs/climate/unpack.log",
    benchmark:
        "benchmarks/workflow/climate/unpack.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=240,
    params:
        manual_dir=lambda wildcards: CLIMATE["download"]["manual_dir"],
        source=lambda wildcards: CLIMATE["source"],
    script:
        "../scripts/climate_unpack.py"


rule climate_shards:
    input:
        maps=CLIMATE_PATHS.maps_record,
        split_list=f"{CLIMATE_PATHS.raw}/{{split}}.txt",
    output:
        directory(f"{CLIMATE_PATHS.interim}/shards/{{split}}"),
    log:
        "logs/climate/shards/{split}.log",
    benchmark:
        "benchmarks/workflow/climate/shards/{split}.tsv"
    wildcard_constraints:
        split="train|val|test",
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=720,
    params:
        shards=lambda wildcards: CLIMATE["shards"],
        expected=lambda wildcards: climate_rules.expected_maps(CLIMATE, wildcards.split),
        order_threshold=lambda wildcards: CLIMATE["vertex_order_threshold"],
        manual_dir=lambda wildcards: CLIMATE["download"]["manual_dir"],
    script:
        "../scripts/climate_shards.py"


rule climate_statistics:
    input:
        CLIMATE_PATHS.shards("train"),
    output:
        CLIMATE_PATHS.statistics,
    log:
        "logs/climate/statistics.log",
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    script:
        "../scripts/climate_statistics.py"


rule climate_tables:
    input:
        metrics=[CLIMATE_PATHS.metrics(s.run_id) for s in CLIMATE_RUNS],
        statistics=CLIMATE_PATHS.statistics,
    output:
        table3_csv=f"{CLIMATE_PATHS.results}/tables/table3.csv",
        table3_md=f"{CLIMATE_PATHS.results}/tables/table3.md",
        table5_csv=f"{CLIMATE_PATHS.results}/tables/table5.csv",
        table5_md=f"{CLIMATE_PATHS.results}/tables/table5.md",
        table6_csv=f"{CLIMATE_PATHS.results}/tables/table6.csv",
        table6_md=f"{CLIMATE_PATHS.results}/tables/table6.md",
        table7_csv=f"{CLIMATE_PATHS.results}/tables/table7.csv",
        table7_md=f"{CLIMATE_PATHS.results}/tables/table7.md",
        checks_csv=f"{CLIMATE_PATHS.results}/tables/checks.csv",
        checks_md=f"{CLIMATE_PATHS.results}/tables/checks.md",
    log:
        "logs/climate/tables.log",
    localrule: True
    conda:
        "../envs/reporting.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        climate=lambda wildcards: {
            k: CLIMATE[k] for k in ("source", "architectures", "model", "acceptance")
        },
    script:
        "../scripts/climate_tables.py"


rule climate_map_figure:
    input:
        predictions=[CLIMATE_PATHS.predictions(r) for r in CLIMATE_FIGURE_RUNS],
        test=CLIMATE_PATHS.shards("test"),
    output:
        report(
            f"{CLIMATE_PATHS.results}/figures/map.png",
            caption="../report/climate/figures/map.rst",
            category="Climate",
            subcategory="Figures",
            labels={"title": "A test map: water vapour, true and predicted labels"},
        ),
    log:
        "logs/climate/map_figure.log",
    localrule: True
    conda:
        "../envs/reporting.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards: climate_rules.figure_mem_mb(CLIMATE),
        runtime=10,
    params:
        runs=CLIMATE_FIGURE_RUNS,
    script:
        "../scripts/climate_map_figure.py"
