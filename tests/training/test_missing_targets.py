"""Regression with missing targets (NaN) and standardised targets: the masked loss of
``ArrayBatches(mask_missing=True)``, the masked metrics and ``target_transform`` of
``evaluate``, and the data digests that keep a run from resuming on changed data."""

import keras
import numpy as np
import pytest

from deepsphere.training.data import ArrayBatches, array_digest
from deepsphere.training.loop import evaluate, fit


def test_masked_batches_weight_missing_targets_zero():
    x = np.arange(24, dtype=np.float32).reshape(4, 3, 2)
    y = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, np.nan], [7.0, 8.0, 9.0], [np.nan] * 3],
                 np.float32)[..., None]
    xb, yb, wb = ArrayBatches(x, y, batch_size=4, shuffle=False, mask_missing=True)[0]
    assert wb.shape == y.shape and wb.dtype == np.float32
    np.testing.assert_array_equal(wb, np.isfinite(y).astype(np.float32))
    assert np.all(np.isfinite(yb)) and np.all(yb[~np.isfinite(y)] == 0)
    np.testing.assert_array_equal(yb[np.isfinite(y)], y[np.isfinite(y)])
    with pytest.raises(ValueError, match="mask_missing"):
        ArrayBatches(x, None, batch_size=2, mask_missing=True)


def test_masked_loss_equals_the_mean_over_present_targets():
    """Keras' MSE with the batch's weights is the mean squared error over the present
    targets only (a hand computation on a fixed linear model)."""
    x = np.array([[[1.0], [2.0], [3.0]], [[4.0], [5.0], [6.0]]], np.float32)
    y = np.array([[[2.0], [np.nan], [5.0]], [[9.0], [11.0], [np.nan]]], np.float32)
    model = keras.Sequential([keras.Input((3, 1)), keras.layers.Dense(
        1, kernel_initializer="ones", bias_initializer="zeros")])  # prediction = x
    model.compile(loss="mse")
    loss = model.evaluate(ArrayBatches(x, y, batch_size=2, shuffle=False, mask_missing=True),
                          verbose=0)
    present = np.isfinite(y)
    by_hand = np.sum((x[present] - y[present]) ** 2) / np.count_nonzero(present)
    # Keras averages the weighted losses over all entries: (sum w l) / n_entries; the present
    # fraction rescales it, so compare the weighted sum itself
    assert loss * y.size == pytest.approx(by_hand * np.count_nonzero(present), rel=1e-6)


def test_evaluate_masks_missing_targets_and_maps_back_to_units(tmp_path):
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 5, 2)).astype(np.float32)
    y = rng.normal(size=(12, 5, 1)).astype(np.float32)
    y[0, 1, 0] = y[3, 4, 0] = y[7, 0, 0] = np.nan
    model = keras.Sequential([keras.Input((5, 2)), keras.layers.Dense(1)])
    offset, scale = 10.0, 4.0
    report = evaluate(model, (x, y), task="regression", out_path=None,
                      target_transform=(offset, scale),
                      predictions_path=tmp_path / "p.npz")
    out = offset + scale * model.predict(x, verbose=0)
    truth = offset + scale * y
    present = np.isfinite(truth)
    assert report["n"] == 57 and report["n_missing"] == 3
    assert report["mse"] == pytest.approx(mean_squared_error(truth[present], out[present]),
                                          rel=1e-5)
    assert report["mae"] == pytest.approx(mean_absolute_error(truth[present], out[present]),
                                          rel=1e-5)
    assert report["r2"] == pytest.approx(r2_score(truth[present], out[present]), rel=1e-5)
    with np.load(tmp_path / "p.npz") as f:  # written in the data's units
        np.testing.assert_allclose(f["scores"], out, rtol=1e-5)
        np.testing.assert_array_equal(np.isnan(f["labels"]), ~present)


def test_a_changed_array_of_the_same_shape_is_other_data(tmp_path):
    a = np.zeros((4, 3), np.float32)
    b = a.copy()
    b[2, 1] = 1.0
    assert array_digest(a) == array_digest(a.copy())
    assert array_digest(a) != array_digest(b)
    assert array_digest(a) != array_digest(a.astype(np.float64))
    assert ArrayBatches(a, batch_size=2).signature() != ArrayBatches(b, batch_size=2).signature()
    # a run on regenerated data of the same shapes starts over instead of resuming
    x = np.random.default_rng(1).normal(size=(16, 6, 2)).astype(np.float32)
    y = (x[:, :, 0].mean(1) > 0).astype(np.int64)

    def factory():
        return keras.Sequential([keras.Input((6, 2)), keras.layers.Flatten(),
                                 keras.layers.Dense(2)])

    cfg = {"seed": 1, "training": {"epochs": 1, "batch_size": 8, "keep": "last"}}
    fit(cfg, (x, y), out_dir=tmp_path, model=factory, verbose=0)
    assert fit(cfg, (x, y), out_dir=tmp_path, model=factory, verbose=0).resumed_from_epoch == 1
    again = fit(cfg, (x + 1, y), out_dir=tmp_path, model=factory, verbose=0)
    assert again.resumed_from_epoch == 0
