"""The ``training`` section of a run config: defaults, validation, optimiser and LR schedule.

Every mistake raises one ``ValueError`` naming the key and the fix, before any model is built.

Keys (defaults in ``DEFAULTS``)::

    epochs: int >= 1               batch_size: int >= 1
    optimizer: {name: adam|sgd|rmsprop, beta_1, beta_2, epsilon, momentum, rho}
    learning_rate: float (constant) or
        {schedule: exponential, initial: lr0, decay_steps: s, decay_rate: r}
        -> lr(step) = lr0 * r ** (step / s), per optimiser step, not staircase (as the original's
           tf.train.exponential_decay); r = 1 is constant
    loss: sparse_categorical_crossentropy (logits) | mse | mae
    triplet_loss: null | {weight: w > 0, margin: m > 0, layer: name}: adds w x the semi-hard
        triplet loss of the L2-normalised output of layer ``name`` (deepsphere.training.objectives)
    metrics: Keras metric names logged per epoch (default by loss)
    class_weight: null | {label: weight} | [w0, w1, ...]  (per-sample or per-vertex labels)
    noise_std: fresh Gaussian noise on every training batch (array data only), 0 = none
    validation_noise_std: fixed, seeded noise on the validation set (array data only)
    keep: best | last     which epoch's weights become the final model (recorded in the log)
    monitor: val_loss (or any logged quantity)    monitor_mode: min | max
    resume: auto | never | require
        auto: resume iff a checkpoint written by the SAME config exists (said in the log);
        never: start over (the old checkpoint is overwritten); require: fail unless one exists.
    deterministic: true (TF op determinism)   threads: null | int (TF intra/inter-op pools)
    devices: auto | N | "cpu:N" | workers   the devices to replicate over (data parallel;
        batch_size is the global batch, split evenly across them): auto = every visible GPU when
        there are several; N = that many GPUs (1: no replication); "cpu:N" = N logical CPU
        devices (tests); workers = the devices of every task of the SLURM job step (several
        processes or nodes, JAX; deepsphere.training.workers). See deepsphere.training.runtime.
        Like resume and threads, not part of the fingerprint.
"""

from __future__ import annotations

import copy
import hashlib
import json
import numbers

import keras

from deepsphere.training.runtime import parse_devices

__all__ = [
    "DEFAULTS",
    "config_fingerprint",
    "learning_rate_at",
    "make_learning_rate",
    "make_optimizer",
    "validate_training_config",
]

DEFAULTS = {
    "epochs": 1,
    "batch_size": 32,
    "optimizer": {"name": "adam"},
    "learning_rate": 1e-3,
    "loss": "sparse_categorical_crossentropy",
    "triplet_loss": None,
    "metrics": None,
    "class_weight": None,
    "noise_std": 0.0,
    "validation_noise_std": 0.0,
    "keep": "best",
    "monitor": None,
    "monitor_mode": None,
    "resume": "auto",
    "deterministic": True,
    "threads": None,
    "devices": "auto",
}
_OPTIMIZER_KEYS = {
    "adam": {"beta_1", "beta_2", "epsilon"},
    "sgd": {"momentum"},
    "rmsprop": {"rho", "momentum", "epsilon"},
}
_LOSSES = ("sparse_categorical_crossentropy", "mse", "mae")
# keys that change how a run is executed but not its result: excluded from the fingerprint
_RUNTIME_KEYS = ("resume", "threads", "devices")


def _fail(key: str, problem: str, fix: str):
    raise ValueError(f"training.{key}: {problem}; {fix}")


def _positive_int(cfg: dict, key: str) -> None:
    value = cfg[key]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        _fail(key, f"got {value!r}", "give a positive integer")


