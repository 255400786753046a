"""Table 2, the order x noise grid and the acceptance checks, paper beside ours (rule cosmo_tables)."""

import logging

from deepsphere.experiments.cosmo.results import write_cosmo_tables
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    checks = write_cosmo_tables(list(snakemake.input), snakemake.params.cosmo,
                                dict(snakemake.output.items()))
    for c in checks:
        logging.info("check %s: %s (%s)", c.name, "pass" if c.passed else "FAIL", c.detail)
