"""Training on several devices (issue #12): a job given N devices replicates over all of them and
ends with the one-device run's weights and losses (same global batch, same seed).

Without GPUs the devices are logical CPU devices (``devices: "cpu:2"``); they must exist before
the backend initialises, so every multi-device run is in a subprocess: TensorFlow (the loop
creates the logical devices itself) and JAX (``XLA_FLAGS=--xla_force_host_platform_device_count=2``
before ``import jax``). The subprocess trains a tiny DeepSphere FCN (ChebConv, batch
normalisation, pooling) for 2 epochs of 3 steps with noise, class weights and a decaying
learning rate: on 2 devices (killed after epoch 1 and resumed: the checkpoint of a replicated
run restores into a replicated model), then on 1 device; weights, per-epoch losses and metrics,
the learning rate (optimiser step count) and the predictions of the final models are compared.

Tolerance: the replicas sum partial gradients and batch statistics in another order than one
device does, so the results agree up to float32 rounding; observed max relative difference
~1e-5 on either backend (TF, JAX; 2 CPU cores). Checked with ``rtol=1e-4, atol=1e-6`` (the
weights are O(0.1-1)); without the batch-norm synchronisation on TF the weights differ by ~0.03
(relative ~0.6), far outside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deepsphere
from deepsphere.training.config import validate_training_config
from deepsphere.training.runtime import parse_devices, select_devices

RTOL, ATOL = 1e-4, 1e-6

WORKER = r"""
import json, sys
import numpy as np
import keras
from deepsphere.training.loop import fit

out = sys.argv[1]
cfg = {
    "seed": 4,
    "model": {"sampling": "healpix", "nside": 4, "in_channels": 2, "F": [4, 2], "K": 4,
              "pool": [1, 0], "graph": {"graph": "v1"}, "head": "fcn", "n_classes": 2},
    "training": {"epochs": 2, "batch_size": 8, "keep": "last", "devices": "cpu:2",
                 "noise_std": 0.1, "class_weight": [1.0, 2.0],
                 "learning_rate": {"schedule": "exponential", "initial": 0.05,
                                   "decay_steps": 2, "decay_rate": 0.5}},
}
rng = np.random.default_rng(0)
x = rng.normal(size=(24, 192, 2)).astype("float32")
y = rng.integers(0, 2, 24)
data, val = (x, y), (x[:8], y[:8])


def replicated_over(model):
    # the model really is replicated: not just what the loop says
    if keras.backend.backend() == "tensorflow":
        return model.distribute_strategy.num_replicas_in_sync
    return len(model.trainable_variables[0].value.sharding.device_set)


