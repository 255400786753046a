"""Read, check, downgrade and cut every map of the table; splits and normalisation
(rule maps_dataset)."""

import logging

from deepsphere.experiments.maps.dataset import build_dataset
from deepsphere.experiments.maps.sky import observed_pixels
from deepsphere.experiments.maps.table import read_table
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    s = snakemake.params.maps
    nside = int(snakemake.params.nside)
    table = read_table(snakemake.input.table, folder=snakemake.params.folder, task=s["task"],
                       target=s["target"], file_column=s["file_column"],
                       split_column=s["split_column"], channels=s["channels"])
    mask = snakemake.input.mask[0] if snakemake.input.mask else None
    sky = s["sky"]
    observed = observed_pixels(mask, nside, mask_ordering=sky["mask_ordering"],
                               mask_nside=sky["mask_nside"])
    info = build_dataset(table, task=s["task"], nside_model=nside, observed=observed,
                         patches=sky["patches"], channels=s["channels"], ordering=s["ordering"],
                         fractions=s["split"], seed=int(snakemake.params.seed),
                         out_h5=snakemake.output.dataset, out_json=snakemake.output.inputs)
    logging.info("dataset: %s maps per split, nside %d, %s", info["counts"], nside,
                 "full sky" if observed is None else f"{len(observed)} observed pixels")
