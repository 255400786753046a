"""SHREC'17 Table 1, Table 4 and the checks, paper beside ours (rule shrec17_tables)."""

import logging

from deepsphere.experiments.shrec17.results import write_shrec17_tables
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    checks = write_shrec17_tables(list(snakemake.input.metrics), list(snakemake.input.retrieval),
                                  snakemake.params.shrec17, list(snakemake.input.summaries),
                                  dict(snakemake.output.items()))
    for c in checks:
        logging.info("check %s: %s (%s)", c.name, "pass" if c.passed else "FAIL", c.detail)
