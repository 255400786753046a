"""benchmarks/suite_cpu.py: the machine's CPU-seconds of a command cover what its processes
burned (each child reports its own ``time.process_time``, the reference), and the per-test
plugin ranks a busy test above an idle one. Lower bounds only: the machine's CPU also counts
whatever else runs meanwhile (the other test worker)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "benchmarks" / "suite_cpu.py"
BUSY = "import time\nt = time.process_time()\nwhile time.process_time() - t < {s}: pass\n"


def run_tool(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_the_machine_cpu_covers_the_command_and_its_children(tmp_path):
    script = tmp_path / "busy.py"
    # the command burns 0.6 s of CPU in two child processes, one after the other
    script.write_text("import subprocess, sys\n" + "\n".join(
        f"subprocess.run([sys.executable, '-c', {BUSY.format(s=0.3)!r}], check=True)"
        for _ in range(2)))
    out = run_tool("--out", tmp_path / "t.md", "--", sys.executable, script)
    assert out.returncode == 0, out.stderr
    row = out.stdout.strip().splitlines()[-1].strip("|").split("|")
    rc, wall, cpu = int(row[0]), float(row[1]), float(row[2])
    # 0.6 s of CPU, less a clock tick per reading; the children run one after the other
    assert rc == 0 and cpu >= 0.5 and wall >= 0.5
    assert (tmp_path / "t.md").read_text().strip() == out.stdout.strip()


def test_the_exit_status_of_the_command_is_returned(tmp_path):
    out = run_tool("--", sys.executable, "-c", "raise SystemExit(3)")
    assert out.returncode == 3 and "| 3 |" in out.stdout


@pytest.mark.slow
def test_per_test_rows_rank_a_busy_test_first(tmp_path):
    (tmp_path / "test_two.py").write_text(
        "def test_idle():\n    pass\n\n"
        "def test_busy():\n" + "".join(f"    {line}\n" for line in
                                       BUSY.format(s=0.5).splitlines()))
    tsv = tmp_path / "per_test.tsv"
    out = run_tool("--per-test", tsv, "--", sys.executable, "-m", "pytest", "-q",
                   "-p", "no:cacheprovider", "-p", "no:xdist", "test_two.py", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    header, *rows = [line.split("\t") for line in tsv.read_text().splitlines()]
    assert header == ["cpu_s", "wall_s", "test"]
    assert [r[2] for r in rows] == ["test_two.py::test_busy", "test_two.py::test_idle"]
    assert float(rows[0][0]) >= 0.4


def test_per_process_rows_name_the_busy_child_and_its_cpu(tmp_path):
    script = tmp_path / "busy.py"
    script.write_text("import subprocess, sys\n"
                      f"subprocess.run([sys.executable, '-c', {BUSY.format(s=0.6)!r}, 'marker-x'],"
                      " check=True)\n")
    tsv = tmp_path / "processes.tsv"
    out = run_tool("--per-process", tsv, "--", sys.executable, script, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    header, *rows = [line.split("\t") for line in tsv.read_text().splitlines()]
    assert header == ["cpu_s", "pid", "cwd", "command"]
    busy = [r for r in rows if r[3].endswith("marker-x")]
    assert len(busy) == 1 and busy[0][2] == str(tmp_path), busy
    assert 0.4 <= float(busy[0][0]) <= 1.0, busy  # 0.6 s, less the last interval at most
    assert [float(r[0]) for r in rows] == sorted((float(r[0]) for r in rows), reverse=True)


def test_process_summary_adds_up_by_place_and_kind(tmp_path):
    """A hand-made --per-process file: each (place, kind) sums its rows' CPU-seconds."""
    rows = [  # cpu_s, pid, cwd, command
        ("3.0", "1", "/t/slurm-run0/wf", "/v/bin/python3 /v/bin/snakemake --executor x"),
        ("2.0", "2", "/t/slurm-scenario1/wf", "/v/bin/python3 -m snakemake t.json"),
        ("9.5", "3", "/t/ci-local0", "/v/bin/python3 /t/ci-local0/.snakemake/scripts/"
                                     "tmpab.train_network.py"),
        ("0.5", "4", "/t/ci-local0", "/v/bin/python3 /t/ci-local0/.snakemake/scripts/"
                                     "tmpcd.cosmo_svm.py"),
        ("4.0", "5", "/t", "/v/bin/python3 job.py /tmp/pytest-of-root/multiworker0/runs/two"),
        ("1.5", "6", "/t", "/v/bin/python3 -m pytest tests/x.py"),
        ("1.0", "7", "/t", "/v/bin/python3 -c import keras"),
    ]
    tsv = tmp_path / "p.tsv"
    tsv.write_text("cpu_s\tpid\tcwd\tcommand\n" + "".join("\t".join(r) + "\n" for r in rows))
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "process_cpu.py"), str(tsv)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    table = {tuple(c.strip() for c in line.strip("|").split("|")[:2]):
             tuple(c.strip() for c in line.strip("|").split("|")[2:4])
             for line in out.stdout.splitlines()[2:]}
    assert table == {("local CI runs", "training"): ("1", "9.5"),
                     ("cluster runs", "snakemake"): ("2", "5.0"),
                     ("multi-worker jobs", "python3"): ("1", "4.0"),
                     ("other", "pytest"): ("1", "1.5"),
                     ("other", "python -c"): ("1", "1.0"),
                     ("local CI runs", "script"): ("1", "0.5"),
                     ("all", ""): ("7", "21.5")}
