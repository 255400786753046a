"""The compiled loops of the mesh repair (``_repair_loops``) against plain numpy / scipy
formulations of the same results: the cleaning must not depend on which path settles a case."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from deepsphere.experiments.shapes import _mesh_repair as mr
from deepsphere.experiments.shapes import _repair_loops as rl
from deepsphere.experiments.shapes.shape_families import FAMILIES, make_shape

_MIX0, _MIX1 = rl._MIX0, rl._MIX1


def _unique_reference(rows):
    """``(inverse, first)`` as the former ``_group_rows``: ``np.unique`` of the row keys or, if
    two different rows share a key, of the rows."""
    with np.errstate(over="ignore"):
        key = rows[:, 0] * np.int64(_MIX0)
        for j in range(1, rows.shape[1]):
            key = (key ^ rows[:, j]) * np.int64(_MIX1)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    if not (rows[first][inverse] == rows).all():
        _, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    return inverse.ravel(), first


def _soup(seed, nv):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(nv, 3)), rng.integers(0, nv, size=(3 * nv, 3))


@pytest.mark.parametrize(("seed", "low", "high"), [(0, -5, 5), (1, 0, 10), (2, -10**9, 10**9),
                                                  (3, 0, 10**12)])
def test_group_rows_matches_unique(seed, low, high):
    rows = np.random.default_rng(seed).integers(low, high, size=(500, 3))
    rows = np.vstack([rows, rows[::3]])
    inverse, first = mr._group_rows(rows)
    ref_inverse, ref_first = _unique_reference(rows)
    np.testing.assert_array_equal(inverse, ref_inverse)
    np.testing.assert_array_equal(first, ref_first)


def test_group_rows_collision_falls_back_to_lexicographic():
    # a second row with the first row's key: solve ((r0 C0 ^ r1) C1 ^ r2) C1 = key for r2
    inv = pow(_MIX1 % 2**64, -1, 2**64)
    a = [3, 4, 5]
    with np.errstate(over="ignore"):
        key = ((np.int64(a[0]) * np.int64(_MIX0) ^ np.int64(a[1])) * np.int64(_MIX1)
               ^ np.int64(a[2])) * np.int64(_MIX1)
        x = int(((np.int64(7) * np.int64(_MIX0)) ^ np.int64(8)) * np.int64(_MIX1)) % 2**64
    r2 = (x ^ (int(key) % 2**64 * inv % 2**64)) % 2**64
    b = [7, 8, r2 - 2**64 if r2 >= 2**63 else r2]
    rows = np.array([b, a, [1, 1, 1], a, b], np.int64)
    assert rl.group_rows(rows)[3]  # collided
    inverse, first = mr._group_rows(rows)
    np.testing.assert_array_equal(first, [2, 1, 0])  # lexicographic: [1 1 1], a, b
    np.testing.assert_array_equal(inverse, [2, 1, 0, 1, 2])


@pytest.mark.parametrize("seed", range(4))
def test_edges_and_components_match_sorting(seed):
    _, f = _soup(seed, [8, 30, 200, 50][seed])
    e, group, counts, a, b = mr._edges(f)
    key = np.minimum(e[:, 0], e[:, 1]) * (f.max() + 1) + np.maximum(e[:, 0], e[:, 1])
    _, ref_group, ref_counts = np.unique(key, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(counts[group], ref_counts[ref_group])
    assert (key[a] == key[b]).all() and (a < b).all()
    assert len(a) == (ref_counts == 2).sum()
    m = len(f)
    ref = connected_components(coo_matrix((np.ones(len(a)), (a // 3, b // 3)), shape=(m, m)),
                               directed=False)
    n_comp, comp = rl.components(a // 3, b // 3, m)
    assert n_comp == ref[0]
    np.testing.assert_array_equal(comp, ref[1])


def _meshes():
    for i, family in enumerate(FAMILIES):
        for defect in (None, "open", "degenerate"):
            yield make_shape(family, np.random.default_rng(i), defect=defect)
    for seed in range(3):
        yield _soup(seed, [10, 40, 300][seed])


def test_compiled_shortcuts_match_numpy_formulas(monkeypatch):
    """The compiled degenerate test and volume signs settle what numpy's formulas give."""
    fast = [mr.clean_arrays(v, f, "mesh") for v, f in _meshes()]
    volumes = rl.part_volumes
    monkeypatch.setattr(rl, "surely_nondegenerate", lambda v, f, t: np.zeros(len(f), bool))
    monkeypatch.setattr(rl, "part_volumes",
                        lambda *a: (volumes(*a)[0], np.full(a[3], np.inf)))
    for (v, f), (fv, ff) in zip(_meshes(), fast, strict=True):
        sv, sf = mr.clean_arrays(v, f, "mesh")
        np.testing.assert_array_equal(sv, fv)
        np.testing.assert_array_equal(sf, ff)


@pytest.mark.parametrize(("seed", "spread"), [(0, 3), (1, 40), (2, 10**6)])
def test_sort_ties_is_lexicographic(seed, spread):
    rows = np.unique(np.random.default_rng(seed).integers(0, spread, size=(3000, 3)), axis=0)
    rows = rows[np.random.default_rng(seed).permutation(len(rows))]  # runs short and long
    order = np.argsort(rows[:, 0])
    rl.sort_ties(rows, order)
    np.testing.assert_array_equal(order, np.lexsort(rows.T[::-1]))
