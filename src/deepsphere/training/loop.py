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

Several devices (``training.devices`` or ``fit(devices=...)``, see
:mod:`deepsphere.training.runtime`): the model is built, compiled and trained inside the
distribution strategy; ``batch_size`` stays the global batch, split evenly across the replicas
(every batch of array or shard data must split evenly, else a ``ValueError`` before any work),
the loss is the mean over the global batch (on TF the semi-hard triplet loss would be mined per
replica: refused there), BatchNormalization uses the global batch's statistics
(on TF its layers are synchronised across replicas during training), so the result is the
one-device run's up to float rounding. The replica count is recorded in ``training.json``
(``runtime``) and in ``FitResult.runtime``. Checkpoints hold plain arrays: a run may resume on
another number of devices.

Several processes (``training.devices: workers``, the tasks of a SLURM job step, JAX backend;
:mod:`deepsphere.training.workers`): the processes connect before anything touches the devices,
every one computes the same global batch and feeds its share of it, and only the chief (worker
0) takes the lock and writes into ``out_dir`` (the others write nothing there; they return the
same ``FitResult``). Every worker reads the chief's checkpoint to resume, after a collective
check that they all read the same file and that the chief holds the lock. ``training.json``
records ``runtime.workers`` (1 for a single process), the worker and the SLURM job step.

