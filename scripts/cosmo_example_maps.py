"""Example maps: a full test map, one patch without and with noise (rule cosmo_example_maps)."""

from pathlib import Path

import numpy as np

from deepsphere.experiments.cosmo.figures import plot_example_maps
from deepsphere.experiments.cosmo.noise import add_fixed_noise
from deepsphere.experiments.cosmo.preprocess import load_normalisation, load_patch_cache, normalise
from deepsphere.experiments.cosmo.sources import LABELS, list_maps
from deepsphere.workflow.logs import workflow_job

with workflow_job(snakemake):
    path, label = list_maps(Path(snakemake.input.maps) / "testing")[0]
    cache = load_patch_cache(snakemake.input.patches)
    patch = normalise(cache.x[0], load_normalisation(snakemake.input.normalisation))
    noise = float(snakemake.params.noise)
    plot_example_maps(np.load(path), patch, add_fixed_noise(patch, noise, snakemake.params.seed),
                      nside=int(cache.attrs["nside"]), order=int(cache.attrs["order"]),
                      patch_index=int(cache.patch_index[0]), noise=noise,
                      path=snakemake.output[0], label=LABELS[label].description)
