"""The training data's pixel std (training cache only) as JSON (rule cosmo_normalisation)."""

import logging

from deepsphere.experiments.cosmo.preprocess import compute_normalisation, save_normalisation
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    stats = compute_normalisation(snakemake.input[0])
    logging.info("training std %.6g, mean %.3g over %d pixels", stats["std"], stats["mean"],
                 stats["n_pixels"])
    save_normalisation(snakemake.output[0], stats)
