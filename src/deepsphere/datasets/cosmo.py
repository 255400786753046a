"""Cosmo experiment data: source, class labels, unpacking, map preprocessing, patch cache.

The data (Perraudin et al. 2019; Zenodo record 1303272, gated) are full-sky weak-lensing
convergence maps stored as ``.npy`` HEALPix maps in RING order, one map per file, in
``training/`` (20 maps per class) and ``testing/`` (10 maps per class). The file name says the
cosmology: ``0p26`` (Omega_m = 0.26, sigma_8 = 0.91) or ``0p31`` (Omega_m = 0.31, sigma_8 = 0.82).

Pipeline (one code path for the real data and the stand-in data of :mod:`.cosmo_standin`):

1. :func:`fetch_cosmo` (checksummed download, or manual placement) and :func:`unpack_archives`.
2. :func:`list_maps` -> ``[(path, label), ...]`` (labels from :data:`LABELS`).
3. :func:`build_patch_cache`: per map, :func:`preprocess_map` (mean removal, RING -> NEST,
   ud_grade, Gaussian smoothing) and a cut into ``12 order^2`` NEST patches, stored in HDF5.
4. :func:`compute_normalisation` on the *training* cache only, :func:`save_normalisation` as JSON,
   :func:`normalise` for train, validation and test alike.

Noise, splits: :mod:`.cosmo_noise`; baseline features and the 2-D image layout:
:mod:`.cosmo_baselines`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import healpy as hp
import numpy as np
from tqdm import tqdm

from deepsphere.download import Source, fetch_all
from deepsphere.sampling import check_nside, healpix_patch_indexes, split_nest_map_into_patches

__all__ = [
    "CosmoClass",
    "LABELS",
    "RECORD_PAGE",
    "SOURCES",
    "PatchSet",
    "fetch_cosmo",
    "unpack_archives",
    "label_from_filename",
    "list_maps",
    "map_nside",
    "preprocess_map",
    "build_patch_cache",
    "load_patch_cache",
    "compute_normalisation",
    "save_normalisation",
    "load_normalisation",
    "normalise",
]

# --------------------------------------------------------------------------- source
RECORD_PAGE = "https://zenodo.org/record/1303272"
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


def fetch_cosmo(raw_dir: str | os.PathLike, **fetch_kwargs) -> dict[str, Path]:
    """Download (or verify hand-placed) README.md, training.zip, testing.zip into ``raw_dir``.

    Returns ``{name: path}``. Raises :class:`deepsphere.download.ManualDownloadRequired` with the
    access instructions, checksums and absolute target paths when the record is not accessible.
    """
    paths = fetch_all(SOURCES, raw_dir, **fetch_kwargs)
    return {s.name: p for s, p in zip(SOURCES, paths, strict=True)}


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


# --------------------------------------------------------------------------- unpacking
def _safe_members(zf: zipfile.ZipFile, zip_path: Path) -> list[zipfile.ZipInfo]:
    members = []
    for info in zf.infolist():
        name = info.filename
        if name.startswith("__MACOSX/") or Path(name).name == ".DS_Store":
            continue  # macOS archive junk
        parts = Path(name).parts
        is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
        if name.startswith(("/", "\\")) or ".." in parts or ":" in name or is_link:
            raise ValueError(
                f"{zip_path}: refusing to unpack member {name!r} (absolute path, '..', drive "
                "letter or symbolic link would write outside the destination). Get a clean "
                "archive from the source."
            )
        members.append(info)
    return members


def unpack_archives(
    zip_paths: Sequence[str | os.PathLike], dest: str | os.PathLike, *, overwrite: bool = False
) -> list[Path]:
    """Unpack zip archives into ``dest`` safely and atomically; return the top-level entries.

    Each archive is extracted into a temporary directory inside ``dest``; only when every archive
    has been extracted are its top-level entries (e.g. ``training/``) moved into place with
    :func:`os.replace`. Members with absolute paths, ``..`` or symbolic links are rejected before
    anything is written. An existing top-level entry raises unless ``overwrite=True``.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    zips = [Path(p) for p in zip_paths]
    plan = []
    for zp in zips:
        if not zp.is_file():
            raise FileNotFoundError(f"Archive {zp} does not exist: download it first (fetch_cosmo).")
        with zipfile.ZipFile(zp) as zf:
            members = _safe_members(zf, zp)
        tops = sorted({Path(m.filename).parts[0] for m in members})
        plan.append((zp, members, tops))
    all_tops = [t for _, _, tops in plan for t in tops]
    if len(set(all_tops)) != len(all_tops):
        raise ValueError(f"Archives {[str(z) for z in zips]} share top-level entries {all_tops}.")
    clashes = [dest / t for t in all_tops if (dest / t).exists()]
    if clashes and not overwrite:
        raise FileExistsError(
            f"{[str(c) for c in clashes]} already exist: delete them or pass overwrite=True."
        )
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest))
    try:
        for zp, members, _ in tqdm(plan, desc="unpack", unit="zip", disable=len(plan) < 2):
            with zipfile.ZipFile(zp) as zf:
                zf.extractall(tmp, members=members)
        out = []
        for t in all_tops:
            target = dest / t
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            os.replace(tmp / t, target)
            out.append(target)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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


def list_maps(directory: str | os.PathLike) -> list[tuple[Path, int]]:
    """All ``*.npy`` maps in ``directory`` with their labels, sorted by (label, file name).

    Raises ``ValueError`` if a name has no (or both) class tags, or if a class has no map.
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
    return maps


# --------------------------------------------------------------------------- preprocessing
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
    if sigma_arcmin < 0:
        raise ValueError(f"sigma_arcmin={sigma_arcmin} must be >= 0 (0: no smoothing).")
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
