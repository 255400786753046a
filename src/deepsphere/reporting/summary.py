"""The one-page summary of a run, ``<results>/paper.md``: every reproduced table, paper beside ours.

The page is assembled from the files the experiments' table rules wrote, never re-derived: each
table's Markdown (title, table with the paper's columns beside ours, notes) is copied in with its
heading demoted, and each experiment's acceptance checks (``checks.csv`` or ``acceptance.csv``,
the ``name, passed, detail`` frame with an ``ALL`` row of :mod:`deepsphere.reporting.checks`)
are counted and shown, failing ones as ``FAIL``. The data source is the config's
``<experiment>.source``; the hardware is the label recorded beside every timing in the run
records (``timing.hardware``, written by :func:`deepsphere.runtime.hardware.hardware_label`).

Nothing here lists an experiment's tables: :func:`experiment_results` sorts an experiment's
final targets (the workflow's ``TARGETS`` registry) into tables and checks, so a new experiment
appears in the summary without a change here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from deepsphere.io.atomic import atomic_write_text

__all__ = [
    "CHECK_STEMS",
    "ExperimentResults",
    "check_summary",
    "data_description",
    "data_kind",
    "experiment_results",
    "hardware_labels",
    "render_summary",
    "table_markdown",
    "table_title",
    "title_label",
    "write_summary",
]

#: File stems of the acceptance-check tables (``<results>/<experiment>/tables/<stem>.csv``).
CHECK_STEMS = ("checks", "acceptance")

@dataclass(frozen=True)
class ExperimentResults:
    """What the summary reads of one experiment.

    ``tables``: its reproduced tables (``.md``, or ``.csv`` for a table written only as CSV);
    ``checks``: its acceptance-check CSV (or None) and ``checks_md`` the checks' Markdown twin
    (or None); ``metrics``: its run records (JSON, with ``timing.hardware``); ``source``: the
    config's ``source`` (None: the experiment uses no data set, e.g. the sphere study's
    generated signals).
    """

    name: str
    tables: tuple[str, ...] = ()
    checks: str | None = None
    metrics: tuple[str, ...] = ()
    source: str | None = None
    checks_md: str | None = None
    display_name: str | None = None  # the experiment package's TITLE (rules/report.smk)

    def __post_init__(self):
        object.__setattr__(self, "tables", tuple(map(str, self.tables)))
        object.__setattr__(self, "metrics", tuple(map(str, self.metrics)))

    @property
    def title(self) -> str:
        """The display name: report category and summary section (default: the name)."""
        return self.display_name or self.name.capitalize()

    def named_files(self) -> dict[str, list[str]]:
        """Every file read, as a rule's named inputs: ``<name>_tables``, ``<name>_checks``
        (the CSV, then its Markdown twin) and ``<name>_metrics``."""
        checks = [str(c) for c in (self.checks, self.checks_md) if c]
        return {f"{self.name}_tables": list(self.tables), f"{self.name}_checks": checks,
                f"{self.name}_metrics": list(self.metrics)}

    @classmethod
    def from_named_files(cls, name: str, files: Mapping[str, Sequence[str]],
                         source: str | None, display_name: str | None = None
                         ) -> ExperimentResults:
        """The inverse of :meth:`named_files` (``files``: e.g. a job's ``snakemake.input``)."""
        checks = {Path(c).suffix: str(c) for c in files[f"{name}_checks"]}
        return cls(name, tuple(files[f"{name}_tables"]), checks.get(".csv"),
                   tuple(files[f"{name}_metrics"]), source, checks.get(".md"), display_name)


def _read_csv(path):
    """``pandas.read_csv``; pandas is imported here, not with the module: rules/report.smk
    imports this module while the Snakefile parses (every job of a cluster run does so twice)."""
    import pandas as pd

    return pd.read_csv(path)


def to_markdown(frame, **kwargs) -> str:
    """:func:`deepsphere.reporting.tables.to_markdown` (imported on first use, as pandas)."""
    from deepsphere.reporting.tables import to_markdown as render

    return render(frame, **kwargs)


def experiment_results(name: str, targets: Iterable[str], *, metrics: Iterable[str] = (),
                       source: str | None = None,
                       display_name: str | None = None) -> ExperimentResults:
    """Sort an experiment's final targets into its tables and its checks.

    A table is a target ``.../tables/<stem>.md``, or ``.../tables/<stem>.csv`` without a
    Markdown twin; the checks are the CSV whose stem is in :data:`CHECK_STEMS`. Figures and
    every other target are left out.
    """
    targets = [str(t) for t in targets]
    in_tables = [Path(t) for t in targets if Path(t).parent.name == "tables"]
    stems_md = {p.with_suffix("") for p in in_tables if p.suffix == ".md"}
    tables, checks = [], {}
    for path in in_tables:
        if path.stem in CHECK_STEMS:
            checks[path.suffix] = str(path)
        elif path.suffix == ".md" or (path.suffix == ".csv" and path.with_suffix("") not in
                                      stems_md):
            tables.append(str(path))
    return ExperimentResults(name, tuple(tables), checks.get(".csv"), tuple(metrics), source,
                             checks.get(".md"), display_name)


def table_title(path: str | os.PathLike) -> str:
    """A table's title: the heading of its Markdown file, else its file stem."""
    path = Path(path)
    if path.suffix == ".md":
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return path.stem


def title_label(path: str | os.PathLike, *, checks: str | os.PathLike | None = None):
    """A report ``labels`` function: ``{"title": <the title of the table at path>}``, read when
    the report is built (the file exists then, not when the workflow is parsed); with
    ``checks`` (a verdict CSV), the counts follow the title: ``"<title>: 2/3 pass; FAIL: x"``."""

    def labels(wildcards) -> dict[str, str]:
        title = table_title(path)
        return {"title": f"{title}: {check_summary(checks)}" if checks else title}

    return labels


def table_markdown(path: str | os.PathLike, *, levels: int = 2) -> str:
    """A table file as Markdown with its headings ``levels`` deeper (a CSV is rendered, with
    its stem as the title)."""
    path = Path(path)
    if path.suffix == ".csv":
        text = to_markdown(_read_csv(path), title=path.stem)
    else:
        text = path.read_text(encoding="utf-8")
    lines = ["#" * levels + line if line.startswith("#") else line for line in text.splitlines()]
    return "\n".join(lines).strip() + "\n"


def data_kind(source: str | None) -> str:
    """In one or two words: ``stand-in``, ``real (<source>)`` or ``none (generated signals)``."""
    if source is None:
        return "none (generated signals)"
    return "stand-in" if source == "standin" else f"real ({source})"


def data_description(source: str | None) -> str:
    """What the numbers were computed on, from the config's ``source``."""
    if source is None:
        return "no data set: the experiment generates its own signals, as the paper did"
    if source == "standin":
        return ("**stand-in data** (generated in the real data's format): compare the pattern "
                "with the paper's, not the values")
    return f"**real data** (source: {source})"


@dataclass(frozen=True)
class CheckSummary:
    """Counts of an acceptance table: ``passed`` of ``total`` checks; ``failed`` names."""

    passed: int
    total: int
    failed: tuple[str, ...]

    def __str__(self) -> str:
        text = f"{self.passed}/{self.total} pass"
        return text + (f"; FAIL: {', '.join(self.failed)}" if self.failed else "")


def check_summary(path: str | os.PathLike) -> CheckSummary:
    """Count the checks of a verdict CSV (the ``ALL`` row left out)."""
    frame = _read_csv(path)
    frame = frame[frame["name"].astype(str) != "ALL"]
    passed = frame["passed"].astype(str).str.lower().isin(["true", "1", "pass"])
    return CheckSummary(int(passed.sum()), len(frame),
                        tuple(frame.loc[~passed, "name"].astype(str)))


def hardware_labels(metrics: Iterable[str | os.PathLike]) -> list[str]:
    """The distinct hardware labels of run records (``timing.hardware``), sorted."""
    labels = set()
    for path in metrics:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        label = (record.get("timing") or {}).get("hardware")
        if label:
            labels.add(str(label))
    return sorted(labels)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_summary(experiments: Sequence[ExperimentResults], *, title: str | None = None) -> str:
    """The summary page (Markdown): an overview row per experiment, then per experiment its
    data source, hardware, acceptance checks and every reproduced table."""
    lines = [f"# {title or 'DeepSphere: the reproduced tables, the paper beside ours'}", "",
             "Generated by rule `paper_summary` (`rules/report.smk`) from the tables the "
             "experiments wrote; do not edit. Columns `*_paper` hold the paper's numbers, "
             "`*_ours` this run's; `–` marks a number one side does not have.", ""]
    if not experiments:
        return "\n".join(lines + ["No experiment with tables in this config.", ""])
    info = []
    for exp in experiments:
        checks = check_summary(exp.checks) if exp.checks else None
        hardware = hardware_labels(exp.metrics)
        info.append((exp, checks, hardware))
    lines += ["| experiment | data | acceptance checks | hardware of our runs |",
              "|---|---|---|---|"]
    for exp, checks, hardware in info:
        lines.append(f"| [{_cell(exp.title)}](#{_anchor(exp.title)}) | "
                     f"{_cell(data_kind(exp.source))} | "
                     f"{_cell(checks) if checks else 'none'} | "
                     f"{_cell('; '.join(hardware) or 'not recorded')} |")
    for exp, checks, hardware in info:
        lines += ["", f"## {exp.title}", "",
                  f"- data: {data_description(exp.source)}",
                  f"- hardware of our runs: {'; '.join(hardware) or _NO_HARDWARE}",
                  f"- acceptance checks: {checks if checks else 'none recorded'}", ""]
        if exp.checks:
            lines += [f"### {exp.title}: acceptance checks, {checks.passed}/{checks.total} pass",
                      "",
                      _checks_markdown(exp), ""]
        for table in exp.tables:
            lines += [table_markdown(table, levels=2)]
    return "\n".join(lines).rstrip() + "\n"


_NO_HARDWARE = "not recorded (no run record of this experiment holds a timing)"


def _anchor(title: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def _checks_markdown(exp: ExperimentResults) -> str:
    """The verdict table of the checks, pass / FAIL per row: the Markdown twin's body when there
    is one (the experiment's own wording), else rendered from the CSV."""
    if exp.checks_md:
        body = [line for line in Path(exp.checks_md).read_text(encoding="utf-8").splitlines()
                if not line.startswith("# ")]
        return "\n".join(body).strip()
    return to_markdown(_read_csv(exp.checks)).strip()


def write_summary(experiments: Sequence[ExperimentResults], path: str | os.PathLike,
                  **kwargs) -> str:
    """Render the summary and write it to ``path`` (atomically); returns the text."""
    text = render_summary(experiments, **kwargs)
    atomic_write_text(path, text)
    return text
