"""GHCN Table 8 and the checks, paper beside ours (rule ghcn_tables)."""

import logging

from deepsphere.experiments.ghcn.results import write_ghcn_tables
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    checks = write_ghcn_tables(list(snakemake.input.metrics), snakemake.params.ghcn,
                               dict(snakemake.output.items()))
    for c in checks:
        logging.info("check %s: %s (%s)", c.name, "pass" if c.passed else "FAIL", c.detail)
