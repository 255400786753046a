"""Projected files as a network run's arrays (the data loaders of modelnet40 and shrec17).

Every channel is standardised by the TRAINING file's statistics (``(x - mean) / std``; the
originals mixed splits or fell back to per-batch statistics, tf1-spec §2.4 step 7). The test
rows carry their mesh as group, so the softmax is averaged over an object's augmented copies
(the SHREC'17 original's test-time augmentation), and the objects' ids go with the
predictions. A validation set is either a split of its own (SHREC'17 ``val``) or held-out
training meshes, all copies of a mesh on the same side (ModelNet40 has no validation split;
the original validated on the test set, which we do not: tf1-spec §2.4).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from deepsphere.experiments.shapes.cache import Projections, load_projections
from deepsphere.training.splits import stratified_split

__all__ = ["held_out_meshes", "load_standardised", "rows_of_meshes", "test_arrays"]


def load_standardised(path, statistics) -> Projections:
    """A projected file with its channels standardised by the statistics JSON."""
    stats = json.loads(Path(statistics).read_text(encoding="utf-8"))
    data = load_projections(path)
    mean = np.asarray(stats["mean"], np.float32)
    std = np.asarray(stats["std"], np.float32)
    if data.x.shape[-1] != len(mean):
        raise ValueError(f"{path} has {data.x.shape[-1]} channels, {statistics} {len(mean)}: "
                         "rebuild both from the same config")
    x = data.x  # float32, standardised in place (the whole split is in memory once)
    x -= mean
    x /= std
    return data


def held_out_meshes(data: Projections, val_fraction: float, seed: int) -> tuple[np.ndarray,
                                                                                  np.ndarray]:
    """Stratified split of the MESHES of ``data`` (not its rows): ``(train, val)`` mesh indices."""
    n_meshes = int(data.mesh_index.max()) + 1
    labels = np.zeros(n_meshes, np.int64)
    labels[data.mesh_index] = data.y
    return stratified_split(labels, val_fraction, seed)


def rows_of_meshes(data: Projections, meshes: np.ndarray) -> np.ndarray:
    """The rows (every copy) of the given meshes, in row order."""
    return np.flatnonzero(np.isin(data.mesh_index, meshes))


def test_arrays(data: Projections) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """``(x, y, groups, ids)`` of a test file: one group per mesh, its id in group order."""
    return data.x, data.y, data.mesh_index, list(data.ids)
