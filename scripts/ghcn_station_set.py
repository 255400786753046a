"""The stations a task keeps (the coverage rule) and their positions file, from which the
graph rule builds the graph (rule ghcn_station_set)."""

from deepsphere.experiments.ghcn.preprocess import make_station_set
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    make_station_set(snakemake.input.stations, list(snakemake.input.years),
                     snakemake.params.elements, snakemake.params.coverage,
                     snakemake.output.arrays, snakemake.output.positions)
