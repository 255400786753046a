"""deepsphere.metrics against scikit-learn and hand-worked cases."""

import numpy as np
import pytest
from sklearn import metrics as skm

from deepsphere import metrics


@pytest.fixture
def labels():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, size=300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 4, size=300))
    return y_true, y_pred


def test_accuracy_and_f1_match_sklearn(labels):
    y_true, y_pred = labels
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert metrics.weighted_f1(y_true, y_pred) == pytest.approx(
        skm.f1_score(y_true, y_pred, average="weighted")
    )


def test_weighted_f1_with_a_never_predicted_class():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 0, 0, 1, 0, 1])  # class 2 never predicted: F1_2 = 0
    assert metrics.weighted_f1(y_true, y_pred) == pytest.approx(
        skm.f1_score(y_true, y_pred, average="weighted", zero_division=0)
    )


def test_per_class_recall_hand_worked():
    y_true = np.array([[0, 0, 1, 2], [2, 2, 1, 0]])  # per-vertex labels
    y_pred = np.array([[0, 1, 1, 2], [2, 0, 0, 0]])
    # class 0: 3 true, 2 hit; class 1: 2 true, 1 hit; class 2: 3 true, 2 hit
    np.testing.assert_allclose(
        metrics.per_class_recall(y_true, y_pred, 4), [2 / 3, 1 / 2, 2 / 3, np.nan]
    )
    np.testing.assert_allclose(
        metrics.per_class_recall(y_true, y_pred, 3),
        skm.recall_score(y_true.ravel(), y_pred.ravel(), average=None),
    )


def test_average_precision_hand_worked_and_ties():
    # scores 0.9(+) 0.8(-) 0.7(+) 0.1(-): AP = 0.5*1 + 0.5*(2/3)
    assert metrics.average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(
        0.5 + 1 / 3
    )
    rng = np.random.default_rng(1)
    pos = rng.random(500) < 0.3
    score = np.round(rng.random(500) + 0.3 * pos, 1)  # many ties
    assert metrics.average_precision(pos, score) == pytest.approx(
        skm.average_precision_score(pos, score)
    )
    assert np.isnan(metrics.average_precision([0, 0], [0.1, 0.2]))


def test_ap_per_class_and_map_over_chosen_classes():
    rng = np.random.default_rng(2)
    y_true = rng.integers(0, 3, size=(5, 40))  # (samples, vertices)
    scores = rng.random((5, 40, 3)) + 0.5 * np.eye(3)[y_true]
    ap = metrics.average_precision_per_class(y_true, scores)
    for c in range(3):
        expected = skm.average_precision_score(y_true.ravel() == c, scores[..., c].ravel())
        assert ap[c] == pytest.approx(expected)
    assert metrics.mean_average_precision(y_true, scores, classes=[1, 2]) == pytest.approx(
        (ap[1] + ap[2]) / 2
    )
    with pytest.raises(ValueError, match="n_classes"):
        metrics.average_precision_per_class(y_true, scores[0])


def test_regression_match_sklearn():
    rng = np.random.default_rng(3)
    y = rng.normal(size=(20, 7))
    p = y + rng.normal(scale=0.3, size=y.shape) + 0.1
    assert metrics.mse(y, p) == pytest.approx(skm.mean_squared_error(y.ravel(), p.ravel()))
    assert metrics.mae(y, p) == pytest.approx(skm.mean_absolute_error(y.ravel(), p.ravel()))
    assert metrics.r2(y, p) == pytest.approx(skm.r2_score(y.ravel(), p.ravel()))
    assert metrics.explained_variance(y, p) == pytest.approx(
        skm.explained_variance_score(y.ravel(), p.ravel())
    )
    report = metrics.regression_report(y, p)
    assert set(report) == {"mse", "mae", "r2", "explained_variance", "n"}


def test_classification_report_is_json_able_and_consistent():
    import json

    y_true = np.array([[0, 1, 2, 2], [0, 0, 1, 2]])
    scores = np.eye(3)[np.array([[0, 1, 1, 2], [0, 0, 2, 2]])] * 0.8 + 0.1
    report = metrics.classification_report(y_true, scores, map_classes=[1, 2], with_ap=True)
    json.dumps(report)
    assert report["accuracy"] == pytest.approx(6 / 8)
    assert report["per_class_recall"] == pytest.approx([1.0, 0.5, 2 / 3])
    assert report["mean_average_precision"] == pytest.approx(
        np.mean(report["average_precision"][1:])
    )


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shape"):
        metrics.accuracy([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="shape"):
        metrics.mse([0.0, 1.0], [[0.0, 1.0]])
