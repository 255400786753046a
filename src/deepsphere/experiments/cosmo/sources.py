"""Cosmo experiment data: source, class labels, unpacking, map preprocessing, patch cache.

The data (Perraudin et al. 2019; Zenodo record 1303272, gated) are full-sky weak-lensing
convergence maps stored as ``.npy`` HEALPix maps in RING order, one map per file, in
``training/`` (20 maps per class) and ``testing/`` (10 maps per class). The file name says the
cosmology: ``0p26`` (Omega_m = 0.26, sigma_8 = 0.91) or ``0p31`` (Omega_m = 0.31, sigma_8 = 0.82).

Pipeline (one code path for the real data and the stand-in data of :mod:`.cosmo_standin`):

1. :func:`fetch_cosmo` (checksummed download, or manual placement) and :func:`deepsphere.io.archives.unpack_archives`.
2. :func:`list_maps` -> ``[(path, label), ...]`` (labels from :data:`LABELS`).
3. :mod:`.cosmo_preprocess`: per-map preprocessing, the HDF5 patch cache, the normalisation.
4. :mod:`.cosmo_noise`: noise and the train/validation split; :mod:`.cosmo_baselines`: PSD and
   histogram features, the linear SVM, 2-D patch images; :mod:`.cosmo_standin`: stand-in data.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepsphere.geometry.sampling import check_nside
from deepsphere.io.download import Source, fetch_all, verify_files

__all__ = [
    "CosmoClass",
    "LABELS",
    "MANUAL_DIR",
    "RECORD_PAGE",
    "SOURCES",
    "fetch_cosmo",
    "label_from_filename",
    "list_maps",
    "map_nside",
    "verify_cosmo",
]

# --------------------------------------------------------------------------- source
RECORD_PAGE = "https://zenodo.org/record/1303272"
MANUAL_DIR = Path("data/manual/cosmo")  # default of config cosmo.zenodo.manual_dir
_ACCESS = (
    "The cosmo maps are gated: log in to Zenodo and request access to record 1303272 "
    "from its authors (the ETHZ cosmology group, Perraudin et al. 2019) on its page"
)


def _zenodo(name: str) -> tuple[str, ...]:
    return (f"{RECORD_PAGE}/files/{name}?download=1",)


SOURCES: tuple[Source, ...] = tuple(
    Source(name, _zenodo(name), f"md5:{md5}", gated=True, instructions=_ACCESS, page=RECORD_PAGE)
    for name, md5 in [
        ("README.md", "6f52f6c2d8270907e7bc6bb852666b6f"),
        ("training.zip", "6b0f5072481397fa8842ef99524b5482"),
        ("testing.zip", "62757429ebb0a257c3d54775e08c9512"),
    ]
)


def fetch_cosmo(
    raw_dir: str | os.PathLike,
    *,
    manual_dir: str | os.PathLike = MANUAL_DIR,
    sources: Sequence[Source] = SOURCES,
    **fetch_kwargs,
) -> dict[str, Path]:
    """Make ``raw_dir`` hold verified README.md, training.zip and testing.zip; return ``{name: path}``.

    Args:
        raw_dir: where the verified files end up (the download rule's outputs, which Snakemake
            deletes when the job fails: never a place for files put by hand).
        manual_dir: where a person puts the files by hand (config ``cosmo.zenodo.manual_dir``).
            A file found there is verified against its checksum and hard-linked (or copied)
            into ``raw_dir`` without network; nothing ever writes or deletes in this folder.
        sources: the files (default :data:`SOURCES`, the Zenodo record; tests pass a local server).
        fetch_kwargs: passed to :func:`deepsphere.io.download.fetch` (``retries``, ``timeout``, ...).

    Every file is tried, then one error covers all that are still missing, each with its path in
    ``manual_dir``, size and checksum: :class:`~deepsphere.io.download.ManualDownloadRequired`
    when the record refused them all (gated), :class:`~deepsphere.io.download.RetryableDownloadError`
    when some failure was temporary. No partial file is left under a final name in ``raw_dir``.
    """
    paths = fetch_all(sources, raw_dir, manual_dir=manual_dir, **fetch_kwargs)
    return {s.name: p for s, p in zip(sources, paths, strict=True)}


def verify_cosmo(raw_dir: str | os.PathLike, sources: Sequence[Source] = SOURCES) -> list[Path]:
    """Check the downloaded files' checksums in ``raw_dir`` (no network); return their paths."""
    return verify_files(sources, raw_dir)


