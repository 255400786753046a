"""Samplings of the unit sphere S^2: vertex positions and their ordering.

Every sampling is a :class:`SphereSampling`: ``vectors`` are float64 unit vectors of shape
``(n, 3)`` in the order the data use, and ``params`` is a JSON-able dict from which
:func:`sampling_from_params` rebuilds exactly the same sampling.

Orderings:

- HEALPix: NEST or RING, always passed explicitly (``nest=`` keyword-only, no default);
  ``indexes`` selects a subset (a partial sphere), kept in the given order.
- Equiangular: ``2b x 2b`` grid, row-major with colatitude rows outer (vertex ``j * 2b + k``
  is at colatitude ``theta_j`` and longitude ``phi_k``).
- Icosahedral: the vertices of level ``l - 1`` come first (pooling is truncation).
- Points: the order given by the caller.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from deepsphere.runtime import threads

__all__ = [
    "SphereSampling",
    "check_nside",
    "equiangular_sampling",
    "healpix_nest_z",
    "healpix_parent_indexes",
    "healpix_patch_indexes",
    "healpix_sampling",
    "icosahedral_sampling",
    "patch_of_indexes",
    "points_sampling",
    "sampling_from_params",
    "split_nest_map_into_patches",
]

_MAX_NSIDE = 2**29  # HEALPix limit


@dataclasses.dataclass(frozen=True, eq=False)
class SphereSampling:
    """A set of points on the unit sphere, in a fixed order.

    Attributes:
        kind: ``"healpix" | "equiangular" | "icosahedral" | "points"``.
        vectors: float64 unit vectors, shape ``(n, 3)``.
        params: JSON-able dict; ``sampling_from_params(kind, params)`` rebuilds the sampling.
    """

    kind: str
    vectors: np.ndarray
    params: dict[str, Any]

    @property
    def n_vertices(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def lon(self) -> np.ndarray:
        """Longitudes in radians, in ``[0, 2 pi)``, shape ``(n,)``."""
        return np.mod(np.arctan2(self.vectors[:, 1], self.vectors[:, 0]), 2 * np.pi)

    @property
    def lat(self) -> np.ndarray:
        """Latitudes in radians, in ``[-pi/2, pi/2]``, shape ``(n,)``."""
        return np.arcsin(np.clip(self.vectors[:, 2], -1.0, 1.0))


def _is_int(x) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool)


def check_nside(nside) -> int:
    """Return ``nside`` as an int; raise ``ValueError`` unless it is a positive power of 2."""
    if not _is_int(nside) or nside < 1 or nside > _MAX_NSIDE or (int(nside) & (int(nside) - 1)):
        raise ValueError(
            f"nside={nside!r} is not a valid HEALPix nside: pass a positive power of 2 "
            f"(1, 2, 4, ..., {_MAX_NSIDE})."
        )
    return int(nside)


def _check_nest(nest) -> bool:
    if not isinstance(nest, bool | np.bool_):
        raise ValueError(
            f"nest={nest!r}: the HEALPix ordering must be given explicitly as nest=True (NEST) "
            "or nest=False (RING)."
        )
    return bool(nest)


def check_indexes(indexes, n_total: int) -> np.ndarray:
    """Validate a pixel subset: 1-D integers in ``[0, n_total)``, no duplicates, not empty.

    Returns:
        int64 array, shape ``(m,)``, in the given order.
    """
    arr = np.asarray(indexes)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"indexes must be a non-empty 1-D array of pixel numbers, got shape {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"indexes must be integers, got dtype {arr.dtype}.")
    arr = arr.astype(np.int64)
    if arr.min() < 0 or arr.max() >= n_total:
        raise ValueError(
            f"indexes out of range: min {arr.min()}, max {arr.max()}, but valid pixels are "
            f"0..{n_total - 1}; pass pixel numbers of this nside."
        )
    if np.unique(arr).size != arr.size:
        raise ValueError("indexes contain duplicates: pass each pixel at most once.")
    return arr


def _check_order(nside: int, order) -> int:
    if not _is_int(order) or order < 1 or (order & (order - 1)) or order > nside:
        raise ValueError(
            f"order={order!r}: the patch order must be a power of 2 between 1 and nside={nside} "
            "(order o gives 12 o^2 patches)."
        )
    return int(order)


def healpix_patch_indexes(nside, order, patch=0, *, nest=True) -> np.ndarray:
    """Pixels of one of the ``12 order^2`` contiguous NEST patches (a pixel at nside ``order``).

    Returns:
        int64 array, shape ``(12 nside^2 / (12 order^2),)``: ``patch * m .. (patch + 1) * m - 1``.

    Raises:
        ValueError: RING ordering (patches are contiguous only in NEST), bad nside/order/patch.
    """
    nside = check_nside(nside)
    if not _check_nest(nest):
        raise ValueError(
            "healpix_patch_indexes needs NEST ordering (patches are contiguous only in NEST); "
            "reorder RING data with healpy.reorder(m, r2n=True) and pass nest=True."
        )
    order = _check_order(nside, order)
    n_patches = 12 * order**2
    if not _is_int(patch) or not 0 <= patch < n_patches:
        raise ValueError(f"patch={patch!r} out of range: order {order} has patches 0..{n_patches - 1}.")
    size = (nside // order) ** 2
    return np.arange(patch * size, (patch + 1) * size, dtype=np.int64)


def patch_of_indexes(nside: int, indexes: np.ndarray) -> tuple[int, int] | None:
    """``(order, patch)`` if ``indexes`` is exactly one NEST patch (as given by
    :func:`healpix_patch_indexes`), else ``None``. Cheap: O(1) unless it is a candidate."""
    m = indexes.size
    npix = 12 * nside**2
    if m == 0 or npix % m or (npix // m) % 12:
        return None
    order2 = npix // m // 12
    order = int(round(np.sqrt(order2)))
    if order * order != order2 or order & (order - 1) or order == 0:
        return None
    start = int(indexes[0])
    if start % m or int(indexes[-1]) != start + m - 1:
        return None
    if not np.array_equal(indexes, np.arange(start, start + m)):
        return None
    return order, start // m


def healpix_parent_indexes(indexes, steps: int) -> np.ndarray:
    """The NEST pixels ``steps`` halvings of nside coarser that hold ``indexes``.

    Args:
        indexes: NEST pixel numbers at nside ``N``, shape ``(m,)``.
        steps: how many times nside halves (``N -> N / 2**steps``); 0 returns them sorted.

    Returns:
        int64 array, sorted and unique: the coarse pixels with at least one child in
        ``indexes`` (in NEST, the children of pixel ``q`` are ``4**steps * q + 0 .. 4**steps - 1``).
    """
    if not _is_int(steps) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}.")
    return np.unique(np.asarray(indexes, dtype=np.int64) >> (2 * int(steps)))


#: The ring number, in units of nside, of the northernmost corner of each base pixel (NEST).
_FACE_RING = np.array([2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4], dtype=np.int64)


def healpix_nest_z(nside) -> np.ndarray:
    """``z = cos(colatitude)`` of every NEST pixel centre at ``nside``, shape ``(12 nside^2,)``,
    in closed form with NumPy alone (Górski et al. 2005, eqs. 4-5 and the NEST numbering), so
    that the workflow can decide a sky cut while Snakemake parses, without importing healpy.

    Pixel ``p`` lies in base pixel ``f = p // nside^2`` at ``(x, y)``, the de-interleaved bits
    of ``p % nside^2``; its ring is ``i = r_f nside - x - y - 1`` (1 at the north pole, 4 nside - 1
    at the south pole) and ``z = 1 - i^2 / (3 nside^2)`` in the north polar cap (``i < nside``),
    ``4/3 - 2 i / (3 nside)`` in the equatorial belt, and symmetric in the south cap.
    """
    nside = check_nside(nside)
    pix = np.arange(12 * nside**2, dtype=np.int64)
    face, within = np.divmod(pix, nside * nside)
    x = np.zeros_like(within)
    y = np.zeros_like(within)
    for bit in range(max(1, nside.bit_length() - 1)):  # nside = 2**k: k bits per coordinate
        x |= ((within >> (2 * bit)) & 1) << bit
        y |= ((within >> (2 * bit + 1)) & 1) << bit
    ring = _FACE_RING[face] * nside - x - y - 1
    z = (4.0 / 3.0) - 2.0 * ring / (3.0 * nside)
    north, south = ring < nside, ring > 3 * nside
    z[north] = 1.0 - ring[north] ** 2 / (3.0 * nside**2)
    z[south] = -1.0 + (4 * nside - ring[south]) ** 2 / (3.0 * nside**2)
    return z


def split_nest_map_into_patches(m, order) -> np.ndarray:
    """Reshape a full-sky NEST map ``(npix, ...)`` to ``(12 order^2, npix / (12 order^2), ...)``.

    Patch ``p`` is then the data of ``healpix_patch_indexes(nside, order, p, nest=True)``.
    """
    m = np.asarray(m)
    if m.ndim < 1:
        raise ValueError("m must have a leading pixel axis of length 12 nside^2.")
    npix = m.shape[0]
    nside = int(round(np.sqrt(npix / 12)))
    if 12 * nside**2 != npix:
        raise ValueError(f"m has {npix} pixels, not 12 nside^2 for any nside: pass a full-sky map.")
    check_nside(nside)
    order = _check_order(nside, order)
    n_patches = 12 * order**2
    return m.reshape(n_patches, npix // n_patches, *m.shape[1:])


def healpix_sampling(nside, *, nest, indexes=None) -> SphereSampling:
    """HEALPix pixel centres.

    Args:
        nside: power of 2.
        nest: True for NEST, False for RING (keyword-only, required).
        indexes: optional pixel subset (in the chosen ordering), kept in the given order.

    Returns:
        SphereSampling with ``n = 12 nside^2`` (or ``len(indexes)``) vectors.
        ``params["indexes"]`` is None, ``{"order": o, "patch": p}`` for a NEST patch, or a list.
    """
    import healpy as hp

    nside = check_nside(nside)
    nest = _check_nest(nest)
    npix = 12 * nside**2
    spec: Any = None
    if isinstance(indexes, dict):
        indexes = healpix_patch_indexes(nside, indexes.get("order"), indexes.get("patch"), nest=nest)
    if indexes is not None:
        idx = check_indexes(indexes, npix)
        patch = patch_of_indexes(nside, idx) if nest else None
        spec = {"order": patch[0], "patch": patch[1]} if patch else idx.tolist()
    else:
        idx = None
    size = npix if idx is None else idx.size
    vectors = np.empty((size, 3))
    step = 1 << 21  # chunks bound the float64 temporaries of pix2vec and run on threads

    def fill(s: int) -> None:
        pix = np.arange(s, min(s + step, size)) if idx is None else idx[s : s + step]
        for axis, coord in enumerate(hp.pix2vec(nside, pix, nest=nest)):
            vectors[s : s + step, axis] = coord

    threads.map_chunks(fill, range(0, size, step))
    return SphereSampling("healpix", vectors, {"nside": nside, "nest": nest, "indexes": spec})


def _check_bandwidth(bandwidth) -> int:
    if not _is_int(bandwidth) or bandwidth < 1:
        raise ValueError(f"bandwidth={bandwidth!r}: pass a positive integer b (the grid is 2b x 2b).")
    return int(bandwidth)


def equiangular_colatitudes(bandwidth: int, grid: str) -> np.ndarray:
    """Colatitudes (radians), shape ``(2b,)``: SOFT ``pi (2j+1) / (4b)``, DH ``pi j / (2b)``."""
    j = np.arange(2 * bandwidth)
    if grid == "SOFT":
        return np.pi * (2 * j + 1) / (4 * bandwidth)
    if grid == "DH":
        return np.pi * j / (2 * bandwidth)
    raise ValueError(f"grid={grid!r}: pass 'SOFT' or 'DH' (Driscoll-Healy).")


def equiangular_sampling(bandwidth, *, grid="SOFT") -> SphereSampling:
    """Equiangular ``2b x 2b`` grid; vertex ``j * 2b + k`` at ``(theta_j, phi_k = pi k / b)``.

    SOFT: ``theta_j = pi (2j+1) / (4b)`` (no pole). DH (Driscoll-Healy): ``theta_j = pi j / (2b)``
    (row 0 is the north pole, repeated 2b times).
    """
    b = _check_bandwidth(bandwidth)
    theta = equiangular_colatitudes(b, grid)
    phi = np.pi * np.arange(2 * b) / b
    th, ph = np.meshgrid(theta, phi, indexing="ij")
    vectors = np.stack(
        [np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)], axis=-1
    ).reshape(-1, 3)
    return SphereSampling("equiangular", vectors, {"bandwidth": b, "grid": grid})


def _icosahedron() -> tuple[np.ndarray, np.ndarray]:
    """The 12 unit vertices (cyclic permutations of (0, +-1, +-golden)) and 20 faces."""
    g = (1 + np.sqrt(5)) / 2
    base = np.array([[0, s1, s2 * g] for s1 in (-1, 1) for s2 in (-1, 1)], dtype=float)
    vertices = np.concatenate([np.roll(base, shift, axis=1) for shift in range(3)])
    vertices /= np.linalg.norm(vertices, axis=1, keepdims=True)
    from scipy.spatial import ConvexHull  # scipy only when building: definitions import us

    faces = np.sort(ConvexHull(vertices).simplices, axis=1)
    faces = faces[np.lexsort(faces.T[::-1])]  # deterministic face order
    return vertices, faces


def _subdivide(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One midpoint subdivision: new vertices (unique edge midpoints, ordered by their sorted
    parent pair) appended after the old ones, projected on the sphere; 4 faces per face."""
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    unique, inverse = np.unique(edges, axis=0, return_inverse=True)
    mid = vertices[unique[:, 0]] + vertices[unique[:, 1]]
    mid /= np.linalg.norm(mid, axis=1, keepdims=True)
    n_f = faces.shape[0]
    m = vertices.shape[0] + inverse.reshape(3, n_f)  # midpoints of edges 01, 12, 20
    a, b, c = faces.T
    new_faces = np.concatenate(
        [
            np.stack([a, m[0], m[2]], 1),
            np.stack([b, m[1], m[0]], 1),
            np.stack([c, m[2], m[1]], 1),
            np.stack([m[0], m[1], m[2]], 1),
        ]
    )
    return np.concatenate([vertices, mid]), new_faces


