"""deepsphere.training.loop: schedule, determinism, kill + resume, selection, evaluation, provenance.

The engine is tested with a tiny plain-Keras model (no graph layers), so these tests are fast and
independent of the layers. The key tests also run on JAX (in a subprocess: the backend is fixed
at import).
"""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import deepsphere
from deepsphere.training.config import learning_rate_at, validate_training_config
from deepsphere.training.data import ArrayBatches
from deepsphere.training.loop import evaluate, fit, load_checkpoint
from deepsphere.training.runtime import git_commit


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6, 2)).astype("float32")
    y = (x[:, :, 0].mean(1) > 0).astype("int64")
    return x, y


def _factory():
    return keras.Sequential(
        [
            keras.Input((6, 2)),
            keras.layers.Flatten(),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dropout(0.2),  # exercises the per-epoch reseeding
            keras.layers.Dense(2),
        ]
    )


def _config(**training):
    base = {
        "epochs": 3,
        "batch_size": 8,
        "learning_rate": {
            "schedule": "exponential",
            "initial": 0.02,
            "decay_steps": 2,
            "decay_rate": 0.5,
        },
        "noise_std": 0.1,
        "validation_noise_std": 0.1,
        "keep": "last",
    }
    base.update(training)
    return {"seed": 3, "training": base}


def _weights(model):
    return [np.asarray(w) for w in model.get_weights()]


def test_learning_rate_schedule_matches_closed_form():
    spec = {"schedule": "exponential", "initial": 2e-4, "decay_steps": 1, "decay_rate": 0.999}
    for step in (0, 1, 10, 1440):  # 1440: the cosmo notebook's run, "finish at 4.7e-05"
        assert learning_rate_at(spec, step) == pytest.approx(
            2e-4 * 0.999**step, rel=1e-4
        )  # float32
    assert learning_rate_at(spec, 1440) == pytest.approx(4.7e-5, rel=0.01)
    spec = {"schedule": "exponential", "initial": 1e-3, "decay_steps": 2000, "decay_rate": 0.99}
    assert learning_rate_at(spec, 3000) == pytest.approx(1e-3 * 0.99**1.5, rel=1e-5)
    assert learning_rate_at(0.05, 123) == 0.05


def test_same_config_same_weights_and_resume_after_kill(tmp_path, kill_at):
    """Two runs of one config agree; a run killed in epoch 2 and restarted ends the same."""
    x, y = _data()
    cfg = _config()
    ref = fit(cfg, (x, y), (x[:16], y[:16]), out_dir=tmp_path / "a", model=_factory, verbose=0)
    again = fit(cfg, (x, y), (x[:16], y[:16]), out_dir=tmp_path / "b", model=_factory, verbose=0)
    for w1, w2 in zip(_weights(ref.model), _weights(again.model), strict=True):
        np.testing.assert_array_equal(w1, w2)
    # 40 samples / batch 8 = 5 steps per epoch; lr after 15 steps = 0.02 * 0.5 ** (15 / 2)
    assert ref.history[-1]["learning_rate"] == pytest.approx(0.02 * 0.5**7.5, rel=1e-5)

    with pytest.raises(KeyboardInterrupt):
        fit(
            cfg,
            (x, y),
            (x[:16], y[:16]),
            out_dir=tmp_path / "c",
            model=_factory,
            callbacks=[kill_at(epoch=1, batch=2)],
            verbose=0,
        )
    assert load_checkpoint(tmp_path / "c" / "checkpoints" / "last.npz")[0]["epoch"] == 1
    resumed = fit(cfg, (x, y), (x[:16], y[:16]), out_dir=tmp_path / "c", model=_factory, verbose=0)
    assert resumed.resumed_from_epoch == 1
    for w1, w2 in zip(_weights(ref.model), _weights(resumed.model), strict=True):
        np.testing.assert_allclose(w1, w2, rtol=1e-6, atol=1e-7)
    with open(tmp_path / "c" / "log.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert float(rows[-1]["loss"]) == pytest.approx(ref.history[-1]["loss"], rel=1e-5)


def test_generator_function_gives_the_array_run(tmp_path):
    """Data from a generator function (epoch -> batches) trains exactly like the arrays."""
    x, y = _data(24)
    cfg = _config(epochs=2)
    ref = fit(cfg, (x, y), out_dir=tmp_path / "a", model=_factory, verbose=0)
    batches = ArrayBatches(x, y, batch_size=8, seed=cfg["seed"], noise_std=0.1)

    def generator(epoch):
        batches.set_epoch(epoch)
        for i in range(len(batches)):
            yield batches[i]

    run = fit(cfg, generator, out_dir=tmp_path / "b", model=_factory, verbose=0)
    for w1, w2 in zip(_weights(ref.model), _weights(run.model), strict=True):
        np.testing.assert_allclose(w1, w2, rtol=1e-6, atol=1e-7)


def test_resume_policy(tmp_path, caplog):
    x, y = _data(16)
    cfg = _config(epochs=1, noise_std=0.0, validation_noise_std=0.0)
    fit(cfg, (x, y), out_dir=tmp_path, model=_factory, verbose=0)
    # same config, more epochs is a different config: no silent resume
    other = _config(epochs=2, noise_std=0.0, validation_noise_std=0.0)
    with caplog.at_level("WARNING"):
        run = fit(other, (x, y), out_dir=tmp_path, model=_factory, verbose=0)
    assert run.resumed_from_epoch == 0 and "another config" in caplog.text
    # now the checkpoint matches: a rerun resumes and does no work
    assert fit(other, (x, y), out_dir=tmp_path, model=_factory, verbose=0).resumed_from_epoch == 2
    never = _config(epochs=2, noise_std=0.0, validation_noise_std=0.0, resume="never")
    assert fit(never, (x, y), out_dir=tmp_path, model=_factory, verbose=0).resumed_from_epoch == 0
    with pytest.raises(ValueError, match="training.resume"):
        fit(_config(resume="require"), (x, y), out_dir=tmp_path / "empty", model=_factory)


def test_keep_best_versus_last_is_explicit(tmp_path):
    x, y = _data()
    cfg = _config(keep="best", epochs=4, monitor="val_loss")
    run = fit(cfg, (x, y), (x[:16], y[:16]), out_dir=tmp_path, model=_factory, verbose=0)
    losses = [row["val_loss"] for row in run.history]
    assert run.selected == "best" and run.selected_epoch == int(np.argmin(losses)) + 1
    best_meta, best_arrays, _ = load_checkpoint(tmp_path / "checkpoints" / "best.npz")
    assert best_meta["epoch"] == run.selected_epoch
    for var, arr in zip(run.model.variables, best_arrays, strict=True):
        np.testing.assert_array_equal(np.asarray(var), arr)
    summary = json.loads((tmp_path / "training.json").read_text())
    assert summary["selected"] == "best" and summary["selected_epoch"] == run.selected_epoch
    # the saved final model is the selected one
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), run.model.predict(x, verbose=0), rtol=1e-6
    )


