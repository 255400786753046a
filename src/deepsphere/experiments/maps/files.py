"""Reading users' HEALPix maps: FITS, ``.npy`` and ``.npz``, one or several channels, always
returned in NEST ordering, with the ordering of the file taken from the file, never guessed.

- FITS: the ``ORDERING`` header keyword (``RING``, or ``NESTED``/``NEST``) says how the pixels
  are ordered; a file without it is refused (healpy would silently assume one). Channels are
  columns, by index (0 = the first map column; a partial-sky file's ``PIXEL`` column is not
  counted) or by name (``TTYPE``). Partial-sky files come back full-sky with ``UNSEEN``
  outside their pixels.
- ``.npy`` (one map ``(npix,)`` or channels ``(C, npix)``) and ``.npz`` (one array per
  channel, by name) carry no ordering: the caller states it (``ordering="RING"|"NEST"``).

Downgrading (:func:`downgrade_nest`) averages the NEST children of each coarse pixel, as
``healpy.ud_grade(..., order_in="NESTED", pess=True)``: a coarse pixel with a missing child
(NaN or ``UNSEEN``) is ``UNSEEN``; labels are downgraded by a majority vote
(:func:`downgrade_labels_nest`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepsphere.geometry.sampling import check_nside

__all__ = ["UNSEEN", "HealpixMaps", "downgrade_labels_nest", "downgrade_nest",
           "normalise_ordering", "read_healpix_file"]

#: healpy's marker of an unobserved pixel.
UNSEEN = -1.6375e30
_ORDERINGS = {"RING": "RING", "NESTED": "NEST", "NEST": "NEST"}


@dataclass(frozen=True)
class HealpixMaps:
    """Maps read from one file: ``maps`` ``(C, 12 nside^2)`` float64 in NEST ordering,
    ``nside``, and ``ordering``, that of the file (``"RING"`` or ``"NEST"``)."""

    maps: np.ndarray
    nside: int
    ordering: str
    path: str


def normalise_ordering(value, where: str) -> str:
    """``"RING"`` or ``"NEST"`` from a header or config value (``NESTED`` and ``NEST``)."""
    key = str(value).strip().upper() if value is not None else ""
    if key not in _ORDERINGS:
        raise ValueError(f"{where}: the HEALPix ordering is {value!r}; it must be RING or NESTED "
                         "(NEST)")
    return _ORDERINGS[key]


def _nside_of(npix: int, path) -> int:
    nside = int(round(np.sqrt(npix / 12)))
    if 12 * nside * nside != npix:
        raise ValueError(f"{path}: {npix} pixels is not 12 nside^2 for any nside: not a "
                         "full-sky HEALPix map")
    check_nside(nside)
    return nside


def _to_nest(maps: np.ndarray, ordering: str) -> np.ndarray:
    if ordering == "NEST":
        return maps
    import healpy as hp

    return np.stack([hp.reorder(m, r2n=True) for m in maps])


def _fits_columns(path, channels) -> tuple[int, ...]:
    """Column indexes (of the map columns) of ``channels`` (ints or TTYPE names)."""
    if channels is None:
        return (0,)
    from astropy.io import fits

    with fits.open(path) as hdus:
        if len(hdus) < 2 or not hasattr(hdus[1], "columns"):
            raise ValueError(f"{path}: no binary table extension: not a HEALPix FITS map")
        names = [c.name for c in hdus[1].columns if c.name.upper() != "PIXEL"]
    out = []
    for c in channels:
        if isinstance(c, str):
            matches = [i for i, n in enumerate(names) if n.upper() == c.upper()]
            if not matches:
                raise ValueError(f"{path}: no column named {c!r}; its map columns are {names}")
            out.append(matches[0])
        elif isinstance(c, int) and 0 <= c < len(names):
            out.append(c)
        else:
            raise ValueError(f"{path}: channel {c!r} is not a map column index 0..{len(names) - 1}"
                             f" or a name of {names}")
    return tuple(out)


def _read_fits(path, channels) -> tuple[np.ndarray, str]:
    import healpy as hp

    fields = _fits_columns(path, channels)
    try:
        maps, header = hp.read_map(path, field=fields, nest=None, h=True, dtype=np.float64)
    except (OSError, ValueError, IndexError, KeyError) as err:
        raise ValueError(f"{path}: not a readable HEALPix FITS map ({err})") from err
    header = dict(header)
    if "ORDERING" not in header:
        raise ValueError(
            f"{path}: the FITS header has no ORDERING keyword, so the pixel order (RING or "
            "NESTED) is unknown; add it to the header (astropy.io.fits: "
            "hdul[1].header['ORDERING'] = 'RING') or write the file with healpy.write_map")
    ordering = normalise_ordering(header["ORDERING"], f"{path}: header ORDERING")
    return np.atleast_2d(np.asarray(maps, dtype=np.float64)), ordering


def _read_numpy(path, channels, ordering) -> tuple[np.ndarray, str]:
    if ordering is None:
        raise ValueError(f"{path}: .npy and .npz files do not record their HEALPix ordering; "
                         "state it in the config (maps.ordering: RING or NEST)")
    ordering = normalise_ordering(ordering, f"{path}: the configured ordering")
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable NumPy file ({err})") from err
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            keys = list(data.files)
            if channels is None:
                if len(keys) != 1:
                    raise ValueError(f"{path}: holds the arrays {keys}; name the channels to read "
                                     "(maps.channels)")
                channels = keys
            missing = [c for c in channels if c not in keys]
            if missing:
                raise ValueError(f"{path}: no array named {missing}; it holds {keys}")
            arrays = [np.asarray(data[c]) for c in channels]
        if any(a.ndim != 1 for a in arrays):
            raise ValueError(f"{path}: every channel array must be one map (1-D)")
        maps = np.stack(arrays)
    else:
        maps = np.atleast_2d(data)
        if maps.ndim != 2:
            raise ValueError(f"{path}: shape {data.shape}: give one map (npix,) or channels "
                             "(C, npix)")
        if channels is not None:
            if not all(isinstance(c, int) and 0 <= c < len(maps) for c in channels):
                raise ValueError(f"{path}: channels {list(channels)} are not rows 0..{len(maps) - 1}")
            maps = maps[list(channels)]
    if not np.issubdtype(maps.dtype, np.number):
        raise ValueError(f"{path}: dtype {maps.dtype} is not numeric")
    return maps.astype(np.float64), ordering


def read_healpix_file(path: str | os.PathLike, *, channels: Sequence | None = None,
                      ordering: str | None = None) -> HealpixMaps:
    """Read the maps of one file (see the module docstring), in NEST ordering.

    Args:
        path: a ``.fits``/``.fits.gz``/``.fit``, ``.npy`` or ``.npz`` file.
        channels: FITS: column indexes or names; ``.npy``: rows; ``.npz``: array names;
            None: the only (or first FITS) map.
        ordering: ``.npy``/``.npz`` only: ``"RING"`` or ``"NEST"``; refused for FITS, which
            state their own.

    Returns:
        :class:`HealpixMaps` with ``maps`` ``(C, 12 nside^2)``.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such map file")
    name = path.name.lower()
    if name.endswith((".fits", ".fits.gz", ".fit", ".fits.fz")):
        if ordering is not None:
            raise ValueError(f"{path}: a FITS map states its ordering in its header; remove "
                             "maps.ordering (it is for .npy/.npz files)")
        maps, file_ordering = _read_fits(path, channels)
    elif name.endswith((".npy", ".npz")):
        maps, file_ordering = _read_numpy(path, channels, ordering)
    else:
        raise ValueError(f"{path}: unknown map format; use FITS, .npy or .npz")
    nside = _nside_of(maps.shape[1], path)
    return HealpixMaps(_to_nest(maps, file_ordering), nside, file_ordering, str(path))


