"""Climate maps: reading and checking one file, running moments, class weights, vertex order."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial import cKDTree

from deepsphere.experiments.climate import maps
from deepsphere.experiments.climate.maps import (
    CHANNELS,
    CLASSES,
    N_VERTICES,
    MapFileError,
    VertexOrderError,
    check_vertex_order,
    read_map,
    vertex_order_ratio,
)
from deepsphere.experiments.climate.standin import map_names, standin_map
from deepsphere.geometry.sampling import icosahedral_sampling
from deepsphere.training.statistics import class_weights

# the paper's class weights (BG, TC, AR) and its stated label percentages (ICLR 2020, sec. 5.3)
PAPER_WEIGHTS = np.array([0.34130685, 318.47388343, 14.93759951])
PAPER_PERCENT = np.array([97.7, 0.1, 2.2])


def _valid(rng=None):
    rng = rng or np.random.default_rng(0)
    data = rng.normal(size=(16, N_VERTICES)).astype(np.float32)
    idx = rng.integers(0, 3, N_VERTICES)
    labels = np.eye(3, dtype=np.float64)[idx].T  # (3, V) one-hot
    return data, labels, idx


def _save(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.fixture(scope="module")
def smooth_maps():
    """TMQ of a few stand-in maps, (4, V), our vertex order."""
    names = map_names(4, 1, 1, seed=3)["train"]
    return np.stack([standin_map(n, 3)[0][CHANNELS.index("TMQ")] for n in names])


# ----------------------------------------------------------------------------- read_map
def test_read_map_returns_float32_data_and_int8_indices(tmp_path):
    data, labels, idx = _valid()
    path = _save(tmp_path / "m.npz", data=data.astype(np.float64), labels=labels)
    d, lab = read_map(path)
    assert d.dtype == np.float32 and d.shape == (16, N_VERTICES)
    assert lab.dtype == np.int8 and lab.shape == (N_VERTICES,)
    np.testing.assert_array_equal(d, data)
    np.testing.assert_array_equal(lab, idx)


@pytest.mark.parametrize("data_dtype", [np.float64, np.float16, np.int16])
@pytest.mark.parametrize("label_dtype", [np.bool_, np.int8, np.uint8, np.int64, np.float32])
def test_read_map_accepts_any_numeric_dtype(tmp_path, data_dtype, label_dtype):
    data, labels, idx = _valid()
    path = _save(tmp_path / "m.npz", data=(data * 10).astype(data_dtype),
                 labels=labels.astype(label_dtype))
    d, lab = read_map(path)
    np.testing.assert_array_equal(lab, idx)
    np.testing.assert_array_equal(d, (data * 10).astype(data_dtype).astype(np.float32))


def test_read_map_truncated_and_garbage_files(tmp_path):
    data, labels, _ = _valid()
    path = _save(tmp_path / "data-2106-01-01-00-1-mesh.npz", data=data, labels=labels)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(MapFileError, match="not a readable .npz|cannot be read") as err:
        read_map(path)
    assert str(path) in str(err.value)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip archive at all" * 10)
    with pytest.raises(MapFileError, match="not a readable .npz") as err:
        read_map(garbage)
    assert str(garbage) in str(err.value)


def test_read_map_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.npz"):
        read_map(tmp_path / "nothere.npz")


@pytest.mark.parametrize("missing", ["data", "labels"])
def test_read_map_missing_array(tmp_path, missing):
    data, labels, _ = _valid()
    arrays = {"data": data, "labels": labels}
    del arrays[missing]
    path = _save(tmp_path / "m.npz", other=np.zeros(3), **arrays)
    with pytest.raises(MapFileError, match=f"no array '{missing}'") as err:
        read_map(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("which, shape", [("data", (16, 10241)), ("data", (N_VERTICES, 16)),
                                          ("labels", (N_VERTICES, 3)), ("labels", (2, N_VERTICES))])
def test_read_map_wrong_shape(tmp_path, which, shape):
    data, labels, _ = _valid()
    arrays = {"data": data, "labels": labels}
    arrays[which] = np.zeros(shape)
    path = _save(tmp_path / "m.npz", **arrays)
    with pytest.raises(MapFileError) as err:
        read_map(path)
    msg = str(err.value)
    assert str(path) in msg and f"'{which}'" in msg and str(shape) in msg
    expected = (16, N_VERTICES) if which == "data" else (3, N_VERTICES)
    assert f"expected {expected}" in msg


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_read_map_nonfinite_names_channel_and_vertex(tmp_path, bad):
    data, labels, _ = _valid()
    data[CHANNELS.index("PSL"), 1234] = bad
    path = _save(tmp_path / "m.npz", data=data, labels=labels)
    with pytest.raises(MapFileError, match="PSL") as err:
        read_map(path)
    assert "vertex 1234" in str(err.value) and str(path) in str(err.value)


def test_read_map_labels_not_one_hot(tmp_path):
    data, labels, _ = _valid()
    bad_value = labels.copy()
    bad_value[:, 77] = [0, 0.5, 0.5]
    path = _save(tmp_path / "a.npz", data=data, labels=bad_value)
    with pytest.raises(MapFileError, match="not one-hot") as err:
        read_map(path)
    assert "vertex 77" in str(err.value) and str(path) in str(err.value)

    for column in ([1, 1, 0], [0, 0, 0]):
        bad_sum = labels.copy()
        bad_sum[:, 4321] = column
        path = _save(tmp_path / "b.npz", data=data, labels=bad_sum)
        with pytest.raises(MapFileError, match="not one-hot") as err:
            read_map(path)
        assert "vertex 4321" in str(err.value) and str(path) in str(err.value)


def test_paper_weights_are_consistent_with_its_label_fractions():
    """w_c = n / (3 n_c) => n_c / n = 1 / (3 w_c): fractions that sum to 1 and round to the
    stated 97.7 / 0.1 / 2.2 %."""
    fractions = 1.0 / (len(CLASSES) * PAPER_WEIGHTS)
    assert abs(fractions.sum() - 1.0) < 1e-6
    np.testing.assert_array_equal(np.round(100 * fractions, 1), PAPER_PERCENT)
    # and the weights of those fractions are the paper's (class_weights scales counts freely)
    np.testing.assert_allclose(class_weights(fractions * 1e9), PAPER_WEIGHTS, rtol=1e-6)


# ----------------------------------------------------------------------------- vertex order
def _reference_adjacency():
    """Independent neighbours: vertex pairs closer than 1.3 x the smallest spacing (k-free)."""
    v = icosahedral_sampling(5).vectors
    tree = cKDTree(v)
    d, _ = tree.query(v, k=2)
    pairs = np.array(sorted(tree.query_pairs(1.3 * d[:, 1].min())))
    w = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(v),) * 2)
    return (w + w.T).tocsr()


def test_vertex_order_ratio_small_in_order_and_one_when_scrambled(smooth_maps):
    ratio = vertex_order_ratio(smooth_maps)
    assert ratio < 0.15
    assert vertex_order_ratio(smooth_maps[0]) < 0.15
    assert abs(vertex_order_ratio(smooth_maps, _reference_adjacency()) - ratio) < 0.05
    perm = np.random.default_rng(5).permutation(N_VERTICES)
    assert 0.9 < vertex_order_ratio(smooth_maps[:, perm]) < 1.1
    # a smooth analytic field, too
    v = icosahedral_sampling(5).vectors
    field = np.exp(2 * v @ np.array([0.6, 0.0, 0.8]))
    assert vertex_order_ratio(field) < 0.1
    assert 0.9 < vertex_order_ratio(field[perm]) < 1.1


def test_check_vertex_order(tmp_path, smooth_maps):
    assert check_vertex_order(smooth_maps) < 0.5
    perm = np.random.default_rng(6).permutation(N_VERTICES)
    with pytest.raises(VertexOrderError, match="vertex order.*meaningless"):
        check_vertex_order(smooth_maps[:, perm])
    # files and full maps (n, 16, V)
    names = map_names(2, 1, 1, seed=3)["train"]
    full = np.stack([standin_map(n, 3)[0] for n in names])
    assert check_vertex_order(full) < 0.5
    labels = np.zeros((3, N_VERTICES))
    labels[0] = 1
    good = _save(tmp_path / "good.npz", data=full[0], labels=labels)
    bad = _save(tmp_path / "bad.npz", data=full[0][:, perm], labels=labels)
    assert check_vertex_order([good]) < 0.5
    assert check_vertex_order(good) < 0.5
    with pytest.raises(VertexOrderError) as err:
        check_vertex_order([bad])
    assert str(bad) in str(err.value)


def test_vertex_order_ratio_argument_errors():
    with pytest.raises(ValueError, match="constant"):
        vertex_order_ratio(np.ones(N_VERTICES))
    with pytest.raises(ValueError, match="no icosphere level"):
        vertex_order_ratio(np.arange(100.0))
    assert maps.icosphere_edges().shape[1] == 2
