"""Channel mean and std and the class weights of the training split only (rule
climate_statistics)."""

import logging

from deepsphere.experiments.climate.preprocess import training_statistics
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    stats = training_statistics(snakemake.input[0], snakemake.output[0])
    logging.info("class fractions %s, weights %s", stats["class_fractions"],
                 stats["class_weights"])
