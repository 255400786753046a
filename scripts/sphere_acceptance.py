"""Acceptance verdict of the sphere study on the produced tables (rule sphere_acceptance)."""

import logging

import pandas as pd

from deepsphere.experiments.sphere.filtering_speed import check_filtering_speed
from deepsphere.experiments.sphere.study import check_equivariance, check_kernel_widths
from deepsphere.reporting.checks import write_verdict
from deepsphere.workflow.logs import log_to_file

with log_to_file(snakemake.log[0]):
    a = snakemake.params.acceptance
    eq_table = pd.read_csv(snakemake.input.equivariance)
    checks = check_equivariance(eq_table, nsides=a["error_nsides"],
                                ell_min=a["ell_min"], factor=a["error_factor"])  # fmt: skip
    checks += check_kernel_widths(pd.read_csv(snakemake.input.kernel_widths), k=a["width_k"],
                                  nsides=a["width_nsides"], rtol=a["width_rtol"])  # fmt: skip
    checks += check_filtering_speed(pd.read_csv(snakemake.input.filtering_speed),
                                    nside_min=a["speed_nside_min"])  # fmt: skip
    frame = write_verdict(checks, snakemake.output.csv, snakemake.output.md,
                          title="Sphere study: acceptance")  # fmt: skip
    logging.info("\n%s", frame.to_string())
