"""GHCN-Daily: regression on the irregular graph of weather stations (ICLR 2020 Table 8).

raw (ghcnd-stations.txt and {year}.csv.gz, downloaded or placed by hand, or the stand-in)
-> one array file per year (streamed parse) -> one station set per task's elements (the
coverage rule) and its positions file -> the kNN graph of those stations (shared rule
build_graph) -> one run per (task, order P, seed) through the shared rule train_network ->
Table 8, the checks and the station error map under results/ghcn. Paths, run specs, targets
and config checks come from deepsphere.experiments.ghcn.rules.
"""

from deepsphere.experiments.ghcn import rules as ghcn_rules

GHCN = config["ghcn"]
GHCN_PATHS = ghcn_rules.GhcnPaths(ROOTS, GHCN["source"])
GHCN_RUNS = register_runs(ghcn_rules.run_specs(config, GHCN_PATHS))
GHCN_SETS = ghcn_rules.station_sets(GHCN)
TARGETS["ghcn"] = ghcn_rules.targets(GHCN_PATHS)


wildcard_constraints:
    ghcn_year=r"\d{4}",
    ghcn_set="|".join(GHCN_SETS),


rule ghcn_download:
    output:
        stations=f"{GHCN_PATHS.download}/ghcnd-stations.txt",
        years=expand("{raw}/{year}.csv.gz", raw=GHCN_PATHS.download, year=GHCN["years"]),
    log:
        "logs/ghcn/download.log",
    localrule: True
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=600,
    params:
        download=lambda wildcards: GHCN["download"],
        years=GHCN["years"],
    script:
        "../scripts/ghcn_download.py"


rule ghcn_standin:
    output:
        stations=f"{GHCN_PATHS.standin}/ghcnd-stations.txt",
        years=expand("{raw}/{year}.csv.gz", raw=GHCN_PATHS.standin, year=GHCN["years"]),
        record=f"{GHCN_PATHS.standin}/standin.json",
    log:
        "logs/ghcn/standin.log",
    benchmark:
        "benchmarks/workflow/ghcn/standin.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        standin=lambda wildcards: GHCN["standin"],
        years=GHCN["years"],
        seed=lambda wildcards: config["seed"],
    script:
        "../scripts/ghcn_standin.py"


rule ghcn_parse_year:
    input:
        stations=GHCN_PATHS.stations,
        csv=f"{GHCN_PATHS.raw}/{{ghcn_year}}.csv.gz",
    output:
        f"{GHCN_PATHS.interim}/years/{{ghcn_year}}.h5",
    log:
        "logs/ghcn/parse/{ghcn_year}.log",
    benchmark:
        "benchmarks/workflow/ghcn/parse/{ghcn_year}.tsv"
    conda:
        "../envs/data.yaml"
    threads: 2
    resources:
        mem_mb=lambda wildcards, attempt: ghcn_rules.parse_mem_mb(GHCN) * attempt,
        runtime=60,
    script:
        "../scripts/ghcn_parse_year.py"


rule ghcn_station_set:
    input:
        stations=GHCN_PATHS.stations,
        years=[GHCN_PATHS.year_arrays(y) for y in GHCN["years"]],
    output:
        arrays=f"{GHCN_PATHS.interim}/sets/{{ghcn_set}}.h5",
        positions=f"{GHCN_PATHS.interim}/sets/{{ghcn_set}}-positions.csv",
    log:
        "logs/ghcn/sets/{ghcn_set}.log",
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: ghcn_rules.set_mem_mb(GHCN) * attempt,
        runtime=60,
    params:
        elements=lambda wildcards: GHCN_SETS[wildcards.ghcn_set],
        coverage=lambda wildcards: GHCN["coverage"],
    script:
        "../scripts/ghcn_station_set.py"


rule ghcn_tables:
    input:
        metrics=[GHCN_PATHS.metrics(s.run_id) for s in GHCN_RUNS],
    output:
        table8_csv=f"{GHCN_PATHS.results}/tables/table8.csv",
        table8_md=f"{GHCN_PATHS.results}/tables/table8.md",
        checks_csv=f"{GHCN_PATHS.results}/tables/checks.csv",
        checks_md=f"{GHCN_PATHS.results}/tables/checks.md",
    log:
        "logs/ghcn/tables.log",
    localrule: True
    conda:
        "../envs/reporting.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        ghcn=lambda wildcards: {
            k: GHCN[k]
            for k in ("source", "tasks", "orders", "acceptance", "graph", "window")
        },
    script:
        "../scripts/ghcn_tables.py"


rule ghcn_error_map:
    input:
        predictions=GHCN_PATHS.predictions(ghcn_rules.figure_run(GHCN)),
        stations=GHCN_PATHS.station_set(
            ghcn_rules.plan.station_set_name(GHCN["figure"]["task"])
        ),
    output:
        report(
            f"{GHCN_PATHS.results}/figures/error_map.png",
            caption="../report/ghcn/figures/error_map.rst",
            category="GHCN",
            subcategory="Figures",
            labels={"title": "The stations coloured by their test error"},
        ),
    log:
        "logs/ghcn/error_map.log",
    localrule: True
    conda:
        "../envs/reporting.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        run=ghcn_rules.figure_run(GHCN),
    script:
        "../scripts/ghcn_error_map.py"
