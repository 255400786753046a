"""HEALPix pooling and unpooling on a subset of the sphere (a masked, partial sky).

The input vertices are a sorted set of NEST pixels at one nside (the observed pixels of a
mask, say). Pooling by ``factor = 4**p`` maps them to their parents at ``nside / 2**p``: the
coarse pixels with at least one child in the set (sorted, as
:func:`deepsphere.geometry.sampling.healpix_parent_indexes` gives them), each the max or the
mean of its children *that are in the set*. Unpooling copies each parent's value to its
children in the set. On the full sphere (or on whole coarse pixels) these equal
:class:`~deepsphere.layers.pooling.HealpixPooling` and ``HealpixUnpooling``; on a footprint
with ragged edges no vertex is invented (no padding to whole coarse pixels), so the graph of
every level has exactly the pixels of the data.

Both layers take ``(batch, n_vertices, features)`` and keep the pixel list in their config
(the saved model rebuilds the gather tables from it).
"""

from __future__ import annotations

import keras
import numpy as np

from deepsphere.geometry.sampling import healpix_parent_indexes
from deepsphere.layers.pooling import _check_mode, _check_power_of_4, _VertexLayer

__all__ = ["HealpixSubsetPooling", "HealpixSubsetUnpooling", "subset_children_table"]


def _check_subset(indexes, what) -> np.ndarray:
    arr = np.asarray(indexes)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{what}: indexes must be a non-empty 1-D list of NEST pixel numbers.")
    arr = arr.astype(np.int64)
    if arr.min() < 0 or np.any(np.diff(arr) <= 0):
        raise ValueError(
            f"{what}: indexes must be sorted, unique, non-negative NEST pixel numbers (the "
            "vertex order of the input); sort them with numpy.unique."
        )
    return arr


def subset_children_table(indexes, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """``(parents, table)``: the sorted parents of ``indexes`` at ``nside / sqrt(factor)``, and
    ``table[j, c]``, the position in ``indexes`` of child ``c`` of ``parents[j]`` (NEST pixel
    ``factor * parents[j] + c``), or ``len(indexes)`` where that child is not in the set.

    Shapes: ``parents (n_parents,)``, ``table (n_parents, factor)``, int64.
    """
    indexes = np.asarray(indexes, dtype=np.int64)
    steps = int(round(np.log(factor) / np.log(4)))
    parents = healpix_parent_indexes(indexes, steps)
    children = (parents[:, None] * factor + np.arange(factor)[None, :]).ravel()
    pos = np.searchsorted(indexes, children)
    found = (pos < indexes.size) & (indexes[np.minimum(pos, indexes.size - 1)] == children)
    table = np.where(found, pos, indexes.size).reshape(parents.size, factor)
    return parents, table


def _check_vertex_count(input_shape, expected: int, message: str) -> None:
    """Raise ``ValueError(message.format(n=...))`` when the input's vertex axis (axis 1) is
    known and is not ``expected``."""
    n = input_shape[1]
    if n is not None and n != expected:
        raise ValueError(message.format(n=n))


@keras.saving.register_keras_serializable(package="deepsphere")
class HealpixSubsetPooling(_VertexLayer):
    """Pooling of a NEST pixel subset: ``(batch, len(indexes), f) -> (batch, n_parents, f)``.

    Args:
        indexes: the input's vertices, sorted unique NEST pixels at the input nside.
        factor: ``4**p`` (4 halves nside).
        mode: ``"max"`` or ``"avg"`` over the children present in ``indexes``.
    """

    def __init__(self, indexes, factor, mode="max", **kwargs):
        super().__init__(**kwargs)
        self.indexes = _check_subset(indexes, "HealpixSubsetPooling")
        self.factor = _check_power_of_4(factor, "HealpixSubsetPooling")
        self.mode = _check_mode(mode)
        self.parents, table = subset_children_table(self.indexes, self.factor)
        self._flat_table = table.ravel()
        self._counts = (table < self.indexes.size).sum(axis=1).astype("float32")

    def build(self, input_shape):
        _check_vertex_count(input_shape, self.indexes.size,
                            "HealpixSubsetPooling: the input has {n} vertices but indexes lists "
                            f"{self.indexes.size} pixels; give the pixel list of this input's "
                            "level.")

    def call(self, inputs):
        # one padding vertex after the data: what a missing child reads (never selected by
        # max, zero in the sum)
        pad = keras.ops.zeros_like(inputs[:, :1, :])
        if self.mode == "max":
            pad = pad + float("-inf")
        x = keras.ops.concatenate([inputs, pad], axis=1)
        x = keras.ops.take(x, self._flat_table, axis=1)
        shape = keras.ops.shape(inputs)
        x = keras.ops.reshape(x, (shape[0], self.parents.size, self.factor, shape[2]))
        if self.mode == "max":
            return keras.ops.max(x, axis=2)
        counts = keras.ops.convert_to_tensor(self._counts, dtype=inputs.dtype)
        return keras.ops.sum(x, axis=2) / counts[None, :, None]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.parents.size, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "indexes": self.indexes.tolist(),
                "factor": self.factor, "mode": self.mode}


@keras.saving.register_keras_serializable(package="deepsphere")
class HealpixSubsetUnpooling(_VertexLayer):
    """Unpooling to a NEST pixel subset: ``(batch, n_parents, f) -> (batch, len(indexes), f)``,
    each pixel of ``indexes`` taking the value of its parent (nearest neighbour).

    Args:
        indexes: the output's vertices, sorted unique NEST pixels at the output nside; the
            input's vertices are their parents (``healpix_parent_indexes``).
        factor: ``4**p`` (4 doubles nside).
    """

    def __init__(self, indexes, factor, **kwargs):
        super().__init__(**kwargs)
        self.indexes = _check_subset(indexes, "HealpixSubsetUnpooling")
        self.factor = _check_power_of_4(factor, "HealpixSubsetUnpooling")
        self.parents = healpix_parent_indexes(self.indexes, int(round(np.log(factor) / np.log(4))))
        self._source = np.searchsorted(self.parents, self.indexes // self.factor)

    def build(self, input_shape):
        _check_vertex_count(input_shape, self.parents.size,
                            "HealpixSubsetUnpooling: the input has {n} vertices but the parents "
                            f"of indexes are {self.parents.size} pixels; give the pixel list of "
                            "the output level.")

    def call(self, inputs):
        return keras.ops.take(inputs, self._source, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.indexes.size, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "indexes": self.indexes.tolist(), "factor": self.factor}