def _steps(nside_in: int, nside_out: int, what: str) -> int:
    check_nside(nside_out)
    if nside_out > nside_in:
        raise ValueError(f"{what}: cannot upgrade nside {nside_in} to {nside_out}; give a "
                         "model nside at most the maps' nside")
    return (nside_in // nside_out).bit_length() - 1


def downgrade_nest(maps, nside_out: int) -> np.ndarray:
    """``(..., 12 nside^2)`` NEST maps to ``nside_out``: the mean of each coarse pixel's
    children, ``UNSEEN`` where a child is NaN or ``UNSEEN`` (``ud_grade``'s ``pess=True``)."""
    maps = np.asarray(maps, dtype=np.float64)
    nside_in = _nside_of(maps.shape[-1], "downgrade_nest")
    factor = 4 ** _steps(nside_in, nside_out, "downgrade_nest")
    blocks = maps.reshape(*maps.shape[:-1], -1, factor)
    bad = (~np.isfinite(blocks) | (blocks == UNSEEN)).any(axis=-1)
    out = np.where(bad, UNSEEN, np.where(np.isfinite(blocks), blocks, 0.0).mean(axis=-1))
    return out


def downgrade_labels_nest(labels, nside_out: int) -> np.ndarray:
    """``(..., 12 nside^2)`` NEST integer label maps to ``nside_out`` by a majority vote of the
    children (ties go to the smallest label)."""
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"label maps must be integers, got {labels.dtype}")
    nside_in = _nside_of(labels.shape[-1], "downgrade_labels_nest")
    factor = 4 ** _steps(nside_in, nside_out, "downgrade_labels_nest")
    blocks = labels.reshape(*labels.shape[:-1], -1, factor)
    lo = int(labels.min())
    counts = np.stack([(blocks == v).sum(axis=-1) for v in range(lo, int(labels.max()) + 1)])
    return (counts.argmax(axis=0) + lo).astype(labels.dtype)
