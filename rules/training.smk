"""The shared training rule: every network run of every experiment (deepsphere.workflow.runs).

Included after the experiments' rules files, which register their runs: the run wildcard
matches exactly the registered network runs, so experiment-specific rules writing metrics of
other runs (an SVM) never compete with this one.
"""


rule train_network:
    input:
        unpack(get_run_inputs),
    output:
        metrics=f"{RESULTS}/{{experiment}}/metrics/{{run}}.json",
        model=f"{RESULTS}/{{experiment}}/models/{{run}}/model.keras",
        predictions=f"{RESULTS}/{{experiment}}/models/{{run}}/predictions.npz",
    log:
        "logs/{experiment}/runs/{run}.log",
    benchmark:
        "benchmarks/workflow/{experiment}/runs/{run}.tsv"
    wildcard_constraints:
        experiment="|".join(RUNS.experiments()) or r"(?!x)x",
        run=RUNS.wildcard("network"),
    conda:
        "../envs/training.yaml"
    threads: 2
    resources:
        mem_mb=get_run_mem_mb,
        runtime=1440,
        gpu=1,
    params:
        spec=get_run_spec,
    script:
        "../scripts/train_network.py"
