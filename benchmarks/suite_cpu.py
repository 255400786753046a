"""Wall time and the whole machine's CPU-seconds of a command (the test suite, CI).

    .venv/bin/python benchmarks/suite_cpu.py -- bash .ci/run            # on a fresh clone
    .venv/bin/python benchmarks/suite_cpu.py --per-test results/per_test.tsv -- \\
        .venv/bin/pytest -p no:cacheprovider tests/workflow
    .venv/bin/python benchmarks/suite_cpu.py --per-process results/processes.tsv -- \
        .venv/bin/pytest -p no:cacheprovider tests/cluster/test_slurm_workflow.py

CPU-seconds are read from ``/proc/stat`` (user + nice + system + irq + softirq, every core), so
they count everything the machine did meanwhile: subprocesses, Snakemake jobs, SLURM jobs run
by the test cluster's daemons (which are not children of the command). Run it on an otherwise
idle machine. ``--per-test FILE``: the command's pytest loads ``pytest_cpu_per_test`` (this
folder), which writes each test's CPU-seconds, wall seconds and node id, largest first; under
``pytest -n`` the workers' tests overlap and each one's CPU is the machine's, so use it
without ``-n``. ``--per-process FILE``: each process's CPU-seconds, command line and working
folder, sampled every 0.2 s (process_cpu.py; lower bounds). Output: a Markdown table on
stdout (and ``--out``), Linux only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from process_cpu import ProcessSampler, write_rows

HERE = Path(__file__).resolve().parent


def busy_cpu_seconds() -> float:
    """The machine's busy CPU-seconds since boot, all cores (``/proc/stat``'s first line)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def measure(command: list[str], env: dict | None = None, interval: float = 1.0,
            per_process: Path | None = None) -> dict:
    """Run ``command``; ``{"rc", "wall_s", "cpu_s", "peak_load"}`` (load: 1-minute average).
    ``per_process``: also write each process's CPU-seconds there (process_cpu.py)."""
    peak, done = [0.0], threading.Event()

    def sample():
        while not done.wait(interval):
            peak[0] = max(peak[0], os.getloadavg()[0])

    sampler = threading.Thread(target=sample, daemon=True)
    cpu0, t0 = busy_cpu_seconds(), time.monotonic()
    sampler.start()
    processes = ProcessSampler() if per_process else None
    if processes:
        processes.start()
    rc = subprocess.run(command, env=env).returncode
    done.set()
    if processes:
        processes.stop()
        write_rows(processes.rows(), per_process)
    wall, cpu = time.monotonic() - t0, busy_cpu_seconds() - cpu0
    return {"rc": rc, "wall_s": wall, "cpu_s": cpu, "peak_load": peak[0]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-test", type=Path, help="TSV of each pytest test's CPU-seconds")
    parser.add_argument("--per-process", type=Path,
                        help="TSV of each process's CPU-seconds, command line and folder")
    parser.add_argument("--out", type=Path, help="also write the table here")
    parser.add_argument("command", nargs="+", help="the command, after --")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.per_test:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH")) if p)
        env["PYTEST_ADDOPTS"] = f"{env.get('PYTEST_ADDOPTS', '')} -p pytest_cpu_per_test".strip()
        env["DEEPSPHERE_CPU_PER_TEST"] = str(args.per_test.resolve())
    res = measure(args.command, env, per_process=args.per_process)
    table = "\n".join([
        f"Command: `{' '.join(args.command)}` on {os.cpu_count()} cores",
        "",
        "| exit | wall s | machine CPU-s | busy cores (mean) | peak 1-min load |",
        "|---|---|---|---|---|",
        f"| {res['rc']} | {res['wall_s']:.0f} | {res['cpu_s']:.0f} | "
        f"{res['cpu_s'] / res['wall_s']:.2f} | {res['peak_load']:.1f} |",
    ])
    print(table)
    if args.out:
        args.out.write_text(table + "\n")
    return res["rc"]


if __name__ == "__main__":
    sys.exit(main())
