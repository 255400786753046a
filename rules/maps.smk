"""Your own maps: DeepSphere on a folder of HEALPix maps and a CSV, from config alone.

maps folder + table (or the stand-in) -> the dataset (every map read, checked inside the mask,
downgraded, cut; splits; normalisation) -> the graphs of every level (shared rule build_graph)
-> one network run (shared rule train_network) -> metrics and checks tables, predictions per
map, training curves (and predicted against true for regression) under results/maps; the
trained model applied to other folders (maps.predict). Paths, facts of the data, the run spec
and the config checks come from deepsphere.experiments.maps.rules.
"""

from deepsphere.experiments.maps import rules as maps_rules
from deepsphere.experiments.maps.settings import settings as maps_settings

MAPS = maps_settings(config["maps"])
MAPS_PATHS = maps_rules.MapsPaths(ROOTS, config["maps"])
MAPS_FACTS = maps_rules.data_facts(config)
MAPS_RUNS = register_runs(maps_rules.run_specs(config, MAPS_PATHS))
TARGETS["maps"] = maps_rules.targets(MAPS_PATHS, config["maps"])


wildcard_constraints:
    maps_set="|".join(MAPS["predict"]) or r"(?!x)x",


rule maps_standin:
    output:
        maps=directory(f"{MAPS_PATHS.standin}/maps"),
        table=f"{MAPS_PATHS.standin}/maps.csv",
        record=f"{MAPS_PATHS.standin}/standin.json",
        mask=[MAPS_PATHS.mask] if MAPS_PATHS.mask else [],
    log:
        "logs/maps/standin.log",
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        standin=lambda wildcards: MAPS["standin"],
        seed=lambda wildcards: config["seed"],
    script:
        "../scripts/maps_standin.py"


rule maps_dataset:
    input:
        table=MAPS_PATHS.table,
        maps=maps_rules.map_inputs(config, MAPS_PATHS),
        mask=[MAPS_PATHS.mask] if MAPS_PATHS.mask else [],
    output:
        dataset=MAPS_PATHS.dataset,
        inputs=MAPS_PATHS.inputs,
    log:
        "logs/maps/dataset.log",
    benchmark:
        "benchmarks/workflow/maps/dataset.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: MAPS_RUNS[0].mem_mb * attempt,
        runtime=120,
    params:
        maps=lambda wildcards: {k: MAPS.get(k) for k in maps_rules.RUN_KEYS},
        folder=lambda wildcards: MAPS_PATHS.folder,
        nside=MAPS_FACTS.nside,
        seed=lambda wildcards: config["seed"],
    script:
        "../scripts/maps_dataset.py"


rule maps_results:
    input:
        metrics=MAPS_PATHS.metrics(),
        predictions=MAPS_PATHS.network_predictions(),
        inputs=MAPS_PATHS.inputs,
    output:
        metrics_csv=f"{MAPS_PATHS.results}/tables/metrics.csv",
        metrics_md=f"{MAPS_PATHS.results}/tables/metrics.md",
        checks_csv=f"{MAPS_PATHS.results}/tables/checks.csv",
        checks_md=f"{MAPS_PATHS.results}/tables/checks.md",
        predictions=f"{MAPS_PATHS.results}/predictions.csv",
    log:
        "logs/maps/results.log",
    localrule: True
    conda:
        "../envs/reporting.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        acceptance=lambda wildcards: MAPS["acceptance"],
    script:
        "../scripts/maps_results.py"


rule maps_figures:
    input:
        model=MAPS_PATHS.model(),
        metrics=MAPS_PATHS.metrics(),
        predictions=f"{MAPS_PATHS.results}/predictions.csv",
        inputs=MAPS_PATHS.inputs,
    output:
        curves=report(
            f"{MAPS_PATHS.results}/figures/training_curves.png",
            caption="../report/maps/figures/training_curves.rst",
            category="Maps",
            subcategory="Figures",
            labels={"title": "Training curves"},
        ),
        scatter=(
            [
                report(
                    f"{MAPS_PATHS.results}/figures/predicted_vs_true.png",
                    caption="../report/maps/figures/predicted_vs_true.rst",
                    category="Maps",
                    subcategory="Figures",
                    labels={"title": "Predicted against true (test maps)"},
                )
            ]
            if MAPS["task"] == "regression"
            else []
        ),
    log:
        "logs/maps/figures.log",
    localrule: True
    conda:
        "../envs/reporting.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/maps_figures.py"


rule maps_predict:
    input:
        model=MAPS_PATHS.model(),
        inputs=MAPS_PATHS.inputs,
        table=lambda wildcards: maps_rules.predict_table(MAPS, wildcards.maps_set),
    output:
        f"{MAPS_PATHS.results}/predict/{{maps_set}}.csv",
    log:
        "logs/maps/predict/{maps_set}.log",
    conda:
        "../envs/training.yaml"
    threads: 2
    resources:
        mem_mb=lambda wildcards, attempt: MAPS_RUNS[0].mem_mb * attempt,
        runtime=60,
    params:
        folder=lambda wildcards: MAPS["predict"][wildcards.maps_set]["folder"],
        maps=lambda wildcards: {
            k: MAPS[k] for k in ("channels", "ordering", "file_column")
        },
    script:
        "../scripts/maps_predict.py"
