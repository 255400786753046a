"""The workflow on a real SLURM cluster: every experiment's CI config through the SLURM profile.

A single-node cluster from Debian's packages (tests/cluster/slurm_cluster.sh: slurmctld, slurmd,
slurmdbd with a local MariaDB, munge, fake GPUs through gres) runs the six CI-sized configs in
one workflow with ``--workflow-profile profiles/slurm`` (the profile users run, unchanged; only
the status polling is made quicker). Checked: every non-local job went through the scheduler
and completed (``sacct``), training jobs ran on the ``gpu`` partition with a GPU, the numbers
equal those of the local runs of the same configs, and a failing job fails the workflow with
its SLURM log named.

It installs system packages and starts daemons as root, so it runs only where asked:
``DEEPSPHERE_SYSTEM_TESTS=1`` (set by .ci/run on its throw-away machine; tests/cluster/conftest.py).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.workflow]

EXPERIMENTS = ("sphere", "cosmo", "modelnet40", "shrec17", "climate", "ghcn")
WARM_UP = ("from deepsphere.geometry import graphs, laplacian\n"
           "g = graphs.healpix_knn_graph(16, 8, nest=True)\n"
           "laplacian.chebyshev_laplacian(g.weights, 'normalized', (-1, 1), 'bound')\n")
# Only the polling is quicker than the profile's: a status check 2 s after submission.
FAST_POLLING = ("--slurm-init-seconds-before-status-checks", "2")


def slurm_command(*args, timeout=1500):
    """Snakemake with the SLURM workflow profile. Wrapped in ``timeout -k``: a plain SIGTERM
    only makes Snakemake wait for its running jobs (slurm-notes.md)."""
    snakemake = str(Path(sys.executable).parent / "snakemake")
    return ["timeout", "-k", "60", str(timeout), snakemake, "--workflow-profile",
            "profiles/slurm", *FAST_POLLING, *map(str, args)]


def snakemake_on_slurm(folder, *args, timeout=1500):
    """Run :func:`slurm_command` in ``folder``; the completed process."""
    return subprocess.run(slurm_command(*args, timeout=timeout), cwd=folder,
                          capture_output=True, text=True, timeout=timeout + 120,
                          env=dict(os.environ, PYTHONUNBUFFERED="1"))


def sacct_jobs(job_ids):
    """``{job id: (state, comment, partition, allocated TRES)}`` from the accounting database."""
    out = subprocess.run(["sacct", "-X", "-n", "-P", "-j", ",".join(job_ids), "-o",
                          "JobID,State,Comment,Partition,AllocTRES"],
                         capture_output=True, text=True, check=True)
    rows = [line.split("|") for line in out.stdout.splitlines() if line.strip()]
    return {row[0]: tuple(row[1:]) for row in rows}


def submitted_jobs(text):
    """``{SLURM job id: rule}`` of the jobs the run submitted, from Snakemake's log."""
    return dict(re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: [^)]*"
                           r"/rule_([A-Za-z0-9_]+?)/", text))


def comparable(record):
    """The numbers of a metrics record that must not depend on where the job ran."""
    return {key: record[key] for key in ("metrics", "selected_epoch", "n_samples",
                                         "trainable_parameters") if key in record}