class KillBeforeEpoch2(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt("simulated kill")


report = {}
runs = {}
try:  # training.devices: cpu:2; epoch 1 is trained and checkpointed, then the job is killed
    fit(cfg, data, val, out_dir=f"{out}/two", callbacks=[KillBeforeEpoch2()], verbose=0)
except KeyboardInterrupt:
    pass
runs["two"] = fit(cfg, data, val, out_dir=f"{out}/two", verbose=0)  # epoch 2, resumed
runs["one"] = fit(cfg, data, val, out_dir=f"{out}/one", devices=1, verbose=0)
for name, run in runs.items():
    np.savez(f"{out}/{name}.npz", *run.model.get_weights())
    np.save(f"{out}/{name}_predictions.npy", run.model.predict(x, verbose=0))
    summary = json.load(open(f"{out}/{name}/training.json"))
    report[name] = {"history": run.history, "runtime": run.runtime,
                    "recorded": summary["runtime"], "resumed_from": run.resumed_from_epoch,
                    "replicated_over": replicated_over(run.model)}
report["distribution_after"] = repr(keras.distribution.distribution())
errors = {}
for name, kwargs in {
    "built_model": {"model": runs["one"].model},
    "uneven": {"train": (x[:23], y[:23])},
    "triplet": {"config": {**cfg, "training": {
        **cfg["training"], "class_weight": None,
        "triplet_loss": {"weight": 1.0, "margin": 1.0, "layer": "conv1_relu"}}}},
}.items():
    if name == "triplet" and keras.backend.backend() != "tensorflow":
        continue  # JAX computes the loss over the global batch: it would train

    try:
        fit(kwargs.pop("config", cfg), kwargs.pop("train", data), out_dir=f"{out}/{name}",
            verbose=0, **kwargs)
        errors[name] = None
    except ValueError as err:
        errors[name] = str(err)
report["errors"] = errors
print("REPORT " + json.dumps(report))
"""


def _env(**extra):
    env = dict(os.environ, **extra)
    src = str(Path(deepsphere.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _max_differences(a, b) -> tuple[float, float]:
    diff = np.abs(a - b)
    return float(diff.max(initial=0.0)), float((diff / np.maximum(np.abs(a), 1e-3)).max(initial=0.0))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_two_devices_give_the_one_device_run(tmp_path, backend):
    extra = {"KERAS_BACKEND": backend}
    if backend == "jax":
        extra["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                              " --xla_force_host_platform_device_count=2").strip()
    out = subprocess.run([sys.executable, "-c", WORKER, str(tmp_path)], capture_output=True,
                         text=True, env=_env(**extra), timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    line = [row for row in out.stdout.splitlines() if row.startswith("REPORT ")][-1]
    report = json.loads(line.removeprefix("REPORT "))

    # the strategy was really used: 2 replicas recorded, and the model's variables span 2 devices
    two, one = report["two"], report["one"]
    assert two["runtime"]["backend"] == backend
    assert two["runtime"]["replicas"] == 2, two["runtime"]
    assert two["recorded"]["replicas"] == 2 and two["replicated_over"] == 2
    assert one["runtime"]["replicas"] == 1 and one["replicated_over"] == 1
    assert report["distribution_after"] == "None"  # JAX: the DataParallel scope was left
    assert two["resumed_from"] == 1

    weights_one, weights_two = np.load(tmp_path / "one.npz"), np.load(tmp_path / "two.npz")
    worst = [0.0, 0.0]
    for key in weights_one.files:
        np.testing.assert_allclose(weights_two[key], weights_one[key], rtol=RTOL, atol=ATOL,
                                   err_msg=f"weight {key}")
        worst = np.maximum(worst, _max_differences(weights_one[key], weights_two[key]))
    print(f"{backend}: 2 vs 1 device: max abs {worst[0]:.2g}, max rel {worst[1]:.2g}")
    np.testing.assert_allclose(np.load(tmp_path / "two_predictions.npy"),
                               np.load(tmp_path / "one_predictions.npy"), rtol=RTOL, atol=ATOL)
    assert len(one["history"]) == len(two["history"]) == 2
    for row_one, row_two in zip(one["history"], two["history"], strict=True):
        assert row_two.keys() == row_one.keys()
        for key, value in row_one.items():  # loss, accuracy, val_*, learning rate (step count)
            assert row_two[key] == pytest.approx(value, rel=RTOL, abs=ATOL), key

    errors = report["errors"]
    assert errors["built_model"] and "pass model= a zero-argument factory" in errors["built_model"]
    assert errors["uneven"] and "batches of 7 samples" in errors["uneven"]
    assert "do not split evenly" in errors["uneven"]
    if backend == "tensorflow":
        assert errors["triplet"] and "training.triplet_loss: on TensorFlow" in errors["triplet"]


@pytest.mark.parametrize("spec", ["cpu:0", "cpu", "gpu:2", 0, -1, True, 2.0, "all"])
def test_a_bad_device_request_names_the_key_and_the_forms(spec):
    with pytest.raises(ValueError, match=r"training\.devices: got .*; give 'auto'.*'cpu:N'"):
        validate_training_config({"devices": spec}, has_validation=False)


def test_device_requests_parse_and_too_many_gpus_name_the_fix():
    assert parse_devices("auto") == ("auto", None)
    assert parse_devices(3) == ("gpu", 3)
    assert parse_devices("cpu:2") == ("cpu", 2)
    assert select_devices(1) == []  # one device: no replication
    with pytest.raises(ValueError, match=r"devices: asked for 4096 GPU devices but \d+ (is|are) "
                                         r"available to \w+; run the job with that many GPUs"):
        select_devices(4096, "devices")
