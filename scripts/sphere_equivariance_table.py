"""Paper-vs-ours table and figure of the equivariance error (rule sphere_equivariance_table)."""

import logging

from deepsphere.experiments.sphere import tables
from deepsphere.experiments.sphere.figures import plot_equivariance_error
from deepsphere.reporting.tables import write_table
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    ours = tables.read_frames(snakemake.input.curves)
    paper = tables.paper_equivariance_error(ours["nside"].unique())
    table, notes = tables.equivariance_table(ours, factor=snakemake.params.factor,
                                             ell_min=snakemake.params.ell_min, paper=paper)  # fmt: skip
    write_table(table, snakemake.output.csv, snakemake.output.md,
                title=tables.TITLES["equivariance"], notes=notes)  # fmt: skip
    plot_equivariance_error(ours, paper, snakemake.output.figure)
    logging.info("wrote %d rows", len(table))
