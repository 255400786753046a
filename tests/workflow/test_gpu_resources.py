"""A local run never puts more GPU jobs on the machine than ``--resources gpu=N`` allows: the
workflow profile (profiles/default) sets N = 1, and the training rule declares ``gpu=1``."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Four jobs that each declare one GPU and record when they ran (wall-clock, seconds).
SNAKEFILE = """
rule all:
    input: expand("out/{i}.txt", i=range(4))

rule gpu_job:
    output: "out/{i}.txt"
    resources: gpu=1
    threads: 1
    shell: "python -c 'import time; a = time.time(); time.sleep(1.5); print(a, time.time())' > {output}"
"""


def max_concurrent(folder):
    """The largest number of jobs whose [start, end] intervals overlap."""
    events = []
    for path in (folder / "out").glob("*.txt"):
        start, end = map(float, path.read_text().split())
        events += [(start, 1), (end, -1)]
    running = peak = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        running += step
        peak = max(peak, running)
    return peak


def run(folder, *args):
    out = subprocess.run([str(Path(sys.executable).parent / "snakemake"), "--cores", "4",
                          *args], cwd=folder, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.fixture
def workflow(tmp_path):
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    shutil.copytree(ROOT / "profiles", tmp_path / "profiles")  # profiles/default is loaded
    return tmp_path


def test_the_training_rule_declares_one_gpu():
    text = (ROOT / "rules/training.smk").read_text()
    rule = text[text.index("rule train_network:"):]
    assert re.search(r"resources:[^:]*?gpu=1,", rule, flags=re.S)


@pytest.mark.slow
def test_the_default_profile_runs_one_gpu_job_at_a_time(workflow):
    out = run(workflow)
    assert "profiles/default" in out.stderr
    assert max_concurrent(workflow) == 1


@pytest.mark.slow
def test_resources_gpu_n_allows_n_at_a_time(workflow):
    run(workflow, "--resources", "gpu=2")
    assert max_concurrent(workflow) == 2
