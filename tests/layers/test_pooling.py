"""Pooling, unpooling and normalisation layers against hand-worked cases.

Runs on the backend selected by KERAS_BACKEND; tests/layers/test_layers_backends.py reruns this file
on the other backend in a subprocess.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from deepsphere import layers

BACKEND = keras.backend.backend()


# ------------------------------------------------------------------------------ pooling


def test_healpix_pooling_over_nest_children():
    x = np.arange(2 * 16 * 2, dtype="float32").reshape(2, 16, 2)
    x[0, 5, 1] = 100.0
    mx = np.asarray(layers.HealpixPooling(4, "max")(x))
    av = np.asarray(layers.HealpixPooling(4, "avg")(x))
    # coarse pixel j has children 4j..4j+3; hand-worked for sample 0, feature 0: 0,2,4,6 -> 6, 3
    assert mx.shape == (2, 4, 2)
    assert mx[0, 0, 0] == 6 and av[0, 0, 0] == 3
    assert mx[0, 1, 1] == 100.0  # child 5 belongs to coarse pixel 1
    np.testing.assert_allclose(av[1, 3], x[1, 12:16].mean(0))
    np.testing.assert_array_equal(np.asarray(layers.HealpixPooling(16, "max")(x))[:, 0], x.max(1))
    up = np.asarray(layers.HealpixUnpooling(4)(mx))
    np.testing.assert_array_equal(up[0, :4, 0], [6, 6, 6, 6])
    np.testing.assert_array_equal(up[:, 4:8], np.repeat(mx[:, 1:2], 4, axis=1))
    with pytest.raises(ValueError, match="power of 4"):
        layers.HealpixPooling(2)
    with pytest.raises(ValueError, match="divisible"):
        layers.HealpixPooling(4)(np.zeros((1, 18, 1), "float32"))


def test_icosahedral_pooling_truncates_and_unpooling_pads():
    x = np.random.default_rng(7).standard_normal((2, 162, 3)).astype("float32")  # level 2
    pooled = np.asarray(layers.IcosahedralPooling(1)(x))
    np.testing.assert_array_equal(pooled, x[:, :42])
    np.testing.assert_array_equal(np.asarray(layers.IcosahedralPooling(0)(x)), x[:, :12])
    up = np.asarray(layers.IcosahedralUnpooling(2)(pooled))
    assert up.shape == (2, 162, 3)
    np.testing.assert_array_equal(up[:, :42], pooled)
    assert np.all(up[:, 42:] == 0.0)
    ones = np.asarray(layers.IcosahedralUnpooling(2, fill_value=1.0)(pooled))
    assert np.all(ones[:, 42:] == 1.0)  # the original's padding
    with pytest.raises(ValueError, match="10\\*4\\*\\*l\\+2"):
        layers.IcosahedralPooling(1)(np.zeros((1, 100, 1), "float32"))
    with pytest.raises(ValueError, match="l > 2"):
        layers.IcosahedralPooling(2)(x)


def test_equiangular_pooling_on_2x2_blocks_colatitude_rows_outer():
    # grid 4 rows (colatitude) x 4 columns (longitude), value = 10 * row + col
    grid = np.add.outer(10 * np.arange(4), np.arange(4)).astype("float32")
    x = grid.reshape(1, 16, 1)
    mx = np.asarray(layers.EquiangularPooling(4, "max")(x))[0, :, 0]
    av = np.asarray(layers.EquiangularPooling(4, "avg")(x))[0, :, 0]
    np.testing.assert_array_equal(mx, [11, 13, 31, 33])
    np.testing.assert_array_equal(av, [5.5, 7.5, 25.5, 27.5])
    up = np.asarray(layers.EquiangularUnpooling(4)(mx.reshape(1, 4, 1)))[0, :, 0].reshape(4, 4)
    np.testing.assert_array_equal(
        up, [[11, 11, 13, 13], [11, 11, 13, 13], [31, 31, 33, 33], [31, 31, 33, 33]]
    )
    # a 2 x 4 grid (aspect 2): one row of two blocks
    wide = np.arange(8, dtype="float32").reshape(1, 8, 1)
    np.testing.assert_array_equal(
        np.asarray(layers.EquiangularPooling(4, "max", aspect=2)(wide))[0, :, 0], [5, 7]
    )
    with pytest.raises(ValueError, match="perfect square"):
        layers.EquiangularPooling(2)


def test_global_vertex_pooling():
    x = np.random.default_rng(8).standard_normal((3, 10, 4)).astype("float32")
    np.testing.assert_allclose(
        np.asarray(layers.GlobalVertexPooling("avg")(x)), x.mean(1), rtol=1e-6
    )
    np.testing.assert_array_equal(np.asarray(layers.GlobalVertexPooling("max")(x)), x.max(1))


# ------------------------------------------------------------------------------ normalisation


def test_original_batch_norm_has_no_gamma_beta_and_momentum_0_9():
    x = np.random.default_rng(9).standard_normal((4, 10, 3)).astype("float32") * 3 + 1
    bn = layers.ChebBatchNormalization()
    y = np.asarray(bn(x, training=True))
    assert bn.trainable_weights == []
    x64 = x.astype(np.float64)
    mean, var = x64.mean((0, 1)), x64.var((0, 1))
    np.testing.assert_allclose(y, (x64 - mean) / np.sqrt(var + 1e-5), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(bn.moving_mean), 0.1 * mean, rtol=1e-5)
    standard = layers.ChebBatchNormalization(style="standard")
    standard.build(x.shape)
    assert len(standard.trainable_weights) == 2 and standard.momentum == 0.99
    restored = layers.ChebBatchNormalization.from_config(bn.get_config())
    assert (restored.momentum, restored.epsilon, restored.center) == (0.9, 1e-5, False)


def test_bias_adds_per_feature():
    bias = layers.Bias(bias_initializer="random_normal")
    x = np.zeros((2, 5, 3), "float32")
    y = np.asarray(bias(x))
    np.testing.assert_array_equal(y, np.broadcast_to(np.asarray(bias.bias), (2, 5, 3)))
