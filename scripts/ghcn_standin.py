"""Write the GHCN stand-in: a station list and yearly CSV.gz files in the real formats, and a
record of what was written (rule ghcn_standin)."""

import logging
from pathlib import Path

from deepsphere.experiments.ghcn.standin import write_standin
from deepsphere.io.atomic import atomic_write_json
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    params = dict(snakemake.params.standin)
    logging.info("GHCN stand-in: %s, years %s, seed %d", params, snakemake.params.years,
                 snakemake.params.seed)
    record = write_standin(Path(snakemake.output.record).parent, years=snakemake.params.years,
                           seed=snakemake.params.seed, **params)
    atomic_write_json(snakemake.output.record, record)
    logging.info("written: %s", record)
