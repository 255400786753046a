"""One test map: TMQ, the true labels and the labels each run predicts (rule
climate_map_figure)."""

import logging

from deepsphere.experiments.climate.figures import map_figure
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    name = map_figure(list(snakemake.input.predictions), snakemake.params.runs,
                      snakemake.input.test, snakemake.output[0])
    logging.info("map figure: %s", name)