# --------------------------------------------------------------------------- labels
@dataclass(frozen=True)
class CosmoClass:
    """One cosmological model: the tag in the file names and its parameters."""

    tag: str
    omega_m: float
    sigma_8: float

    @property
    def description(self) -> str:
        return f"Omega_m={self.omega_m}, sigma_8={self.sigma_8}"


# The one place where labels are defined. As in the original code (data_preprocess.py),
# 0p26 -> label 0 ("class1") and 0p31 -> label 1. (The original notebooks' PSD plot swapped
# the two captions; use LABELS[i].description for captions and this cannot happen.)
LABELS: tuple[CosmoClass, ...] = (
    CosmoClass("0p26", omega_m=0.26, sigma_8=0.91),
    CosmoClass("0p31", omega_m=0.31, sigma_8=0.82),
)


def label_from_filename(name: str) -> int:
    """Label (index into :data:`LABELS`) from a map file name containing exactly one class tag."""
    found = [i for i, c in enumerate(LABELS) if c.tag in Path(name).name]
    if len(found) != 1:
        tags = " or ".join(repr(c.tag) for c in LABELS)
        what = "both" if found else "neither"
        raise ValueError(
            f"Cannot tell the cosmology of {name!r}: its name contains {what} of {tags}. "
            "Map file names must contain exactly one of them (0p26: Omega_m=0.26, "
            "0p31: Omega_m=0.31); rename the file or remove it from the directory."
        )
    return found[0]


# --------------------------------------------------------------------------- listing / reading
def map_nside(path: str | os.PathLike) -> int:
    """Nside of a full-sky ``.npy`` map, from its header only (array of shape ``(12 nside^2,)``).

    Raises ``ValueError`` naming the file unless it is a 1-D real array whose length is
    ``12 nside^2`` with ``nside`` a power of 2 (needed for NEST ordering).
    """
    try:
        m = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as err:
        raise ValueError(f"{path}: not a readable .npy array ({err}).") from None
    if m.ndim != 1 or not np.issubdtype(m.dtype, np.floating):
        raise ValueError(
            f"{path}: expected one full-sky HEALPix map, a 1-D float array of 12 nside^2 values; "
            f"got shape {m.shape}, dtype {m.dtype}. Store one map per .npy file."
        )
    npix = m.shape[0]
    nside = int(round(np.sqrt(npix / 12)))
    if 12 * nside * nside != npix:
        raise ValueError(f"{path}: {npix} values is not 12 nside^2 for any nside (not a full map).")
    try:
        return check_nside(nside)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def list_maps(
    directory: str | os.PathLike, *, expected_per_class: int | None = None
) -> list[tuple[Path, int]]:
    """All ``*.npy`` maps in ``directory`` with their labels, sorted by (label, file name).

    Raises ``ValueError`` if a name has no (or both) class tags, if a class has no map, or if
    ``expected_per_class`` is given (the real data: 20 training, 10 testing) and not met.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory: unpack the archives first.")
    files = sorted(directory.glob("*.npy"))
    maps = sorted(((p, label_from_filename(p.name)) for p in files), key=lambda t: (t[1], t[0].name))
    present = {label for _, label in maps}
    missing = [c for i, c in enumerate(LABELS) if i not in present]
    if missing:
        raise ValueError(
            f"{directory} holds no map of class(es) "
            f"{', '.join(f'{c.tag} ({c.description})' for c in missing)} among {len(files)} "
            ".npy files: both classes are needed; check the unpacking or the file names."
        )
    counts = [sum(label == i for _, label in maps) for i in range(len(LABELS))]
    if expected_per_class is not None and any(c != expected_per_class for c in counts):
        raise ValueError(
            f"{directory} holds {dict(zip([c.tag for c in LABELS], counts, strict=True))} maps "
            f"per class, expected {expected_per_class} each: the unpacking is incomplete or the "
            "directory holds extra files; unpack the archives again."
        )
    return maps
