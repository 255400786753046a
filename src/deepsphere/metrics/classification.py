"""Classification metrics of the DeepSphere experiments (plain NumPy, no framework).

Conventions: ``y_true`` holds integer class labels of any shape (``(n,)`` per sample, or
``(n, vertices)`` per vertex for segmentation; integer-valued floats pass, 0.7 or NaN raise);
``y_pred`` holds predicted labels of the same shape; ``scores`` holds per-class scores
(probabilities or logits) of shape ``y_true.shape + (n_classes,)``. Per-vertex tasks are scored
over all vertices of all samples pooled together, as the climate experiment did. Fractions are
returned in ``[0, 1]`` (not percent).

:func:`accuracy`, :func:`per_class_recall` (the climate experiment's per-class "accuracy") and
its mean :func:`mean_class_recall`, :func:`weighted_f1`, :func:`average_precision` (one class
against the rest), :func:`average_precision_per_class`, :func:`mean_average_precision` over
chosen classes (climate: TC and AR, background excluded). :func:`classification_report` bundles
them into a JSON-able dict.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "accuracy",
    "average_precision",
    "average_precision_per_class",
    "classification_report",
    "mean_average_precision",
    "mean_class_recall",
    "per_class_recall",
    "weighted_f1",
]


def _class_indices(y: np.ndarray, name: str) -> np.ndarray:
    """``y`` flattened to int64, refusing values that are not class indices (0.7, NaN, "a");
    integer-valued floats (1.0) are accepted."""
    flat = y.reshape(-1)
    if flat.dtype == bool or np.issubdtype(flat.dtype, np.integer):
        return flat.astype(np.int64)
    if not np.issubdtype(flat.dtype, np.floating):
        raise ValueError(f"{name} must hold integer class labels, got dtype {flat.dtype}; "
                         "convert the labels to class indices 0, 1, ...")
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~np.isfinite(flat) | (flat != np.round(flat)))
    if bad.size:
        raise ValueError(
            f"{name} holds {bad.size} value(s) that are not class indices, e.g. {flat[bad[0]]} "
            f"at flat index {bad[0]}: labels must be integers 0, 1, ... (not truncated here); "
            "for scores or probabilities take argmax(axis=-1) first."
        )
    return flat.astype(np.int64)


def _labels(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Flatten two label arrays of equal shape to ``(n,)`` int64 (integer-valued only)."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"y_true shape {t.shape} differs from y_pred shape {p.shape}")
    if t.size == 0:
        raise ValueError("metrics need at least one sample")
    return _class_indices(t, "y_true"), _class_indices(p, "y_pred")


def _check_range(labels: np.ndarray, name: str, n_classes: int) -> None:
    outside = np.flatnonzero((labels < 0) | (labels >= n_classes))
    if outside.size:
        raise ValueError(
            f"{name} holds {outside.size} label(s) outside 0..{n_classes - 1}, e.g. "
            f"{labels[outside[0]]} at flat index {outside[0]}: pass n_classes = the number of "
            "classes (largest label + 1), or fix the labels."
        )


def accuracy(y_true, y_pred) -> float:
    """Fraction of correct labels over all entries. Shapes: any, equal."""
    t, p = _labels(y_true, y_pred)
    return float(np.mean(t == p))


def per_class_recall(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Recall of each class, ``(n_classes,)``: TP_c / (number of true c); NaN for an absent class.

    The climate experiment reported this (times 100) as per-class "accuracy".
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, int | np.integer) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")
    t, p = _labels(y_true, y_pred)
    _check_range(t, "y_true", n_classes)
    _check_range(p, "y_pred", n_classes)
    recall = np.full(n_classes, np.nan)
    for c in range(n_classes):
        true_c = t == c
        if true_c.any():
            recall[c] = np.mean(p[true_c] == c)
    return recall


def mean_class_recall(y_true, y_pred, n_classes: int) -> float:
    """Mean of :func:`per_class_recall` over the classes present in ``y_true`` (an absent class
    has no recall and is left out, as ``sklearn.metrics.balanced_accuracy_score``)."""
    recall = per_class_recall(y_true, y_pred, n_classes)
    return float(np.nanmean(recall))  # y_true is non-empty: at least one class is present


def weighted_f1(y_true, y_pred) -> float:
    """F1 per class present in ``y_true``, averaged with weights = class support.

    Same definition as ``sklearn.metrics.f1_score(average="weighted")``; a class with no predicted
    and no true sample has no weight, a class with zero precision and recall contributes 0.
    """
    t, p = _labels(y_true, y_pred)
    classes, support = np.unique(t, return_counts=True)
    f1 = np.zeros(len(classes))
    for i, c in enumerate(classes):
        tp = np.sum((t == c) & (p == c))
        fp = np.sum((t != c) & (p == c))
        fn = np.sum((t == c) & (p != c))
        denominator = 2 * tp + fp + fn
        f1[i] = 2 * tp / denominator if denominator else 0.0
    return float(np.sum(f1 * support) / np.sum(support))


def average_precision(is_positive, score) -> float:
    """Average precision of one binary problem: sum over thresholds of (R_n - R_{n-1}) P_n.

    Thresholds are the distinct score values (ties form one step), as in sklearn's
    ``average_precision_score``. Shapes: ``(n,)`` booleans and ``(n,)`` scores. NaN if there
    is no positive.
    """
    pos = np.asarray(is_positive, dtype=bool).reshape(-1)
    s = np.asarray(score, dtype=np.float64).reshape(-1)
    n_pos = int(pos.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="stable")
    s, pos = s[order], pos[order]
    tp = np.cumsum(pos)
    # last index of each group of tied scores = one threshold
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp = tp[last]
    predicted = last + 1
    precision = tp / predicted
    recall = tp / n_pos
    recall_step = np.diff(np.r_[0.0, recall])
    return float(np.sum(recall_step * precision))


def average_precision_per_class(y_true, scores) -> np.ndarray:
    """AP of each class against the rest, ``(n_classes,)``; ``scores``: ``y_true.shape + (C,)``."""
    t = np.asarray(y_true).reshape(-1)
    s = np.asarray(scores)
    if s.shape[:-1] != np.asarray(y_true).shape:
        raise ValueError(
            f"scores shape {s.shape} must be y_true shape {np.asarray(y_true).shape} + (n_classes,)"
        )
    s = s.reshape(-1, s.shape[-1])
    return np.array([average_precision(t == c, s[:, c]) for c in range(s.shape[1])])


def mean_average_precision(y_true, scores, classes: Sequence[int] | None = None) -> float:
    """Mean of the per-class AP over ``classes`` (all classes if None).

    Climate: ``classes=[1, 2]`` (TC, AR), the background class 0 excluded, as the paper did.
    """
    ap = average_precision_per_class(y_true, scores)
    chosen = range(len(ap)) if classes is None else list(classes)
    return float(np.mean([ap[c] for c in chosen]))


def classification_report(
    y_true, scores, *, map_classes: Sequence[int] | None = None, with_ap: bool = False
) -> dict:
    """Every classification metric as a JSON-able dict.

    ``scores``: ``y_true.shape + (n_classes,)``, predicted label = argmax. With
    ``with_ap=True`` (segmentation) the per-class AP and the mAP over ``map_classes``
    are added.
    """
    s = np.asarray(scores)
    n_classes = s.shape[-1]
    y_pred = np.argmax(s, axis=-1)
    recall = per_class_recall(y_true, y_pred, n_classes)
    report = {
        "accuracy": accuracy(y_true, y_pred),
        "weighted_f1": weighted_f1(y_true, y_pred),
        "per_class_recall": [None if np.isnan(r) else float(r) for r in recall],
        "mean_class_recall": mean_class_recall(y_true, y_pred, n_classes),
        "n": int(np.asarray(y_true).size),
    }
    if with_ap:
        ap = average_precision_per_class(y_true, s)
        report["average_precision"] = [None if np.isnan(a) else float(a) for a in ap]
        report["map_classes"] = None if map_classes is None else [int(c) for c in map_classes]
        chosen = range(len(ap)) if map_classes is None else list(map_classes)
        # the mean of the APs just computed (mean_average_precision would sort every score again)
        report["mean_average_precision"] = float(np.mean([ap[c] for c in chosen]))
    return report
