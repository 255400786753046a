"""Regression scoring of ``evaluate``: per-target metrics and the mean over the parts (patches)
of one object, against hand-worked values."""

import keras
import numpy as np
import pytest

from deepsphere.metrics import per_target_report
from deepsphere.training.evaluation import evaluate, group_mean_values


def identity_model(n_out):
    """Prediction = input: ``(n, n_out) -> (n, n_out)``."""
    return keras.Sequential([keras.Input((n_out,)), keras.layers.Dense(
        n_out, kernel_initializer="identity", bias_initializer="zeros")])


def test_per_target_metrics_by_hand():
    y = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    p = np.array([[1.0, 12.0], [2.0, 18.0], [4.0, 30.0]])
    report = per_target_report(y, p, ["a", "b"])
    # a: errors 0, 0, 1; variance of (1, 2, 3) around 2: 2. b: errors 2, -2, 0; SS_tot 200
    assert report["a"] == pytest.approx({"mse": 1 / 3, "mae": 1 / 3, "r2": 0.5, "n": 3})
    assert report["b"] == pytest.approx({"mse": 8 / 3, "mae": 4 / 3, "r2": 0.96, "n": 3})
    y[0, 1] = np.nan  # a missing b: left out of b only
    report = per_target_report(y, p, ["a", "b"])
    assert report["a"]["n"] == 3 and report["b"]["n"] == 2
    assert report["b"]["mse"] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="one column per target name"):
        per_target_report(y, p, ["a"])


def test_the_patches_of_a_map_are_scored_once_with_their_mean():
    x = np.array([[1.0], [3.0], [5.0], [9.0], [0.0]], np.float32)
    y = np.array([[2.0], [2.0], [6.0], [6.0], [1.0]], np.float32)
    groups = np.array([7, 7, 3, 3, 5])
    ids, values, targets = group_mean_values(x, y, groups)
    assert ids.tolist() == [3, 5, 7]
    np.testing.assert_allclose(values[:, 0], [7.0, 0.0, 2.0])
    np.testing.assert_array_equal(targets[:, 0], [6.0, 1.0, 2.0])
    report = evaluate(identity_model(1), (x, y), task="regression", out_path=None,
                      groups=groups)
    # the group means 7, 0, 2 against 6, 1, 2: errors 1, -1, 0
    assert report["n"] == 3
    assert report["mse"] == pytest.approx(2 / 3) and report["mae"] == pytest.approx(2 / 3)


def test_evaluate_gives_each_target_in_its_units(tmp_path):
    x = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]], np.float32)
    y = np.array([[0.0, 1.0], [2.0, 0.0], [2.0, 4.0]], np.float32)
    # trained on standardised targets: value = offset + scale * output, per target
    transform = (np.array([10.0, -1.0], np.float32), np.array([2.0, 0.5], np.float32))
    report = evaluate(identity_model(2), (x, y), task="regression", out_path=None,
                      target_transform=transform, target_names=["temp", "rain"])
    # temp: 10 + 2 * (0, 1, 2) against 10 + 2 * (0, 2, 2): errors 0, -2, 0
    assert report["per_target"]["temp"] == pytest.approx(
        {"mse": 4 / 3, "mae": 2 / 3, "r2": 1 - 4 / (32 / 3), "n": 3})
    # rain: outputs (1, 0, 2) against (1, 0, 4), scale 0.5: errors 0, 0, -1
    assert report["per_target"]["rain"]["mse"] == pytest.approx(1 / 3)


def test_bad_groups_and_names_are_refused():
    x = np.array([[1.0], [2.0]], np.float32)
    with pytest.raises(ValueError, match="group 4 have different targets"):
        group_mean_values(x, np.array([[1.0], [2.0]]), [4, 4])
    with pytest.raises(ValueError, match="not segmentation"):
        evaluate(identity_model(1), (x, x), task="segmentation", out_path=None, groups=[0, 1])
    with pytest.raises(ValueError, match="target_names are for regression"):
        evaluate(identity_model(1), (x, np.array([0, 1])), task="classification",
                 out_path=None, target_names=["a"])
