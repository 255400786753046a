"""Execute one parameterised notebook with papermill (rule notebook)."""

from deepsphere.workflow.logs import log_to_file
from deepsphere.workflow.notebooks import execute_notebook

with log_to_file(snakemake.log[0]):
    execute_notebook(
        snakemake.input.notebook,
        snakemake.output.notebook,
        parameters=dict(snakemake.params.parameters),
        figure_dir=snakemake.output.figures,
    )
