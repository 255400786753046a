"""benchmarks/cluster_main_run.py without a cluster: it refuses a folder that holds anything
(the run must start from scratch) before it copies or submits anything. The run itself needs
the test cluster: tests/cluster/test_slurm_workflow.py runs the same command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "benchmarks" / "cluster_main_run.py"


def test_a_folder_that_is_not_empty_is_refused_untouched(tmp_path):
    (tmp_path / "earlier.txt").write_text("an earlier run")
    out = subprocess.run([sys.executable, str(TOOL), "--folder", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "is not empty" in out.stderr and "name a new folder" in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["earlier.txt"]
