"""Checkpoint files of the training engine: atomic writes, model and optimiser state.

A checkpoint is one ``.npz``: ``model_00000..`` (every variable training changes, in
``model.variables`` order, without ChebConv's constant Laplacians), ``opt_00000..`` (the
optimiser's variables: step counter, moments) and ``meta`` (JSON: epoch, config fingerprint,
history). Files are written through :mod:`deepsphere.io.atomic` (a temporary name, then renamed),
so a kill never leaves half a file.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from pathlib import Path

import keras
import numpy as np

from deepsphere.io.atomic import atomic_write_bytes, atomic_write_json

log = logging.getLogger(__name__)

__all__ = [
    "checkpoint_digest",
    "resume_decision",
    "atomic_write_bytes",
    "atomic_write_json",
    "load_checkpoint",
    "save_state",
    "state_variables",
    "assign",
]


def _to_numpy(variables) -> list[np.ndarray]:
    return [np.asarray(keras.ops.convert_to_numpy(v)) for v in variables]


def state_variables(model) -> list:
    """Every variable training changes: weights, BN statistics, RNG seed states.

    ChebConv's constant Laplacian variables (``laplacian_*``, rebuilt from the layer config, up to
    millions of entries) are left out of checkpoints.
    """
    return [v for v in model.variables if not v.name.startswith("laplacian_")]


def save_state(path: Path, meta: dict, model_vars, optimizer_vars=()) -> None:
    arrays = {f"model_{i:05d}": a for i, a in enumerate(_to_numpy(model_vars))}
    arrays.update({f"opt_{i:05d}": a for i, a in enumerate(_to_numpy(optimizer_vars))})
    arrays["meta"] = np.array(json.dumps(meta, default=str))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path) -> tuple[dict, list[np.ndarray], list[np.ndarray]]:
    """Read a checkpoint: ``(meta, model arrays, optimizer arrays)``."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        model = [data[k] for k in sorted(k for k in data.files if k.startswith("model_"))]
        opt = [data[k] for k in sorted(k for k in data.files if k.startswith("opt_"))]
    return meta, model, opt


def assign(variables, arrays, what: str) -> None:
    variables = list(variables)
    if len(variables) != len(arrays):
        raise ValueError(
            f"checkpoint holds {len(arrays)} {what} arrays but the model has {len(variables)}: "
            "it was written by another architecture; delete it or use resume: never"
        )
    for i, (var, arr) in enumerate(zip(variables, arrays, strict=True)):
        if tuple(var.shape) != arr.shape:
            raise ValueError(
                f"checkpoint {what} array {i} has shape {arr.shape} but the model's variable "
                f"{getattr(var, 'path', var.name)!r} has {tuple(var.shape)}: it was written by "
                "another architecture; delete it or use resume: never"
            )
        var.assign(arr)


def resume_decision(tcfg: dict, last_path: Path, fingerprint: str) -> dict | None:
    """The checkpoint's meta when the run resumes from it (same config), else None (logged);
    ``ValueError`` when ``training.resume: require`` cannot be honoured."""
    ckpt_dir = last_path.parent
    if not last_path.exists():
        if tcfg["resume"] == "require":
            raise ValueError(f"training.resume: require, but there is no checkpoint at {last_path}")
        return None
    meta = load_checkpoint(last_path)[0]
    if tcfg["resume"] == "never":
        log.info("resume: never -> ignoring the checkpoint in %s (epoch %d)", ckpt_dir,
                 meta["epoch"])
        return None
    if meta.get("fingerprint") == fingerprint:
        return meta
    if tcfg["resume"] == "require":
        raise ValueError(
            f"training.resume: require, but the checkpoint in {ckpt_dir} was written by another "
            "config; use resume: auto/never or restore the original config"
        )
    log.warning("checkpoint in %s comes from another config: starting from scratch", ckpt_dir)
    return None


def checkpoint_digest(path: Path, resume_meta: dict | None) -> str:
    """What the workers must agree on before training: the checkpoint they resume from (its
    bytes' digest, or that there is none) and whether they resume."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
    return json.dumps([digest, resume_meta is not None])
