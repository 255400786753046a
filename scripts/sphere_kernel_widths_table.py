"""Paper-vs-ours kernel widths, the V1 heuristic and Fig. 3 (rule sphere_kernel_widths_table)."""

from deepsphere.experiments.sphere import tables
from deepsphere.experiments.sphere.figures import plot_kernel_widths
from deepsphere.reporting.tables import write_table
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    searches = tables.read_frames(snakemake.input.searches)
    table, notes = tables.kernel_widths_table(searches, rtol=snakemake.params.rtol)
    write_table(table, snakemake.output.csv, snakemake.output.md,
                title=tables.TITLES["kernel_widths"], notes=notes)  # fmt: skip
    v1 = tables.v1_heuristic_table(snakemake.params.v1_nsides)
    write_table(v1, snakemake.output.v1)
    ours_plot, paper_plot = tables.kernel_widths_figure_frames(table)
    plot_kernel_widths(ours_plot, paper_plot, v1, snakemake.output.figure)
