"""Data-parallel training over the tasks of a SLURM job (issue #12, several nodes), on the real
single-node test cluster (tests/cluster/slurm_cluster.sh).

``training.devices: workers`` (deepsphere.training.workers): every task of an ``srun`` step is a
JAX process; they connect (``jax.distributed``), form one data-parallel mesh, each feeds its
share of every global batch, and only the chief (rank 0) writes into the run folder. The jobs
run tests/cluster/multiworker_job.py (the tiny DeepSphere FCN of
tests/training/test_distribution.py: ChebConv, batch normalisation, pooling, noise, class
weights, a decaying learning rate; 3 epochs of 3 steps of a global batch of 8), submitted
side by side with ``sbatch``:

- ``one``: 1 task, ``devices: 1`` (the reference);
- ``two``: ``sbatch --ntasks=2`` + ``srun``: the same config and global batch on 2 workers;
- ``killed``: the same 2-task job, held at the start of epoch 2 (the chief has checkpointed
  epoch 1) and cancelled there (``scancel``); ``resumed``: the same job again, which resumes
  from the chief's checkpoint;
- ``single_task`` (``srun --ntasks=1``) and ``no_srun`` (``python`` in a 2-task batch script,
  without ``srun``) with ``devices: workers``: both must refuse, naming the fix;
- ``locked``: a 2-task job on a run folder this test holds the lock of: the chief is refused,
  and the other worker must learn it and stop too (not wait for the chief in a collective).

Checked: sacct says the 2-worker steps had 2 tasks; both workers record 2 workers and 2
replicas and their model's variables span 2 devices (so they did not train independently);
the two workers end with identical weights; they equal the 1-worker run's weights, per-epoch
losses, metrics and learning rates; only the chief wrote into the run folder (a Python audit
hook in every worker lists what it opened for writing, renamed, created or removed there), and
the folder holds one checkpoints directory; ``scancel`` ends the held job within seconds (SIGTERM
reaches the workers); the resumed run starts at epoch 1 and ends with the uninterrupted 2-worker
weights; the locked job fails on both workers without hanging.

Tolerance: the workers' partial sums (loss, gradients, batch statistics) are added in another
order than one process adds them: observed max abs difference ~1e-7, max relative ~2e-6
(JAX 0.10.2, Keras 3.15.1, 2 CPU cores); checked with ``rtol=1e-4, atol=1e-6`` as
tests/training/test_distribution.py. A resumed run repeats the uninterrupted run's programs on
the same data: checked bit for bit.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import deepsphere
from deepsphere.training.lock import run_lock

pytestmark = pytest.mark.slow

JOB = Path(__file__).resolve().with_name("multiworker_job.py")
RTOL, ATOL = 1e-4, 1e-6
WAIT_S = 400


def _env() -> dict:
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    env.pop("XLA_FLAGS", None)  # one CPU device per worker, whatever the caller forces
    src = str(Path(deepsphere.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return env


class Jobs:
    """Submits the worker script with sbatch into ``root`` and waits for the jobs."""

    def __init__(self, root: Path):
        self.root = root
        self.ids: dict[str, str] = {}

    def run_dir(self, name: str) -> Path:
        return self.root / "runs" / name

    def report_dir(self, name: str) -> Path:
        return self.root / "reports" / name

    def submit(self, name: str, *, tasks: int, run: str | None = None, devices="workers",
               srun: bool = True, kill_on_bad_exit: bool = True, early_start: bool = True,
               hold_at_epoch: int | None = None) -> str:
        command = [sys.executable, str(JOB), str(self.run_dir(run or name)),
                   str(self.report_dir(name)), "--devices", str(devices)]
        if not early_start:
            command.append("--no-early-start")
        if hold_at_epoch is not None:
            command += ["--hold-at-epoch", str(hold_at_epoch)]
        if srun:
            command = ["srun", "--label", f"--kill-on-bad-exit={int(kill_on_bad_exit)}",
                       *command]
        out = subprocess.run(
            ["sbatch", "--parsable", f"--job-name=dsmw-{name}", f"--ntasks={tasks}",
             "--cpus-per-task=1", "--mem-per-cpu=1G", "--time=10",
             f"--output={self.root}/{name}-%j.out", "--wrap", " ".join(command)],
            capture_output=True, text=True, env=_env(), check=True, timeout=60)
        self.ids[name] = out.stdout.strip().split(";")[0]
        return self.ids[name]

    def log(self, name: str) -> str:
        path = self.root / f"{name}-{self.ids[name]}.out"
        return path.read_text(errors="replace")[-4000:] if path.exists() else "(no log)"

    def running(self, names) -> list[str]:
        ids = ",".join(self.ids[n] for n in names)
        out = subprocess.run(["squeue", "-h", "-j", ids, "-o", "%i"], capture_output=True,
                             text=True, timeout=60)
        live = set(out.stdout.split())
        return [n for n in names if self.ids[n] in live]

    def wait(self, names, until=None, timeout: float = WAIT_S) -> None:
        """Until the jobs ``names`` have left the queue (or ``until()`` is true)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if until is not None and until():
                return
            if until is None and not self.running(names):
                return
            time.sleep(1)
        logs = "\n".join(f"--- {n}\n{self.log(n)}" for n in names)
        pytest.fail(f"jobs {names} did not get there in {timeout} s:\n{logs}")

    def steps(self, name: str) -> dict[str, tuple[str, str]]:
        """``{job or step id: (state, task count)}`` from the accounting database."""
        for _ in range(30):  # the record of a job that just ended may lag a moment
            out = subprocess.run(["sacct", "-n", "-P", "-j", self.ids[name], "-o",
                                  "JobID,State,NTasks"], capture_output=True, text=True,
                                 check=True, timeout=60)
            rows = [line.split("|") for line in out.stdout.splitlines() if line.strip()]
            found = {row[0]: (row[1].split()[0], row[2]) for row in rows}
            if self.ids[name] in found and found[self.ids[name]][0] not in ("PENDING",
                                                                            "RUNNING"):
                return found
            time.sleep(1)
        return found

    def reports(self, name: str) -> dict[int, tuple[dict, dict]]:
        """``{rank: (report, weights)}`` the workers of job ``name`` wrote."""
        found = {}
        for path in sorted(self.report_dir(name).glob("worker-*.json")):
            rank = int(path.stem.split("-")[1])
            with np.load(path.with_suffix(".npz")) as data:
                weights = {k: data[k] for k in data.files}
            found[rank] = (json.loads(path.read_text()), weights)
        return found


