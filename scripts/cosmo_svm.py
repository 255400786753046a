"""PSD or histogram features + linear SVM for one (order, noise) cell (rule cosmo_svm)."""

from deepsphere.experiments.cosmo import load_cosmo_data, run_svm
from deepsphere.experiments.cosmo_plan import CosmoRun
from deepsphere.workflow_logging import log_to_file

with log_to_file(snakemake.log[0]):
    spec = snakemake.params.spec
    cosmo = spec["cosmo"]
    run = CosmoRun(**{k: spec["run"][k] for k in ("method", "order", "noise", "graph")})
    data = load_cosmo_data(snakemake.input.train, snakemake.input.test,
                           snakemake.input.normalisation, noise=run.noise,
                           val_fraction=cosmo["val_fraction"], seed=spec["seed"])
    run_svm(cosmo, run, data, seed=spec["seed"], model_path=snakemake.output.model,
            metrics_path=snakemake.output.metrics)
