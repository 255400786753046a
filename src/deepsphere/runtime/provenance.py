"""What produced a result: the config, package versions, the git commit, the hardware.

Every result file records it: metrics records (a ``provenance`` entry), tables (a footer in the
Markdown, the whole record in a ``<name>.provenance.json`` beside the CSV,
:func:`deepsphere.reporting.tables.write_table`) and figures (PNG text chunks,
:func:`deepsphere.reporting.figures.save_figure`).

The config is the job's: a workflow script runs inside :func:`recording` (through
:func:`deepsphere.workflow.logs.workflow_job`), and writers outside a workflow job record
``config: null``.

"Dirty" means that the *code* differs from the commit: tracked changes under
:data:`CODE_PATHS` only. A workflow run rewrites the committed ``results/``; counting those
would mark every result of a run from a clean checkout dirty (as our metrics records did up to
this change).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from deepsphere.runtime.hardware import hardware_label

__all__ = [
    "CODE_PATHS",
    "config_digest",
    "current_config",
    "git_commit",
    "git_state",
    "markdown_footer",
    "package_versions",
    "record",
    "recording",
]

# What the numbers depend on, relative to the repository root.
CODE_PATHS = ("src", "Snakefile", "rules", "scripts", "config", "envs", "profiles",
              "pyproject.toml", "requirements.lock")
PACKAGES = ("deepsphere", "keras", "tensorflow", "jax", "jaxlib", "numpy", "scipy",
            "scikit-learn", "healpy", "pygsp", "snakemake")

_job: dict[str, Any] = {}


def _git(where: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True,
                          timeout=10, check=True).stdout


def git_state(path: str | os.PathLike | None = None) -> dict:
    """``{"commit": sha | None, "dirty": bool | None, "changed": [paths]}`` of the repository
    holding ``path`` (default: this package). ``changed`` lists (up to 20) tracked files under
    :data:`CODE_PATHS` that differ from the commit; None values outside a repository."""
    where = Path(path) if path is not None else Path(__file__).resolve().parent
    try:
        commit = _git(where, "rev-parse", "HEAD").strip()
        status = _git(where, "status", "--porcelain", "--untracked-files=no", "--",
                      *(f":(top){p}" for p in CODE_PATHS))
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None, "changed": []}
    changed = [line[3:] for line in status.splitlines() if line.strip()]
    return {"commit": commit or None, "dirty": bool(changed), "changed": changed[:20]}


def git_commit(path: str | os.PathLike | None = None) -> str:
    """``<sha>``, ``<sha>+dirty`` (code changed, see :func:`git_state`) or ``"unknown"``."""
    state = git_state(path)
    if not state["commit"]:
        return "unknown"
    return state["commit"] + ("+dirty" if state["dirty"] else "")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict:
    """Python's and the packages' versions (None when not installed)."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def config_digest(config: Mapping | None) -> str | None:
    """SHA-256 of the config as canonical JSON (sorted keys): equal configs, equal digests."""
    if config is None:
        return None
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@contextlib.contextmanager
def recording(config: Mapping | None, *, rule: str | None = None) -> Iterator[None]:
    """Within the block, :func:`record` holds ``config`` (a workflow job's config) and
    ``rule``. Nested blocks restore the outer ones."""
    previous = dict(_job)
    _job.clear()
    _job.update(config=json.loads(json.dumps(dict(config), default=str))
                if config is not None else None, rule=rule)
    try:
        yield
    finally:
        _job.clear()
        _job.update(previous)


def current_config() -> dict | None:
    """The config of the workflow job this process runs (None outside :func:`recording`)."""
    return _job.get("config")


def record(*, config: Mapping | None = None) -> dict:
    """JSON-able provenance: ``config`` (default: the current job's) and its digest, the rule,
    package versions, the git commit and dirty state, the hardware label and the platform."""
    config = current_config() if config is None else dict(config)
    git = git_state()
    return {
        "rule": _job.get("rule"),
        "config": config,
        "config_sha256": config_digest(config),
        "versions": package_versions(),
        "git_commit": git["commit"],
        "git_dirty": git["dirty"],
        "git_changed": git["changed"],
        "hardware": hardware_label(),
        "platform": platform.platform(),
    }


def markdown_footer(rec: Mapping, *, sidecar: str | None = None) -> str:
    """One line (a Markdown note) summarising ``rec`` (commit, versions, hardware, config digest)."""
    versions = rec.get("versions", {})
    shown = ", ".join(f"{name} {versions[name]}" for name in
                      ("deepsphere", "keras", "tensorflow", "numpy") if versions.get(name))
    commit = (rec.get("git_commit") or "unknown")[:12]
    state = {True: "modified code", False: "clean", None: "no repository"}[rec.get("git_dirty")]
    digest = rec.get("config_sha256")
    parts = [f"git {commit} ({state})", f"Python {versions.get('python')}, {shown}",
             f"hardware: {rec.get('hardware')}",
             f"config sha256 {digest[:12]}" if digest else "no workflow config"]
    where = f"; full record in `{sidecar}`" if sidecar else ""
    return "produced by: " + "; ".join(parts) + where
