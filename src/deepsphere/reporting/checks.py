"""Acceptance checks: one criterion per row, and the verdict table (with an ``ALL`` row)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import pandas as pd

from deepsphere.reporting.tables import write_table

__all__ = ["Check", "verdict_frame", "write_verdict"]


@dataclass(frozen=True)
class Check:
    """One acceptance criterion: ``name`` (short id), ``passed``, ``detail`` (numbers behind it)."""

    name: str
    passed: bool
    detail: str = ""


def verdict_frame(checks: Sequence[Check]) -> pd.DataFrame:
    """Checks as a frame with columns ``name, passed, detail``, plus an ``ALL`` row (all passed)."""
    rows = [asdict(c) for c in checks]
    rows.append(
        {"name": "ALL", "passed": bool(checks) and all(c.passed for c in checks),
         "detail": f"{sum(c.passed for c in checks)}/{len(checks)} checks passed"}
    )  # fmt: skip
    return pd.DataFrame(rows, columns=["name", "passed", "detail"])


def write_verdict(
    checks: Sequence[Check],
    csv_path: str | os.PathLike,
    md_path: str | os.PathLike | None = None,
    *,
    title: str = "Acceptance",
) -> pd.DataFrame:
    """Write the checks (and the ``ALL`` row) as CSV and Markdown; returns the frame."""
    frame = verdict_frame(checks)
    write_table(frame, csv_path, md_path, title=title)
    return frame
