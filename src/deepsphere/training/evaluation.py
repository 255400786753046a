"""Evaluation: predict, score with :mod:`deepsphere.metrics`, write JSON with provenance."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from deepsphere import metrics as _metrics
from deepsphere.training.checkpoint import atomic_write_json
from deepsphere.training.data import ArrayBatches
from deepsphere.training.runtime import provenance

__all__ = ["evaluate", "group_mean_scores", "group_mean_values", "predict_scores"]


def _collect(data):
    if isinstance(data, tuple) and len(data) == 2:
        return data[0], np.asarray(data[1])
    if isinstance(data, ArrayBatches) and data.y is not None and not data.shuffle:
        return data, np.asarray(data.y)
    if isinstance(data, keras.utils.PyDataset) and hasattr(data, "labels"):
        return data, np.asarray(data.labels())  # a stream; labels() refuses a shuffled one
    raise ValueError("evaluate: data must be (x, y) arrays, ArrayBatches(shuffle=False) with y, "
                     "or an unshuffled stream with labels() (e.g. ShardBatches)")


def group_mean_scores(scores: np.ndarray, y: np.ndarray, groups) -> tuple[np.ndarray, np.ndarray,
                                                                        np.ndarray]:
    """Test-time augmentation: the mean of the per-row scores of each group (the augmented
    copies of one object). ``scores`` ``(n, C)``, ``y`` ``(n,)``, ``groups`` ``(n,)`` ints;
    returns ``(group ids (g,), mean scores (g, C), labels (g,))``, groups in increasing order.
    Raises ValueError if the rows of a group disagree on the label."""
    groups = np.asarray(groups)
    if groups.shape != (len(scores),):
        raise ValueError(f"groups must have one entry per test row ({len(scores)}), got shape "
                         f"{groups.shape}")
    ids, inverse = np.unique(groups, return_inverse=True)
    sums = np.zeros((len(ids), scores.shape[-1]), np.float64)
    np.add.at(sums, inverse, scores)
    counts = np.bincount(inverse, minlength=len(ids))
    labels = np.zeros(len(ids), dtype=np.asarray(y).dtype)
    labels[inverse] = y
    if np.any(labels[inverse] != y):
        bad = ids[np.unique(inverse[labels[inverse] != y])[0]]
        raise ValueError(f"the test rows of group {bad} have different labels: the copies of "
                         "one object must share its label")
    return ids, (sums / counts[:, None]).astype(np.float32), labels


def group_mean_values(values: np.ndarray, y: np.ndarray, groups) -> tuple[np.ndarray, np.ndarray,
                                                                        np.ndarray]:
    """Regression over the parts of one object (the patches of one map): the mean output of
    each group. ``values`` and ``y`` ``(n, ...)`` of equal shapes, ``groups`` ``(n,)``; returns
    ``(group ids (g,), mean values (g, ...), targets (g, ...))``, groups in increasing order.
    Raises ValueError if the rows of a group disagree on the target (NaN equals NaN)."""
    values, y, groups = np.asarray(values), np.asarray(y), np.asarray(groups)
    if groups.shape != (len(values),):
        raise ValueError(f"groups must have one entry per test row ({len(values)}), got shape "
                         f"{groups.shape}")
    ids, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    sums = np.zeros((len(ids), *values.shape[1:]), np.float64)
    np.add.at(sums, inverse, values)
    counts = np.bincount(inverse, minlength=len(ids)).reshape(-1, *[1] * (values.ndim - 1))
    targets = y[first]
    same = (y == targets[inverse]) | (np.isnan(y) & np.isnan(targets[inverse]))
    if not same.all():
        rows = np.nonzero(~same.reshape(len(y), -1).all(axis=1))[0]
        raise ValueError(f"the test rows of group {groups[rows[0]]} have different targets: the "
                         "parts of one object must share its target")
    return ids, (sums / counts).astype(np.float32), targets


def predict_scores(model, x, *, batch_size: int = 32) -> np.ndarray:
    """The model's class probabilities (softmax of its logits) ``(n, ..., C)`` float32."""
    if isinstance(x, keras.utils.PyDataset):
        out = model.predict(x, verbose=0)
    else:
        out = model.predict(x, batch_size=batch_size, verbose=0)
    out = np.asarray(out, dtype=np.float32)
    scores = np.exp(out - out.max(axis=-1, keepdims=True))
    return scores / scores.sum(axis=-1, keepdims=True)


