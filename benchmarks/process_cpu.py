"""Per-process CPU-seconds of everything the machine runs during a command (suite_cpu.py
``--per-process``): ``/proc/<pid>/stat`` is read every ``interval`` seconds; a process counts
from its first reading (a process alive before the command counts from then on), with its
command line and working folder, so that a test run's CPU can be split by kind (a workflow's
Snakemake processes, its jobs' scripts, the cluster's jobs: their folders differ). Processes
that live less than one interval are missed: the figures are lower bounds."""

from __future__ import annotations

import os
import threading
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _read(pid: str) -> tuple[str, float] | None:
    """``(start time in ticks, user + system CPU-seconds)`` of ``pid``, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[19], (int(fields[11]) + int(fields[12])) / _TICK


def _describe(pid: str) -> tuple[str, str]:
    """``(command line, working folder)`` of ``pid`` (empty strings where unreadable)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read().decode(errors="replace")
        cmdline = " ".join(raw.replace("\0", " ").split())  # one line: a TSV field
    except OSError:
        cmdline = ""
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        cwd = ""
    return cmdline, cwd


class ProcessSampler(threading.Thread):
    """Samples every process until :meth:`stop`; :meth:`rows` gives ``(CPU-s, pid, cwd,
    command line)`` of those that used CPU meanwhile, largest first."""

    def __init__(self, interval: float = 0.2):
        super().__init__(daemon=True)
        self.interval, self._done = interval, threading.Event()
        self._seen: dict[tuple[str, str], list] = {}
        self._sample(first=True)

    def _sample(self, first: bool = False) -> None:
        for pid in (d for d in os.listdir("/proc") if d.isdigit()):
            read = _read(pid)
            if read is None:
                continue
            start, cpu = read
            entry = self._seen.get((pid, start))
            if entry is None:  # a new process counts from zero; one alive at the start, from now
                self._seen[(pid, start)] = [cpu if first else 0.0, cpu, *_describe(pid)]
            else:
                entry[1] = cpu

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self._sample()

    def stop(self) -> None:
        self._done.set()
        self.join()
        self._sample()

    def rows(self) -> list[tuple[float, str, str, str]]:
        found = [(last - first, pid, cwd, cmdline)
                 for (pid, _), (first, last, cmdline, cwd) in self._seen.items()
                 if last - first > 0]
        return sorted(found, key=lambda row: -row[0])


def write_rows(rows, path: Path) -> None:
    """The rows as TSV: ``cpu_s``, ``pid``, ``cwd``, ``command``."""
    lines = ["cpu_s\tpid\tcwd\tcommand"] + [f"{c:.2f}\t{p}\t{w}\t{cl[:400]}"
                                            for c, p, w, cl in rows]
    Path(path).write_text("\n".join(lines) + "\n")


def place_of(cwd: str, command: str) -> str:
    """Where a process of a test run belongs, from its folder and command line: the SLURM
    test's cluster runs (``slurm-run``, ``slurm-scenario`` folders), the shared local CI runs
    (``ci-local``), the multi-worker SLURM jobs (``multiworker``), or ``other``."""
    if "slurm-run" in cwd or "slurm-scenario" in cwd:
        return "cluster runs"
    if "ci-local" in cwd:
        return "local CI runs"
    if "multiworker" in command:
        return "multi-worker jobs"
    return "other"


def kind_of(command: str) -> str:
    """What a process is, from its command line: a workflow job's script (``training`` for
    train_network, else ``script``), ``snakemake``, ``pytest worker`` (xdist), ``pytest``
    (a subprocess session), ``python -c``, or the program's name."""
    words = command.split()
    if words and words[-1].endswith(".py") and "/.snakemake/scripts/" in words[-1]:
        return "training" if words[-1].endswith(".train_network.py") else "script"
    names = [Path(w).name for w in words[:3]]  # the program, or the interpreter's -m target
    if "snakemake" in names:
        return "snakemake"
    if "exec(eval(sys.stdin.readline()))" in command:
        return "pytest worker"
    if "pytest" in names:
        return "pytest"
    if len(words) > 1 and words[1] == "-c":
        return "python -c"
    return Path(words[0]).name if words else "(unreadable)"


def summarize(path: Path) -> str:
    """A Markdown table of a ``--per-process`` TSV: CPU-seconds and processes per place and
    kind (:func:`place_of`, :func:`kind_of`), largest first, and the total."""
    totals: dict[tuple[str, str], list] = {}
    for line in Path(path).read_text().splitlines()[1:]:
        cpu, _, cwd, command = (line.split("\t") + ["", "", "", ""])[:4]
        entry = totals.setdefault((place_of(cwd, command), kind_of(command)), [0.0, 0])
        entry[0] += float(cpu)
        entry[1] += 1
    rows = sorted(totals.items(), key=lambda item: -item[1][0])
    lines = ["| place | kind | processes | CPU-s |", "|---|---|---|---|"]
    lines += [f"| {place} | {kind} | {n} | {cpu:.1f} |" for (place, kind), (cpu, n) in rows]
    lines.append(f"| all | | {sum(n for _, n in totals.values())} | "
                 f"{sum(c for c, _ in totals.values()):.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        raise SystemExit("usage: python benchmarks/process_cpu.py PROCESSES.tsv  "
                         "(a suite_cpu.py --per-process file): CPU-seconds by place and kind")
    print(summarize(Path(sys.argv[1])))