@pytest.mark.parametrize(
    ("training", "key"),
    [
        ({"epochs": 0}, "training.epochs"),
        ({"batch_size": 2.5}, "training.batch_size"),
        ({"optimizer": {"name": "adamw"}}, "training.optimizer"),
        ({"optimizer": {"name": "sgd", "epsilon": 0.1}}, "training.optimizer"),
        ({"learning_rate": {"schedule": "cosine"}}, "training.learning_rate"),
        ({"learning_rate": -1}, "training.learning_rate"),
        ({"loss": "hinge"}, "training.loss"),
        ({"keep": "first"}, "training.keep"),
        ({"resume": True}, "training.resume"),
        ({"monitor": "val_loss"}, "training.monitor"),  # no validation data
        ({"epochz": 3}, "unknown key"),
    ],
)
def test_bad_training_config_raises_naming_the_key(training, key):
    with pytest.raises(ValueError, match=key):
        validate_training_config(training, has_validation=False)


def test_bad_seed_raises_before_work(tmp_path):
    with pytest.raises(ValueError, match="seed"):
        fit({"seed": None, "training": {}}, _data(), out_dir=tmp_path, model=_factory)
    assert not tmp_path.joinpath("checkpoints").exists()


def test_array_batches_order_noise_and_class_weights():
    x = np.arange(20, dtype=np.float32).reshape(10, 2, 1)
    y = np.array([[0, 1], [1, 1], [2, 0], [0, 0], [1, 2]] * 2)
    ds = ArrayBatches(x, y, batch_size=4, seed=5, class_weight={0: 0.5, 2: 3.0})
    ds.set_epoch(3)
    fresh = ArrayBatches(x, y, batch_size=4, seed=5, class_weight={0: 0.5, 2: 3.0})
    for epoch in range(4):  # order of epoch 3 does not depend on the epochs before it
        fresh.set_epoch(epoch)
    assert len(ds) == 3 and ds[2][0].shape[0] == 2  # last batch smaller, no wrap-around
    for i in range(3):
        np.testing.assert_array_equal(ds[i][0], fresh[i][0])
    order = np.random.default_rng([5, 3]).permutation(10)
    np.testing.assert_array_equal(ds[0][0][:, 0, 0], x[order[:4], 0, 0])
    # per-vertex sample weights = w[label], unnamed class 1 -> 1
    np.testing.assert_array_equal(ds[0][2], np.array([0.5, 1.0, 3.0])[ds[0][1]])
    noisy = ArrayBatches(x, y, batch_size=4, seed=5, noise_std=1.0)
    first = noisy[0][0]
    noisy.set_epoch(1)
    assert not np.allclose(first, noisy[0][0])  # fresh noise every epoch
    fixed = ArrayBatches(x, y, batch_size=4, seed=5, shuffle=False, noise_std=1.0, fixed_noise=True)
    first = fixed[1][0]
    fixed.set_epoch(7)
    np.testing.assert_array_equal(first, fixed[1][0])  # fixed validation noise
    assert np.std(first - x[4:8]) == pytest.approx(1.0, abs=0.6)
    with pytest.raises(ValueError, match="class_weight"):
        ArrayBatches(x, y, batch_size=4, class_weight=[1.0, 1.0])[0]


