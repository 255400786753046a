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