Reproducibility: everything is seeded (``seed_everything``), and before epoch ``e`` the data
order, the noise and the Keras RNGs are reset to a function of (seed, e). A run killed at any point
and restarted resumes from the last finished epoch and ends with the weights of an uninterrupted
run. Fixes of the original (tf1-spec §4.2 items 10-12): no silent resume (only with the same
config fingerprint, or when asked, and always logged), the final model is chosen explicitly, no
running RNG for the data order, no batches straddling epochs.
"""

from __future__ import annotations

import contextlib
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
    checkpoint_digest,
    load_checkpoint,
    resume_decision,
    save_state,
    state_variables,
)
from deepsphere.training.config import (
    config_fingerprint,
    make_optimizer,
    validate_training_config,
)
from deepsphere.training.data import (
    ArrayBatches,
    as_batches,
    class_weight_array,
    data_signature,
    epoch_batches,
)
from deepsphere.training.evaluation import evaluate
from deepsphere.training.lock import run_lock
from deepsphere.training.objectives import compile_for_training, repeat_targets
from deepsphere.training.replicas import batch_norm_layers, check_even_split, set_synchronized
from deepsphere.training.runtime import (
    configure_runtime,
    distribution_scope,
    parse_devices,
    provenance,
    seed_epoch,
    seed_everything,
    select_devices,
)
from deepsphere.training.seeds import derive_seed
from deepsphere.training.workers import SINGLE, shard_batches, start_workers

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
    runtime: dict = field(default_factory=dict)  # backend, threads, replicas, devices


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
    devices=None,
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
        devices: the devices to replicate over (``"auto"``, ``N`` GPUs, ``"cpu:N"``; see
            :mod:`deepsphere.training.runtime`); overrides ``training.devices``.
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
                                     data_signature(train, validation))

    if devices is not None:
        parse_devices(devices, "devices")
    devices_key = "devices" if devices is not None else "training.devices"
    device_spec = devices if devices is not None else tcfg["devices"]
    # several processes (SLURM tasks): they connect before anything touches the backend's
    # devices; only the chief (worker 0) writes into out_dir (deepsphere.training.workers)
    workers = (start_workers(devices_key) if parse_devices(device_spec, devices_key)[0] == "workers"
               else SINGLE)

    with contextlib.ExitStack() as stack:
        # one process per run directory: everything below reads or writes out_dir (the
        # chief holds the lock for all the workers; they learn whether it got it)
        lock_error = None
        if workers.chief:
            try:
                stack.enter_context(run_lock(out_dir))
            except Exception as err:  # raised below, once the other workers know of it
                lock_error = err
        workers.agree("the run folder's lock", error=lock_error)
        runtime = configure_runtime(threads if threads is not None else tcfg["threads"])
        # before anything initialises TF: "cpu:N" may still create its logical devices
        device_names = select_devices(device_spec, devices_key)
        replicas = max(1, len(device_names))
        runtime.update(replicas=replicas, devices=device_names, **workers.record())
        log.info("runtime: %s", runtime)
        if replicas > 1 and isinstance(model, keras.Model):
            raise ValueError(
                f"{devices_key}: {replicas} replicas need the model built inside the "
                "distribution strategy; pass model= a zero-argument factory (or None to build "
                "config['model']) instead of a built keras.Model"
            )
        if replicas > 1 and tcfg["triplet_loss"] and runtime["backend"] == "tensorflow":
            raise ValueError(
                f"training.triplet_loss: on TensorFlow each of the {replicas} replicas would mine "
                "triplets only within its share of the batch, which is not the one-device loss; "
                f"train it on one device ({devices_key}: 1) or with the JAX backend"
            )
        seed_everything(seed, deterministic=tcfg["deterministic"])

        train_ds = as_batches(
            train,
            batch_size=tcfg["batch_size"],
            seed=seed,
            shuffle=True,
            noise_std=tcfg["noise_std"],
            fixed_noise=False,
            class_weight=tcfg["class_weight"],
        )
        val_ds = as_batches(
            validation,
            batch_size=tcfg["batch_size"],
            seed=derive_seed(seed, 7),
            shuffle=False,
            noise_std=tcfg["validation_noise_std"],
            fixed_noise=True,
            class_weight=None,
        )
        check_even_split(train_ds, replicas, "training")
        check_even_split(val_ds, replicas, "validation")
        keras_class_weight = None
        if tcfg["class_weight"] is not None and not isinstance(train_ds, ArrayBatches):
            keras_class_weight = dict(enumerate(class_weight_array(tcfg["class_weight"]).tolist()))

        # decide about resuming before building anything (every worker reads the chief's
        # checkpoint and they check that they all read the same)
        try:
            resume_meta = resume_decision(tcfg, last_path, fingerprint)
            resume_error = None
        except Exception as err:  # raised in agree(), once the other workers know of it
            resume_meta, resume_error = None, err
        workers.agree(f"resuming from {last_path}", checkpoint_digest(last_path, resume_meta)
                      if workers.count > 1 else "", resume_error)
        train_ds, val_ds = shard_batches(train_ds, workers), shard_batches(val_ds, workers)

        # the model is built, compiled and trained in the strategy (a no-op for one device)
        in_strategy = stack.enter_context(contextlib.ExitStack())
        in_strategy.enter_context(distribution_scope(device_names))
        model = _build_model(config, model, laplacians)
        trainer = compile_for_training(model, tcfg, make_optimizer(tcfg))
        trainer.optimizer.build(trainer.trainable_variables)
        synced = []
        if replicas > 1 and keras.backend.backend() == "tensorflow":
            # per-replica batch statistics would differ from the one-device run's; JAX's
            # DataParallel computes them over the global batch already
            synced = [bn for bn in batch_norm_layers(trainer) if not bn.synchronized]
            set_synchronized(synced, True)
            stack.callback(set_synchronized, synced, False)
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
            seed_epoch(derive_seed(seed, epoch))
            result = trainer.fit(
                epoch_batches(train_ds, epoch),
                validation_data=epoch_batches(val_ds, epoch),
                epochs=epoch + 1,
                initial_epoch=epoch,
                steps_per_epoch=steps,
                shuffle=False,
                class_weight=keras_class_weight,
                callbacks=list(callbacks),
                verbose=verbose if workers.chief else 0,  # one progress bar per run
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
            # every worker holds the same state; only the chief writes it
            if _is_better(row[tcfg["monitor"]], best_value, tcfg["monitor_mode"]):
                best_value, best_epoch = row[tcfg["monitor"]], epoch + 1
                if workers.chief:
                    save_state(best_path, {"epoch": epoch + 1, "fingerprint": fingerprint},
                               state_variables(model))
            meta = {
                "epoch": epoch + 1,
                "fingerprint": fingerprint,
                "history": history,
                "best_value": best_value,
                "best_epoch": best_epoch,
            }
            if workers.chief:
                save_state(last_path, meta, state_variables(model), trainer.optimizer.variables)
                _write_csv(out_dir / "log.csv", history)

        selected_epoch = len(history)
        if tcfg["keep"] == "best" and best_epoch != selected_epoch:
            workers.barrier("deepsphere best checkpoint written")  # by the chief, maybe just now
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
        set_synchronized(synced, False)  # a runtime setting, not saved with the model
        # saving creates variables (Keras builds a throw-away optimiser): outside the strategy,
        # where on JAX they would be a collective of all the workers and only the chief saves
        in_strategy.close()
        if not workers.chief:
            return FitResult(model, history, tcfg["keep"], selected_epoch, start, out_dir, paths,
                             runtime)
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
                "runtime": runtime,
                "provenance": provenance(),
            },
        )
        return FitResult(model, history, tcfg["keep"], selected_epoch, start, out_dir, paths,
                         runtime)