class Background(threading.Thread):
    """``target()`` in a thread; ``result()`` returns its value or raises its exception."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self.target, self.value, self.error = target, None, None
        self.start()

    def run(self):
        try:
            self.value = self.target()
        except BaseException as err:  # noqa: BLE001 - re-raised in the test that asks
            self.error = err

    def result(self, timeout=1800):
        self.join(timeout)
        assert not self.is_alive(), "the scenario did not finish in time"
        if self.error is not None:
            raise self.error
        return self.value


@pytest.fixture(scope="module")
def cluster(slurm_cluster, tmp_path_factory, workflow_copier, ci_run, ci_run_copy):
    """Everything this module runs on the cluster, side by side, since each spends much of its
    time waiting on the scheduler: the six CI configs in one workflow (``main``), a failing job
    (``failing``) and a requeued training job (``requeued``); meanwhile, the local runs to
    compare with (``ci_run``, shared with the experiments' end-to-end tests)."""
    folder = workflow_copier(tmp_path_factory.mktemp("slurm-run"))
    configs = [f"config/test/{name}-ci.yaml" for name in EXPERIMENTS]
    # numba compiles the graph kernels on their first call and caches them beside the sources:
    # once here, rather than in each of the many graph jobs that start together below
    subprocess.run([sys.executable, "-c", WARM_UP], check=True, timeout=600)
    command = slurm_command("all", "--configfile", *configs)
    with open(folder / "slurm-run.log", "w") as log:  # a file: a full pipe would block it
        proc = subprocess.Popen(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                                text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        # the scenarios start from copies of the local GHCN run
        broken = ci_run_copy("ghcn", lambda config: None)
        longer = ci_run_copy("ghcn", lambda c: c["ghcn"]["training"].update(
            epochs=REQUEUE_EPOCHS))
        scenarios = {"failing": Background(lambda: failing_job(broken)),
                     "requeued": Background(lambda: requeued_training(longer))}
        for name in EXPERIMENTS:
            ci_run(name)
        proc.wait(timeout=1800)
    text = (folder / "slurm-run.log").read_text()
    return {"main": (folder, subprocess.CompletedProcess(command, proc.returncode, text, "")),
            **scenarios}


@pytest.fixture(scope="module")
def slurm_run(cluster):
    """The six CI configs in one workflow on the cluster: ``(folder, completed process)``."""
    return cluster["main"]


def test_every_job_went_through_the_scheduler_and_completed(slurm_run):
    folder, out = slurm_run
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-6000:]
    jobs = submitted_jobs(text)
    # the jobs Snakemake ran itself are the rules declared local (downloads, tables, figures)
    local = re.findall(r"^localrule (\w+):", text, flags=re.M)
    remote = re.findall(r"^rule (\w+):", text, flags=re.M)
    assert len(jobs) == len(remote) > 20, (len(jobs), len(remote))
    assert sorted(jobs.values()) == sorted(remote)
    assert "train_network" in remote and "build_graph" in remote and "all" in local
    records = sacct_jobs(list(jobs))
    assert set(records) == set(jobs), "every submitted job is in SLURM's accounting"
    for job_id, (state, comment, partition, tres) in records.items():
        rule = jobs[job_id]
        assert state == "COMPLETED", (job_id, rule, state)
        assert comment.startswith(f"rule_{rule}"), (job_id, comment)
        if rule == "train_network":  # the profile's GPU partition, one (fake) GPU each
            assert partition == "gpu" and "gres/gpu=1" in tres, (job_id, partition, tres)
        else:
            assert partition == "cpu" and "gres/gpu" not in tres, (job_id, partition, tres)


def acceptance(folder, experiment):
    """An experiment's acceptance table without the verdicts on timings (the sphere study's
    filtering speed, measured while other jobs shared the machine) and their total."""
    name = "acceptance.csv" if experiment == "sphere" else "checks.csv"
    frame = pd.read_csv(folder / "tables" / name)
    timing = frame.name.str.contains("faster") | (frame.name == "ALL")
    return frame[~timing].reset_index(drop=True)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_results_equal_those_of_a_local_run(slurm_run, ci_run, experiment):
    folder, out = slurm_run
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    local, local_out = ci_run(experiment)
    assert local_out.returncode == 0, local_out.stderr[-3000:]
    ours, theirs = folder / "results-ci" / experiment, local / "results-ci" / experiment
    # every run record (JSON) and every computed curve (CSV; timings aside)
    records = sorted(p.relative_to(theirs) for p in theirs.glob("metrics/**/*.*")
                     if p.suffix in (".json", ".csv") and "filtering_speed" not in p.parts)
    assert records, f"the local {experiment} run wrote no metrics"
    for name in records:
        if name.suffix == ".json":
            a = json.loads((ours / name).read_text())
            b = json.loads((theirs / name).read_text())
            assert comparable(a) == comparable(b), name
        else:
            pd.testing.assert_frame_equal(pd.read_csv(ours / name), pd.read_csv(theirs / name))
    pd.testing.assert_frame_equal(acceptance(ours, experiment), acceptance(theirs, experiment))


def failing_job(folder):
    """Corrupt a raw file of the GHCN run in ``folder`` and run its parsing job on the cluster:
    ``(completed process, folder)``."""
    raw = next((folder / "data/raw-ci/ghcn").rglob("2011.csv.gz"))
    raw.write_bytes(gzip.compress(b"not,a,ghcn,line\n"))
    target = folder / "data/interim-ci/ghcn/years/2011.h5"
    return snakemake_on_slurm(folder, target.relative_to(folder), "--configfile", "edited.yaml",
                              "--forcerun", "ghcn_parse_year", "--retries", "0",
                              timeout=900), folder


def test_a_failing_job_fails_the_workflow_and_names_its_slurm_log(cluster):
    """A corrupt raw file on the cluster: the parsing job fails under SLURM, the workflow
    stops with an error, and the message names the job's SLURM log, which holds the cause."""
    failed, folder = cluster["failing"].result()
    text = failed.stdout + failed.stderr
    assert failed.returncode != 0, text[-3000:]
    match = re.search(r"SLURM-job '(\d+)' failed, SLURM status is: 'FAILED'", text)
    assert match, text[-3000:]
    logs = re.findall(r"(\S*\.snakemake/slurm_logs/rule_ghcn_parse_year/\S+\.log)", text)
    assert logs, text[-3000:]
    log = Path(logs[0]) if Path(logs[0]).is_absolute() else folder / logs[0]
    assert "2011.csv.gz" in log.read_text()
    assert sacct_jobs([match.group(1)])[match.group(1)][0] == "FAILED"


REQUEUE_RUN, REQUEUE_EPOCHS = "temperature-P2-s0", 6  # epochs enough to requeue it in


def requeued_training(folder):
    """Train REQUEUE_RUN on the cluster, requeue its job after the first checkpoint, let it
    finish; then train it locally without interruption. Returns ``{"slurm": output,
    "history": [states], "resumed_from": epoch, "after_requeue": record, "uninterrupted":
    record}``."""
    root = folder / "results-ci/ghcn"
    target, model = root / f"metrics/{REQUEUE_RUN}.json", root / f"models/{REQUEUE_RUN}"

    def remove_run():
        target.unlink(missing_ok=True)
        shutil.rmtree(model, ignore_errors=True)

    remove_run()
    args = (target.relative_to(folder), "--configfile", "edited.yaml", "--slurm-requeue")
    log_path = folder / "requeue.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(slurm_command(*args, timeout=1200), cwd=folder, text=True,
                                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 1200
        while not (model / "checkpoints/last.npz").exists() and time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            time.sleep(0.05)
        # this run's jobs carry its run id as their name (others run on the cluster too)
        run_id = re.search(r"SLURM run ID: (\S+)", log_path.read_text()).group(1)
        job = subprocess.run(["squeue", "-h", "-n", run_id, "-o", "%i"], capture_output=True,
                             text=True, check=True).stdout.split()[0]
        subprocess.run(["scontrol", "requeue", job], check=True)
        # SLURM holds a requeued job for about two minutes (its BeginTime): once it is back in
        # the queue, release it now (an update before the requeue completes is overwritten)
        for _ in range(300):
            state = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T %r"],
                                   capture_output=True, text=True).stdout.split()
            if state == ["PENDING", "BeginTime"]:
                break
            time.sleep(0.2)
        subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], check=True)
        proc.wait(timeout=1500)
    found = {"slurm": subprocess.CompletedProcess(args, proc.returncode, log_path.read_text(),
                                                  "")}
    if proc.returncode != 0:
        return found
    found["history"] = subprocess.run(["sacct", "-D", "-X", "-n", "-P", "-j", job, "-o",
                                       "State"], capture_output=True, text=True,
                                      check=True).stdout.split()
    found["resumed_from"] = json.loads((model / "training.json").read_text())[
        "resumed_from_epoch"]
    found["after_requeue"] = json.loads(target.read_text())
    remove_run()  # the same run, locally, uninterrupted
    local = subprocess.run([str(Path(sys.executable).parent / "snakemake"),
                            target.relative_to(folder), "--cores", "2", "--configfile",
                            "edited.yaml"], cwd=folder, capture_output=True, text=True,
                           timeout=900)
    assert local.returncode == 0, local.stderr[-3000:]
    found["uninterrupted"] = json.loads(target.read_text())
    return found


def test_a_requeued_training_job_resumes_to_the_uninterrupted_result(cluster):
    """Preemption as a site does it: ``scontrol requeue`` kills the running training job and
    puts it back in the queue under its id; it restarts, resumes from its last checkpoint,
    and ends with the numbers of a run that was never interrupted."""
    found = cluster["requeued"].result()
    assert found["slurm"].returncode == 0, found["slurm"].stdout[-4000:]
    assert found["history"] == ["REQUEUED", "COMPLETED"], found["history"]
    assert 1 <= found["resumed_from"] < REQUEUE_EPOCHS, found["resumed_from"]
    assert comparable(found["after_requeue"]) == comparable(found["uninterrupted"])
