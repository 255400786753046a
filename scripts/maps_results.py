"""The metrics and checks tables and the per-map predictions of the maps run
(rule maps_results)."""

import logging

from deepsphere.experiments.maps.results import write_results
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    checks = write_results(snakemake.input.metrics, snakemake.input.predictions,
                           snakemake.input.inputs, snakemake.params.acceptance,
                           dict(snakemake.output.items()))
    for c in checks:
        logging.info("check %s: %s (%s)", c.name, "pass" if c.passed else "FAIL", c.detail)