def evaluate(
    model,
    data,
    *,
    task: str,
    out_path,
    config: dict | None = None,
    batch_size: int = 32,
    map_classes=None,
    groups=None,
    predictions_path=None,
    ids=None,
    target_transform=None,
    target_names=None,
) -> dict:
    """Predict, score with ``deepsphere.metrics`` and write the JSON report to ``out_path``.

    Args:
        model: a ``keras.Model`` or the path of a ``.keras`` file.
        data: ``(x, y)``, ``x``: ``(n, vertices, channels)``; ``y``: ``(n,)`` labels
            (classification), ``(n, vertices)`` labels (segmentation) or targets of the model's
            output size (regression); or ``ArrayBatches(shuffle=False)`` (e.g. fixed test noise),
            or an unshuffled ``PyDataset`` stream with ``labels()`` (``ShardBatches``).
        task: ``classification`` | ``segmentation`` (adds AP per class and mAP over
            ``map_classes``) | ``regression``.
        out_path: the JSON file, conventionally next to the model (``<model>.metrics.json``),
            or None (no file).
        groups: ``(n,)`` group of each test row (the augmented copies or the patches of one
            object); classification averages the softmax over a group's rows
            (:func:`group_mean_scores`), regression the outputs (:func:`group_mean_values`),
            and each group is scored once. Not for segmentation.
        predictions_path: also write to this ``.npz`` the ``scores`` (classification and
            segmentation: the (group-mean) probabilities ``(g, ..., C)``; regression: the
            outputs), the ``labels`` and the ``ids`` (``ids``: one per group or row, else the
            row or group numbers).
        target_transform: regression: ``(offset, scale)`` when the model was trained on
            standardised targets: outputs and targets are scored (and written) as
            ``offset + scale * value``, in the data's own units. NaN targets are missing:
            they are left out of the metrics (``n_missing`` counts them).
        target_names: regression with targets ``(n, T)``: the name of each of the ``T``
            targets; the report then holds ``per_target`` (MSE, MAE, R² of each) beside the
            values pooled over all targets.
    Returns the metrics dict (also under ``"metrics"`` in the file, with the config, the
    package versions and the git commit).
    """
    if task not in ("classification", "segmentation", "regression"):
        raise ValueError(f"task: got {task!r}; use classification, segmentation or regression")
    if not isinstance(model, keras.Model):
        model = keras.saving.load_model(model)
    if task == "segmentation" and groups is not None:
        raise ValueError("evaluate: groups (test-time averaging) are for classification and "
                         "regression, not segmentation")
    if target_names is not None and task != "regression":
        raise ValueError("evaluate: target_names are for regression")
    x, y = _collect(data)
    if task == "regression":
        if isinstance(x, keras.utils.PyDataset):
            out = model.predict(x, verbose=0)
        else:
            out = model.predict(x, batch_size=batch_size, verbose=0)
        out = np.asarray(out, dtype=np.float32)
        if out.size != y.size:
            raise ValueError(
                f"regression: model output {out.shape} does not match targets {y.shape}"
            )
        out = out.reshape(y.shape)
        if groups is not None:
            group_ids, out, y = group_mean_values(out, y, groups)
            ids = group_ids if ids is None else ids
        if target_transform is not None:
            offset, scale = (np.float32(v) for v in target_transform)
            out, y = offset + scale * out, offset + scale * np.asarray(y, np.float32)
        present = np.isfinite(y)
        report = _metrics.regression_report(y[present], out[present])
        report["n_missing"] = int(y.size - np.count_nonzero(present))
        if target_names is not None:
            report["per_target"] = _metrics.per_target_report(y, out, target_names)
        if predictions_path is not None:
            _write_predictions(predictions_path, out, y,
                               np.arange(len(y)) if ids is None else ids)
    else:
        scores = predict_scores(model, x, batch_size=batch_size)  # float32: climate is large
        group_ids = np.arange(len(y))
        if groups is not None:
            group_ids, scores, y = group_mean_scores(scores, y, groups)
        report = _metrics.classification_report(
            y, scores, map_classes=map_classes, with_ap=task == "segmentation"
        )
        if predictions_path is not None:
            _write_predictions(predictions_path, scores, y, group_ids if ids is None else ids)
    if out_path is None:
        return report
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


def _write_predictions(path, scores, labels, ids) -> None:
    from deepsphere.io.atomic import atomic_path

    ids = np.asarray([str(i) for i in ids])
    if len(ids) != len(scores):
        raise ValueError(f"evaluate: {len(ids)} ids for {len(scores)} scored objects")
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, scores=scores, labels=labels, ids=ids)
