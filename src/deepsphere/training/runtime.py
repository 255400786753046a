"""Runtime set-up for training: seeds, determinism, threads, GPUs, distribution, provenance.

- :func:`seed_everything`: ``keras.utils.set_random_seed`` (Python, NumPy, backend and Keras
  seed generators) and, on TensorFlow, ``tf.config.experimental.enable_op_determinism`` (the
  originals set no TF seed at all, tf1-spec §4.2 item 11).
- :func:`configure_runtime`: thread pools from the caller (Snakemake's ``threads``): TF intra-op =
  threads, inter-op = max(1, threads // 4) (snakemake-anchors §4.4); GPU memory growth on.
  Both must happen before TensorFlow initialises its runtime; afterwards TF refuses and we log a
  warning instead of failing. JAX: XLA fixes its CPU threads and GPU preallocation at import,
  so only the environment variables set before the first ``import jax`` count (we log this).
- :func:`select_devices` / :func:`distribution_scope`: the devices a training job replicates
  over (data parallel: weights replicated, every batch split evenly across the replicas, the
  loss the mean over the whole batch, so the result is the one-device run's up to float
  rounding). Asked for by ``training.devices`` or ``fit(devices=...)`` (:func:`parse_devices`):

  - ``"auto"`` (default): every visible GPU when there are two or more, else one device (no
    replication). Which GPUs are visible is the job's business (``CUDA_VISIBLE_DEVICES``,
    the scheduler's GPU request).
  - ``N`` (a positive integer): the first ``N`` visible GPUs, an error when fewer are visible;
    ``1`` is one device (no replication) even when several GPUs are visible.
  - ``"cpu:N"``: ``N`` logical CPU devices, for testing the multi-device path without GPUs
    (they share the CPU cores, nothing is faster). TF: configured here when TF has not
    initialised yet (else they must have been configured before, with
    ``tf.config.set_logical_device_configuration``). JAX: they exist only when
    ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` was set before ``import jax``.
  - ``"workers"``: every task of the SLURM job step this process is one task of (several
    processes, possibly on several nodes; JAX only), each with the devices it sees:
    :mod:`deepsphere.training.workers`. A ``ValueError`` outside a several-task ``srun`` step.

  Several devices: ``tf.distribute.MirroredStrategy(devices)`` on TF (``model.fit`` splits
  each global batch; Keras scales the per-replica mean loss by 1/replicas and the gradients are
  summed across replicas; the training loop synchronises BatchNormalization's batch statistics
  across the replicas); ``keras.distribution.DataParallel(devices)`` on JAX (one program over
  sharded batches: the batch statistics and the loss are over the global batch as they are).
- :func:`provenance`: package versions, backend, hardware and the git commit of the source
  tree (:mod:`deepsphere.runtime.provenance`; ``"unknown"`` outside a repository). Light: versions come from
  ``importlib.metadata`` and Keras is not imported for it (a feature + SVM job that never uses
  Keras records no backend instead of paying for a TensorFlow import).

Keras itself is imported lazily, by the functions that need it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import sys

from deepsphere.runtime.hardware import hardware_label
from deepsphere.runtime.provenance import git_commit, package_versions

log = logging.getLogger(__name__)

__all__ = [
    "configure_runtime",
    "distribution_scope",
    "git_commit",
    "package_versions",
    "parse_devices",
    "provenance",
    "seed_everything",
    "seed_epoch",
    "select_devices",
]

_DEVICES_FIX = (
    "give 'auto' (every visible GPU when there are several), a positive integer (that many "
    "GPUs; 1 = no replication), 'cpu:N' (N logical CPU devices, for tests) or 'workers' (every "
    "task of a SLURM job step, JAX backend)"
)


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


def seed_epoch(seed: int) -> None:
    """Re-seed, at the start of an epoch, what a resumed run must see as the uninterrupted one
    did: Python's and NumPy's global generators and Keras's global ``SeedGenerator`` (its seed
    and its state), but not TensorFlow's global seed.

    ``tf.random.set_seed`` clears TensorFlow's eager kernel and function caches, so every epoch
    would re-instantiate the training and evaluation functions (timed once by hand on 2 cores:
    about 1 s per epoch; a 4-step epoch of a small U-Net, 1.5 s against 0.15 s). Nothing inside
    a Keras 3 training step draws from TF's global seed: Keras's random ops are stateless, with
    their state in ``SeedGenerator`` variables that the checkpoint holds.
    """
    import random

    import numpy as np
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils import rng_utils

    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    # what keras.utils.set_random_seed does, without its tf.random.set_seed
    global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the legacy global generator a user's code may draw from)


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


def parse_devices(spec, key: str = "training.devices") -> tuple[str, int | None]:
    """``spec`` as ``("auto", None)``, ``("workers", None)``, ``("gpu", N)`` or ``("cpu", N)``;
    ``ValueError`` (naming ``key`` and the accepted forms) for anything else. See the module
    docstring."""
    if spec in ("auto", "workers"):
        return spec, None
    if isinstance(spec, int) and not isinstance(spec, bool) and spec >= 1:
        return "gpu", int(spec)
    if isinstance(spec, str) and spec.startswith("cpu:"):
        count = spec[4:]
        if count.isdigit() and int(count) >= 1:
            return "cpu", int(count)
    raise ValueError(f"{key}: got {spec!r}; {_DEVICES_FIX}")


def select_devices(devices="auto", key: str = "training.devices") -> list[str]:
    """The names of the devices to replicate training over, as the backend spells them (TF:
    ``/device:GPU:0``; JAX: ``gpu:0``/``cpu:0``); an empty list means one device, the backend's
    default (no replication). ``ValueError`` naming ``key`` when the devices asked for are not
    there."""
    import keras

    kind, count = parse_devices(devices, key)
    if count == 1:
        return []
    if kind == "workers":  # connects the tasks first: jax.devices() is then every task's
        from deepsphere.training.workers import start_workers

        start_workers(key)
        import jax

        return [str(d) for d in jax.devices()]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if kind == "cpu":
            _tf_logical_cpus(count)
        found = [d.name for d in tf.config.list_logical_devices("CPU" if kind == "cpu" else "GPU")]
    elif backend == "jax":
        import jax

        if kind == "cpu":
            found = [str(d) for d in jax.devices("cpu")]
        else:
            found = [str(d) for d in jax.devices() if d.platform == "gpu"]
    else:
        if kind == "auto":
            return []
        raise ValueError(f"{key}: {devices!r} needs the TensorFlow or JAX backend, this is "
                         f"{backend}; use devices: auto (one device)")
    if kind == "auto":
        return found if len(found) > 1 else []
    if len(found) < count:
        if kind == "cpu":
            how = ("set XLA_FLAGS=--xla_force_host_platform_device_count=N before importing jax"
                   if backend == "jax" else
                   "configure them with tf.config.set_logical_device_configuration before "
                   "TensorFlow initialises")
            fix = f"{how}, or ask for fewer"
        else:
            fix = ("run the job with that many GPUs visible (CUDA_VISIBLE_DEVICES, the "
                   "scheduler's GPU request) or ask for fewer (devices: auto uses those there are)")
        raise ValueError(f"{key}: asked for {count} {kind.upper()} devices but {len(found)} "
                         f"{'is' if len(found) == 1 else 'are'} available to {backend}; {fix}")
    return found[:count]


def _tf_logical_cpus(count: int) -> None:
    """Split the CPU into ``count`` logical devices unless TF has them or has initialised."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu) or []
    if len(current) >= count:
        return
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )
    except RuntimeError as err:  # the runtime is initialised: select_devices names the fix
        log.warning("could not create %d logical CPU devices (%s)", count, err)


