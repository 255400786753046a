"""The triplet objective and test-time averaging, against NumPy references.

References: a brute-force semi-hard triplet loss in NumPy (every anchor-positive pair, its
negatives searched one by one), NumPy's softmax cross-entropy, and hand-worked group means.
"""

from __future__ import annotations

import numpy as np
import pytest

from deepsphere.training.config import validate_training_config
from deepsphere.training.evaluation import evaluate, group_mean_scores


def _triplet_reference(labels, emb, margin=1.0):
    emb = emb / np.sqrt(np.maximum((emb**2).sum(1, keepdims=True), 1e-12))
    n = len(labels)
    d = ((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1)
    total, pairs = 0.0, 0
    for a in range(n):
        negatives = [k for k in range(n) if labels[k] != labels[a]]
        for p in range(n):
            if p == a or labels[p] != labels[a]:
                continue
            pairs += 1
            semi = [d[a, k] for k in negatives if d[a, k] > d[a, p]]
            if semi:
                d_an = min(semi)
            elif negatives:
                d_an = max(d[a, k] for k in negatives)
            else:
                d_an = 0.0
            total += max(d[a, p] - d_an + margin, 0.0)
    return total / max(pairs, 1)


def _ce(logits, y):
    z = logits - logits.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def _tiny_model_config():
    from deepsphere.experiments.shapes.models import shrec17_healpix_config

    cfg = shrec17_healpix_config(nside=4)
    cfg.update(F=[4, 8], pool=[1, 1], n_classes=3)
    return cfg


def test_triplet_config_is_validated():
    ok = validate_training_config({"triplet_loss": {"weight": 1.0, "margin": 1.0,
                                                    "layer": "global_avg"}}, has_validation=False)
    assert ok["triplet_loss"]["layer"] == "global_avg"
    assert validate_training_config({}, has_validation=False)["triplet_loss"] is None
    with pytest.raises(ValueError, match="triplet_loss"):
        validate_training_config({"triplet_loss": {"weight": 1.0}}, has_validation=False)
    with pytest.raises(ValueError, match="triplet_loss.weight"):
        validate_training_config({"triplet_loss": {"weight": 0, "margin": 1.0, "layer": "x"}},
                                 has_validation=False)
    with pytest.raises(ValueError, match="class labels"):
        validate_training_config({"loss": "mse", "triplet_loss": {
            "weight": 1.0, "margin": 1.0, "layer": "x"}}, has_validation=False)


def test_fit_minimises_cross_entropy_plus_weighted_triplet(tmp_path):
    import keras

    from deepsphere.training.loop import fit

    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 192, 6)).astype("float32")
    y = np.repeat(np.arange(3), 8)
    x[..., 0] += y[:, None]
    xv, yv = x[:8], y[:8]  # one validation batch: the logged loss is that batch's
    weight = 0.7
    config = {"seed": 3, "model": _tiny_model_config(), "training": {
        "epochs": 1, "batch_size": 8, "optimizer": {"name": "adam", "epsilon": 0.1},
        "learning_rate": 0.01, "keep": "last",
        "triplet_loss": {"weight": weight, "margin": 1.0, "layer": "global_avg"}}}
    result = fit(config, (x, y), (xv, yv), out_dir=tmp_path, verbose=0)
    row = result.history[-1]
    model = result.model
    assert model.output.shape[-1] == 3  # the saved model is the logits-only view
    logits = np.asarray(model.predict(xv, verbose=0))
    descriptor = keras.Model(model.inputs, model.get_layer("global_avg").output)
    emb = np.asarray(descriptor.predict(xv, verbose=0), np.float64)
    expected_ce = _ce(logits.astype(np.float64), yv)
    expected_triplet = _triplet_reference(yv, emb)
    assert row["val_logits_loss"] == pytest.approx(expected_ce, rel=1e-4, abs=1e-5)
    assert row["val_global_avg_loss"] == pytest.approx(expected_triplet, rel=1e-4, abs=1e-5)
    assert row["val_loss"] == pytest.approx(expected_ce + weight * expected_triplet, rel=1e-4)
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert np.allclose(np.asarray(loaded.predict(xv, verbose=0)), logits, atol=1e-5)


def test_triplet_with_an_unknown_layer_names_the_layers(tmp_path):
    from deepsphere.training.loop import fit

    x = np.zeros((8, 192, 6), "float32")
    y = np.arange(8) % 3
    config = {"seed": 3, "model": _tiny_model_config(), "training": {
        "epochs": 1, "batch_size": 8,
        "triplet_loss": {"weight": 1.0, "margin": 1.0, "layer": "descriptor"}}}
    with pytest.raises(ValueError, match="no layer 'descriptor'.*global_avg"):
        fit(config, (x, y), out_dir=tmp_path, verbose=0)


def test_group_means_hand_worked():
    scores = np.array([[0.9, 0.1], [0.3, 0.7], [0.2, 0.8], [0.6, 0.4]], np.float32)
    y = np.array([0, 0, 1, 1])
    ids, mean, labels = group_mean_scores(scores, y, [5, 5, 2, 2])
    assert ids.tolist() == [2, 5]
    assert np.allclose(mean, [[0.4, 0.6], [0.6, 0.4]])
    assert labels.tolist() == [1, 0]
    with pytest.raises(ValueError, match="group 5 have different labels"):
        group_mean_scores(scores, np.array([0, 1, 1, 1]), [5, 5, 2, 2])
    with pytest.raises(ValueError, match="one entry per test row"):
        group_mean_scores(scores, y, [1, 2])


def test_evaluate_averages_copies_and_writes_predictions(tmp_path):
    import keras

    # a fixed linear model: logits = x[:, 0, :2]
    inputs = keras.Input((1, 2))
    model = keras.Model(inputs, keras.layers.Flatten()(inputs))
    x = np.log(np.array([[[0.9, 0.1]], [[0.3, 0.7]], [[0.2, 0.8]], [[0.6, 0.4]]], np.float32))
    y = np.array([0, 0, 1, 1])
    report = evaluate(model, (x, y), task="classification", out_path=None,
                      groups=np.array([0, 0, 1, 1]), predictions_path=tmp_path / "p.npz",
                      ids=["chair_1", "lamp_2"])
    # object 0: mean (0.6, 0.4) -> class 0 (right); object 1: (0.4, 0.6) -> class 1 (right);
    # without averaging, rows 1 and 3 are wrong
    assert report["accuracy"] == 1.0 and report["n"] == 2
    with np.load(tmp_path / "p.npz") as f:
        assert f["ids"].tolist() == ["chair_1", "lamp_2"]
        assert np.allclose(f["scores"], [[0.6, 0.4], [0.4, 0.6]], atol=1e-6)
        assert f["labels"].tolist() == [0, 1]
    plain = evaluate(model, (x, y), task="classification", out_path=None)
    assert plain["accuracy"] == 0.5


@pytest.mark.slow
def test_objectives_pass_on_jax():
    """The same tests on JAX (the backend is fixed at import: a process of its own)."""
    import importlib.util
    import os
    import subprocess
    import sys
    from pathlib import Path

    import keras

    if keras.backend.backend() != "tensorflow" or importlib.util.find_spec("jax") is None:
        pytest.skip("run from the TensorFlow backend, with jax installed")
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           __file__, "-k", "not pass_on_jax"], cwd=Path(__file__).parents[2],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "5 passed" in proc.stdout
