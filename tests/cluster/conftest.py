"""The SLURM cluster of the tests in this folder (tests/cluster/slurm_cluster.sh)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent



def pytest_collection_modifyitems(config, items):
    """Installing system packages and starting daemons as root happens only where asked:
    every test of this folder is skipped unless DEEPSPHERE_SYSTEM_TESTS=1."""
    if os.environ.get("DEEPSPHERE_SYSTEM_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="installs SLURM from apt and starts its daemons as root: "
                            "set DEEPSPHERE_SYSTEM_TESTS=1 to run it (.ci/run does)")
    for item in items:
        if HERE in Path(item.fspath).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def slurm_cluster():
    """Start the cluster (installing the packages if needed); stop it after the session unless
    it was running before."""
    script = str(HERE / "slurm_cluster.sh")
    out = subprocess.run([script, "start"], capture_output=True, text=True, timeout=600)
    if out.returncode not in (0, 3):  # 3: it runs already (started by someone else)
        subprocess.run([script, "stop"], capture_output=True, timeout=120)
        pytest.fail(f"the SLURM test cluster did not start:\n{out.stdout}\n{out.stderr}")
    yield
    if out.returncode == 0:
        subprocess.run([script, "stop"], capture_output=True, timeout=120)
