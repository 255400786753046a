"""Cosmo experiment: map preprocessing, the HDF5 patch cache and the training-only normalisation.

- :func:`preprocess_map`: mean removal, RING -> NEST, ud_grade, Gaussian smoothing (the steps and
  order of the original ``data_preprocess.py``).
- :func:`build_patch_cache` / :func:`load_patch_cache`: ``12 order^2`` NEST patches per map.
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

__all__ = [
    "PatchSet",
    "preprocess_map",
    "build_patch_cache",
    "load_patch_cache",
    "compute_normalisation",
    "save_normalisation",
    "load_normalisation",
    "normalise",
]


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
    ``source_files`` (JSON list of base names), ``labels`` (JSON tag list, index = label).

    Every input file is checked (readable, full sky, Nside >= ``nside``) before any work.
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
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    n_patches = 12 * order**2
    npix_patch = 12 * nside**2 // n_patches
    tmp = out_path.with_name(out_path.name + ".tmp")
    try:
        with h5py.File(tmp, "w") as f:
            x = f.create_dataset("x", (len(maps) * n_patches, npix_patch), dtype="float32",
                                 chunks=(1, npix_patch))
            for i, p in enumerate(tqdm(paths, desc=f"preprocess {split}", disable=not progress)):
                m = preprocess_map(np.load(p), nside=nside, sigma_arcmin=sigma_arcmin)
                x[i * n_patches : (i + 1) * n_patches] = split_nest_map_into_patches(m, order)
            f["y"] = np.repeat(np.array([lab for _, lab in maps], dtype=np.int64), n_patches)
            f["map_index"] = np.repeat(np.arange(len(maps), dtype=np.int64), n_patches)
            f["patch_index"] = np.tile(np.arange(n_patches, dtype=np.int64), len(maps))
            f.attrs.update(
                nside=nside, order=order, nest=True, sigma_arcmin=float(sigma_arcmin),
                split=split, source_files=json.dumps([p.name for p in paths]),
                labels=json.dumps([c.tag for c in LABELS]),
            )
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return out_path


@dataclass(frozen=True)
class PatchSet:
    """Patches read from a cache: ``x`` (n, npix_patch) float32, ``y``/``map_index``/
    ``patch_index`` (n,) int64, ``attrs`` (dict of the HDF5 attributes)."""

    x: np.ndarray
    y: np.ndarray
    map_index: np.ndarray
    patch_index: np.ndarray
    attrs: dict


def load_patch_cache(path: str | os.PathLike) -> PatchSet:
    """Read a cache written by :func:`build_patch_cache` into memory."""
    with h5py.File(path, "r") as f:
        if not f.attrs.get("nest", False):
            raise ValueError(f"{path}: not a NEST patch cache; rebuild it with build_patch_cache.")
        return PatchSet(f["x"][:], f["y"][:], f["map_index"][:], f["patch_index"][:],
                        dict(f.attrs))


# --------------------------------------------------------------------------- normalisation
def compute_normalisation(train_cache: str | os.PathLike) -> dict:
    """Pixel std (and mean) over ALL patches of the training cache, accumulated in float64.

    Refuses a cache whose ``split`` attribute is not ``"training"``: the test data must never
    leak into the normalisation. Returns a JSON-able dict ``{"std", "mean", "n_pixels",
    "cache", "nside", "order", "sigma_arcmin"}``.
    """
    s1 = s2 = 0.0
    n = 0
    with h5py.File(train_cache, "r") as f:
        if f.attrs.get("split") != "training":
            raise ValueError(
                f"{train_cache} holds split={f.attrs.get('split')!r}: the normalisation must be "
                "computed on the training cache only."
            )
        x = f["x"]
        for i in range(x.shape[0]):
            row = x[i].astype(np.float64)
            s1 += row.sum()
            s2 += np.dot(row, row)
            n += row.size
        attrs = {k: f.attrs[k].item() for k in ("nside", "order", "sigma_arcmin")}
    mean = s1 / n
    std = float(np.sqrt(max(s2 / n - mean * mean, 0.0)))
    if not std > 0:
        raise ValueError(f"{train_cache}: the training data have zero variance.")
    return {"std": std, "mean": float(mean), "n_pixels": n, "cache": Path(train_cache).name,
            **attrs}


def save_normalisation(path: str | os.PathLike, stats: dict) -> Path:
    """Write the normalisation dict as JSON (atomically)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def load_normalisation(path: str | os.PathLike) -> dict:
    """Read a JSON written by :func:`save_normalisation`."""
    stats = json.loads(Path(path).read_text())
    if not stats.get("std", 0) > 0:
        raise ValueError(f"{path}: no positive 'std'; recompute it with compute_normalisation.")
    return stats


def normalise(x: np.ndarray, stats: dict) -> np.ndarray:
    """``x / std`` as float32, with ``std`` from the TRAINING data (:func:`compute_normalisation`).

    As in the original, the mean is not subtracted: every map is already mean-free after
    :func:`preprocess_map`, so the training mean is ~0 (it is recorded for checking).
    """
    return (np.asarray(x, dtype=np.float64) / stats["std"]).astype(np.float32)
