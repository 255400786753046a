"""Apply the trained maps model to the maps of a folder (rule maps_predict)."""

import logging

from deepsphere.experiments.maps.predict import predict_maps
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    s = snakemake.params.maps
    table = snakemake.input.table[0] if snakemake.input.table else None
    predict_maps(snakemake.input.model, snakemake.input.inputs, snakemake.params.folder, table,
                 snakemake.output[0], channels=s["channels"], ordering=s["ordering"],
                 file_column=s["file_column"])
    logging.info("predictions of %s written to %s", snakemake.params.folder, snakemake.output[0])
