"""Train, evaluate, time and record one network run of any experiment (rule train_network)."""

from deepsphere.workflow.logs import workflow_job
from deepsphere.workflow.network_run import run_network

with workflow_job(snakemake):
    inputs = dict(snakemake.input.items())
    graph_paths = inputs.pop("graphs", [])
    run_network(snakemake.params.spec, inputs, metrics_path=snakemake.output.metrics,
                model_path=snakemake.output.model, graph_paths=graph_paths,
                predictions_path=snakemake.output.predictions,
                threads=snakemake.threads)  # fmt: skip
