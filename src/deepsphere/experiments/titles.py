"""Experiments' display names, for the Snakefile's report rules (never imported by a job: it
imports the experiment packages by name)."""

from __future__ import annotations

import importlib


def experiment_title(name: str) -> str:
    """An experiment's display name (report category, summary section): the ``TITLE`` of its
    package ``deepsphere.experiments.<name>``, else its name capitalised."""
    try:
        package = importlib.import_module(f"deepsphere.experiments.{name}")
    except ImportError:
        return name.capitalize()
    return getattr(package, "TITLE", name.capitalize())
