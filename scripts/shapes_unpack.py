"""Check a shapes dataset's raw files and unpack them into its mesh tree (rules
modelnet40_unpack, shrec17_unpack)."""

import logging
from pathlib import Path

from deepsphere.experiments.shapes.raw_files import unpack_raw
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    raw_dir = Path(snakemake.input[0]).parent
    out = unpack_raw(snakemake.params.dataset, raw_dir, snakemake.output[0],
                     source=snakemake.params.source)
    logging.info("unpacked %s", [str(p) for p in out])
