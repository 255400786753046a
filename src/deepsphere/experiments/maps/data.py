"""The data of a maps run (``network_data``): the dataset file, normalised with the training
maps' statistics, in the model's layout ``(n, V, C)``.

Regression targets are standardised with the training maps' mean and spread (scored back in
the data's units through ``NetworkData.target_transform``); in patch mode, the test patches of
a map are scored together (``test_groups``: the mean softmax or output over its patches).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["normalise", "network_data"]


def normalise(x: np.ndarray, info: dict) -> np.ndarray:
    """``(n, C, V)`` maps to the model's input ``(n, V, C)``, standardised per channel with the
    training statistics of ``info`` (``inputs.json``)."""
    mean = np.asarray(info["channel_mean"], np.float32)[None, :, None]
    std = np.asarray(info["channel_std"], np.float32)[None, :, None]
    return np.ascontiguousarray(np.transpose((x - mean) / std, (0, 2, 1))).astype(np.float32)


def network_data(spec, inputs):
    """``NetworkData`` of the run (train and validation as seeded ``ArrayBatches``)."""
    from deepsphere.experiments.maps.dataset import SPLIT_CODES, load_dataset
    from deepsphere.training.data import ArrayBatches
    from deepsphere.workflow.network_run import NetworkData

    data = load_dataset(inputs["dataset"])
    info = json.loads(Path(inputs["inputs"]).read_text())
    task, s = spec.task, spec.data["maps"]
    x, y = normalise(data["x"], info), data["y"]
    transform, names = None, None
    if task == "regression":
        offset = np.asarray(info["target_offset"], np.float32)
        scale = np.asarray(info["target_scale"], np.float32)
        y = ((y - offset) / scale).astype(np.float32)
        transform, names = (offset, scale), tuple(info["target_names"])
    batch, seed = int(spec.config["training"]["batch_size"]), int(spec.config["seed"])
    split = data["split"]
    parts = {name: split == code for name, code in SPLIT_CODES.items()}
    weights = None
    if task != "regression" and s["training"]["class_weight"] == "balanced":
        from deepsphere.training.statistics import class_counts, class_weights

        n_classes = int(spec.config["model"]["n_classes"])
        weights = class_weights(class_counts(y[parts["train"]], n_classes)).tolist()
    train = ArrayBatches(x[parts["train"]], y[parts["train"]], batch_size=batch, seed=seed,
                         shuffle=True, class_weight=weights)
    val = ArrayBatches(x[parts["val"]], y[parts["val"]], batch_size=batch, seed=seed,
                       shuffle=False)
    test_maps = data["map_index"][parts["test"]]
    ids = [data["ids"][m] for m in np.unique(test_maps)]
    patched = bool(info["patches"]) and task != "segmentation"
    return NetworkData(train, val, (x[parts["test"]], y[parts["test"]]),
                       test_groups=test_maps if patched else None, test_ids=ids,
                       target_transform=transform, target_names=names)
