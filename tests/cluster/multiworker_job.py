"""One worker of a multi-worker training job (tests/cluster/test_multiworker.py), run by ``srun``.

    srun --ntasks=2 python tests/cluster/multiworker_job.py RUN_DIR REPORT_DIR \\
        [--devices workers|1] [--hold-at-epoch E] [--no-early-start]

Trains the tiny DeepSphere FCN of tests/training/test_distribution.py (HEALPix Nside 4,
ChebConv + batch normalisation + pooling; noise, class weights, a decaying learning rate) with
``deepsphere.training.loop.fit`` into RUN_DIR with ``training.devices`` = ``--devices`` (default
``workers``), on the JAX backend. With ``workers`` the script connects the workers first thing
(``start_workers()``, before Keras is imported: the usage the library recommends; a process that
is not one of several tasks then fails within a second); ``--no-early-start`` leaves it to
``fit``. Every worker then writes,
outside the run folder, ``REPORT_DIR/worker-<rank>.json`` (its runtime record, history, resume
epoch, how many processes and devices its model's variables span, and every path it opened for
writing, renamed, created or removed under RUN_DIR, from a Python audit hook) and
``REPORT_DIR/worker-<rank>.npz`` (its final weights). ``--hold-at-epoch E``: at the start of epoch
E (0-based; the chief has then checkpointed epoch E) each worker writes ``held-<rank>`` into
REPORT_DIR and sleeps, so that the test can kill the job there (``scancel``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CONFIG = {
    "seed": 4,
    "model": {"sampling": "healpix", "nside": 4, "in_channels": 2, "F": [4, 2], "K": 4,
              "pool": [1, 0], "graph": {"graph": "v1"}, "head": "fcn", "n_classes": 2},
    "training": {"epochs": 3, "batch_size": 8, "keep": "last", "noise_std": 0.1,
                 "class_weight": [1.0, 2.0],
                 "learning_rate": {"schedule": "exponential", "initial": 0.05,
                                   "decay_steps": 2, "decay_rate": 0.5}},
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def watch_writes(root: Path) -> list:
    """Record every file opened for writing, renamed, created or removed under ``root``."""
    root = str(root.resolve())
    seen: list = []

    def under(path) -> bool:
        try:
            return os.path.abspath(os.fsdecode(path)).startswith(root)
        except TypeError:  # a file descriptor
            return False

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            writes = (mode is not None and any(c in str(mode) for c in "wax+")) or \
                     (mode is None and isinstance(flags, int) and flags & _WRITE_FLAGS)
            if writes and under(path):
                seen.append(["open", os.fsdecode(path)])
        elif event in ("os.rename", "os.replace") and (under(args[0]) or under(args[1])):
            seen.append([event, os.fsdecode(args[1])])
        elif event in ("os.mkdir", "os.remove", "os.rmdir", "os.unlink") and under(args[0]):
            seen.append([event, os.fsdecode(args[0])])

    sys.addaudithook(hook)
    return seen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("report_dir", type=Path)
    parser.add_argument("--devices", default="workers")
    parser.add_argument("--hold-at-epoch", type=int, default=None)
    parser.add_argument("--no-early-start", dest="early_start", action="store_false")
    args = parser.parse_args()
    if args.devices == "workers" and args.early_start:
        from deepsphere.training.workers import start_workers

        start_workers()  # before anything imports Keras or initialises JAX's devices
    rank = int(os.environ.get("SLURM_PROCID", "0"))
    args.report_dir.mkdir(parents=True, exist_ok=True)
    writes = watch_writes(args.run_dir)

    import keras
    import numpy as np

    from deepsphere.training.loop import fit

    class HoldAt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == args.hold_at_epoch:
                (args.report_dir / f"held-{rank}").write_text(str(time.time()))
                time.sleep(600)  # killed here by the test

    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 192, 2)).astype("float32")
    y = rng.integers(0, 2, 24)
    devices = int(args.devices) if args.devices.isdigit() else args.devices
    config = {**CONFIG, "training": {**CONFIG["training"], "devices": devices}}
    run = fit(config, (x, y), (x[:8], y[:8]), out_dir=args.run_dir, callbacks=[HoldAt()],
              verbose=0)

    import jax

    report = {
        "rank": rank,
        "runtime": run.runtime,
        "history": run.history,
        "resumed_from_epoch": run.resumed_from_epoch,
        "selected_epoch": run.selected_epoch,
        "process_count": jax.process_count(),
        "device_count": jax.device_count(),
        # the model really spans the processes: its variables live on every task's device
        "variable_devices": len(run.model.trainable_variables[0].value.sharding.device_set),
        "writes": writes,
    }
    np.savez(args.report_dir / f"worker-{rank}.npz", *run.model.get_weights())
    (args.report_dir / f"worker-{rank}.json").write_text(json.dumps(report, default=str))
    print(f"worker {rank}: done, runtime {run.runtime}", flush=True)


if __name__ == "__main__":
    main()
