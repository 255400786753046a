"""Write the climate stand-in: maps in the real npz format and naming, zipped as
climate_sphere_l5.zip, and split lists in the real format (rule climate_standin)."""

import logging
from pathlib import Path

from deepsphere.experiments.climate.standin import write_standin
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    params = dict(snakemake.params.standin)
    logging.info("climate stand-in: %s, seed %d", params, snakemake.params.seed)
    record = write_standin(Path(snakemake.output.record).parent, seed=snakemake.params.seed,
                           overwrite=True, **params)
    logging.info("class fractions: %s", record.get("class_fractions"))
