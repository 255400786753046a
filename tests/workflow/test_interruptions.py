"""A workflow killed half-way, as a scheduler's preemption kills it (SIGKILL of the process
group), leaves nothing a rerun would take for finished, and a killed training job resumes from
its last checkpoint to the numbers of an uninterrupted run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.workflow, pytest.mark.ci_config("ghcn")]

RUN = "temperature-P2-s0"  # a GHCN run of the CI config (tests/experiments/ghcn)
EPOCHS = 3


def comparable(record):
    """The numbers of a metrics record that must not depend on interruptions."""
    return {key: record[key] for key in ("metrics", "selected_epoch", "n_samples",
                                         "trainable_parameters")}


def snakemake_command(folder, *args):
    return [str(Path(sys.executable).parent / "snakemake"), *map(str, args), "--cores", "2",
            "--configfile", "edited.yaml", "--directory", str(folder)]


def run(folder, *args):
    out = subprocess.run(snakemake_command(folder, *args), cwd=folder, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    return out


@pytest.fixture
def prepared(ci_run_copy):
    """The GHCN CI run, copied, with a config training for EPOCHS epochs (only the training
    jobs are out of date), and this test's run removed."""
    folder = ci_run_copy("ghcn", lambda c: c["ghcn"]["training"].update(epochs=EPOCHS))
    remove_run(folder)
    return folder


def remove_run(folder):
    """Delete RUN's metrics and model folder (the CI config's 1-epoch run is not ours)."""
    root = folder / "results-ci/ghcn"
    (root / f"metrics/{RUN}.json").unlink(missing_ok=True)
    shutil.rmtree(root / f"models/{RUN}", ignore_errors=True)


def test_a_training_job_killed_mid_run_resumes_to_the_uninterrupted_result(prepared):
    folder = prepared
    root = folder / "results-ci/ghcn"
    target = root / f"metrics/{RUN}.json"
    model = root / f"models/{RUN}"
    checkpoint = model / "checkpoints/last.npz"

    # 1. start the job, SIGKILL the whole process group once the first epoch is checkpointed
    proc = subprocess.Popen(snakemake_command(folder, target.relative_to(folder)), cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 600
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the job ended before its first checkpoint: nothing was killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert not target.exists()

    # 2. what a rerun sees: the job is to be run again, not taken for finished
    run(folder, "--unlock")  # the killed Snakemake left its lock, as a preempted one does
    dry = run(folder, target.relative_to(folder), "--dry-run")
    assert "train_network" in dry.stdout
    run(folder, target.relative_to(folder))
    resumed = json.loads((model / "training.json").read_text())
    assert 1 <= resumed["resumed_from_epoch"] < EPOCHS, resumed["resumed_from_epoch"]
    after_kill = json.loads(target.read_text())

    # 3. the same run without an interruption
    remove_run(folder)
    run(folder, target.relative_to(folder))
    assert json.loads((model / "training.json").read_text())["resumed_from_epoch"] == 0
    assert comparable(after_kill) == comparable(json.loads(target.read_text()))
