"""The dataset of a user's maps: every map read, checked, downgraded and cut to the observed
sky, the splits drawn, the normalisation measured on the training maps; written as one HDF5
file (with its manifest) and the ``inputs.json`` that training and prediction read.

Every map problem (an unreadable file, mixed nsides, a missing value inside the mask) is
collected over all maps and raised as one error before anything is written.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepsphere.experiments.maps.files import (
    downgrade_labels_nest,
    downgrade_nest,
    read_healpix_file,
)
from deepsphere.experiments.maps.sky import check_observed
from deepsphere.training.seeds import derive_seed

__all__ = ["SPLIT_CODES", "MapArrays", "assign_splits", "build_dataset", "cut", "load_dataset",
           "read_maps", "to_patches"]

SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
_TAG = 13
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MapArrays:
    """The maps of a table at the model's nside: ``x`` ``(n_maps, C, V)`` float32 on the
    observed pixels (or the whole sky), ``labels`` ``(n_maps, V)`` int64 (segmentation) or
    None, ``nside`` of the files and ``notes`` for the log."""

    x: np.ndarray
    labels: np.ndarray | None
    nside_files: int
    notes: list[str]


def cut(maps: np.ndarray, observed: np.ndarray | None) -> np.ndarray:
    """``(..., 12 nside^2)`` NEST maps to the observed pixels ``(..., V)`` (all: unchanged)."""
    return maps if observed is None else maps[..., observed]


def read_maps(files, nside_model: int, observed: np.ndarray | None, *, channels=None,
              ordering=None, label_files=None, progress: bool = False) -> MapArrays:
    """Read every row's file(s) (:func:`~deepsphere.experiments.maps.files.read_healpix_file`),
    check the observed pixels, downgrade to ``nside_model`` and cut; one error lists every
    problem (see the module docstring)."""
    from tqdm import tqdm

    per_file_channels = None if isinstance(channels, Mapping) else channels
    problems, first, x, labels = [], None, [], []
    for row, paths in enumerate(tqdm(files, desc="read maps", disable=not progress)):
        parts = []
        for path in paths:
            try:
                read = read_healpix_file(path, channels=per_file_channels, ordering=ordering)
                if first is None:
                    first = read
                if read.nside != first.nside:
                    raise ValueError(f"{path}: nside {read.nside}, but {first.path} has nside "
                                     f"{first.nside}: every map must have the same nside")
                check_observed(read, observed, nside_model)
                parts.append(read.maps)
            except ValueError as err:
                problems.append(str(err))
        if len(parts) == len(paths) and not problems:
            maps = np.concatenate(parts)
            if first.nside != nside_model:
                maps = downgrade_nest(maps, nside_model)
            x.append(cut(maps, observed).astype(np.float32))
        if label_files is not None and not problems:
            try:
                lab = read_healpix_file(label_files[row], ordering=ordering)
                values = lab.maps[0]
                if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
                    raise ValueError(f"{label_files[row]}: a label map holds integers only")
                ints = values.astype(np.int64)
                if lab.nside != nside_model:
                    ints = downgrade_labels_nest(ints, nside_model)
                labels.append(cut(ints, observed))
            except ValueError as err:
                problems.append(str(err))
        if len(problems) >= 20:
            break
    if problems:
        raise ValueError(f"{len(problems)} problem(s) with the maps (nothing was written):\n  "
                         + "\n  ".join(problems))
    notes = []
    if first.nside != nside_model:
        notes.append(f"the maps (nside {first.nside}) were downgraded to nside {nside_model} "
                     "(mean of the NEST children, UNSEEN if one is missing)")
    return MapArrays(np.stack(x), np.stack(labels) if label_files is not None else None,
                     first.nside, notes)


def assign_splits(n: int, *, given=None, labels=None, fractions: Mapping, seed: int
                  ) -> np.ndarray:
    """The split code (:data:`SPLIT_CODES`) of each of ``n`` maps: the table's, or drawn with
    :func:`deepsphere.training.splits.stratified_split` (seeded; stratified by class when
    ``labels`` are given): first the test maps, then the validation maps of the rest. Every
    split of every class gets at least one map, else the error names the class."""
    if given is not None:
        return np.array([SPLIT_CODES[s] for s in given], dtype=np.int8)
    from deepsphere.training.splits import stratified_split

    labels = np.zeros(n, np.int64) if labels is None else np.asarray(labels)
    test, val = float(fractions["test"]), float(fractions["val"])
    if test + val >= 1:
        raise ValueError(f"maps.split: val {val} + test {test} leave no training maps")
    try:
        rest, test_idx = stratified_split(labels, test, derive_seed(seed, _TAG, 2))
        train_idx, val_idx = stratified_split(labels[rest], val / (1 - test),
                                              derive_seed(seed, _TAG, 3))
    except ValueError as err:
        raise ValueError(f"maps.split: {n} maps cannot be split into train, val ({val}) and "
                         f"test ({test}): {err}") from None
    codes = np.zeros(n, dtype=np.int8)
    codes[test_idx] = SPLIT_CODES["test"]
    codes[rest[val_idx]] = SPLIT_CODES["val"]
    return codes


def to_patches(x: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Full-sky NEST maps ``(n, C, 12 nside^2)`` to their ``12 order^2`` patches ``(n * P, C,
    V')`` (map by map; patch ``p`` holds the NEST pixels ``p V' .. (p + 1) V' - 1``) and the map
    of each row."""
    from deepsphere.geometry.sampling import split_nest_map_into_patches

    parts = split_nest_map_into_patches(np.moveaxis(x, 2, 0), order)  # (P, V', n, C)
    n_patches, n_pixels = parts.shape[:2]
    rows = np.ascontiguousarray(np.transpose(parts, (2, 0, 3, 1))).reshape(-1, x.shape[1],
                                                                             n_pixels)
    return rows, np.repeat(np.arange(len(x)), n_patches)


