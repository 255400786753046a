"""The table of a user's maps: one CSV row per map, with its file(s), its target(s) and,
optionally, its split. Every problem is found before any map is read and reported at once,
naming the file, the column and the row (its line in the CSV).

Columns (names set in the config):

- the file column (``maps.file_column``, default ``file``): the map file, relative to the maps
  folder; or, with per-channel files (``maps.channels: {pattern, names}``), the map's id that
  the pattern turns into one file per channel (``"{id}_{channel}.fits"``);
- the target column(s) (``maps.target``): a label (classification), one or several numbers
  (regression), or the file of the map's per-pixel label map (segmentation);
- the split column (``maps.split_column``, optional): ``train``, ``val`` or ``test``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["SPLITS", "MapTable", "read_table"]

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class MapTable:
    """The rows of a maps table.

    ``ids`` ``(n,)`` the file column's values; ``files`` the map file(s) of each row (one per
    channel file); ``targets``: classification ``(n,)`` class indexes into ``class_names``,
    regression ``(n, T)`` float64 in the order of ``target_names``, segmentation None;
    ``label_files`` (segmentation) the label map of each row; ``split`` ``(n,)`` of
    :data:`SPLITS` values, or None (the workflow draws one).
    """

    path: str
    ids: list[str]
    files: list[list[str]]
    target_names: list[str]
    targets: np.ndarray | None
    class_names: list[str]
    label_files: list[str] | None
    split: np.ndarray | None


def _line(index) -> int:
    return int(index) + 2  # the header is line 1


def _files_of(ids, folder: Path, channels) -> list[list[Path]]:
    if isinstance(channels, Mapping):
        pattern, names = channels["pattern"], list(channels["names"])
        return [[folder / pattern.format(id=i, channel=c) for c in names] for i in ids]
    return [[folder / i] for i in ids]


def read_table(path: str | os.PathLike, *, folder: str | os.PathLike, task: str,
               target: str | Sequence[str], file_column: str = "file",
               split_column: str | None = None, channels=None) -> MapTable:
    """Read and check the maps table (see the module docstring); one ``ValueError`` lists
    every problem found."""
    import pandas as pd

    path, folder = Path(path), Path(folder)
    if not path.is_file():
        raise ValueError(f"maps.table: {path}: no such file")
    if not folder.is_dir():
        raise ValueError(f"maps.folder: {folder}: no such folder")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as err:
        raise ValueError(f"maps.table: {path}: not a readable CSV ({err})") from err
    targets = [target] if isinstance(target, str) else list(target)
    problems = []
    wanted = {"maps.file_column": [file_column], "maps.target": targets,
              "maps.split_column": [split_column] if split_column else []}
    for key, columns in wanted.items():
        for column in columns:
            if column not in frame.columns:
                problems.append(f"no column {column!r} ({key}); its columns are "
                                f"{list(frame.columns)}")
    if problems:
        raise ValueError(f"maps.table: {path}: " + "; ".join(problems))
    if frame.empty:
        raise ValueError(f"maps.table: {path}: no rows")
    ids = frame[file_column].str.strip().tolist()
    for index, value in enumerate(ids):
        if not value:
            problems.append(f"line {_line(index)}: empty {file_column!r}")
    seen = pd.Series(ids)
    for value in seen[seen.duplicated() & (seen != "")].unique()[:5]:
        problems.append(f"{file_column!r} {value!r} appears on several lines")

    values, class_names, label_files = None, [], None
    if task == "regression":
        numbers = frame[targets].apply(pd.to_numeric, errors="coerce")
        for column in targets:
            bad = numbers[column].isna() | ~np.isfinite(numbers[column].fillna(0))
            for index in np.flatnonzero(bad)[:5]:
                problems.append(f"line {_line(index)}: {column!r} is "
                                f"{frame[column].iloc[index]!r}, not a number (regression "
                                "targets must be numeric)")
        values = numbers.to_numpy(np.float64)
    elif task == "classification":
        if len(targets) != 1:
            problems.append(f"classification takes one label column, got {targets}")
        labels = frame[targets[0]].str.strip()
        for index in np.flatnonzero(labels == "")[:5]:
            problems.append(f"line {_line(index)}: empty label {targets[0]!r}")
        class_names = sorted(set(labels) - {""})
        if len(class_names) < 2:
            problems.append(f"{targets[0]!r} has {len(class_names)} class(es) {class_names}: "
                            "classification needs at least 2")
        index_of = {name: i for i, name in enumerate(class_names)}
        values = np.array([index_of.get(v, -1) for v in labels], dtype=np.int64)
    elif task == "segmentation":
        if len(targets) != 1:
            problems.append(f"segmentation takes one column of label-map files, got {targets}")
        label_files = [str(folder / v.strip()) for v in frame[targets[0]]]
    else:
        raise ValueError(f"maps.task: got {task!r}; use classification, regression or "
                         "segmentation")

    split = None
    if split_column:
        split = frame[split_column].str.strip().str.lower().to_numpy()
        for index in np.flatnonzero(~np.isin(split, SPLITS))[:5]:
            problems.append(f"line {_line(index)}: split {frame[split_column].iloc[index]!r} "
                            f"is not one of {list(SPLITS)}")
        for name in SPLITS:
            if not np.any(split == name):
                problems.append(f"the {name!r} split has no maps ({split_column!r})")

    files = _files_of(ids, folder, channels)
    wanted_files = [f for row in files for f in row] + [Path(f) for f in label_files or []]
    missing = [str(f) for f in wanted_files if not f.is_file()]
    if missing:
        problems.append(f"{len(missing)} listed file(s) do not exist in {folder}: "
                        f"{missing[:5]}{' ...' if len(missing) > 5 else ''}")
    if problems:
        raise ValueError(f"maps.table: {path}:\n  " + "\n  ".join(problems))
    return MapTable(str(path), ids, [[str(f) for f in row] for row in files], targets, values,
                    class_names, label_files, split)
