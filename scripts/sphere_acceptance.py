"""Acceptance verdict of the sphere study on the produced tables (rule sphere_acceptance)."""

import logging

import pandas as pd

from deepsphere.experiments.sphere import tables
from deepsphere.reporting.checks import write_verdict
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    checks = tables.acceptance_checks(pd.read_csv(snakemake.input.equivariance),
                                      pd.read_csv(snakemake.input.kernel_widths),
                                      pd.read_csv(snakemake.input.filtering_speed),
                                      snakemake.params.acceptance)  # fmt: skip
    frame = write_verdict(checks, snakemake.output.csv, snakemake.output.md,
                          title=tables.TITLES["acceptance"])  # fmt: skip
    logging.info("\n%s", frame.to_string())
