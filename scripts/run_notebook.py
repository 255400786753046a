"""Execute one parameterised notebook with papermill (rule notebook)."""

from deepsphere.workflow.logs import workflow_job
from deepsphere.workflow.notebooks import execute_notebook

with workflow_job(snakemake):
    execute_notebook(
        snakemake.input.notebook,
        snakemake.output.notebook,
        parameters=dict(snakemake.params.parameters),
        figure_dir=snakemake.output.figures,
    )
