"""Write the maps stand-in: FITS maps in both orderings, the CSV table and a FITS mask
(rule maps_standin)."""

import logging
from pathlib import Path

from deepsphere.experiments.maps.standin import write_standin
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    params = dict(snakemake.params.standin)
    logging.info("maps stand-in: %s, seed %d", params, snakemake.params.seed)
    record = write_standin(Path(snakemake.output.record).parent, params, snakemake.params.seed)
    logging.info("written: %d maps (orderings %s)", len(record["orderings"]),
                 sorted(set(record["orderings"].values())))
