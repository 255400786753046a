"""deepsphere.training.statistics against NumPy and scikit-learn: per-channel moments of data
streamed in batches (large offsets), balanced class weights."""

import numpy as np
import pytest

from deepsphere.training.statistics import RunningMoments, class_counts, class_weights


# ----------------------------------------------------------------------------- moments
def test_running_moments_match_numpy_with_large_offset():
    rng = np.random.default_rng(1)
    batches = [1e5 + rng.normal(scale=0.5, size=(n, 3, 500)) * np.array([1, 1e-2, 1e2])[:, None]
               for n in (1, 4, 2, 7)]
    moments = RunningMoments(3)
    for b in batches[:2]:
        for one in b:
            moments.update(one)
    for b in batches[2:]:
        moments.update_many(b)
    allx = np.concatenate(batches)  # (n, 3, V)
    ref = allx.transpose(1, 0, 2).reshape(3, -1)
    np.testing.assert_allclose(moments.mean, ref.mean(axis=1), rtol=1e-14)
    np.testing.assert_allclose(moments.std, ref.std(axis=1), rtol=1e-9)
    assert moments.count == ref.shape[1]


def test_running_moments_float32_maps_and_errors():
    x = (98356.0 + 7.0 * np.random.default_rng(2).normal(size=(5, 16, 100))).astype(np.float32)
    moments = RunningMoments(16).update_many(x)
    np.testing.assert_allclose(moments.std, x.astype(np.float64).std(axis=(0, 2)), rtol=1e-10)
    with pytest.raises(ValueError, match="no data"):
        _ = RunningMoments(2).mean
    with pytest.raises(ValueError, match=r"\(n_maps, 16, n_vertices\)"):
        moments.update_many(np.zeros((2, 3, 10)))


# ----------------------------------------------------------------------------- class weights
def test_class_weights_equal_sklearn_balanced():
    from sklearn.utils.class_weight import compute_class_weight

    rng = np.random.default_rng(4)
    y = rng.choice(3, size=(7, 1000), p=[0.9, 0.01, 0.09]).astype(np.int8)
    counts = class_counts(y, 3)
    np.testing.assert_array_equal(counts, np.bincount(y.ravel(), minlength=3))
    ref = compute_class_weight("balanced", classes=np.arange(3), y=y.ravel())
    np.testing.assert_allclose(class_weights(counts), ref, rtol=1e-12)


def test_class_weight_errors():
    with pytest.raises(ValueError, match="TC"):
        class_weights([10, 0, 5], ("BG", "TC", "AR"))
    with pytest.raises(ValueError, match="0..2"):
        class_counts(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="argmax"):
        class_counts(np.array([0.0, 1.0]), 3)
