"""Data-parallel training over several processes: one worker per SLURM task (issue #12).

``training.devices: workers`` (or ``fit(devices="workers")``) trains one model over every task
of a SLURM job step, each task with the devices it sees (its GPUs, or one CPU device)::

    sbatch --nodes=2 --ntasks-per-node=1 --gpus-per-task=1 --wrap \\
        "srun --kill-on-bad-exit=1 python my_training_script.py"

Backend: JAX (``KERAS_BACKEND=jax``). :func:`start_workers` calls ``jax.distributed.initialize``
with the step's task count, this task's rank and a coordinator on the step's first host (a port
derived from the job and step ids, or ``DEEPSPHERE_COORDINATOR_PORT``); the devices of all tasks
then form one ``keras.distribution.DataParallel`` mesh: one program, the variables replicated,
every batch sharded along the batch axis. Every worker computes the same global batch (the
config's ``batch_size``, same seed, same order and noise) and feeds only its contiguous share
(:func:`shard_batches`, rows ``[i b / W, (i + 1) b / W)`` of a batch of ``b`` for worker ``i`` of
``W``), so the loss, the gradients and the batch-normalisation statistics are those of the
global batch: the one-process result up to float rounding. TensorFlow's
``MultiWorkerMirroredStrategy`` is not used (``ValueError`` naming the fix on that backend).

Nothing here is silent: ``workers`` in a process that is not one of several tasks of an
``srun`` step (a plain ``python``, the batch script itself, ``srun --ntasks=1``) is a
``ValueError``; so is a JAX runtime initialised before the workers could connect.

Who does what (:mod:`deepsphere.training.loop`): the chief (rank 0) holds the run folder's lock
and is the only process that writes into it (checkpoints, ``log.csv``, ``model.keras``,
``training.json``); every worker reads the chief's checkpoint to resume, and :meth:`Workers.agree`
checks collectively that they all saw the same one (the run folder must be on a file system
every task shares) and that none of them failed before training. A worker that dies during
training leaves the others waiting in a collective: launch with ``srun --kill-on-bad-exit=1``
so that SLURM ends them. JAX's preemption service is switched off
(``jax_enable_preemption_service``): nothing here uses its sync points, and it would catch
SLURM's SIGTERM ("preemption_notifier ... SIGTERM caught"), so that ``scancel`` or a preemption
would end the tasks only after ``KillWait`` (30 s by default), with SIGKILL. Without it they end
at once; a rerun resumes from the chief's last checkpoint (written atomically, once per epoch).

Cost: every worker computes the whole global batch (reads it, adds its noise) and keeps its
share, so the data work per worker is the one-process run's; only the model's work is divided.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import subprocess
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["SINGLE", "Workers", "current_workers", "shard_batches", "slurm_step", "start_workers"]

_PORT_ENV = "DEEPSPHERE_COORDINATOR_PORT"


@dataclass(frozen=True)
class Workers:
    """The processes training one model together; ``count == 1``: a single process."""

    index: int = 0
    count: int = 1
    launcher: str | None = None  # "slurm"
    job: str | None = None  # "<job id>.<step id>"
    coordinator: str | None = None

    @property
    def chief(self) -> bool:
        """Rank 0: the only worker that writes into the run folder."""
        return self.index == 0

    def record(self) -> dict:
        """What ``training.json["runtime"]`` says of the workers."""
        return {"workers": self.count, "worker": self.index, "launcher": self.launcher,
                "job": self.job}

    def barrier(self, name: str) -> None:
        """Wait until every worker got here (no-op for one process)."""
        if self.count > 1:
            from jax.experimental import multihost_utils

            multihost_utils.sync_global_devices(name)

    def agree(self, what: str, value: str = "", error: BaseException | None = None) -> None:
        """Collective check that every worker is fine and holds the same ``value``.

        Every worker must call it at the same point. ``error``: what this worker failed with
        (raised here, after the others learnt of it, so that nobody waits for it in a later
        collective). Otherwise a ``RuntimeError`` when another worker failed, or a ``ValueError``
        naming ``what`` when some worker's ``value`` differs from the chief's.
        """
        if self.count == 1:
            if error is not None:
                raise error
            return
        from jax.experimental import multihost_utils

        digest = np.frombuffer(hashlib.sha256(value.encode()).digest(), dtype=np.uint8)
        row = np.concatenate([[int(error is not None)], digest]).astype(np.int32)
        rows = np.asarray(multihost_utils.process_allgather(row))
        if error is not None:
            raise error
        failed = [i for i in range(self.count) if rows[i, 0]]
        if failed:
            raise RuntimeError(f"{what}: worker(s) {failed} failed (see their output); "
                               f"worker {self.index} stops too")
        differ = [i for i in range(self.count) if (rows[i, 1:] != rows[0, 1:]).any()]
        if differ:
            raise ValueError(
                f"{what}: worker(s) {differ} see something else than the chief (worker 0); the "
                "run folder must be on a file system that every task of the job shares"
            )


SINGLE = Workers()
_current: Workers = SINGLE


def current_workers() -> Workers:
    """The workers this process belongs to (:data:`SINGLE` until :func:`start_workers`)."""
    return _current


def slurm_step() -> dict | None:
    """This task's place in its SLURM job step (``rank``, ``tasks``, ``nodelist``, ``job``,
    ``step``), or None outside ``srun``. ``tasks`` is the step's task count
    (``SLURM_STEP_NUM_TASKS``, set by ``srun`` only: the batch script itself has
    ``SLURM_NTASKS`` but is one process)."""
    env = os.environ
    if "SLURM_STEP_NUM_TASKS" not in env or "SLURM_PROCID" not in env:
        return None
    return {"rank": int(env["SLURM_PROCID"]), "tasks": int(env["SLURM_STEP_NUM_TASKS"]),
            "nodelist": env.get("SLURM_STEP_NODELIST", env.get("SLURM_NODELIST", "")),
            "job": env.get("SLURM_JOB_ID", "0"), "step": env.get("SLURM_STEP_ID", "0")}


def _first_host(nodelist: str) -> str:
    """The first host name of a SLURM node list (``scontrol show hostnames``, else parsed:
    ``node[01-04,07],gpu2`` -> ``node01``)."""
    try:
        out = subprocess.run(["scontrol", "show", "hostnames", nodelist], capture_output=True,
                             text=True, timeout=30, check=True)
        hosts = out.stdout.split()
        if hosts:
            return hosts[0]
    except (OSError, subprocess.SubprocessError):
        pass
    head = nodelist.split(",")[0]
    if "[" in nodelist and nodelist.index("[") < (nodelist + ",").index(","):
        prefix, rest = nodelist.split("[", 1)
        head = prefix + rest.split("]")[0].split(",")[0].split("-")[0]
    return head


def _coordinator_port(job: str, step: str) -> int:
    """``DEEPSPHERE_COORDINATOR_PORT`` or a port from the job and step ids in [20000, 32000)
    (below Linux's ephemeral range), so that steps running side by side do not collide."""
    if os.environ.get(_PORT_ENV):
        return int(os.environ[_PORT_ENV])
    job_id = int(job) if job.isdigit() else 0
    step_id = int(step) if step.isdigit() else 0
    return 20000 + (job_id * 16 + step_id) % 12000


def start_workers(key: str = "training.devices") -> Workers:
    """Connect this process to the other tasks of its ``srun`` step; return the workers.

    Idempotent (a second call returns the same). Call it before anything uses JAX devices.
    ``ValueError`` naming ``key`` and the fix: not a task of a several-task step, a backend
    other than JAX, or a JAX runtime that is already initialised.
    """
    global _current
    if _current.count > 1:
        return _current
    step = slurm_step()
    if step is None or step["tasks"] < 2:
        seen = ("this process is not a task of an srun job step" if step is None else
                "this job step has a single task")
        ntasks = os.environ.get("SLURM_NTASKS")
        hint = (f" (SLURM_NTASKS={ntasks}: start the workers with srun inside the job)"
                if step is None and ntasks else "")
        raise ValueError(
            f"{key}: 'workers' trains over the tasks of a SLURM job step, but {seen}{hint}; "
            "run it as `srun --ntasks=N ...` (N >= 2, or sbatch --ntasks=N with srun in the "
            "script), or use devices: auto / 1 for one process"
        )
    import keras

    backend = keras.backend.backend()
    if backend != "jax":
        raise ValueError(
            f"{key}: 'workers' needs the JAX backend (set KERAS_BACKEND=jax for the job), "
            f"this is {backend}; on one node, several GPUs of one process (devices: auto) work "
            "on either backend"
        )
    import jax
    from jax._src import xla_bridge

    address = None
    if not jax.distributed.is_initialized():  # else the caller connected the processes
        if xla_bridge.backends_are_initialized():
            raise ValueError(
                f"{key}: JAX was initialised before the workers could connect; call "
                "deepsphere.training.workers.start_workers() (or fit) before any JAX "
                "computation or jax.devices() in the worker process"
            )
        address = f"{_first_host(step['nodelist'])}:{_coordinator_port(step['job'], step['step'])}"
        log.info("worker %d of %d: connecting to the coordinator at %s (set %s to change its "
                 "port)", step["rank"], step["tasks"], address, _PORT_ENV)
        jax.config.update("jax_enable_preemption_service", False)  # SIGTERM ends the task
        jax.distributed.initialize(coordinator_address=address, num_processes=step["tasks"],
                                   process_id=step["rank"], cluster_detection_method="deactivate")
    if jax.process_count() != step["tasks"] or jax.process_index() != step["rank"]:
        raise RuntimeError(f"JAX sees process {jax.process_index()} of {jax.process_count()}, "
                           f"SLURM says task {step['rank']} of {step['tasks']}")
    _current = Workers(index=step["rank"], count=step["tasks"], launcher="slurm",
                       job=f"{step['job']}.{step['step']}", coordinator=address)
    log.info("worker %d of %d ready: %d local and %d global devices", _current.index,
             _current.count, jax.local_device_count(), jax.device_count())
    return _current


def _take(batch, index: int, count: int):
    """Worker ``index``'s contiguous share of every array of a batch (tuples, lists, dicts)."""
    if batch is None:
        return None
    if isinstance(batch, tuple | list):
        return type(batch)(_take(part, index, count) for part in batch)
    if isinstance(batch, dict):
        return {k: _take(v, index, count) for k, v in batch.items()}
    size = len(batch)
    if size % count:
        raise ValueError(
            f"training.devices: workers: a batch of {size} samples does not split evenly across "
            f"{count} workers; make every batch a multiple of {count} (training.batch_size, the "
            "number of samples)"
        )
    share = size // count
    return batch[index * share:(index + 1) * share]


def shard_batches(data, workers: Workers):
    """``data`` (a ``keras.utils.PyDataset``, a generator function ``epoch -> batches`` or
    None) as this worker sees it: each global batch cut to the worker's share. Unchanged for
    one worker."""
    if data is None or workers.count == 1:
        return data
    import keras

    if isinstance(data, keras.utils.PyDataset):
        return _share_class()(data, workers)
    if callable(data):
        def epoch_batches(epoch):
            for batch in data(epoch):
                yield _take(batch, workers.index, workers.count)
        return epoch_batches
    raise ValueError(f"training.devices: workers: cannot share out {type(data).__name__}")


@functools.cache
def _share_class():
    """The dataset wrapper, defined on first use (Keras is imported lazily here)."""
    import keras

    class WorkerShare(keras.utils.PyDataset):
        """A dataset's batches cut to one worker's share; forwards ``set_epoch``."""

        def __init__(self, data, workers: Workers):
            super().__init__()  # (PyDataset's own ``workers`` is its loader threads)
            self.data, self.index, self.count = data, workers.index, workers.count

        def set_epoch(self, epoch: int) -> None:
            if hasattr(self.data, "set_epoch"):
                self.data.set_epoch(epoch)

        def __len__(self) -> int:
            return len(self.data)

        def __getitem__(self, i):
            return _take(self.data[i], self.index, self.count)

    return WorkerShare

