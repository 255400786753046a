"""Preprocess one split's maps into the HDF5 patch cache of one order (rule cosmo_patches)."""

import logging
from pathlib import Path

from deepsphere.experiments.cosmo.plan import smoothing_arcmin
from deepsphere.experiments.cosmo.preprocess import build_patch_cache
from deepsphere.experiments.cosmo.sources import list_maps
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    cosmo, split = snakemake.params.cosmo, snakemake.wildcards.split
    maps = list_maps(Path(snakemake.input.maps) / split,
                     expected_per_class=cosmo["maps_per_class"][split])
    sigma = smoothing_arcmin(cosmo)
    logging.info("%s: %d maps -> nside %d, sigma %.3f arcmin, order %s", split, len(maps),
                 cosmo["preprocess"]["nside"], sigma, snakemake.wildcards.order)
    build_patch_cache(maps, snakemake.output[0], nside=cosmo["preprocess"]["nside"],
                      order=int(snakemake.wildcards.order), sigma_arcmin=sigma, split=split,
                      progress=False)
