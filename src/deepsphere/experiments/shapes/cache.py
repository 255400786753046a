"""Projected datasets: one HDF5 file per split and setting, augmented copies as seeded draws.

A setting is the sampling grid, the rotation (``none``, ``z``, ``so3``), the maximum translation,
the number of augmented copies and the no-hit distance. Copy ``c`` of mesh ``i`` is projected
with its own generator seeded by ``derive_seed(seed, 11, i, c)``: independent draws, the same
on any machine and in any order. The file holds ``x`` ``(n_meshes * copies, n_pixels, 6)``
float32 (mesh ``i``'s copies at rows ``i * copies ...``), ``y`` (class index), ``mesh_index``,
``copy_index``, ``ids`` (the model ids or file stems), the setting as attributes, the meshes that
could not be read (``skipped``, when the config allows skipping) and a manifest of all of it
(``deepsphere.io.validation``) that :func:`load_projections` verifies.

Per-channel statistics come from the training split only (:func:`channel_statistics`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from deepsphere.experiments.shapes.projection import (
    CHANNELS,
    project_mesh,
    random_rotation,
    random_translation,
    sphere_grid,
)
from deepsphere.io.atomic import atomic_path
from deepsphere.io.validation import (
    MANIFEST_ATTR,
    ArrayDigest,
    CorruptFileError,
    array_entry,
    check_manifest,
    open_hdf5,
    read_manifest,
    write_manifest,
)
from deepsphere.training.seeds import derive_seed

__all__ = ["Projections", "channel_statistics", "load_projections", "project_split"]

log = logging.getLogger(__name__)
_SMALL = ("y", "mesh_index", "copy_index")


@dataclass(frozen=True)
class Projections:
    """A projected split: ``x`` ``(n, n_pixels, 6)`` float32, ``y``, ``mesh_index``,
    ``copy_index`` ``(n,)`` int64, ``ids`` (list of str, one per mesh), ``attrs`` (the setting)."""

    x: np.ndarray
    y: np.ndarray
    mesh_index: np.ndarray
    copy_index: np.ndarray
    ids: list
    attrs: dict


def _fix(path) -> str:
    return f"delete {path} and rerun (the projections are recomputed from the meshes)"


def project_split(
    meshes: Sequence[tuple[str, str | os.PathLike, int]],
    out_path: str | os.PathLike,
    *,
    sampling: dict,
    rotation: str,
    max_translation: float,
    copies: int,
    no_hit_distance: float,
    seed: int,
    skip_unreadable: bool = False,
    progress: bool = True,
) -> dict:
    """Project ``(id, path, class index)`` meshes into ``out_path``; returns a summary
    ``{"n_meshes", "n_rows", "skipped": [[path, reason], ...]}``.

    A mesh that cannot be read raises (naming the file) unless ``skip_unreadable``; then it is
    left out with a warning and listed in the file's ``skipped`` attribute and the summary.
    Nothing is written unless every kept mesh was projected.
    """
    from deepsphere.experiments.shapes.meshes import read_meshes

    if int(copies) < 1:
        raise ValueError(f"copies must be >= 1, got {copies!r}")
    grid = sphere_grid(sampling)
    read, skipped_meshes = read_meshes([path for _, path, _ in meshes],
                                       skip_unreadable=skip_unreadable)
    read = {str(path): (vertices, faces) for path, vertices, faces in read}
    kept = [(str(mesh_id), *read[str(Path(path))], int(label), str(path))
            for mesh_id, path, label in meshes if str(Path(path)) in read]
    skipped = [[str(path), problem] for path, problem in skipped_meshes]
    if not kept:
        raise ValueError(f"no readable mesh among the {len(meshes)} given for {out_path}")
    n_rows = len(kept) * int(copies)
    attrs = {"sampling": json.dumps(sampling, sort_keys=True), "rotation": rotation,
             "max_translation": float(max_translation), "copies": int(copies),
             "no_hit_distance": float(no_hit_distance), "seed": int(seed),
             "channels": json.dumps(CHANNELS), "skipped": json.dumps(skipped)}
    small = {"y": np.repeat([k[3] for k in kept], copies).astype(np.int64),
             "mesh_index": np.repeat(np.arange(len(kept)), copies).astype(np.int64),
             "copy_index": np.tile(np.arange(copies), len(kept)).astype(np.int64)}
    import h5py

    with atomic_path(out_path, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
        x = f.create_dataset("x", (n_rows, len(grid), len(CHANNELS)), dtype="float32",
                             chunks=(1, len(grid), len(CHANNELS)))
        digest = ArrayDigest(np.float32)
        jobs = [(i, c) for i in range(len(kept)) for c in range(int(copies))]
        for row, (i, c) in enumerate(tqdm(jobs, desc=f"project {Path(out_path).name}",
                                          unit="mesh", disable=not progress)):
            mesh_id, vertices, faces, _, path = kept[i]
            rng = np.random.default_rng(derive_seed(seed, 11, i, c))
            translation = random_translation(float(max_translation), rng)
            channels = project_mesh(vertices, faces, grid, rotation=random_rotation(rotation, rng),
                                    translation=translation, no_hit_distance=no_hit_distance,
                                    name=path)
            x[row] = channels
            digest.update(channels[None])
        for name, values in small.items():
            f[name] = values
        f["ids"] = np.array([k[0] for k in kept], dtype=h5py.string_dtype())
        f.attrs.update(attrs)
        write_manifest(f, {"x": array_entry(x, digest),
                           **{k: array_entry(v) for k, v in small.items()},
                           "n_meshes": len(kept), "attrs": attrs})
    if skipped:
        log.warning("%s: %d mesh(es) skipped (unreadable)", out_path, len(skipped))
    return {"n_meshes": len(kept), "n_rows": n_rows, "skipped": skipped}


def load_projections(path: str | os.PathLike) -> Projections:
    """Read a file written by :func:`project_split`, verified against its manifest."""
    with open_hdf5(path, fix=_fix(path)) as f:
        recorded = read_manifest(f, path, fix=_fix(path))
        absent = [k for k in ("x", "ids", *_SMALL) if k not in f]
        if absent:
            raise CorruptFileError(f"{path} lacks {absent}: not a projection file. "
                                   f"Fix: {_fix(path)}.")
        arrays = {k: f[k][:] for k in ("x", *_SMALL)}
        ids = [s.decode() if isinstance(s, bytes) else str(s) for s in f["ids"][:]]
        attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()
                 if k != MANIFEST_ATTR}
    actual = {**{k: array_entry(v) for k, v in arrays.items()}, "n_meshes": len(ids),
              "attrs": {k: attrs.get(k) for k in recorded.get("attrs", {})}}
    check_manifest(path, recorded, actual, fix=_fix(path))
    return Projections(arrays["x"], arrays["y"], arrays["mesh_index"], arrays["copy_index"], ids,
                       attrs)


def channel_statistics(train: Projections) -> dict:
    """Per-channel mean and std over every pixel of every training row (training split only:
    the originals mixed in other splits' statistics; we do not)."""
    x = train.x
    n, total, squares = 0, np.zeros(x.shape[-1]), np.zeros(x.shape[-1])
    for start in range(0, len(x), 256):  # float64 sums over row blocks: no float64 copy
        block = x[start:start + 256].astype(np.float64).reshape(-1, x.shape[-1])
        n += len(block)
        total += block.sum(axis=0)
    mean = total / n
    for start in range(0, len(x), 256):  # two passes: the variance about the mean is exact
        block = x[start:start + 256].astype(np.float64).reshape(-1, x.shape[-1])
        squares += ((block - mean) ** 2).sum(axis=0)
    std = np.sqrt(squares / n)
    if not (std > 0).all():
        flat = [CHANNELS[i] for i in np.flatnonzero(~(std > 0))]
        raise ValueError(f"channel(s) {flat} are constant over the training split: no hit at all? "
                         "Check the meshes and the projection setting.")
    return {"channels": list(CHANNELS), "mean": mean.tolist(), "std": std.tolist(),
            "n_rows": int(len(x))}
