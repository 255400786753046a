"""PSD or histogram features + linear SVM for one (order, noise) cell (rule cosmo_svm)."""

from deepsphere.experiments.cosmo.runs import load_run, run_svm
from deepsphere.workflow.logs import log_to_file

with log_to_file(snakemake.log[0]):
    spec = snakemake.params.spec
    inputs = snakemake.input
    run, data = load_run(spec, inputs.train, inputs.test, inputs.normalisation)
    run_svm(spec["cosmo"], run, data, seed=spec["seed"], model_path=snakemake.output.model,
            metrics_path=snakemake.output.metrics)
