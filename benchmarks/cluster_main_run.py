"""The SLURM test's main cluster run by itself, measured with suite_cpu.py: the targets of
tests/cluster/test_slurm_workflow.py (``ON_THE_CLUSTER``) of the seven CI configs, from
scratch in an empty folder, with the short jobs grouped as the test runs them
(``GROUP_OVERRIDES``), or one SLURM job per job (``--one-job-each``). Needs the test cluster
up (``tests/cluster/slurm_cluster.sh start``, root) and an otherwise idle machine.

    .venv/bin/python benchmarks/cluster_main_run.py --folder /tmp/grouped
    .venv/bin/python benchmarks/cluster_main_run.py --folder /tmp/alone --one-job-each

Prints suite_cpu.py's table; each process's CPU-seconds go to ``<folder>/processes.tsv``
(``python benchmarks/process_cpu.py <folder>/processes.tsv`` sums them by kind).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "cluster")]

import suite_cpu  # noqa: E402 - this folder, and the tests' helpers, first on the path
from conftest import copy_workflow  # noqa: E402
from test_slurm_workflow import (  # noqa: E402
    EXPERIMENTS,
    GROUP_OVERRIDES,
    cluster_targets,
    slurm_command,
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder", type=Path, required=True,
                        help="an empty or new folder: the workflow is copied there and runs")
    parser.add_argument("--one-job-each", action="store_true",
                        help="no group job: one SLURM job per job")
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    if folder.exists() and any(folder.iterdir()):
        parser.error(f"--folder {folder} is not empty: the run must start from scratch; "
                     "name a new folder")
    copy_workflow(folder)
    configs = [f"config/test/{name}-ci.yaml" for name in EXPERIMENTS]
    groups = () if args.one_job_each else GROUP_OVERRIDES
    command = slurm_command(*cluster_targets(), *groups, "--configfile", *configs)
    os.chdir(folder)
    return suite_cpu.main(["--per-process", str(folder / "processes.tsv"), "--", *command])


if __name__ == "__main__":
    sys.exit(main())