def _checkpoint_epoch(path: Path) -> int | None:
    try:
        with np.load(path) as data:
            return int(json.loads(str(data["meta"]))["epoch"])
    except (OSError, KeyError, ValueError):
        return None


@pytest.fixture(scope="module")
def jobs(slurm_cluster, tmp_path_factory):
    """Every job of this module, run side by side (the killed run then resumed)."""
    jobs = Jobs(tmp_path_factory.mktemp("multiworker"))
    try:
        _run_jobs(jobs)
        yield jobs
    finally:  # a failed wait leaves jobs behind (the held one sleeps for 10 min): cancel ours
        if jobs.ids:
            subprocess.run(["scancel", *jobs.ids.values()], capture_output=True, timeout=60)


def _run_jobs(jobs: Jobs) -> None:
    started = time.monotonic()
    jobs.submit("killed", tasks=2, hold_at_epoch=1)
    jobs.submit("two", tasks=2)
    jobs.submit("one", tasks=1, devices=1)
    jobs.submit("single_task", tasks=1, early_start=False)  # fit itself refuses
    jobs.submit("no_srun", tasks=2, srun=False)
    with contextlib.ExitStack() as held_lock:
        held_lock.enter_context(run_lock(jobs.run_dir("locked")))  # another run holds it
        jobs.submit("locked", tasks=2, kill_on_bad_exit=False)  # the workers stop by themselves

        held = jobs.report_dir("killed") / "held-0"  # the chief waits at the start of epoch 2
        jobs.wait(["killed"], until=held.exists)
        jobs.killed_at_epoch = _checkpoint_epoch(jobs.run_dir("killed") / "checkpoints/last.npz")
        # ends at once: the workers leave SIGTERM to its default (JAX's preemption service off)
        cancelled = time.monotonic()
        subprocess.run(["scancel", jobs.ids["killed"]], check=True, timeout=60)
        jobs.wait(["killed"])
        jobs.cancel_seconds = time.monotonic() - cancelled
        jobs.submit("resumed", tasks=2, run="killed")
        jobs.wait(["locked"])
    jobs.wait(["two", "one", "single_task", "no_srun", "resumed"])
    jobs.seconds = time.monotonic() - started
    print(f"multi-worker jobs: {jobs.seconds:.0f} s")


def _assert_completed_with(jobs: Jobs, name: str, tasks: int) -> None:
    steps = jobs.steps(name)
    job_id = jobs.ids[name]
    assert steps.get(job_id, ("?",))[0] == "COMPLETED", (steps, jobs.log(name))
    assert steps.get(f"{job_id}.0") == ("COMPLETED", str(tasks)), (steps, jobs.log(name))


def _assert_two_workers_together(reports: dict) -> None:
    """Both workers report the same 2-worker run over 2 replicas spanning the 2 processes."""
    assert sorted(reports) == [0, 1], reports.keys()
    for rank, (report, _) in reports.items():
        runtime = report["runtime"]
        assert runtime["backend"] == "jax"
        assert (runtime["workers"], runtime["worker"], runtime["replicas"]) == (2, rank, 2)
        assert runtime["launcher"] == "slurm"
        assert report["process_count"] == 2 and report["variable_devices"] == 2
    (chief, chief_weights), (other, other_weights) = reports[0], reports[1]
    assert chief["history"] == other["history"]
    for key, value in chief_weights.items():  # one model, not two
        np.testing.assert_array_equal(other_weights[key], value, err_msg=key)


