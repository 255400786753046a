"""The one loader of the paper's numbers.

Every experiment (and the geometry, for the kernel-width table) keeps the numbers it is
compared against as CSV files in a ``paper/`` folder of its package, with their source in the
file's own columns or in the docstring of the function that reads it. No paper number lives as
a Python constant.
"""

from __future__ import annotations

import functools
import importlib.resources

import pandas as pd

__all__ = ["paper_numbers", "paper_numbers_path"]


def paper_numbers_path(package: str, name: str):
    """The packaged file ``<package>/paper/<name>.csv`` (an importlib.resources Traversable)."""
    path = importlib.resources.files(package).joinpath("paper", f"{name}.csv")
    if not path.is_file():
        raise FileNotFoundError(
            f"no paper numbers '{name}' for {package}: expected {package}/paper/{name}.csv "
            "(is the package installed with its data files?)"
        )
    return path


@functools.cache
def _read(package: str, name: str) -> pd.DataFrame:
    with paper_numbers_path(package, name).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)


def paper_numbers(package: str, name: str) -> pd.DataFrame:
    """The paper's numbers ``<package>/paper/<name>.csv`` as a frame (a fresh copy per call)."""
    return _read(package, name).copy()