def test_evaluate_writes_metrics_with_provenance(tmp_path):
    from sklearn.metrics import accuracy_score, f1_score

    x, y = _data()
    model = _factory()
    report = evaluate(
        model, (x, y), task="classification", out_path=tmp_path / "m.json", config={"seed": 1}
    )
    pred = np.argmax(model.predict(x, verbose=0), axis=-1)
    assert report["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert report["weighted_f1"] == pytest.approx(f1_score(y, pred, average="weighted"))
    written = json.loads((tmp_path / "m.json").read_text())
    assert written["config"] == {"seed": 1}
    assert written["provenance"]["versions"]["keras"] == keras.__version__
    assert written["provenance"]["git_commit"] == git_commit()
    with pytest.raises(ValueError, match="task"):
        evaluate(model, (x, y), task="detection", out_path=tmp_path / "n.json")


def test_evaluate_segmentation_and_regression(tmp_path):
    from sklearn.metrics import average_precision_score, r2_score

    rng = np.random.default_rng(5)
    x = rng.normal(size=(10, 6, 2)).astype("float32")
    y = rng.integers(0, 3, size=(10, 6))  # per-vertex labels
    model = keras.Sequential([keras.Input((6, 2)), keras.layers.Dense(3)])
    report = evaluate(
        model, (x, y), task="segmentation", out_path=tmp_path / "s.json", map_classes=[1, 2]
    )
    logits = model.predict(x, verbose=0)
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    ap = [average_precision_score(y.ravel() == c, probs[..., c].ravel()) for c in range(3)]
    assert report["average_precision"] == pytest.approx(ap, rel=1e-5)
    assert report["mean_average_precision"] == pytest.approx((ap[1] + ap[2]) / 2, rel=1e-5)
    target = rng.normal(size=(10, 6, 1))
    regressor = keras.Sequential([keras.Input((6, 2)), keras.layers.Dense(1)])
    report = evaluate(regressor, (x, target), task="regression", out_path=tmp_path / "r.json")
    pred = regressor.predict(x, verbose=0)
    assert report["r2"] == pytest.approx(r2_score(target.ravel(), pred.ravel()), rel=1e-5)


def _subprocess_env(**extra):
    env = dict(os.environ, **extra)
    src = str(Path(deepsphere.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return env


def test_provenance_without_keras_imports_no_keras():
    # an SVM job: the provenance must not pull in Keras/TensorFlow (seconds per job)
    code = (
        "import json, sys\n"
        "from deepsphere.training.runtime import provenance\n"
        "p = provenance()\n"
        "print(json.dumps([p, 'keras' in sys.modules, 'tensorflow' in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_subprocess_env(), timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    record, keras_loaded, tf_loaded = json.loads(out.stdout.splitlines()[-1])
    assert not keras_loaded and not tf_loaded
    assert record["keras_backend"] is None
    assert record["versions"]["keras"] == keras.__version__  # from the installed metadata
    assert record["versions"]["numpy"] == np.__version__
    assert record["git_commit"] == git_commit()


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TF thread pools")
def test_threads_from_the_caller_set_tf_pools():
    code = (
        "from deepsphere.training.runtime import configure_runtime\n"
        "info = configure_runtime(threads=3)\n"
        "print(info['intra_op'], info['inter_op'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_subprocess_env(KERAS_BACKEND="tensorflow"),
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["3", "1"]


@pytest.mark.slow
@pytest.mark.skipif(keras.backend.backend() == "jax", reason="this is the JAX re-run itself")
def test_key_training_and_model_tests_pass_on_jax():
    """One JAX subprocess for the key tests of this file and of test_models.py."""
    here = Path(__file__).resolve().parent
    expected = {
        "test_training.py::test_learning_rate_schedule_matches_closed_form",
        "test_training.py::test_same_config_same_weights_and_resume_after_kill",
        "test_models.py::test_fcn_is_invariant_to_a_90_degree_rotation_about_z",
        "test_models.py::test_save_load_gives_identical_predictions",
        "test_models.py::test_fit_builds_the_model_from_the_config_and_resumes",
    }
    selection = " or ".join(name.split("::")[1] for name in sorted(expected))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rA",
            "-W",
            "ignore::DeprecationWarning",
            str(here / "test_training.py"),
            str(here.parent / "models" / "test_models.py"),
            "-k",
            selection,
        ],
        capture_output=True,
        text=True,
        env=_subprocess_env(KERAS_BACKEND="jax"),
        timeout=400,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    # -rA lists every outcome: each selected test passed, none was skipped or deselected away
    passed = {line.split()[1].rsplit("/", 1)[-1] for line in out.stdout.splitlines()
              if line.startswith("PASSED ")}
    assert passed == expected, out.stdout[-3000:]
    assert not any(line.startswith(("SKIPPED", "XFAIL", "ERROR", "FAILED"))
                   for line in out.stdout.splitlines()), out.stdout[-3000:]
