"""Cosmo experiment: map preprocessing, the HDF5 patch cache and the training-only normalisation.

- :func:`preprocess_map`: mean removal, RING -> NEST, ud_grade, Gaussian smoothing (the steps and
  order of the original ``data_preprocess.py``).
- :func:`build_patch_cache` / :func:`load_patch_cache`: ``12 order^2`` NEST patches per map;
  NaN or infinite input pixels are refused before anything is written (:func:`check_maps_finite`),
  and the cache records a manifest (shapes, dtypes, SHA-256, counts) that every reader verifies.
- :func:`compute_normalisation` (training cache only), :func:`save_normalisation` (JSON),
  :func:`load_normalisation`, :func:`normalise` (train, validation and test alike).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import healpy as hp
import numpy as np
from tqdm import tqdm

from deepsphere.experiments.cosmo.sources import LABELS, map_nside
from deepsphere.geometry.sampling import (
    check_nside,
    healpix_patch_indexes,
    split_nest_map_into_patches,
)
from deepsphere.io.atomic import atomic_path, atomic_write_json
from deepsphere.io.validation import (
    ArrayDigest,
    CorruptFileError,
    NonFiniteError,
    array_entry,
    check_manifest,
    find_nonfinite,
    nonfinite_summary,
    open_hdf5,
    read_manifest,
    write_manifest,
)

__all__ = [
    "PatchSet",
    "preprocess_map",
    "check_maps_finite",
    "build_patch_cache",
    "load_patch_cache",
    "compute_normalisation",
    "save_normalisation",
    "load_normalisation",
    "normalise",
]


_DATASETS = ("x", "y", "map_index", "patch_index")
_META = ("nside", "order", "nest", "sigma_arcmin", "split", "source_files", "labels")


def preprocess_map(
    m_ring: np.ndarray, *, nside: int, sigma_arcmin: float, lmax: int | None = None
) -> np.ndarray:
    """One full-sky map -> the preprocessed NEST map.

    Args:
        m_ring: ``(12 nside_in^2,)`` map in RING order (any units).
        nside: output Nside (<= nside_in).
        sigma_arcmin: Gaussian smoothing sigma in arcmin (0: no smoothing); the beam is
            ``b_l = exp(-l (l + 1) sigma^2 / 2)``.
        lmax: band limit of the smoothing transform (default healpy's ``3 nside - 1``).

    Returns:
        float64 ``(12 nside^2,)`` NEST map: mean removed, reordered RING -> NEST, ud_graded
        (NEST, pixel averages) to ``nside``, smoothed (same steps and order as the original).
    """
    nside = check_nside(nside)
    if sigma_arcmin < 0:
        raise ValueError(f"sigma_arcmin={sigma_arcmin} must be >= 0 (0: no smoothing).")
    m = np.asarray(m_ring, dtype=np.float64)
    nside_in = hp.npix2nside(m.size)
    if nside > nside_in:
        raise ValueError(
            f"Cannot preprocess an Nside {nside_in} map to Nside {nside}: upgrading invents no "
            "information. Configure an nside <= the data's nside."
        )
    m = m - m.mean()
    m = hp.reorder(m, r2n=True)
    if nside != nside_in:
        m = hp.ud_grade(m, nside_out=nside, order_in="NESTED", order_out="NESTED")
    if sigma_arcmin > 0:
        # healpy's harmonic transforms work on RING maps: reorder explicitly around the smoothing.
        ring = hp.reorder(m, n2r=True)
        ring = hp.smoothing(ring, sigma=np.radians(sigma_arcmin / 60.0), lmax=lmax, nest=False)
        m = hp.reorder(ring, r2n=True)
    return m


def check_maps_finite(paths: Sequence[str | os.PathLike]) -> None:
    """Raise one :class:`~deepsphere.io.validation.NonFiniteError` naming every map file (and its
    index in ``paths``, the cache's ``map_index``) holding NaN or infinite pixels; reads by chunks."""
    bad = []
    for i, p in enumerate(paths):
        why = nonfinite_summary(np.load(p, mmap_mode="r", allow_pickle=False))
        if why:
            bad.append(f"  {p} (map index {i}): {why} (RING pixel)")
    if bad:
        raise NonFiniteError(
            f"{len(bad)} of {len(paths)} input maps hold NaN or infinite pixels; their patches "
            "would reach the network as a class of their own:\n" + "\n".join(bad) + "\n"
            "Nothing was written. Fix: replace these files with correct copies (unpack the "
            "archives again, or download or regenerate the data), then rerun."
        )


def _cache_fix(path) -> str:
    return f"delete {path} and rerun (the patch cache is rebuilt from the maps)"


def _manifest(datasets: dict, attrs: dict) -> dict:
    """What a cache holds: its datasets (shape, dtype, sha256), counts and metadata attributes."""
    files = attrs.get("source_files")
    return {"datasets": datasets, "n_maps": None if files is None else len(json.loads(files)),
            "n_patches": datasets["x"]["shape"][0], "attrs": {k: attrs.get(k) for k in _META}}


def build_patch_cache(
    maps: Sequence[tuple[str | os.PathLike, int]],
    out_path: str | os.PathLike,
    *,
    nside: int,
    order: int,
    sigma_arcmin: float,
    split: str,
    progress: bool = True,
) -> Path:
    """Preprocess maps and store their ``12 order^2`` NEST patches in one HDF5 file (atomic).

    Datasets: ``x`` float32 ``(n_maps * 12 order^2, 12 nside^2 / (12 order^2))`` (physical
    units, NOT normalised), ``y`` int64 labels, ``map_index`` and ``patch_index`` int64 (patch
    ``p`` of a map is the NEST pixel range of ``healpix_patch_indexes(nside, order, p)``).
    Attributes: ``nside``, ``order``, ``nest=True``, ``sigma_arcmin``, ``split``,
    ``source_files`` (JSON list of base names), ``labels`` (JSON tag list, index = label), and
    ``manifest`` (JSON: each dataset's shape, dtype and SHA-256, the map and patch counts and the
    other attributes), which :func:`load_patch_cache` verifies.

    Every input file is checked (readable, full sky, Nside >= ``nside``, no NaN or infinite
    pixel) before anything is written.
    """
    nside = check_nside(nside)
    healpix_patch_indexes(nside, order, 0, nest=True)  # validates order (clear ValueError)
    if split not in ("training", "testing"):
        raise ValueError(f"split={split!r} must be 'training' or 'testing'.")
    if not maps:
        raise ValueError("No maps given: list them with list_maps(directory).")
    paths = [Path(p) for p, _ in maps]
    for p in paths:
        nside_in = map_nside(p)
        if nside_in < nside:
            raise ValueError(f"{p}: Nside {nside_in} < configured nside {nside}; lower the nside.")
    check_maps_finite(paths)
    n_patches = 12 * order**2
    npix_patch = 12 * nside**2 // n_patches
    small = {
        "y": np.repeat(np.array([lab for _, lab in maps], dtype=np.int64), n_patches),
        "map_index": np.repeat(np.arange(len(maps), dtype=np.int64), n_patches),
        "patch_index": np.tile(np.arange(n_patches, dtype=np.int64), len(maps)),
    }
    attrs = dict(nside=nside, order=order, nest=True, sigma_arcmin=float(sigma_arcmin),
                 split=split, source_files=json.dumps([p.name for p in paths]),
                 labels=json.dumps([c.tag for c in LABELS]))
    digest = ArrayDigest(np.float32)
    with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as f:
        x = f.create_dataset("x", (len(maps) * n_patches, npix_patch), dtype="float32",
                             chunks=(1, npix_patch))
        for i, p in enumerate(tqdm(paths, desc=f"preprocess {split}", disable=not progress)):
            m = preprocess_map(np.load(p), nside=nside, sigma_arcmin=sigma_arcmin)
            patches = split_nest_map_into_patches(m, order).astype(np.float32)
            if why := nonfinite_summary(patches):
                raise NonFiniteError(f"{p} (map index {i}): preprocessing gave {why}; check the "
                                     "map's values (float32 overflow?). Nothing was written.")
            x[i * n_patches : (i + 1) * n_patches] = patches
            digest.update(patches)
        for name, values in small.items():
            f[name] = values
        f.attrs.update(attrs)
        datasets = {"x": array_entry(x, digest), **{k: array_entry(v) for k, v in small.items()}}
        write_manifest(f, _manifest(datasets, attrs))
    return Path(out_path)


@dataclass(frozen=True)
class PatchSet:
    """Patches read from a cache: ``x`` (n, npix_patch) float32, ``y``/``map_index``/
    ``patch_index`` (n,) int64, ``attrs`` (dict of the HDF5 attributes)."""

    x: np.ndarray
    y: np.ndarray
    map_index: np.ndarray
    patch_index: np.ndarray
    attrs: dict


def _open_cache(f, path) -> dict:
    """The recorded manifest of an open cache, after checking that its datasets exist."""
    recorded = read_manifest(f, path, fix=_cache_fix(path))
    absent = [k for k in _DATASETS if k not in f]
    if absent:
        raise CorruptFileError(f"{path} lacks the dataset(s) {absent} of a patch cache. "
                               f"Fix: {_cache_fix(path)}.")
    return recorded


def _nonfinite_error(path, row: int, why: str, map_index: int, patch: int, attrs: dict):
    files = json.loads(attrs.get("source_files", "[]"))
    name = files[map_index] if 0 <= map_index < len(files) else "?"
    return NonFiniteError(
        f"{path}: patch row {row} (map index {map_index}, {name}, patch {patch}) holds NaN or "
        f"infinite values ({why}). Fix: {_cache_fix(path)}; the rebuild refuses non-finite maps "
        "and names the file to replace."
    )


def load_patch_cache(path: str | os.PathLike) -> PatchSet:
    """Read a cache written by :func:`build_patch_cache` into memory, verified.

    A missing, truncated or corrupt file, a cache without a manifest, or one whose data or
    attributes differ from its manifest (the differing fields named) raise
    :class:`~deepsphere.io.validation.CorruptFileError` with the fix (delete it and rerun).
    """
    with open_hdf5(path, fix=_cache_fix(path)) as f:
        recorded = _open_cache(f, path)
        arrays = {k: f[k][:] for k in _DATASETS}
        attrs = dict(f.attrs)
    datasets = {k: array_entry(v) for k, v in arrays.items()}
    check_manifest(path, recorded, _manifest(datasets, attrs), fix=_cache_fix(path))
    if not attrs.get("nest", False):
        raise ValueError(f"{path}: not a NEST patch cache; rebuild it with build_patch_cache.")
    if found := find_nonfinite(arrays["x"]):
        row = found[2] // max(arrays["x"].shape[1], 1)
        raise _nonfinite_error(path, row, nonfinite_summary(arrays["x"][row]),
                               int(arrays["map_index"][row]), int(arrays["patch_index"][row]), attrs)
    return PatchSet(*(arrays[k] for k in _DATASETS), attrs)


# --------------------------------------------------------------------------- normalisation
def compute_normalisation(train_cache: str | os.PathLike) -> dict:
    """Pixel std (and mean) over ALL patches of the training cache, accumulated in float64.

    Refuses a cache whose ``split`` attribute is not ``"training"`` (the test data must never
    leak into the normalisation), a cache that does not match its manifest (as
    :func:`load_patch_cache`), and one holding NaN or infinite values (naming the patch and its
    map). Returns a JSON-able dict ``{"std", "mean", "n_pixels", "cache", "nside", "order",
    "sigma_arcmin"}``.
    """
    s1 = s2 = 0.0
    n = 0
    bad = None
    with open_hdf5(train_cache, fix=_cache_fix(train_cache)) as f:
        if f.attrs.get("split") != "training":
            raise ValueError(
                f"{train_cache} holds split={f.attrs.get('split')!r}: the normalisation must be "
                "computed on the training cache only."
            )
        recorded = _open_cache(f, train_cache)
        x = f["x"]
        digest = ArrayDigest(x.dtype)
        for i in range(x.shape[0]):
            row = x[i]
            digest.update(row)
            if bad is None and (why := nonfinite_summary(row)):
                bad = (i, why)
            row = row.astype(np.float64)
            s1 += row.sum()
            s2 += np.dot(row, row)
            n += row.size
        small = {k: f[k][:] for k in _DATASETS[1:]}
        attrs = dict(f.attrs)
    datasets = {"x": array_entry(x, digest), **{k: array_entry(v) for k, v in small.items()}}
    check_manifest(train_cache, recorded, _manifest(datasets, attrs),
                   fix=_cache_fix(train_cache))
    if bad is not None:
        row, why = bad
        raise _nonfinite_error(train_cache, row, why, int(small["map_index"][row]),
                               int(small["patch_index"][row]), attrs)
    mean = s1 / n
    std = float(np.sqrt(max(s2 / n - mean * mean, 0.0)))
    if not std > 0:
        raise ValueError(f"{train_cache}: the training data have zero variance (constant maps?).")
    return {"std": std, "mean": float(mean), "n_pixels": n, "cache": Path(train_cache).name,
            **{k: attrs[k].item() for k in ("nside", "order", "sigma_arcmin")}}


def save_normalisation(path: str | os.PathLike, stats: dict) -> Path:
    """Write the normalisation dict as JSON (atomically)."""
    return atomic_write_json(path, stats)


def load_normalisation(path: str | os.PathLike) -> dict:
    """Read a JSON written by :func:`save_normalisation`."""
    try:
        stats = json.loads(Path(path).read_text())
    except ValueError as err:  # truncated or edited by hand
        raise CorruptFileError(f"{path} is not valid JSON ({err}). Fix: delete it and rerun (it "
                               "is recomputed from the training cache).") from None
    if not isinstance(stats, dict) or not stats.get("std", 0) > 0:
        raise ValueError(f"{path}: no positive 'std'; recompute it with compute_normalisation.")
    return stats


def normalise(x: np.ndarray, stats: dict) -> np.ndarray:
    """``x / std`` as float32, with ``std`` from the TRAINING data (:func:`compute_normalisation`).

    As in the original, the mean is not subtracted: every map is already mean-free after
    :func:`preprocess_map`, so the training mean is ~0 (it is recorded for checking).
    """
    return (np.asarray(x, dtype=np.float64) / stats["std"]).astype(np.float32)
