"""Execute one parameterised notebook with papermill (rule notebook)."""

from deepsphere.notebooks import execute_notebook
from deepsphere.workflow_logging import log_to_file

with log_to_file(snakemake.log[0]):
    execute_notebook(
        snakemake.input.notebook,
        snakemake.output.notebook,
        parameters=dict(snakemake.params.parameters),
        figure_dir=snakemake.output.figures,
    )