def _number(value, key: str, *, low: float = 0.0, strict: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        _fail(key, f"got {value!r}", "give a number")
    if value < low or (strict and value == low):
        _fail(key, f"got {value!r}", f"give a number {'>' if strict else '>='} {low}")
    return float(value)


def _check_learning_rate(lr) -> None:
    if isinstance(lr, dict):
        expected = {"schedule", "initial", "decay_steps", "decay_rate"}
        if set(lr) != expected or lr.get("schedule") != "exponential":
            _fail(
                "learning_rate",
                f"got {lr!r}",
                "give a number or {schedule: exponential, initial: lr0, decay_steps: s, "
                "decay_rate: r}",
            )
        _number(lr["initial"], "learning_rate.initial")
        _number(lr["decay_steps"], "learning_rate.decay_steps")
        _number(lr["decay_rate"], "learning_rate.decay_rate")
    else:
        _number(lr, "learning_rate")


def _check_triplet(cfg: dict) -> None:
    triplet = cfg["triplet_loss"]
    if triplet is None:
        return
    expected = {"weight", "margin", "layer"}
    if not isinstance(triplet, dict) or set(triplet) != expected:
        _fail("triplet_loss", f"got {triplet!r}",
              "give null or {weight: w > 0, margin: m > 0, layer: <descriptor layer name>}")
    _number(triplet["weight"], "triplet_loss.weight")
    _number(triplet["margin"], "triplet_loss.margin")
    if not isinstance(triplet["layer"], str) or not triplet["layer"]:
        _fail("triplet_loss.layer", f"got {triplet['layer']!r}", "give a layer name")
    if cfg["loss"] != "sparse_categorical_crossentropy":
        _fail("triplet_loss", "needs class labels", "use it with the cross-entropy loss")
    if cfg["class_weight"] is not None:
        _fail("triplet_loss", "is not combined with class_weight", "remove one of them")


def validate_training_config(training: dict | None, *, has_validation: bool) -> dict:
    """Return the ``training`` section with defaults filled in, or raise ``ValueError``."""
    training = {} if training is None else training
    if not isinstance(training, dict):
        raise ValueError(f"config['training'] must be a mapping, got {type(training).__name__}")
    unknown = sorted(set(training) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"training: unknown key(s) {unknown}; allowed keys are {sorted(DEFAULTS)}")
    cfg = copy.deepcopy(DEFAULTS)
    cfg.update(copy.deepcopy(training))
    _positive_int(cfg, "epochs")
    _positive_int(cfg, "batch_size")
    opt = cfg["optimizer"]
    if not isinstance(opt, dict) or opt.get("name") not in _OPTIMIZER_KEYS:
        _fail("optimizer", f"got {opt!r}", f"give {{name: one of {sorted(_OPTIMIZER_KEYS)}, ...}}")
    extra = sorted(set(opt) - {"name"} - _OPTIMIZER_KEYS[opt["name"]])
    if extra:
        _fail(
            "optimizer",
            f"{opt['name']} takes no {extra}",
            f"use only {sorted(_OPTIMIZER_KEYS[opt['name']])}",
        )
    for key in set(opt) - {"name"}:
        _number(opt[key], f"optimizer.{key}", strict=key in ("epsilon",))
    _check_learning_rate(cfg["learning_rate"])
    if cfg["loss"] not in _LOSSES:
        _fail("loss", f"got {cfg['loss']!r}", f"use one of {list(_LOSSES)}")
    _check_triplet(cfg)
    if cfg["metrics"] is None:
        classification = cfg["loss"] == "sparse_categorical_crossentropy"
        cfg["metrics"] = ["sparse_categorical_accuracy"] if classification else ["mae"]
    elif not isinstance(cfg["metrics"], list | tuple):
        _fail("metrics", f"got {cfg['metrics']!r}", "give a list of Keras metric names")
    if cfg["class_weight"] is not None:
        if cfg["loss"] != "sparse_categorical_crossentropy":
            _fail("class_weight", "only applies to classification", "remove it or use the CE loss")
        if not isinstance(cfg["class_weight"], dict | list | tuple):
            _fail("class_weight", f"got {cfg['class_weight']!r}", "give {label: w} or [w0, ...]")
    _number(cfg["noise_std"], "noise_std", strict=False)
    _number(cfg["validation_noise_std"], "validation_noise_std", strict=False)
    if cfg["keep"] not in ("best", "last"):
        _fail("keep", f"got {cfg['keep']!r}", "use 'best' (monitored epoch) or 'last'")
    if cfg["monitor"] is None:
        cfg["monitor"] = "val_loss" if has_validation else "loss"
    if cfg["monitor_mode"] is None:
        cfg["monitor_mode"] = "min" if cfg["monitor"].endswith("loss") else "max"
    if cfg["monitor_mode"] not in ("min", "max"):
        _fail("monitor_mode", f"got {cfg['monitor_mode']!r}", "use 'min' or 'max'")
    if cfg["monitor"].startswith("val_") and not has_validation:
        _fail(
            "monitor",
            f"{cfg['monitor']!r} needs validation data",
            "pass validation data "
            "or monitor a training quantity such as 'loss' (or use keep: last)",
        )
    if cfg["resume"] not in ("auto", "never", "require"):
        _fail("resume", f"got {cfg['resume']!r}", "use 'auto', 'never' or 'require'")
    if not isinstance(cfg["deterministic"], bool):
        _fail("deterministic", f"got {cfg['deterministic']!r}", "use true or false")
    if cfg["threads"] is not None:
        _positive_int(cfg, "threads")
    parse_devices(cfg["devices"], "training.devices")
    return cfg


def make_learning_rate(spec):
    """A float (constant) or ``keras.optimizers.schedules.ExponentialDecay`` (not staircase)."""
    if isinstance(spec, dict):
        return keras.optimizers.schedules.ExponentialDecay(
            initial_learning_rate=float(spec["initial"]),
            decay_steps=float(spec["decay_steps"]),
            decay_rate=float(spec["decay_rate"]),
            staircase=False,
        )
    return float(spec)


def learning_rate_at(spec, step: int) -> float:
    """The learning rate used by optimiser step ``step`` (0-based), from the Keras object."""
    lr = make_learning_rate(spec)
    if callable(lr):
        return float(keras.ops.convert_to_numpy(lr(step)))
    return lr


def make_optimizer(training: dict) -> keras.optimizers.Optimizer:
    """The optimiser of a validated ``training`` section.

    Adam's ε is configurable (the shape experiments used 0.1; Keras and TF1 share the ε-hat
    form). Keras' RMSprop differs from TF1's (TF1 starts the mean square at 1, ε inside the sqrt).
    """
    opt = dict(training["optimizer"])
    name = opt.pop("name")
    lr = make_learning_rate(training["learning_rate"])
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=lr, **opt)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, **opt)
    return keras.optimizers.RMSprop(learning_rate=lr, **opt)


def config_fingerprint(config: dict, data_signature=None) -> str:
    """sha256 of the canonical JSON of everything that defines a run's result.

    Runtime-only training keys (``resume``, ``threads``, ``devices``) are left out so that a run
    resumed with other settings or on another machine still matches its checkpoint.
    """
    cfg = copy.deepcopy(config)
    training = cfg.get("training")
    if isinstance(training, dict):
        for key in _RUNTIME_KEYS:
            training.pop(key, None)
    payload = {"config": cfg, "data": data_signature}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