def _stats(x: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of ``(n, C, V)`` (float64 sums)."""
    mean = x.mean(axis=(0, 2), dtype=np.float64)
    std = x.std(axis=(0, 2), dtype=np.float64)
    return mean.tolist(), np.where(std > 0, std, 1.0).tolist()


def build_dataset(table, *, task: str, nside_model: int, observed, patches: int | None,
                  channels, ordering, fractions: Mapping, seed: int, out_h5, out_json,
                  progress: bool = True) -> dict:
    """Read the maps of ``table`` (a :class:`~deepsphere.experiments.maps.table.MapTable`),
    write ``out_h5`` (``x`` ``(n, C, V)`` float32, ``y``, ``split``, ``map_index``) and
    ``out_json`` (what prediction needs to treat new maps the same way). Returns the info."""
    import h5py

    from deepsphere.io.atomic import atomic_path, atomic_write_json
    from deepsphere.io.validation import array_entry, write_manifest

    arrays = read_maps(table.files, nside_model, observed, channels=channels,
                       ordering=ordering, label_files=table.label_files, progress=progress)
    for note in arrays.notes:
        log.info(note)
    split = assign_splits(len(table.ids), given=table.split, fractions=fractions, seed=seed,
                          labels=table.targets if task == "classification" else None)
    x, y = arrays.x, arrays.labels if task == "segmentation" else table.targets
    map_index = np.arange(len(x))
    if patches:
        if observed is not None:
            raise ValueError("maps.sky: patches and a mask exclude each other")
        x, map_index = to_patches(x, patches)
        n_patches = 12 * patches**2
        y, split = np.repeat(y, n_patches, axis=0), np.repeat(split, n_patches)
    train = split == SPLIT_CODES["train"]
    mean, std = _stats(x[train])
    info = {"task": task, "nside": int(nside_model), "nest": True, "nside_files": arrays.nside_files,
            "observed": None if observed is None else [int(p) for p in observed],
            "patches": patches, "channels": _channel_names(channels, x.shape[1]),
            "class_names": list(table.class_names), "target_names": list(table.target_names),
            "channel_mean": mean, "channel_std": std, "notes": arrays.notes,
            "counts": {name: int(np.sum(split == code)) for name, code in SPLIT_CODES.items()}}
    if task == "regression":
        info["target_offset"] = y[train].mean(axis=0).tolist()
        info["target_scale"] = np.where(y[train].std(axis=0) > 0, y[train].std(axis=0),
                                        1.0).tolist()
    datasets = {"x": x, "y": np.asarray(y), "split": split, "map_index": map_index}
    with atomic_path(out_h5) as tmp, h5py.File(tmp, "w") as f:
        for name, values in datasets.items():
            f[name] = values
        f.attrs["ids"] = json.dumps(list(table.ids))
        write_manifest(f, {"datasets": {k: array_entry(v) for k, v in datasets.items()},
                           "ids": list(table.ids)})
    atomic_write_json(Path(out_json), info)
    return info


def _channel_names(channels, n: int) -> list[str]:
    if isinstance(channels, Mapping):
        return [str(c) for c in channels["names"]]
    return [str(c) for c in channels] if channels else [str(i) for i in range(n)]


def load_dataset(path: str | os.PathLike) -> dict:
    """The arrays of :func:`build_dataset`'s file, verified against its manifest."""
    from deepsphere.io.validation import array_entry, check_manifest, open_hdf5, read_manifest

    with open_hdf5(path) as f:
        recorded = read_manifest(f, path)
        arrays = {k: f[k][:] for k in ("x", "y", "split", "map_index")}
        ids = json.loads(f.attrs["ids"])
    check_manifest(path, recorded, {"datasets": {k: array_entry(v) for k, v in arrays.items()},
                                    "ids": ids})
    return {**arrays, "ids": ids}
