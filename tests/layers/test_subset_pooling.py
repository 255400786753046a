"""HEALPix pooling on a pixel subset (a masked sky) against loops over the pixels, and the
full-sphere layers.

Runs on the backend selected by KERAS_BACKEND; tests/layers/test_layers_backends.py reruns this
file on the other backend in a subprocess.
"""

from __future__ import annotations

import healpy as hp
import keras
import numpy as np
import pytest

from deepsphere import layers
from deepsphere.geometry.sampling import healpix_parent_indexes


def disc(nside, radius_deg=35.0, direction=(0.3, 0.4, 0.85)):
    """The NEST pixels of a disc: a footprint with ragged edges (sorted)."""
    return np.sort(hp.query_disc(nside, np.asarray(direction) / np.linalg.norm(direction),
                                 np.radians(radius_deg), nest=True))


def pooled_by_loop(x, indexes, factor, mode):
    """For each coarse pixel holding a pixel of ``indexes`` (in increasing order), the max or
    mean of x over its children that are in ``indexes``."""
    reduce = np.max if mode == "max" else np.mean
    parents = sorted({int(i) // factor for i in indexes})
    out = np.empty((x.shape[0], len(parents), x.shape[2]), x.dtype)
    for j, q in enumerate(parents):
        members = [pos for pos, i in enumerate(indexes) if int(i) // factor == q]
        out[:, j] = reduce(x[:, members], axis=1)
    return out


def test_parent_indexes_are_the_coarse_pixels_holding_the_subset():
    assert healpix_parent_indexes([5, 4, 17, 63, 16], 1).tolist() == [1, 4, 15]
    assert healpix_parent_indexes([5, 4, 17, 63, 16], 2).tolist() == [0, 1, 3]
    assert healpix_parent_indexes([7, 3], 0).tolist() == [3, 7]
    nside, idx = 16, disc(16)
    # geometry as the reference: a parent's centre lies in the coarse pixel of its children
    parents = healpix_parent_indexes(idx, 2)
    coarse = hp.vec2pix(4, *hp.pix2vec(nside, idx, nest=True), nest=True)
    assert parents.tolist() == sorted(set(coarse.tolist()))


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pooling_a_disc_reduces_over_the_children_present(mode):
    idx = disc(16)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, idx.size, 2)).astype("float32")
    for factor in (4, 16):
        out = np.asarray(layers.HealpixSubsetPooling(idx, factor, mode)(x))
        np.testing.assert_allclose(out, pooled_by_loop(x, idx, factor, mode), rtol=1e-6)
    # the ragged edge is real: some parents have fewer than 4 children in the disc
    parents = healpix_parent_indexes(idx, 1)
    assert parents.size * 4 > idx.size


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_on_the_full_sphere_it_is_healpix_pooling(mode):
    nside = 4
    idx = np.arange(12 * nside**2)
    x = np.random.default_rng(1).normal(size=(2, idx.size, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(layers.HealpixSubsetPooling(idx, 4, mode)(x)),
                               np.asarray(layers.HealpixPooling(4, mode)(x)), rtol=1e-6)
    y = x[:, :48]
    np.testing.assert_array_equal(np.asarray(layers.HealpixSubsetUnpooling(idx, 4)(y)),
                                  np.asarray(layers.HealpixUnpooling(4)(y)))


def test_unpooling_copies_each_parent_to_its_children_in_the_subset():
    idx = disc(16)
    parents = healpix_parent_indexes(idx, 1)
    x = np.random.default_rng(2).normal(size=(2, parents.size, 2)).astype("float32")
    out = np.asarray(layers.HealpixSubsetUnpooling(idx, 4)(x))
    expected = np.stack([x[:, list(parents).index(int(i) // 4)] for i in idx], axis=1)
    np.testing.assert_array_equal(out, expected)


def test_a_hand_worked_subset_with_three_one_and_two_children():
    idx = np.array([0, 1, 2, 5, 9, 10])  # parents 0 (3 children), 1 (1), 2 (2)
    x = keras.ops.convert_to_tensor(np.array([[[1.], [3.], [2.], [7.], [4.], [-1.]]], "float32"))
    pool = layers.HealpixSubsetPooling(idx, 4, "max")
    np.testing.assert_array_equal(np.asarray(pool(x))[0, :, 0], [3, 7, 4])  # -1 < missing
    np.testing.assert_allclose(np.asarray(layers.HealpixSubsetPooling(idx, 4, "avg")(x))[0, :, 0],
                               [2.0, 7.0, 1.5])


def test_the_layers_save_and_load_with_their_pixels(tmp_path):
    idx = disc(8)
    inputs = keras.Input((idx.size, 2))
    pooled = layers.HealpixSubsetPooling(idx, 4, "avg", name="pool")(inputs)
    outputs = layers.HealpixSubsetUnpooling(idx, 4, name="unpool")(pooled)
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(3).normal(size=(2, idx.size, 2)).astype("float32")
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    assert loaded.get_layer("pool").indexes.tolist() == idx.tolist()


def test_bad_subsets_and_shapes_are_named():
    with pytest.raises(ValueError, match="sorted, unique"):
        layers.HealpixSubsetPooling([3, 1, 2], 4)
    with pytest.raises(ValueError, match="power of 4"):
        layers.HealpixSubsetPooling([1, 2, 3], 2)
    with pytest.raises(ValueError, match="has 5 vertices but indexes lists 3"):
        layers.HealpixSubsetPooling([1, 2, 3], 4)(np.zeros((1, 5, 1), "float32"))
    with pytest.raises(ValueError, match="parents of indexes are 1"):
        layers.HealpixSubsetUnpooling([1, 2, 3], 4)(np.zeros((1, 2, 1), "float32"))
