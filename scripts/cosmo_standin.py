"""Generate stand-in cosmo data as zips in the real layout (rule cosmo_standin)."""

import logging
from pathlib import Path

from deepsphere.experiments.cosmo.standin import write_standin_dataset
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    params = dict(snakemake.params.standin)
    logging.info("stand-in dataset: %s, seed %d", params, snakemake.params.seed)
    write_standin_dataset(Path(snakemake.output.training).parent, seed=snakemake.params.seed,
                          make_zips=True, overwrite=True, progress=False, **params)
