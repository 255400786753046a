"""The part of the sky a user's maps cover: full sky, a mask (a FITS map or a pixel list), and
the checks that no observed pixel of a map is missing.

Pixel sets are sorted NEST pixel numbers at the model's nside: the vertices of the graph and
the input of the model (:class:`~deepsphere.layers.HealpixSubsetPooling` pools over their
parents). A mask given at a finer nside than the model's keeps a coarse pixel only when all its
children are observed (a coarse value never averages unobserved data); at a coarser nside, every
child of an observed pixel is observed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from deepsphere.experiments.maps.files import UNSEEN, normalise_ordering, read_healpix_file
from deepsphere.geometry.sampling import check_nside, healpix_parent_indexes

__all__ = ["check_observed", "expand_to_nside", "observed_pixels"]


def _read_pixel_list(path: Path, ordering, nside) -> tuple[np.ndarray, int]:
    if ordering is None or nside is None:
        raise ValueError(f"{path}: a pixel list records neither its ordering nor its nside; "
                         "state both (maps.sky.mask_ordering: RING or NEST, maps.sky.mask_nside)")
    ordering = normalise_ordering(ordering, "maps.sky.mask_ordering")
    nside = check_nside(nside)
    try:
        pixels = np.load(path) if path.suffix == ".npy" else np.loadtxt(path, dtype=np.int64,
                                                                        ndmin=1)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable pixel list ({err})") from err
    pixels = np.asarray(pixels)
    if pixels.ndim != 1 or not np.issubdtype(pixels.dtype, np.integer):
        raise ValueError(f"{path}: a pixel list is a 1-D list of integer pixel numbers")
    if pixels.size and (pixels.min() < 0 or pixels.max() >= 12 * nside**2):
        raise ValueError(f"{path}: pixel numbers must be 0..{12 * nside**2 - 1} at nside {nside}")
    if ordering == "RING":
        import healpy as hp

        pixels = hp.ring2nest(nside, pixels)
    return np.unique(pixels.astype(np.int64)), nside


def expand_to_nside(pixels, nside_from: int, nside_to: int, *, all_children: bool = True
                    ) -> np.ndarray:
    """A NEST pixel set moved from ``nside_from`` to ``nside_to``: the children of every pixel
    (finer), or the coarse pixels whose children are all in the set (``all_children``) or any
    of them (coarser). Sorted, unique, int64."""
    pixels = np.unique(np.asarray(pixels, dtype=np.int64))
    if nside_to >= nside_from:
        factor = (nside_to // nside_from) ** 2
        return (pixels[:, None] * factor + np.arange(factor)).ravel()
    if not all_children:
        return healpix_parent_indexes(pixels, (nside_from // nside_to).bit_length() - 1)
    factor = (nside_from // nside_to) ** 2
    parents, counts = np.unique(pixels // factor, return_counts=True)
    return parents[counts == factor]


def observed_pixels(mask: str | os.PathLike | None, nside: int, *, mask_ordering=None,
                    mask_nside=None) -> np.ndarray | None:
    """The observed NEST pixels at ``nside``, or None for the full sky (no mask).

    Args:
        mask: a HEALPix FITS map (observed where finite, not ``UNSEEN`` and > 0; its ordering
            from its header), a ``.npy`` map (with ``mask_ordering``), or a pixel list (a
            text file, or a ``.npy`` of integers when ``mask_nside`` is given; with
            ``mask_ordering`` and ``mask_nside``).
        nside: the model's nside.
    """
    if mask is None:
        return None
    path, nside = Path(mask), check_nside(nside)
    if not path.is_file():
        raise ValueError(f"{path}: no such mask file (maps.sky.mask)")
    is_list = path.suffix == ".txt" or (path.suffix == ".npy" and mask_nside is not None)
    if is_list:
        pixels, mask_nside = _read_pixel_list(path, mask_ordering, mask_nside)
    else:
        read = read_healpix_file(path, ordering=mask_ordering)
        values = read.maps[0]
        pixels = np.nonzero(np.isfinite(values) & (values != UNSEEN) & (values > 0))[0]
        mask_nside = read.nside
    observed = expand_to_nside(pixels, mask_nside, nside)
    if observed.size == 0:
        raise ValueError(f"{path}: the mask observes no pixel at the model's nside {nside} "
                         "(a coarse pixel counts only when all its children are observed)")
    return observed


def check_observed(maps, observed: np.ndarray | None, nside_model: int) -> None:
    """Refuse a map with a NaN, infinite or ``UNSEEN`` value on an observed pixel (outside the
    mask anything goes). ``maps`` is a :class:`~deepsphere.experiments.maps.files.HealpixMaps`
    at its own nside; the error names the file, the channel and the first bad pixels in the
    file's own ordering."""
    data, nside = maps.maps, maps.nside
    if nside < nside_model:
        raise ValueError(f"{maps.path}: nside {nside} is below the model's {nside_model}; "
                         "give a model nside at most the maps' nside (maps.nside)")
    if observed is None:
        where = np.arange(data.shape[1])
    else:
        where = expand_to_nside(observed, nside_model, nside)
    values = data[:, where]
    bad = ~np.isfinite(values) | (values == UNSEEN)
    if not bad.any():
        return
    channel, first = np.nonzero(bad)
    pixels = where[first[channel == channel[0]]][:5]
    if maps.ordering == "RING":
        import healpy as hp

        pixels = hp.nest2ring(nside, pixels)
    region = "the whole sky (no mask)" if observed is None else "the mask"
    raise ValueError(
        f"{maps.path}: {int(bad.sum())} value(s) NaN, infinite or UNSEEN inside {region}, "
        f"channel {int(channel[0])}, pixels {[int(p) for p in pixels]} ({maps.ordering} "
        "numbering at the file's nside); fill them, or mask them out (maps.sky.mask)")
