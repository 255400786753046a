"""Generic "paper vs ours" tables and pass/fail verdicts (CSV + Markdown).

Nothing here knows about a particular experiment: callers pass our results and the paper's
numbers as ``pandas.DataFrame`` objects sharing key columns.

* :func:`paper_vs_ours` aligns the paper's value beside ours by key (an outer join): a missing
  paper number stays missing (empty in CSV, ``–`` in Markdown), as does a missing result of ours.
* :func:`write_table` writes both files; :func:`to_markdown` renders a GitHub-flavoured table.
* :class:`Check` / :func:`write_verdict` record acceptance criteria and their pass/fail state.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from deepsphere.io.atomic import atomic_write_text
from deepsphere.runtime import provenance

MISSING = "–"


def paper_vs_ours(
    ours: pd.DataFrame,
    paper: pd.DataFrame,
    keys: Sequence[str],
    values: Sequence[str],
    *,
    paper_values: Sequence[str] | None = None,
    ratio: bool = True,
) -> pd.DataFrame:
    """Join ``paper`` onto ``ours`` by ``keys``; for each value ``v`` give ``v_paper``, ``v_ours``
    side by side (and ``v_ratio`` = ours / paper when ``ratio``).

    ``paper_values`` names the paper's columns when they differ from ``values`` (same order).
    Rows present in only one frame are kept, with the other side missing (NaN). Raises
    ``ValueError`` if a key or value column is absent, or if a frame repeats a key.
    """
    keys, values = list(keys), list(values)
    paper_values = list(paper_values) if paper_values is not None else values
    if not keys or not values or len(paper_values) != len(values):
        raise ValueError("need at least one key and one value, and as many paper_values as values")
    for name, frame, cols in (("ours", ours, values), ("paper", paper, paper_values)):
        missing = [c for c in keys + cols if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} table lacks column(s) {missing}")
        if frame.duplicated(keys).any():
            dup = frame.loc[frame.duplicated(keys), keys].head(3).to_dict("records")
            raise ValueError(f"{name} table repeats keys {keys}: e.g. {dup}")
    left = ours[keys + values].rename(columns={v: f"{v}_ours" for v in values})
    right = paper[keys + paper_values].rename(
        columns={p: f"{v}_paper" for v, p in zip(values, paper_values, strict=True)}
    )
    # Align key dtypes so that e.g. int 32 and float 32.0 match.
    for k in keys:
        if left[k].dtype != right[k].dtype:
            try:
                right = right.astype({k: left[k].dtype})
            except (TypeError, ValueError):
                left, right = left.astype({k: str}), right.astype({k: str})
    out = left.merge(right, on=keys, how="outer", sort=True)
    cols = list(keys)
    for v in values:
        cols += [f"{v}_paper", f"{v}_ours"]
        if ratio:
            out[f"{v}_ratio"] = out[f"{v}_ours"] / out[f"{v}_paper"]
            cols.append(f"{v}_ratio")
    return out[cols + [c for c in out.columns if c not in cols]]


def _fmt(value, floatfmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return MISSING
    try:
        if pd.isna(value):
            return MISSING
    except (TypeError, ValueError):
        pass
    if isinstance(value, bool):
        return "pass" if value else "FAIL"
    if isinstance(value, float):
        return format(value, floatfmt)
    return str(value).replace("|", "\\|")


def to_markdown(df: pd.DataFrame, *, floatfmt: str = ".4g", title: str | None = None) -> str:
    """Render ``df`` as a Markdown table; missing values as ``–``, booleans as pass/FAIL."""
    header = "| " + " | ".join(str(c) for c in df.columns) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = [
        "| " + " | ".join(_fmt(v, floatfmt) for v in row) + " |"
        for row in df.astype(object).itertuples(index=False)
    ]
    text = "\n".join([header, rule, *body]) + "\n"
    return f"# {title}\n\n{text}" if title else text


def write_table(
    df: pd.DataFrame,
    csv_path: str | os.PathLike,
    md_path: str | os.PathLike | None = None,
    *,
    title: str | None = None,
    notes: Iterable[str] = (),
    floatfmt: str = ".4g",
) -> None:
    """Write ``df`` as CSV (missing = empty field, full precision) and, if given, as Markdown
    (``title`` heading, the table, then ``notes`` as a bullet list, then a provenance line).

    Provenance (:mod:`deepsphere.runtime.provenance`: config, versions, git commit, hardware)
    goes whole into ``<csv stem>.provenance.json`` beside the CSV, summarised in the Markdown.
    """
    csv_path = Path(csv_path)
    rec = provenance.record()
    sidecar = csv_path.with_name(csv_path.stem + ".provenance.json")
    files = [csv_path.name] + ([Path(md_path).name] if md_path is not None else [])
    atomic_write_text(sidecar, json.dumps({"files": files, **rec}, indent=1) + "\n")
    atomic_write_text(csv_path, df.to_csv(index=False, na_rep=""))
    if md_path is not None:
        md = to_markdown(df, floatfmt=floatfmt, title=title)
        notes = [*notes, provenance.markdown_footer(rec, sidecar=sidecar.name)]
        md += "\n" + "\n".join(f"- {n}" for n in notes) + "\n"
        atomic_write_text(md_path, md)
