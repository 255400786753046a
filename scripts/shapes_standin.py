"""Write a shapes stand-in dataset as its raw files (rules modelnet40_standin, shrec17_standin)."""

import logging
from pathlib import Path

from deepsphere.experiments.shapes.raw_files import write_standin_raw
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    params = dict(snakemake.params.standin)
    logging.info("%s stand-in: %s, seed %d", snakemake.params.dataset, params, snakemake.params.seed)
    written = write_standin_raw(snakemake.params.dataset, Path(snakemake.output.record).parent,
                                seed=snakemake.params.seed, overwrite=True, **params)
    logging.info("wrote %s", sorted(str(p) for p in written.values()))
