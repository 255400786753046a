"""One test map: TMQ, the true labels and the labels each run predicts (rule
climate_map_figure)."""

import logging

from deepsphere.experiments.climate.figures import map_figure
from deepsphere.workflow.logs import log_to_file

with log_to_file(snakemake.log[0]):
    name = map_figure(list(snakemake.input.predictions), snakemake.params.runs,
                      snakemake.input.test, snakemake.output[0])
    logging.info("map figure: %s", name)