@contextlib.contextmanager
def distribution_scope(devices="auto", key: str = "training.devices"):
    """Context to build, compile and train a model in; yields the number of replicas.

    ``devices``: a spec (see :func:`parse_devices`) or the list :func:`select_devices`
    returned. Two or more devices: TF enters ``MirroredStrategy(devices).scope()`` (models
    built inside are replicated; ``model.fit`` distributes each batch); JAX makes
    ``keras.distribution.DataParallel(devices)`` the current distribution for the block (the
    batch is split across devices and must be divisible by their number). Otherwise a no-op
    (1 replica). The previous distribution is restored on exit.
    """
    import keras

    names = devices if isinstance(devices, list) else select_devices(devices, key)
    if len(names) < 2:
        yield 1
        return
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy(devices=names)
        log.info("training on %d replicas with MirroredStrategy: %s",
                 strategy.num_replicas_in_sync, ", ".join(names))
        with strategy.scope():
            yield strategy.num_replicas_in_sync
    elif backend == "jax":
        import jax

        pool = {str(d): d for d in [*jax.devices(), *jax.devices("cpu")]}
        chosen = [pool[name] for name in names]
        # several processes (workers): each feeds its own share of every batch
        # (deepsphere.training.workers.shard_batches), nothing is sharded for it
        distribution = keras.distribution.DataParallel(devices=chosen, auto_shard_dataset=False)
        log.info("training on %d replicas with keras.distribution.DataParallel: %s",
                 len(chosen), ", ".join(names))
        with distribution.scope():
            yield len(chosen)
    else:  # select_devices refuses several devices on other backends
        yield 1


def _keras_backend() -> str | None:
    """The Keras backend if this process imported Keras, else None (Keras took no part)."""
    keras = sys.modules.get("keras")
    return keras.backend.backend() if keras is not None else None


def provenance() -> dict:
    """JSON-able record of what produced a result: versions, backend, git commit (``+dirty``
    when the code differs from it, :mod:`deepsphere.runtime.provenance`), host, hardware.

    ``keras_backend`` is None when the process never imported Keras (e.g. an SVM baseline).
    """
    return {
        "versions": package_versions(),
        "keras_backend": _keras_backend(),
        "git_commit": git_commit(),
        "platform": platform.platform(),
        "hardware": hardware_label(),
    }