def icosahedral_sampling(level) -> SphereSampling:
    """Vertices of the icosahedron subdivided ``level`` times: ``10 * 4**level + 2`` of them,
    those of level ``level - 1`` first (identical vectors). Midpoints are projected on the
    sphere after each level. Note: within a level, new vertices are ordered by their parent
    edge (sorted vertex pair), which need not match another mesh library's order."""
    if not _is_int(level) or level < 0 or level > 11:
        raise ValueError(f"level={level!r}: pass an integer subdivision level in 0..11.")
    vertices, faces = _icosahedron()
    for _ in range(int(level)):
        vertices, faces = _subdivide(vertices, faces)
    return SphereSampling("icosahedral", vertices, {"level": int(level)})


def points_sampling(lon_deg, lat_deg) -> SphereSampling:
    """Arbitrary points given by longitude and latitude in degrees, shapes ``(n,)``."""
    lon = np.asarray(lon_deg, dtype=float)
    lat = np.asarray(lat_deg, dtype=float)
    if lon.ndim != 1 or lon.shape != lat.shape or lon.size == 0:
        raise ValueError(
            f"lon_deg and lat_deg must be non-empty 1-D arrays of the same length, got shapes "
            f"{lon.shape} and {lat.shape}."
        )
    if not (np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))):
        raise ValueError("lon_deg/lat_deg contain NaN or inf: drop those points first.")
    if np.any(np.abs(lat) > 90):
        raise ValueError("lat_deg must lie in [-90, 90] degrees (are lon and lat swapped?).")
    lo, la = np.deg2rad(lon), np.deg2rad(lat)
    vectors = np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=1)
    return SphereSampling("points", vectors, {"lon_deg": lon.tolist(), "lat_deg": lat.tolist()})


def sampling_from_params(kind: str, params: dict) -> SphereSampling:
    """Rebuild a sampling from its ``kind`` and ``params`` (as stored in ``SphereSampling``)."""
    if kind == "healpix":
        return healpix_sampling(params["nside"], nest=params["nest"], indexes=params.get("indexes"))
    if kind == "equiangular":
        return equiangular_sampling(params["bandwidth"], grid=params["grid"])
    if kind == "icosahedral":
        return icosahedral_sampling(params["level"])
    if kind == "points":
        return points_sampling(params["lon_deg"], params["lat_deg"])
    raise ValueError(
        f"unknown sampling kind {kind!r}: pass 'healpix', 'equiangular', 'icosahedral' or 'points'."
    )
