"""Per-channel mean and std of a training projection (rules modelnet40_statistics,
shrec17_statistics): the training split only."""

import logging

from deepsphere.experiments.shapes.cache import channel_statistics, load_projections
from deepsphere.io.atomic import atomic_write_json
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    stats = channel_statistics(load_projections(snakemake.input[0]))
    atomic_write_json(snakemake.output[0], {**stats, "source": str(snakemake.input[0])})
    logging.info("channel statistics: %s", stats)
