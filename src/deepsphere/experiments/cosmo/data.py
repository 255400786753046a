"""The data of one cosmo run: normalised, split and noised patches (the run's data loader).

``network_data(spec, inputs)`` is what the shared network run (``deepsphere.workflow.
network_run``) calls; ``load_run`` gives the SVM runs the same arrays. ``spec.data`` holds
``run`` (the cell), ``cosmo`` (the run's config keys) and ``seed`` (the config's seed);
``inputs`` the patch caches ``train``, ``test`` and the ``normalisation`` JSON.

Seeds: the train/validation split and the fixed validation/test noise are functions of
``(seed, order, noise)`` only, so every method of a cell sees the same noisy samples; each run's
weights, data order and training noise derive from ``(seed, run_id)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepsphere.experiments.cosmo.noise import add_fixed_noise
from deepsphere.experiments.cosmo.plan import PLANAR_METHODS, CosmoRun
from deepsphere.experiments.cosmo.preprocess import load_normalisation, load_patch_cache, normalise
from deepsphere.geometry.patch_images import nest_patch_to_image
from deepsphere.training.seeds import derive_seed
from deepsphere.training.splits import stratified_split

__all__ = ["CosmoData", "load_cosmo_data", "load_run", "network_data"]


@dataclass(frozen=True)
class CosmoData:
    """Normalised patches ``(n, npix_patch)`` float32: training clean (noise is drawn per batch),
    validation and test with one fixed seeded noise draw; ``*_patch`` are NEST patch numbers."""

    x_train: np.ndarray
    y_train: np.ndarray
    train_patch: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    val_patch: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_patch: np.ndarray
    nside: int
    order: int


def load_cosmo_data(train_cache, test_cache, normalisation, *, noise: float,
                    val_fraction: float, seed: int) -> CosmoData:
    """Read both caches, normalise by the TRAINING std, split, add the fixed noise."""
    stats = load_normalisation(normalisation)
    train, test = load_patch_cache(train_cache), load_patch_cache(test_cache)
    for key in ("nside", "order"):
        if int(train.attrs[key]) != int(test.attrs[key]) or int(train.attrs[key]) != stats[key]:
            raise ValueError(f"{train_cache}, {test_cache} and {normalisation} disagree on {key}: "
                             "rebuild them from the same config")
    nside, order = int(train.attrs["nside"]), int(train.attrs["order"])
    tr, va = stratified_split(train.y, val_fraction, derive_seed(seed, 1, order))
    cell = derive_seed(seed, 3, order, int(round(noise * 1000)))
    x = normalise(train.x, stats)
    return CosmoData(
        x[tr], train.y[tr], train.patch_index[tr],
        add_fixed_noise(x[va], noise, derive_seed(cell, 0)), train.y[va], train.patch_index[va],
        add_fixed_noise(normalise(test.x, stats), noise, derive_seed(cell, 1)), test.y,
        test.patch_index, nside, order,
    )


def load_run(data_params: dict, inputs) -> tuple[CosmoRun, CosmoData]:
    """The cell and its data from a spec's ``data`` (``run``, ``cosmo``, ``seed``) and inputs."""
    run = CosmoRun(**{k: data_params["run"][k] for k in ("method", "order", "noise", "graph")})
    data = load_cosmo_data(inputs["train"], inputs["test"], inputs["normalisation"],
                           noise=run.noise, val_fraction=data_params["cosmo"]["val_fraction"],
                           seed=data_params["seed"])
    return run, data


def network_data(spec, inputs):
    """The arrays of a network run in its model's input shape: ``(n, npix, 1)`` for DeepSphere,
    ``(n, side, side, 1)`` quad-tree images for the 2-D baselines."""
    from deepsphere.workflow.network_run import NetworkData

    run, data = load_run(spec.data, inputs)
    if run.method in PLANAR_METHODS:
        def shape(x):
            return nest_patch_to_image(x)[..., None]
    else:
        def shape(x):
            return x[..., None]
    return NetworkData((shape(data.x_train), data.y_train), (shape(data.x_val), data.y_val),
                       (shape(data.x_test), data.y_test))
