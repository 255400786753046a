"""PSD or histogram features + linear SVM for one (order, noise) cell (rule cosmo_svm)."""

from deepsphere.experiments.cosmo.runs import run_svm_spec
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    run_svm_spec(snakemake.params.spec, dict(snakemake.input.items()),
                 model_path=snakemake.output.model, metrics_path=snakemake.output.metrics)  # fmt: skip
