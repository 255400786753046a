"""One test map: TMQ, the true and the predicted labels (rule climate_map_figure)."""

import logging

from deepsphere.experiments.climate.figures import map_figure
from deepsphere.workflow.logs import log_to_file

with log_to_file(snakemake.log[0]):
    name = map_figure(snakemake.input.predictions, snakemake.input.test, snakemake.output[0],
                      run=snakemake.params.run)
    logging.info("map figure: %s", name)
