"""Climate Tables 3, 5, 6, 7 and the checks, paper beside ours (rule climate_tables)."""

import logging

from deepsphere.experiments.climate.results import write_climate_tables
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    checks = write_climate_tables(list(snakemake.input.metrics), snakemake.input.statistics,
                                  snakemake.params.climate, dict(snakemake.output.items()))
    for c in checks:
        logging.info("check %s: %s (%s)", c.name, "pass" if c.passed else "FAIL", c.detail)
