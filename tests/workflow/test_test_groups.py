"""The tests that share the local CI runs (fixture ``ci_run``, marker ``ci_config``) or the
SLURM cluster run in one xdist worker (``pytest -n 2``); the scheduler tells them by their node
ids (tests/conftest.py ``in_shared_runs_group``). This keeps that rule and the markers in step.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PLUGIN = '''
import json

def pytest_collection_finish(session):
    rows = [[item.nodeid, item.get_closest_marker("ci_config") is not None,
             "ci_run" in getattr(item, "fixturenames", ())] for item in session.items]
    print("ROWS " + json.dumps(rows))
'''


def collected(tmp_path):
    """``[(node id, has a ci_config marker, uses ci_run)]`` of the whole test suite."""
    (tmp_path / "groups_probe.py").write_text(_PLUGIN)
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p",
                          "groups_probe", "-p", "no:cacheprovider", "tests"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)})
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    line = next(x for x in out.stdout.splitlines() if x.startswith("ROWS "))
    return json.loads(line[len("ROWS "):])


def test_the_group_holds_every_user_of_the_shared_runs_and_nothing_else(tmp_path,
                                                                         shared_runs_rule):
    rows = collected(tmp_path)
    assert len(rows) > 500
    users = [row for row in rows if row[1] or row[2] or row[0].startswith("tests/cluster/")]
    assert len(users) > 10
    for nodeid, marked, uses_ci_run in rows:
        shared = marked or uses_ci_run or nodeid.startswith("tests/cluster/")
        if shared:
            assert shared_runs_rule(nodeid), f"{nodeid} uses the shared runs: add it to the group"
        elif shared_runs_rule(nodeid):  # only the listed modules bring tests along
            assert "::" in nodeid and nodeid.split("::")[0].endswith(
                ("test_interruptions.py", "test_maps_workflow.py")), nodeid
        # a test that uses the CI runs names its configs, so that they run as one workflow
        assert marked or not uses_ci_run or nodeid.startswith("tests/cluster/"), nodeid
