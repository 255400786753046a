"""A map of the stations coloured by one run's test error (rule ghcn_error_map)."""

from deepsphere.experiments.ghcn.figures import error_map
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    error_map(snakemake.input.predictions, snakemake.input.stations, snakemake.output[0],
              run_id=snakemake.params.run)
