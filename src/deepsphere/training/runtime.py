"""Runtime set-up for training: seeds, determinism, threads, GPUs, distribution, provenance.

- :func:`seed_everything`: ``keras.utils.set_random_seed`` (Python, NumPy, backend and Keras
  seed generators) and, on TensorFlow, ``tf.config.experimental.enable_op_determinism`` (the
  originals set no TF seed at all, tf1-spec §4.2 item 11).
- :func:`configure_runtime`: thread pools from the caller (Snakemake's ``threads``): TF intra-op =
  threads, inter-op = max(1, threads // 4) (snakemake-anchors §4.4); GPU memory growth on.
  Both must happen before TensorFlow initialises its runtime; afterwards TF refuses and we log a
  warning instead of failing. JAX: XLA fixes its CPU threads and GPU preallocation at import,
  so only the environment variables set before the first ``import jax`` count (we log this).
- :func:`distribution_scope`: several visible GPUs -> ``tf.distribute.MirroredStrategy`` on TF;
  on JAX ``keras.distribution.DataParallel`` over the GPUs (data parallel, weights replicated);
  one device or none -> a no-op context.
- :func:`provenance`: package versions, backend, and the git commit of the source tree
  (``git rev-parse HEAD``; ``"unknown"`` outside a repository). Light: versions come from
  ``importlib.metadata`` and Keras is not imported for it (a feature + SVM job that never uses
  Keras records no backend instead of paying for a TensorFlow import).

Keras itself is imported lazily, by the functions that need it.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import platform
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = [
    "configure_runtime",
    "distribution_scope",
    "git_commit",
    "package_versions",
    "provenance",
    "seed_everything",
]


def seed_everything(seed: int, *, deterministic: bool = True) -> None:
    """Seed every RNG Keras uses; on TensorFlow, optionally force deterministic kernels.

    Note: deterministic TF kernels raise at run time for ops without a deterministic
    implementation on the device (some GPU sparse ops); pass ``deterministic=False`` there.
    """
    import keras

    keras.utils.set_random_seed(int(seed))
    if deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def configure_runtime(threads: int | None = None, *, gpu_memory_growth: bool = True) -> dict:
    """Set thread pools and GPU memory growth; return what is in effect as a dict.

    ``threads``: the cores this job may use (Snakemake's ``threads``); None leaves the defaults.
    """
    import keras

    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(
            f"threads must be a positive integer (Snakemake's threads), got {threads!r}"
        )
    backend = keras.backend.backend()
    info = {"backend": backend, "threads": threads}
    if backend == "tensorflow":
        import tensorflow as tf

        if threads is not None:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(max(1, threads // 4))
            except RuntimeError as err:  # the runtime is already initialised
                log.warning("could not set TF thread pools (%s); keeping the current ones", err)
            info["intra_op"] = tf.config.threading.get_intra_op_parallelism_threads()
            info["inter_op"] = tf.config.threading.get_inter_op_parallelism_threads()
        gpus = tf.config.list_physical_devices("GPU")
        if gpu_memory_growth:
            for gpu in gpus:
                try:
                    tf.config.experimental.set_memory_growth(gpu, True)
                except RuntimeError as err:
                    log.warning("could not enable memory growth on %s (%s)", gpu.name, err)
        info["gpus"] = len(gpus)
    elif backend == "jax":
        import jax

        if threads is not None:
            log.info(
                "JAX: CPU threads are fixed when XLA starts; set XLA_FLAGS before importing jax "
                "to limit them (requested %d)",
                threads,
            )
        if gpu_memory_growth and "XLA_PYTHON_CLIENT_PREALLOCATE" not in os.environ:
            log.info("JAX: set XLA_PYTHON_CLIENT_PREALLOCATE=false before import for memory growth")
        info["gpus"] = len([d for d in jax.devices() if d.platform == "gpu"])
    return info


def distribution_scope():
    """Context to build and compile a model in: replicas over all GPUs when there are several.

    TF: ``MirroredStrategy().scope()``. JAX: sets ``keras.distribution.DataParallel`` over the
    GPUs for the process (Keras 3 has no scoped strategy on JAX; the batch is split across
    devices and must be divisible by their number). Otherwise a no-op.
    """
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if len(tf.config.list_logical_devices("GPU")) > 1:
            strategy = tf.distribute.MirroredStrategy()
            log.info("training on %d GPUs with MirroredStrategy", strategy.num_replicas_in_sync)
            return strategy.scope()
    elif backend == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        if len(gpus) > 1:
            keras.distribution.set_distribution(keras.distribution.DataParallel(devices=gpus))
            log.info("training on %d GPUs with keras.distribution.DataParallel", len(gpus))
    return contextlib.nullcontext()


def git_commit(path: str | os.PathLike | None = None) -> str:
    """``git rev-parse HEAD`` of the repository holding ``path`` (default: this package), or
    ``"unknown"`` outside a repository or without git; ``+dirty`` if tracked files changed."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "") if commit else "unknown"


def package_versions() -> dict:
    """Versions of the packages that determine the numbers (None when not installed)."""
    names = [
        "deepsphere",
        "keras",
        "tensorflow",
        "jax",
        "jaxlib",
        "numpy",
        "scipy",
        "scikit-learn",
        "healpy",
        "pygsp",
    ]
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _keras_backend() -> str | None:
    """The Keras backend if this process imported Keras, else None (Keras took no part)."""
    keras = sys.modules.get("keras")
    return keras.backend.backend() if keras is not None else None


def provenance() -> dict:
    """JSON-able record of what produced a result: versions, backend, git commit, host.

    ``keras_backend`` is None when the process never imported Keras (e.g. an SVM baseline).
    """
    return {
        "versions": package_versions(),
        "keras_backend": _keras_backend(),
        "git_commit": git_commit(),
        "platform": platform.platform(),
    }
