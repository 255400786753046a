"""Convert the maps of one split list into an HDF5 shard store (rule climate_shards)."""

import logging

from deepsphere.experiments.climate.preprocess import convert_split
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    s = snakemake.params.shards
    summary = convert_split(snakemake.input.maps, snakemake.input.split_list, snakemake.output[0],
                            expected=snakemake.params.expected,
                            samples_per_shard=s["samples_per_shard"],
                            chunk_samples=s["chunk_samples"], compression=s["compression"],
                            order_threshold=snakemake.params.order_threshold,
                            manual_dir=snakemake.params.manual_dir)
    logging.info("%s", summary)
