"""pytest plugin of benchmarks/suite_cpu.py ``--per-test``: each test's machine CPU-seconds
(``/proc/stat``, subprocesses included), wall seconds and node id, written as TSV, largest
first, to the file named by ``DEEPSPHERE_CPU_PER_TEST`` when the session ends."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from suite_cpu import busy_cpu_seconds

_ROWS: list[tuple[float, float, str]] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    cpu0, t0 = busy_cpu_seconds(), time.monotonic()
    yield
    _ROWS.append((busy_cpu_seconds() - cpu0, time.monotonic() - t0, item.nodeid))


def pytest_sessionfinish(session):
    path = os.environ.get("DEEPSPHERE_CPU_PER_TEST")
    if path and _ROWS:
        lines = ["cpu_s\twall_s\ttest"] + [f"{c:.1f}\t{w:.1f}\t{n}"
                                            for c, w, n in sorted(_ROWS, reverse=True)]
        Path(path).write_text("\n".join(lines) + "\n")
