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


def test_mean_class_recall_leaves_an_absent_class_out():
    y_true = np.array([0, 0, 1, 1, 0, 1])  # class 2 absent
    y_pred = np.array([0, 1, 1, 1, 0, 0])
    # hand-worked: recall_0 = 2/3, recall_1 = 2/3, class 2 has none -> mean 2/3, not 4/9
    assert metrics.mean_class_recall(y_true, y_pred, 3) == pytest.approx(2 / 3)
    assert metrics.mean_class_recall(y_true, y_pred, 3) == pytest.approx(
        skm.balanced_accuracy_score(y_true, y_pred)
    )
    scores = np.eye(3)[y_pred]
    report = metrics.classification_report(y_true, scores)
    assert report["per_class_recall"][2] is None
    assert report["mean_class_recall"] == pytest.approx(2 / 3)


def test_r2_and_explained_variance_of_a_constant_target():
    """SS_tot = 0: sklearn's convention (force_finite): 1 for a perfect fit, else 0."""
    y = np.full(5, 3.0)
    perfect, off = y.copy(), y + np.array([0.0, 0.1, 0.0, -0.2, 0.0])
    for got, expected in ((metrics.r2(y, perfect), skm.r2_score(y, perfect)),
                          (metrics.r2(y, off), skm.r2_score(y, off)),
                          (metrics.explained_variance(y, perfect),
                           skm.explained_variance_score(y, perfect)),
                          (metrics.explained_variance(y, off),
                           skm.explained_variance_score(y, off))):
        assert got == expected
    assert (metrics.r2(y, perfect), metrics.r2(y, off)) == (1.0, 0.0)  # hand-worked


@pytest.mark.parametrize("fn", [metrics.accuracy, metrics.weighted_f1,
                                lambda t, p: metrics.per_class_recall(t, p, 3)])
def test_float_labels_that_are_not_class_indices_raise(fn):
    with pytest.raises(ValueError, match=r"y_true holds 2 value\(s\) that are not class "
                                         r"indices, e.g. 0.7 at flat index 1.*argmax"):
        fn(np.array([0.0, 0.7, 1.0, 1.4]), np.array([0, 0, 1, 1]))
    with pytest.raises(ValueError, match=r"y_pred holds 1 value\(s\).*nan"):
        fn(np.array([0, 0, 1, 1]), np.array([0.0, np.nan, 1.0, 1.0]))
    # integer-valued floats are class indices: same result as the integers
    t, p = np.array([0, 1, 2, 2]), np.array([0, 2, 2, 1])
    np.testing.assert_array_equal(fn(t.astype(float), p.astype(float)), fn(t, p))


def test_labels_outside_n_classes_raise_instead_of_being_ignored():
    with pytest.raises(ValueError, match=r"y_true holds 1 label\(s\) outside 0..2, e.g. 3 at "
                                         r"flat index 2: pass n_classes"):
        metrics.per_class_recall([0, 1, 3, 2], [0, 1, 2, 2], 3)
    with pytest.raises(ValueError, match=r"y_pred holds 1 label\(s\) outside 0..2, e.g. -1"):
        metrics.per_class_recall([0, 1, 2, 2], [0, -1, 2, 2], 3)
    with pytest.raises(ValueError, match="n_classes must be a positive integer"):
        metrics.per_class_recall([0, 1], [0, 1], 0)
    with pytest.raises(ValueError, match="outside 0..1"):  # report: n_classes from the scores
        metrics.classification_report(np.array([0, 1, 2]), np.eye(2)[[0, 1, 1]])
