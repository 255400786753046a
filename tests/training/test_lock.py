"""deepsphere.training.lock: one process per run directory, against real second processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deepsphere
from deepsphere.training.lock import LOCK_NAME, RunDirectoryLocked, read_lock, run_lock

HOLD = (
    "import sys, time\n"
    "from deepsphere.training.lock import run_lock\n"
    "with run_lock(sys.argv[1]):\n"
    "    print('locked', flush=True)\n"
    "    sys.stdin.read()  # hold until the parent closes stdin\n"
)
DIE_HOLDING = (  # a kill -9 inside the with block: the lock file stays behind
    "import os, sys\n"
    "from deepsphere.training.lock import run_lock\n"
    "with run_lock(sys.argv[1]):\n"
    "    print(os.getpid(), flush=True)\n"
    "    os._exit(0)\n"
)


def _env():
    src = str(Path(deepsphere.__file__).resolve().parents[1])
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (src, os.environ.get("PYTHONPATH")) if p))


@pytest.fixture
def holder(tmp_path):
    """A second process that holds the lock of ``tmp_path / 'run'``."""
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert proc.stdout.readline().strip() == "locked"
        yield run_dir, proc
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)


def test_lock_file_records_the_holder_and_is_removed_on_exit(tmp_path):
    run_dir = tmp_path / "new" / "run"  # created
    with run_lock(run_dir) as path:
        assert path == run_dir / LOCK_NAME
        record = json.loads(path.read_text())
        assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
        assert record["started"].endswith("+00:00")
    assert not path.exists()
    with pytest.raises(KeyError), run_lock(run_dir):
        raise KeyError("the body fails")
    assert not path.exists()  # released however the block ends


def test_a_second_process_holding_the_lock_is_refused_by_name(holder):
    run_dir, proc = holder
    with pytest.raises(RunDirectoryLocked, match=rf"in use by process {proc.pid} on host "
                                                 rf"'{socket.gethostname()}' since \d{{4}}-.*"
                                                 rf"kill {proc.pid}.*another out_dir"):
        with run_lock(run_dir):
            pass
    assert read_lock(run_dir / LOCK_NAME)["pid"] == proc.pid  # the holder's lock is untouched


def test_fit_refuses_a_run_directory_in_use_and_writes_nothing(holder):
    from deepsphere.training.loop import fit

    run_dir, proc = holder
    x = np.zeros((4, 3, 1), "float32")
    y = np.zeros(4, "int64")
    with pytest.raises(RunDirectoryLocked, match=rf"process {proc.pid} "):
        fit({"seed": 1, "training": {"epochs": 1}}, (x, y), out_dir=run_dir,
            model=lambda: None, verbose=0)
    assert sorted(p.name for p in run_dir.iterdir()) == [LOCK_NAME]


def test_a_lock_left_by_a_dead_process_is_taken_over_with_a_warning(tmp_path, caplog):
    run_dir = tmp_path / "run"
    out = subprocess.run([sys.executable, "-c", DIE_HOLDING, str(run_dir)], capture_output=True,
                         text=True, env=_env(), timeout=60)
    dead = int(out.stdout.split()[0])
    assert read_lock(run_dir / LOCK_NAME)["pid"] == dead  # left behind
    with caplog.at_level("WARNING", logger="deepsphere.training.lock"):
        with run_lock(run_dir) as path:
            assert read_lock(path)["pid"] == os.getpid()
    assert "stale lock" in caplog.text and str(dead) in caplog.text
    assert not path.exists()


def test_a_reused_pid_is_recognised_as_stale(tmp_path):
    """The recorded pid runs again, but it is a later process (another start time)."""
    if not Path(f"/proc/{os.getppid()}/stat").exists():
        pytest.skip("process start times need Linux /proc")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    record = {"pid": os.getppid(), "host": socket.gethostname(), "started": "2001-01-01",
              "pid_start": "1", "argv": [], "token": "x"}  # the parent, "started" at tick 1
    (run_dir / LOCK_NAME).write_text(json.dumps(record))
    with run_lock(run_dir):
        assert read_lock(run_dir / LOCK_NAME)["pid"] == os.getpid()


def test_a_lock_of_another_host_is_never_taken_over(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    record = {"pid": 999999, "host": "gpu-node-7", "started": "2024-05-01T10:00:00+00:00",
              "argv": ["snakemake"], "token": "x"}
    (run_dir / LOCK_NAME).write_text(json.dumps(record))
    with pytest.raises(RunDirectoryLocked, match=r"process 999999 on host 'gpu-node-7' since "
                                                 r"2024-05-01T10:00:00\+00:00.*another host.*if "
                                                 r"it is dead, delete .*\.lock"):
        with run_lock(run_dir):
            pass
    assert read_lock(run_dir / LOCK_NAME) == record


@pytest.mark.parametrize(("held_by", "now", "taken_over"), [
    (("4711", 0), ("4711", 1), True),  # this job before SLURM requeued it (another node)
    (("4711", 1), ("4711", 1), False),  # the same incarnation: a live run elsewhere
    (("4711", 0), ("4712", 1), False),  # another job
    (("4711", 0), (None, 0), False),  # not under SLURM
])
def test_a_requeued_slurm_job_takes_over_its_earlier_incarnations_lock(
        tmp_path, monkeypatch, held_by, now, taken_over):
    """A preempted job restarts with its job id and SLURM_RESTART_COUNT + 1, maybe on another
    node, where the lock of its dead first run would otherwise block the resume forever."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    record = {"pid": 999999, "host": "gpu-node-7", "started": "2024-05-01T10:00:00+00:00",
              "argv": ["snakemake"], "token": "x", "slurm_job": held_by[0],
              "slurm_restart": held_by[1]}
    (run_dir / LOCK_NAME).write_text(json.dumps(record))
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    if now[0] is not None:
        monkeypatch.setenv("SLURM_JOB_ID", now[0])
    monkeypatch.setenv("SLURM_RESTART_COUNT", str(now[1]))
    if taken_over:
        with run_lock(run_dir) as path:
            held = read_lock(path)
            assert (held["pid"], held["slurm_job"], held["slurm_restart"]) == (
                os.getpid(), "4711", 1)
    else:
        with pytest.raises(RunDirectoryLocked, match="another host"):
            with run_lock(run_dir):
                pass
        assert read_lock(run_dir / LOCK_NAME) == record


def test_the_same_process_cannot_lock_twice(tmp_path):
    with run_lock(tmp_path), pytest.raises(RunDirectoryLocked, match="already locked by this "
                                                                     "process"):
        with run_lock(tmp_path):
            pass


def test_the_lock_module_imports_no_keras():
    code = ("import sys\nimport deepsphere.training.lock\n"
            "print('keras' in sys.modules, 'tensorflow' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_env(), timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False", "False"]
