"""The ModelNet40 rotation table and checks, paper beside ours (rule modelnet40_tables)."""

import logging

from deepsphere.experiments.modelnet40.results import write_modelnet40_tables
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    checks = write_modelnet40_tables(list(snakemake.input.metrics), snakemake.params.modelnet40,
                                     list(snakemake.input.summaries),
                                     dict(snakemake.output.items()))
    for c in checks:
        logging.info("check %s: %s (%s)", c.name, "pass" if c.passed else "FAIL", c.detail)
