"""Resume keeps the best epoch, refuses another architecture; the config fingerprint; the SGD
and RMSprop optimisers against hand computations."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from deepsphere.training.config import (
    config_fingerprint,
    make_optimizer,
    validate_training_config,
)
from deepsphere.training.loop import fit


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6, 2)).astype("float32")
    return x, (x[:, :, 0].mean(1) > 0).astype("int64")


def _factory(hidden=8, extra=False):
    def build():
        stack = [keras.Input((6, 2)), keras.layers.Flatten(),
                 keras.layers.Dense(hidden, activation="relu")]
        if extra:
            stack.append(keras.layers.Dense(hidden, activation="relu"))
        return keras.Sequential([*stack, keras.layers.Dense(2)])

    return build


def _config(**training):
    base = {"epochs": 2, "batch_size": 8, "keep": "last",
            "learning_rate": {"schedule": "exponential", "initial": 0.02, "decay_steps": 3,
                              "decay_rate": 0.5}}
    return {"seed": 5, "training": {**base, **training}}


class _KillAt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.kill_epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.kill_epoch:
            raise KeyboardInterrupt("simulated kill")


def test_keep_best_across_a_kill_selects_the_epoch_of_an_uninterrupted_run(tmp_path):
    """Monitor: the decaying learning rate, mode max -> epoch 1 is the best, by construction."""
    x, y = _data()
    cfg = _config(epochs=4, keep="best", monitor="learning_rate", monitor_mode="max")
    ref = fit(cfg, (x, y), out_dir=tmp_path / "ref", model=_factory(), verbose=0)
    assert ref.selected_epoch == 1  # hand-worked: the lr only decreases
    with pytest.raises(KeyboardInterrupt):
        fit(cfg, (x, y), out_dir=tmp_path / "run", model=_factory(), verbose=0,
            callbacks=[_KillAt(2)])  # epochs 1 and 2 done
    run = fit(cfg, (x, y), out_dir=tmp_path / "run", model=_factory(), verbose=0)
    assert run.resumed_from_epoch == 2
    assert run.selected_epoch == ref.selected_epoch == 1
    summary = json.loads((tmp_path / "run" / "training.json").read_text())
    assert summary["best_epoch"] == 1
    assert summary["best_value"] == pytest.approx(ref.history[0]["learning_rate"])
    for a, b in zip(ref.model.get_weights(), run.model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("other", "message"), [
    (_factory(hidden=16), r"checkpoint model array 0 has shape \(12, 8\) but the model's "
                          r"variable .* has \(12, 16\): it was written by another architecture"),
    (_factory(extra=True), r"checkpoint holds 4 model arrays but the model has 6: it was "
                           r"written by another architecture"),
])
def test_resuming_a_checkpoint_of_another_architecture_raises(tmp_path, other, message):
    x, y = _data()
    cfg = _config(epochs=1)
    fit(cfg, (x, y), out_dir=tmp_path, model=_factory(), verbose=0)
    # same config (the factory is not part of it) -> the checkpoint is picked up
    with pytest.raises(ValueError, match=message):
        fit(cfg, (x, y), out_dir=tmp_path, model=other, verbose=0)


def _fingerprint(**training):
    cfg = _config(**training)
    tcfg = validate_training_config(cfg["training"], has_validation=False)
    return config_fingerprint({**cfg, "training": tcfg}, [[24, 6, 2], [24]])


def test_fingerprint_ignores_runtime_keys_and_sees_the_result_defining_ones():
    base = _fingerprint()
    assert _fingerprint(threads=3) == base and _fingerprint(resume="require") == base
    for change in ({"learning_rate": 0.01}, {"epochs": 3}, {"batch_size": 4},
                   {"optimizer": {"name": "sgd", "momentum": 0.9}}):
        assert _fingerprint(**change) != base, change


def test_changing_threads_resumes_and_changing_the_learning_rate_does_not(tmp_path):
    x, y = _data()
    done = fit(_config(threads=1), (x, y), out_dir=tmp_path, model=_factory(), verbose=0)
    again = fit(_config(threads=2, resume="require"), (x, y), out_dir=tmp_path,
                model=_factory(), verbose=0)
    assert again.resumed_from_epoch == 2
    for a, b in zip(done.model.get_weights(), again.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="written by another config"):
        fit(_config(learning_rate=0.5, resume="require"), (x, y), out_dir=tmp_path,
            model=_factory(), verbose=0)


@pytest.mark.parametrize(("optimizer", "cls", "expected"), [
    ({"name": "sgd", "momentum": 0.9}, keras.optimizers.SGD, {"momentum": 0.9}),
    ({"name": "rmsprop", "rho": 0.8, "momentum": 0.5, "epsilon": 1e-3},
     keras.optimizers.RMSprop, {"rho": 0.8, "momentum": 0.5, "epsilon": 1e-3}),
    ({"name": "adam", "beta_1": 0.8, "beta_2": 0.99, "epsilon": 0.1},
     keras.optimizers.Adam, {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 0.1}),
])
def test_make_optimizer_gives_the_configured_class_and_hyperparameters(optimizer, cls, expected):
    opt = make_optimizer(validate_training_config(
        {"optimizer": optimizer, "learning_rate": 0.1}, has_validation=False))
    assert type(opt) is cls
    config = opt.get_config()
    assert config["learning_rate"] == pytest.approx(0.1)
    for key, value in expected.items():
        assert config[key] == pytest.approx(value), key


def _two_steps(optimizer):
    opt = make_optimizer(validate_training_config(
        {"optimizer": optimizer, "learning_rate": 0.1}, has_validation=False))
    w = keras.Variable(np.array([1.0, -2.0], "float32"))
    for g in (np.array([0.5, -1.0], "float32"), np.array([0.2, 0.3], "float32")):
        opt.apply_gradients([(keras.ops.convert_to_tensor(g), w)])
    return np.asarray(keras.ops.convert_to_numpy(w), np.float64)


G1, G2, W0, LR = np.array([0.5, -1.0]), np.array([0.2, 0.3]), np.array([1.0, -2.0]), 0.1


def test_sgd_with_momentum_steps_as_by_hand():
    # v1 = -lr g1, w1 = w0 + v1; v2 = 0.9 v1 - lr g2, w2 = w1 + v2
    v1 = -LR * G1
    v2 = 0.9 * v1 - LR * G2
    np.testing.assert_allclose(_two_steps({"name": "sgd", "momentum": 0.9}), W0 + v1 + v2,
                               rtol=1e-6)
    np.testing.assert_allclose(_two_steps({"name": "sgd"}), W0 - LR * (G1 + G2), rtol=1e-6)


def test_rmsprop_with_momentum_steps_as_by_hand():
    # s_t = rho s + (1 - rho) g^2; inc = lr g / sqrt(s_t + eps); m_t = mu m + inc; w -= m_t
    rho, mu, eps = 0.8, 0.5, 1e-3
    s1 = (1 - rho) * G1**2
    m1 = LR * G1 / np.sqrt(s1 + eps)
    s2 = rho * s1 + (1 - rho) * G2**2
    m2 = mu * m1 + LR * G2 / np.sqrt(s2 + eps)
    got = _two_steps({"name": "rmsprop", "rho": rho, "momentum": mu, "epsilon": eps})
    np.testing.assert_allclose(got, W0 - m1 - m2, rtol=1e-5)
    plain = _two_steps({"name": "rmsprop", "rho": rho, "epsilon": eps})
    np.testing.assert_allclose(plain, W0 - LR * G1 / np.sqrt(s1 + eps)
                               - LR * G2 / np.sqrt(s2 + eps), rtol=1e-5)


def test_each_epoch_starts_from_its_own_seed_without_resetting_tensorflows(tmp_path, monkeypatch):
    """Every epoch re-seeds NumPy's and Python's global generators with derive_seed(seed,
    epoch) (what a generator function or a user's callback may draw from, so a resumed run
    sees what the uninterrupted one saw), but TensorFlow's global seed only once:
    ``tf.random.set_seed`` clears TF's kernel and function caches, which made every epoch
    re-instantiate the training step (timed once by hand)."""
    import random

    from deepsphere.training.seeds import derive_seed

    seen, calls = [], []
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        original = tf.random.set_seed
        monkeypatch.setattr(tf.random, "set_seed", lambda s: (calls.append(s), original(s)))

    class Draw(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append((np.random.random(), random.random()))  # noqa: NPY002

    config = {"seed": 5, "training": {"epochs": 3, "batch_size": 8, "learning_rate": 0.01}}
    fit(config, _data(), _data(8, seed=1), out_dir=tmp_path, model=_factory(), verbose=0,
        callbacks=[Draw()])
    expected = []
    for epoch in range(3):
        np.random.seed(derive_seed(5, epoch))  # noqa: NPY002
        random.seed(derive_seed(5, epoch))
        expected.append((np.random.random(), random.random()))  # noqa: NPY002
    assert seen == expected
    if keras.backend.backend() == "tensorflow":
        assert calls == [5], calls  # seed_everything at the start, and never per epoch
