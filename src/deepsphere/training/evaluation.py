"""Evaluation: predict, score with :mod:`deepsphere.metrics`, write JSON with provenance."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from deepsphere import metrics as _metrics
from deepsphere.training.checkpoint import atomic_write_json
from deepsphere.training.data import ArrayBatches
from deepsphere.training.runtime import provenance

__all__ = ["evaluate"]


def _collect(data):
    if isinstance(data, tuple) and len(data) == 2:
        return data[0], np.asarray(data[1])
    if isinstance(data, ArrayBatches) and data.y is not None and not data.shuffle:
        return data, np.asarray(data.y)
    raise ValueError("evaluate: data must be (x, y) arrays or ArrayBatches(shuffle=False) with y")


def evaluate(
    model,
    data,
    *,
    task: str,
    out_path,
    config: dict | None = None,
    batch_size: int = 32,
    map_classes=None,
) -> dict:
    """Predict, score with ``deepsphere.metrics`` and write the JSON report to ``out_path``.

    Args:
        model: a ``keras.Model`` or the path of a ``.keras`` file.
        data: ``(x, y)``, ``x``: ``(n, vertices, channels)``; ``y``: ``(n,)`` labels
            (classification), ``(n, vertices)`` labels (segmentation) or targets of the model's
            output size (regression); or ``ArrayBatches(shuffle=False)`` (e.g. fixed test noise).
        task: ``classification`` | ``segmentation`` (adds AP per class and mAP over
            ``map_classes``) | ``regression``.
        out_path: the JSON file, conventionally next to the model (``<model>.metrics.json``).
    Returns the metrics dict (also under ``"metrics"`` in the file, with the config, the
    package versions and the git commit).
    """
    if task not in ("classification", "segmentation", "regression"):
        raise ValueError(f"task: got {task!r}; use classification, segmentation or regression")
    if not isinstance(model, keras.Model):
        model = keras.saving.load_model(model)
    x, y = _collect(data)
    if isinstance(x, keras.utils.PyDataset):
        out = model.predict(x, verbose=0)
    else:
        out = model.predict(x, batch_size=batch_size, verbose=0)
    out = np.asarray(out, dtype=np.float32)  # per-vertex scores can be large (climate)
    if task == "regression":
        if out.size != y.size:
            raise ValueError(
                f"regression: model output {out.shape} does not match targets {y.shape}"
            )
        report = _metrics.regression_report(y, out.reshape(y.shape))
    else:
        scores = np.exp(out - out.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        report = _metrics.classification_report(
            y, scores, map_classes=map_classes, with_ap=task == "segmentation"
        )
    atomic_write_json(
        Path(out_path),
        {
            "task": task,
            "metrics": report,
            "config": config,
            "provenance": provenance(),
        },
    )
    return report
