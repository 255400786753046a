"""Paper-vs-ours filtering speed table and figure (rule sphere_filtering_speed_table)."""

from deepsphere.experiments.sphere import tables
from deepsphere.experiments.sphere.figures import plot_filtering_speed
from deepsphere.experiments.sphere.filtering_speed import paper_filtering_speed
from deepsphere.reporting.tables import write_table
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    ours = tables.speed_frame(tables.read_frames(snakemake.input.speeds))
    table, notes = tables.filtering_speed_table(ours)
    write_table(table, snakemake.output.csv, snakemake.output.md,
                title=tables.TITLES["filtering_speed"], notes=notes)  # fmt: skip
    plot_filtering_speed(ours, paper_filtering_speed(), snakemake.output.figure)
