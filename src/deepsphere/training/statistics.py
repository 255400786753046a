"""Statistics of a training split, for normalisation and class-weighted losses (Keras-free).

- :class:`RunningMoments`: per-channel mean and population std of ``(sample, channel, vertex)``
  data accumulated batch by batch in float64 (data too large for memory: the climate shards);
- :func:`class_counts` and :func:`class_weights`: the "balanced" class weights of the labels.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RunningMoments", "class_counts", "class_weights"]


class RunningMoments:
    """Per-channel mean and population std (``ddof=0``) accumulated batch by batch, float64.

    Each batch's mean and sum of squared deviations are computed in two passes, then merged
    with the running ones by Chan et al.'s parallel update
    (``M2 = M2_a + M2_b + delta^2 n_a n_b / n``), so large offsets with a small spread (PS ~
    1e5 Pa) lose no precision. ``channels`` is the number of channels ``C``.
    """

    def __init__(self, channels: int):
        if int(channels) < 1:
            raise ValueError(f"channels={channels}: pass the number of channels (>= 1).")
        self.channels = int(channels)
        self._n = 0
        self._mean = np.zeros(self.channels)
        self._m2 = np.zeros(self.channels)

    def _merge(self, n_b: int, mean_b: np.ndarray, m2_b: np.ndarray) -> None:
        if n_b == 0:
            return
        n_a, n = self._n, self._n + n_b
        delta = mean_b - self._mean
        self._mean = self._mean + delta * (n_b / n)
        self._m2 = self._m2 + m2_b + delta**2 * (n_a * n_b / n)
        self._n = n

    def update_many(self, x) -> RunningMoments:
        """Add samples ``x`` of shape ``(n, C, V)``; returns ``self``."""
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[1] != self.channels:
            raise ValueError(f"expected maps of shape (n_maps, {self.channels}, n_vertices), "
                             f"got {x.shape}.")
        x = x.astype(np.float64, copy=False)
        n_b = x.shape[0] * x.shape[2]
        if n_b == 0:
            return self
        mean_b = x.mean(axis=(0, 2))
        m2_b = ((x - mean_b[None, :, None]) ** 2).sum(axis=(0, 2))
        self._merge(n_b, mean_b, m2_b)
        return self

    def update(self, data) -> RunningMoments:
        """Add one map ``data`` of shape ``(C, V)``; returns ``self``."""
        data = np.asarray(data)
        if data.ndim != 2:
            raise ValueError(f"expected one map of shape ({self.channels}, n_vertices), got "
                             f"{data.shape} (use update_many for a stack of maps).")
        return self.update_many(data[None])

    @property
    def count(self) -> int:
        """Number of values accumulated per channel (maps x vertices)."""
        return self._n

    def _need_data(self) -> None:
        if self._n == 0:
            raise ValueError("RunningMoments holds no data yet: call update() first.")

    @property
    def mean(self) -> np.ndarray:
        """Per-channel mean, float64 ``(C,)``."""
        self._need_data()
        return self._mean.copy()

    @property
    def std(self) -> np.ndarray:
        """Per-channel population standard deviation (``ddof=0``), float64 ``(C,)``."""
        self._need_data()
        return np.sqrt(self._m2 / self._n)


def class_counts(labels, n_classes: int) -> np.ndarray:
    """Number of vertices of each class, int64 ``(n_classes,)``; ``labels``: class indices,
    any shape (e.g. ``(n_maps, V)``)."""
    labels = np.asarray(labels)
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype} "
                         "(one-hot labels: take argmax over the class axis first).")
    flat = labels.ravel().astype(np.int64)
    if flat.size and (flat.min() < 0 or flat.max() >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}, got values in "
                         f"[{flat.min()}, {flat.max()}]: check n_classes.")
    return np.bincount(flat, minlength=n_classes).astype(np.int64)


def class_weights(counts, names=None) -> np.ndarray:
    """The "balanced" loss weights ``w_c = n / (n_classes n_c)``, float64 ``(n_classes,)``;
    ``names``: the classes' names, for the error message.

    Equal to ``sklearn.utils.class_weight.compute_class_weight("balanced", ...)`` (the climate
    paper's ``[0.341, 318.5, 14.94]`` for BG, TC, AR are these on its training labels).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f"counts must be a 1-D array of per-class counts, got shape {counts.shape}.")
    empty = np.flatnonzero(counts <= 0)
    if empty.size:
        names = [str(i) if names is None else names[i] for i in empty]
        raise ValueError(
            f"class(es) {names} have no vertex in the labels counted, so their balanced weight "
            "is infinite: count over more samples (the training set) or drop the class.")
    return counts.sum() / (counts.size * counts)
