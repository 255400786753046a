"""Training engine: fit from a config dict, checkpoint every epoch, resume, evaluate.

A run config is ``{"seed": int, "model": <model config, see deepsphere.models.spherical>, "training":
<training section, see deepsphere.training.config>}``. ``fit`` writes into ``out_dir``::

    checkpoints/last.npz   every variable of the model (weights, BN statistics, seed states),
                           the optimiser's variables (step counter, moments), the epoch, the
                           per-epoch log so far and the config fingerprint; written atomically
                           after every epoch
    checkpoints/best.npz   the model variables of the best epoch by ``monitor``
    log.csv                one row per finished epoch (metrics and the learning rate)
    model.keras            the selected model (``keep``: best or last, never silently)
    training.json          the config, the selection, the history and the provenance
    .lock                  while ``fit`` runs: its pid, host and start time
                           (``deepsphere.training.lock``; a second run on the directory refuses)

Reproducibility: everything is seeded (``seed_everything``), and before epoch ``e`` the data
order, the noise and the Keras RNGs are reset to a function of (seed, e). A run killed at any point
and restarted resumes from the last finished epoch and ends with the weights of an uninterrupted
run. Fixes of the original (tf1-spec §4.2 items 10-12): no silent resume (only with the same
config fingerprint, or when asked, and always logged), the final model is chosen explicitly, no
running RNG for the data order, no batches straddling epochs.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

import keras

from deepsphere.io.atomic import atomic_path
from deepsphere.training.checkpoint import (
    assign,
    atomic_write_bytes,
    atomic_write_json,
    load_checkpoint,
    save_state,
    state_variables,
)
from deepsphere.training.config import (
    config_fingerprint,
    make_optimizer,
    validate_training_config,
)
from deepsphere.training.data import ArrayBatches, array_digest, class_weight_array
from deepsphere.training.evaluation import evaluate
from deepsphere.training.lock import run_lock
from deepsphere.training.objectives import compile_for_training, repeat_targets
from deepsphere.training.runtime import (
    configure_runtime,
    distribution_scope,
    provenance,
    seed_everything,
)
from deepsphere.training.seeds import derive_seed

log = logging.getLogger(__name__)

__all__ = ["FitResult", "evaluate", "fit", "load_checkpoint"]

@dataclass
class FitResult:
    """What ``fit`` returns: the selected model and where everything was written."""

    model: keras.Model
    history: list[dict]
    selected: str  # "best" or "last"
    selected_epoch: int  # 1-based epoch whose weights the model holds
    resumed_from_epoch: int  # 0 if the run started from scratch
    out_dir: Path
    paths: dict = field(default_factory=dict)


def _data_signature(train, validation=None) -> object:
    """What the fingerprint of a run knows of its data: the arrays' shapes and content digests,
    or a stream's own ``signature()`` (e.g. ``ShardBatches``: its store's manifest,
    normalisation, class weights, order; and the validation stream's), so that a checkpoint of
    other data (an input file regenerated with the same shapes) is not resumed."""
    if isinstance(train, tuple):
        val = [array_digest(a) for a in validation] if isinstance(validation, tuple) else None
        return [[array_digest(a) for a in train], val]
    if hasattr(train, "signature"):
        return [train.signature(),
                validation.signature() if hasattr(validation, "signature") else None]
    return type(train).__name__


def _as_dataset(data, *, batch_size, seed, shuffle, noise_std, fixed_noise, class_weight):
    if data is None or isinstance(data, keras.utils.PyDataset) or callable(data):
        return data  # a callable is a generator function: epoch -> iterable of batches
    if isinstance(data, tuple) and len(data) == 2:
        return ArrayBatches(
            data[0],
            data[1],
            batch_size=batch_size,
            seed=seed,
            shuffle=shuffle,
            noise_std=noise_std,
            fixed_noise=fixed_noise,
            class_weight=class_weight,
        )
    raise ValueError(
        "training/validation data must be a tuple (x, y) of arrays, a keras.utils.PyDataset "
        "(ideally with set_epoch(epoch)) or a function epoch -> iterable of batches, got "
        f"{type(data).__name__}"
    )


def _for_epoch(data, epoch: int):
    """A generator function is called with the epoch: its batches must be f(seed, epoch)."""
    if callable(data) and not isinstance(data, keras.utils.PyDataset):
        return iter(data(epoch))
    return data


def _write_csv(path: Path, history: list[dict]) -> None:
    keys = ["epoch"] + sorted({k for row in history for k in row} - {"epoch"})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys)
    writer.writeheader()
    writer.writerows(history)
    atomic_write_bytes(path, buffer.getvalue().encode())


def _build_model(config, model, laplacians):
    if isinstance(model, keras.Model):
        return model
    if callable(model):
        return model()
    if "model" not in config:
        raise ValueError("config has no 'model' section: add one, or pass model= to fit")
    from deepsphere.models.spherical import build_model  # the layers import only when needed

    return build_model(config["model"], laplacians=laplacians)


def _is_better(value: float, best: float | None, mode: str) -> bool:
    if best is None:
        return True
    return value < best if mode == "min" else value > best


def fit(
    config: dict,
    train,
    validation=None,
    *,
    out_dir,
    model=None,
    laplacians: dict | None = None,
    threads: int | None = None,
    callbacks=(),
    verbose="auto",
) -> FitResult:
    """Train a model as ``config`` says; checkpoint every epoch; resume per ``training.resume``.

    Args:
        config: ``{"seed", "training", "model"}`` (``model`` unused when ``model=`` is given).
        train: ``(x, y)`` arrays (``x``: ``(n, vertices, channels)``), a ``PyDataset`` (the
            engine calls ``set_epoch(e)`` on it when it has that method), or a generator
            function ``epoch -> iterable of (x_b, y_b[, w_b])`` (called once per epoch, plus once
            to count the batches, which must be the same number every epoch; for an exact resume
            its batches must depend only on the seed and the epoch).
        validation: the same kinds, or None.
        out_dir: where checkpoints, the log and the final model go.
        model: a ``keras.Model``, a zero-argument factory (needed for multi-GPU: the model must be
            built inside the strategy), or None to build ``config["model"]``.
        laplacians: prebuilt Laplacians for ``deepsphere.models.spherical.build_model``.
        threads: cores for this job (Snakemake's ``threads``); overrides ``training.threads``.
        callbacks: extra Keras callbacks, called during every epoch.
        verbose: Keras ``fit`` verbosity (``"auto"``: the progress bar).

    Raises:
        deepsphere.training.lock.RunDirectoryLocked: another live process (or one of another
            host) holds ``out_dir/.lock``; a stale lock of this host is taken over.
    """
    if not isinstance(config, dict):
        raise ValueError(f"config must be a dict, got {type(config).__name__}")
    seed = config.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"config['seed'] must be an integer (every run is seeded), got {seed!r}")
    tcfg = validate_training_config(config.get("training"), has_validation=validation is not None)
    out_dir = Path(out_dir)
    ckpt_dir = out_dir / "checkpoints"
    last_path, best_path = ckpt_dir / "last.npz", ckpt_dir / "best.npz"
    fingerprint = config_fingerprint({**config, "training": tcfg},
                                     _data_signature(train, validation))

    # one process per run directory: everything below reads or writes out_dir
    with run_lock(out_dir):
        configure_runtime(threads if threads is not None else tcfg["threads"])
        seed_everything(seed, deterministic=tcfg["deterministic"])

        train_ds = _as_dataset(
            train,
            batch_size=tcfg["batch_size"],
            seed=seed,
            shuffle=True,
            noise_std=tcfg["noise_std"],
            fixed_noise=False,
            class_weight=tcfg["class_weight"],
        )
        val_ds = _as_dataset(
            validation,
            batch_size=tcfg["batch_size"],
            seed=derive_seed(seed, 7),
            shuffle=False,
            noise_std=tcfg["validation_noise_std"],
            fixed_noise=True,
            class_weight=None,
        )
        keras_class_weight = None
        if tcfg["class_weight"] is not None and not isinstance(train_ds, ArrayBatches):
            keras_class_weight = dict(enumerate(class_weight_array(tcfg["class_weight"]).tolist()))

        # decide about resuming before building anything
        resume_meta = None
        if last_path.exists():
            meta = load_checkpoint(last_path)[0]
            same = meta.get("fingerprint") == fingerprint
            if tcfg["resume"] == "never":
                log.info(
                    "resume: never -> ignoring the checkpoint in %s (epoch %d)", ckpt_dir, meta["epoch"]
                )
            elif same:
                resume_meta = meta
            elif tcfg["resume"] == "require":
                raise ValueError(
                    f"training.resume: require, but the checkpoint in {ckpt_dir} was written by another "
                    "config; use resume: auto/never or restore the original config"
                )
            else:
                log.warning(
                    "checkpoint in %s comes from another config: starting from scratch", ckpt_dir
                )
        elif tcfg["resume"] == "require":
            raise ValueError(f"training.resume: require, but there is no checkpoint at {last_path}")

        with distribution_scope():
            model = _build_model(config, model, laplacians)
            trainer = compile_for_training(model, tcfg, make_optimizer(tcfg))
            trainer.optimizer.build(trainer.trainable_variables)
        if trainer is not model:  # the triplet view: the labels go to both outputs
            train_ds, val_ds = repeat_targets(train_ds), repeat_targets(val_ds)

        history: list[dict] = []
        best_value, best_epoch, start = None, 0, 0
        if resume_meta is not None:
            meta, model_arrays, opt_arrays = load_checkpoint(last_path)
            assign(state_variables(model), model_arrays, "model")
            assign(trainer.optimizer.variables, opt_arrays, "optimizer")
            history, start = meta["history"], int(meta["epoch"])
            best_value, best_epoch = meta["best_value"], int(meta["best_epoch"])
            log.info(
                "resuming from %s: %d of %d epochs done (same config)", last_path, start, tcfg["epochs"]
            )

        steps = None
        if callable(train_ds) and not isinstance(train_ds, keras.utils.PyDataset):
            # Keras cannot know a generator's length; on TF an open-ended epoch makes one extra,
            # empty optimiser step (the step counter, hence the LR schedule, drifts). Count once.
            steps = sum(1 for _ in train_ds(start))
        for epoch in range(start, tcfg["epochs"]):
            for ds in (train_ds, val_ds):
                if hasattr(ds, "set_epoch"):
                    ds.set_epoch(epoch)
            keras.utils.set_random_seed(derive_seed(seed, epoch))
            result = trainer.fit(
                _for_epoch(train_ds, epoch),
                validation_data=_for_epoch(val_ds, epoch),
                epochs=epoch + 1,
                initial_epoch=epoch,
                steps_per_epoch=steps,
                shuffle=False,
                class_weight=keras_class_weight,
                callbacks=list(callbacks),
                verbose=verbose,
            )
            row = {"epoch": epoch + 1}
            row.update({k: float(v[-1]) for k, v in result.history.items()})
            row["learning_rate"] = float(keras.ops.convert_to_numpy(trainer.optimizer.learning_rate))
            history.append(row)
            if tcfg["monitor"] not in row:
                raise ValueError(
                    f"training.monitor: {tcfg['monitor']!r} is not logged (have {sorted(row)}); "
                    "choose one of those"
                )
            if _is_better(row[tcfg["monitor"]], best_value, tcfg["monitor_mode"]):
                best_value, best_epoch = row[tcfg["monitor"]], epoch + 1
                save_state(
                    best_path, {"epoch": epoch + 1, "fingerprint": fingerprint}, state_variables(model)
                )
            meta = {
                "epoch": epoch + 1,
                "fingerprint": fingerprint,
                "history": history,
                "best_value": best_value,
                "best_epoch": best_epoch,
            }
            save_state(last_path, meta, state_variables(model), trainer.optimizer.variables)
            _write_csv(out_dir / "log.csv", history)

        selected_epoch = len(history)
        if tcfg["keep"] == "best" and best_epoch != selected_epoch:
            assign(state_variables(model), load_checkpoint(best_path)[1], "model")
            selected_epoch = best_epoch
        log.info(
            "final model: %s epoch (%d; %s = %s)",
            tcfg["keep"],
            selected_epoch,
            tcfg["monitor"],
            best_value,
        )
        paths = {
            "checkpoint": last_path,
            "best": best_path,
            "log": out_dir / "log.csv",
            "model": out_dir / "model.keras",
            "summary": out_dir / "training.json",
        }
        with atomic_path(paths["model"], suffix=".keras") as tmp:  # complete or absent
            model.save(tmp)
        atomic_write_json(
            paths["summary"],
            {
                "config": {**config, "training": tcfg},
                "fingerprint": fingerprint,
                "selected": tcfg["keep"],
                "selected_epoch": selected_epoch,
                "best_epoch": best_epoch,
                "monitor": tcfg["monitor"],
                "best_value": best_value,
                "resumed_from_epoch": start,
                "history": history,
                "provenance": provenance(),
            },
        )
        return FitResult(model, history, tcfg["keep"], selected_epoch, start, out_dir, paths)