def _differences(a: dict, b: dict) -> tuple[float, float]:
    worst_abs = worst_rel = 0.0
    for key in a:
        diff = np.abs(a[key] - b[key])
        worst_abs = max(worst_abs, float(diff.max(initial=0.0)))
        worst_rel = max(worst_rel, float((diff / np.maximum(np.abs(a[key]), 1e-3)).max(initial=0)))
    return worst_abs, worst_rel


def test_two_workers_give_the_one_worker_result(jobs):
    _assert_completed_with(jobs, "one", 1)
    _assert_completed_with(jobs, "two", 2)  # sacct: the training step had 2 tasks
    one, two = jobs.reports("one"), jobs.reports("two")
    _assert_two_workers_together(two)
    reference, reference_weights = one[0]
    assert (reference["runtime"]["workers"], reference["runtime"]["replicas"]) == (1, 1)
    report, weights = two[0]
    assert weights.keys() == reference_weights.keys()
    for key, value in reference_weights.items():
        np.testing.assert_allclose(weights[key], value, rtol=RTOL, atol=ATOL, err_msg=key)
    worst = _differences(reference_weights, weights)
    print(f"2 workers vs 1: max abs {worst[0]:.2g}, max rel {worst[1]:.2g}")
    assert len(report["history"]) == len(reference["history"]) == 3
    for row_one, row_two in zip(reference["history"], report["history"], strict=True):
        assert row_two.keys() == row_one.keys()
        for key, value in row_one.items():  # loss, accuracy, val_*, learning rate (step count)
            assert row_two[key] == pytest.approx(value, rel=RTOL, abs=ATOL), key
    recorded = json.loads((jobs.run_dir("two") / "training.json").read_text())
    assert recorded["runtime"]["workers"] == 2 and recorded["runtime"]["replicas"] == 2


def test_only_the_chief_writes_into_the_run_folder(jobs):
    reports = jobs.reports("two")
    chief_writes = {path for _, path in reports[0][0]["writes"]}
    assert reports[1][0]["writes"] == []  # the other worker wrote nothing there
    run = jobs.run_dir("two")
    for name in ("checkpoints/last.npz", "model.keras", "training.json", "log.csv"):
        assert str(run / name) in chief_writes, name
    entries = sorted(p.relative_to(run).as_posix() for p in run.rglob("*"))
    assert entries == ["checkpoints", "checkpoints/best.npz", "checkpoints/last.npz", "log.csv",
                       "model.keras", "training.json"]
    assert not list(jobs.report_dir("two").glob("*checkpoint*"))


def test_a_killed_two_worker_run_resumes_from_the_chiefs_checkpoint(jobs):
    assert jobs.killed_at_epoch == 1
    killed = jobs.steps("killed")
    assert killed[jobs.ids["killed"]][0] == "CANCELLED", (killed, jobs.log("killed"))
    assert jobs.cancel_seconds < 20  # SIGTERM ended the workers (not SIGKILL after KillWait)
    assert not list(jobs.report_dir("killed").glob("worker-*"))  # it never finished
    _assert_completed_with(jobs, "resumed", 2)
    resumed, two = jobs.reports("resumed"), jobs.reports("two")
    _assert_two_workers_together(resumed)
    for rank in (0, 1):
        assert resumed[rank][0]["resumed_from_epoch"] == 1  # every worker resumed
    recorded = json.loads((jobs.run_dir("killed") / "training.json").read_text())
    assert recorded["resumed_from_epoch"] == 1 and recorded["runtime"]["workers"] == 2
    assert resumed[1][0]["writes"] == []
    report, weights = resumed[0]
    assert [row["epoch"] for row in report["history"]] == [1, 2, 3]
    assert report["history"] == two[0][0]["history"]
    for key, value in two[0][1].items():  # the uninterrupted run's weights, bit for bit
        np.testing.assert_array_equal(weights[key], value, err_msg=key)


@pytest.mark.parametrize("name, says", [
    ("single_task", "this job step has a single task"),
    ("no_srun", "not a task of an srun job step (SLURM_NTASKS=2: start the workers with srun"),
])
def test_workers_outside_a_several_task_step_is_an_error(jobs, name, says):
    log = jobs.log(name)
    assert jobs.steps(name)[jobs.ids[name]][0] == "FAILED", log
    assert "training.devices: 'workers' trains over the tasks of a SLURM job step" in log, log
    assert says in log, log
    assert "run it as `srun --ntasks=N ...`" in log
    assert not jobs.run_dir(name).exists()  # refused before anything was written


def test_a_worker_that_fails_before_training_stops_the_others(jobs):
    log = jobs.log("locked")
    assert jobs.steps("locked")[jobs.ids["locked"]][0] == "FAILED", log
    assert "0: deepsphere.training.lock.RunDirectoryLocked" in log, log  # the chief, refused
    assert "1: RuntimeError: the run folder's lock: worker(s) [0] failed" in log, log
    assert sorted(p.name for p in jobs.run_dir("locked").iterdir()) == []  # lock released
