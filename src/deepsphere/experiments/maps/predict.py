"""Predictions of a trained maps model on new maps: read, checked, downgraded, cut and
normalised exactly as the training maps were (``inputs.json``), then one row per map.

The maps are a folder (every ``.fits``/``.fits.gz``/``.npy``/``.npz`` file in it, sorted) or the
files of a table (its file column; other columns are copied through, so a table with the truth
can be compared).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = ["list_maps", "predict_maps"]

_SUFFIXES = (".fits", ".fits.gz", ".fit", ".npy", ".npz")


def list_maps(folder: str | os.PathLike, table: str | os.PathLike | None, *,
              file_column: str = "file", channels=None):
    """``(ids, files per map, extra columns frame or None)`` of the maps to predict."""
    import pandas as pd

    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"maps.predict: {folder}: no such folder")
    if table is None:
        if isinstance(channels, Mapping):
            raise ValueError(f"maps.predict: {folder}: with one file per channel, give a table "
                             "of the map ids")
        ids = sorted(p.name for p in folder.iterdir() if p.name.lower().endswith(_SUFFIXES))
        if not ids:
            raise ValueError(f"maps.predict: {folder} holds no map file ({', '.join(_SUFFIXES)})")
        return ids, [[str(folder / i)] for i in ids], None
    frame = pd.read_csv(table, dtype=str, keep_default_na=False)
    if file_column not in frame:
        raise ValueError(f"maps.predict: {table}: no column {file_column!r}")
    ids = frame[file_column].str.strip().tolist()
    if isinstance(channels, Mapping):
        files = [[str(folder / channels["pattern"].format(id=i, channel=c))
                  for c in channels["names"]] for i in ids]
    else:
        files = [[str(folder / i)] for i in ids]
    missing = [f for row in files for f in row if not Path(f).is_file()]
    if missing:
        raise ValueError(f"maps.predict: {len(missing)} listed file(s) do not exist: "
                         f"{missing[:5]}")
    return ids, files, frame.drop(columns=[file_column])


def predict_maps(model_path, inputs_json, folder, table, out_csv, *, channels=None,
                 ordering=None, file_column: str = "file", batch_size: int = 32) -> None:
    """Write ``out_csv``: per map its id, the prediction (classification: the class and the
    probabilities; regression: each target in the data's units; segmentation: the predicted
    label map is not written, only the share of each class) and the table's other columns."""
    import keras

    import deepsphere  # noqa: F401 - registers the layers with Keras's loader
    from deepsphere.experiments.maps.data import normalise
    from deepsphere.experiments.maps.dataset import read_maps, to_patches
    from deepsphere.io.atomic import atomic_path
    from deepsphere.training.evaluation import predict_scores

    info = json.loads(Path(inputs_json).read_text())
    ids, files, extra = list_maps(folder, table, file_column=file_column, channels=channels)
    observed = None if info["observed"] is None else np.asarray(info["observed"])
    x = read_maps(files, info["nside"], observed, channels=channels, ordering=ordering).x
    map_index = np.arange(len(x))
    if info["patches"]:
        x, map_index = to_patches(x, info["patches"])
    model = keras.saving.load_model(model_path)
    inputs = normalise(x, info)
    import pandas as pd

    frame = pd.DataFrame({"id": ids})
    if info["task"] == "regression":
        out = np.asarray(model.predict(inputs, batch_size=batch_size, verbose=0), np.float64)
        out = out.reshape(len(inputs), -1) * np.asarray(info["target_scale"]) + np.asarray(
            info["target_offset"])
        out = np.stack([out[map_index == m].mean(axis=0) for m in range(len(ids))])
        for j, name in enumerate(info["target_names"]):
            frame[f"pred_{name}"] = out[:, j]
    else:
        scores = predict_scores(model, inputs, batch_size=batch_size)
        if info["task"] == "classification":
            scores = np.stack([scores[map_index == m].mean(axis=0) for m in range(len(ids))])
            names = info["class_names"]
            frame["pred"] = [names[i] for i in scores.argmax(axis=-1)]
            for j, name in enumerate(names):
                frame[f"p_{name}"] = scores[:, j]
        else:
            labels = scores.argmax(axis=-1)
            for c in range(scores.shape[-1]):
                frame[f"share_{c}"] = (labels == c).mean(axis=-1)
    if extra is not None:
        frame = pd.concat([frame, extra.reset_index(drop=True)], axis=1)
    with atomic_path(out_csv, suffix=".csv") as tmp:
        frame.to_csv(tmp, index=False)
