"""Projection of a 3-D mesh onto the sphere: 6 channels per pixel (ICLR 2020, §4.2; tf1-spec §2.4).

1. Clean the mesh (:mod:`._mesh_repair`): drop non-finite, degenerate and duplicate elements,
   merge the vertices that agree to 8 decimals, make the normals consistent (closed parts
   outwards) and fill small holes. Then centre the mesh on its (area-weighted) centroid and
   scale it to a maximum vertex radius of 1.
2. Optionally translate it by ``t`` with ``|t| ~ U(0, max_translation)`` in a uniformly random
   direction (SHREC'17: 0.1) and rotate it (``none``; ``z``: about the z axis by U(0, 2 pi);
   ``so3``: uniform on SO(3), ZYZ Euler angles with alpha, gamma ~ U(0, 2 pi) and
   beta = arccos(2U - 1)), then rescale to a maximum radius of 0.99 (as the originals).
3. Cast one ray per pixel from the unit sampling sphere towards the centre (origin ``g``,
   direction ``-g``) and keep the first hit: ``distance = |g - hit|``, ``cos = n . g`` and
   ``sin = |n x g|`` with ``n`` the unit normal of the hit face. Rays are half-lines, as the
   originals' (trimesh ``intersects_id``): a ray that passes the centre without a hit may still
   hit the far side of a mesh that does not contain the centre (a torus), at a distance
   above 1 (the originals' sanity check allowed up to 2). No hit: ``distance =
   no_hit_distance`` (ModelNet40 1, SHREC'17 0, as the originals) and cos = sin = 0; so is a
   hit within 1e-5 of parallel to its face (trimesh's rule, as the originals').
4. The same three channels on the mesh's convex hull. Result ``(n_pixels, 6)`` float32:
   ``[dist, cos, sin, hull_dist, hull_cos, hull_sin]``.

The cleaning and the normals, and how they differ from the originals' ``trimesh.repair``, are in
:mod:`._mesh_repair`; the ray engine (Embree 4 through ctypes, with fallbacks to ``embreex``
through trimesh and to trimesh's own engine) in :mod:`._embree`.

A sphere of radius r gives distance 1 - r and cos = 1 everywhere; a convex mesh's hull channels
equal its mesh channels.
"""

from __future__ import annotations

import math

import numpy as np

from deepsphere.experiments.shapes._embree import first_hits
from deepsphere.experiments.shapes._mesh_repair import clean_arrays

__all__ = [
    "CHANNELS",
    "ROTATIONS",
    "convex_hull",
    "normalise_vertices",
    "place_mesh",
    "project_mesh",
    "random_rotation",
    "random_translation",
    "ray_channels",
    "sphere_grid",
]

CHANNELS = ("dist", "cos", "sin", "hull_dist", "hull_cos", "hull_sin")
ROTATIONS = ("none", "z", "so3")
FINAL_RADIUS = 0.99


def sphere_grid(sampling: dict) -> np.ndarray:
    """Unit ray origins ``(n, 3)`` float64: ``{"sampling": "healpix", "nside": 32, "nest": True}``
    (pixel centres, the ordering explicit) or ``{"sampling": "equiangular", "bandwidth": 64,
    "grid": "SOFT"}`` (the 2b x 2b grid, colatitude rows outer)."""
    from deepsphere.geometry.sampling import sampling_from_params

    kind = sampling.get("sampling")
    if kind not in ("healpix", "equiangular"):
        raise ValueError(f"projection sampling {kind!r}: use 'healpix' (nside, nest) or "
                         "'equiangular' (bandwidth, grid)")
    if kind == "healpix" and "nest" not in sampling:
        raise ValueError("a HEALPix projection grid needs an explicit 'nest' (True or False)")
    return sampling_from_params(kind, {"grid": "SOFT", **sampling}).vectors


def random_rotation(kind: str, rng: np.random.Generator) -> np.ndarray:
    """A 3x3 rotation: ``none`` (identity), ``z`` (about z, angle ~ U(0, 2 pi)) or ``so3``."""
    if kind not in ROTATIONS:
        raise ValueError(f"rotation {kind!r} is not one of {ROTATIONS}")
    if kind == "none":
        return np.eye(3)
    if kind == "z":
        return _rz(rng.uniform(0, 2 * math.pi))
    alpha, gamma = rng.uniform(0, 2 * math.pi, size=2)
    beta = math.acos(2 * rng.uniform() - 1)
    return _rz(alpha) @ _ry(beta) @ _rz(gamma)


def _rz(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _ry(b: float) -> np.ndarray:
    c, s = math.cos(b), math.sin(b)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def random_translation(max_norm: float, rng: np.random.Generator) -> np.ndarray:
    """``t`` with ``|t| ~ U(0, max_norm)`` in a uniformly random direction (zero if 0)."""
    if max_norm < 0:
        raise ValueError(f"max translation must be >= 0, got {max_norm!r}")
    if max_norm == 0:
        return np.zeros(3)
    direction = rng.standard_normal(3)
    return direction / np.linalg.norm(direction) * rng.uniform(0, max_norm)


def normalise_vertices(vertices: np.ndarray, centroid: np.ndarray, radius: float = 1.0):
    """Vertices centred on ``centroid`` and scaled to a maximum radius ``radius``."""
    v = np.asarray(vertices, dtype=np.float64) - centroid
    r = float(np.linalg.norm(v, axis=1).max())
    if not r > 0:
        raise ValueError("the mesh has zero extent: every vertex is at its centroid")
    return v * (radius / r)


def _centroid(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    tri = v[f]
    area = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    centres = tri.mean(axis=1)
    if not area.sum() > 0:
        return centres.mean(axis=0)
    return (area @ centres) / area.sum()


def _place(vertices, faces, rotation, translation, name):
    v, f = clean_arrays(vertices, faces, name)
    v = normalise_vertices(v, _centroid(v, f))
    v = (v + np.asarray(translation, np.float64)) @ np.asarray(rotation, np.float64).T
    return normalise_vertices(v, np.zeros(3), FINAL_RADIUS), f


def place_mesh(vertices, faces, *, rotation: np.ndarray, translation: np.ndarray,
               name: str = "mesh"):
    """The cleaned mesh (a ``trimesh.Trimesh``), centred, scaled to radius 1, translated,
    rotated and rescaled to radius 0.99 (steps 1-2 of the module docstring)."""
    import trimesh

    v, f = _place(vertices, faces, rotation, translation, name)
    return trimesh.Trimesh(v, f, process=False)


def _hull(v: np.ndarray):
    from scipy.spatial import ConvexHull

    # "QJ" (joggled input): simplicial facets without qhull's facet merging, 2-3x faster when
    # many vertices are coplanar or all on the hull (smooth convex meshes); the facets are
    # still triangles of the input vertices, their planes within ~1e-11 of exact; qhull's
    # joggle is seeded, so the hull is the same in every process
    hull = ConvexHull(v, qhull_options="QJ")
    faces = hull.simplices.astype(np.int64)
    p = hull.points
    normals = np.cross(p[faces[:, 1]] - p[faces[:, 0]], p[faces[:, 2]] - p[faces[:, 0]])
    inward = np.einsum("ij,ij->i", normals, hull.equations[:, :3]) < 0
    faces[inward] = faces[inward][:, ::-1]
    return p, faces


def convex_hull(mesh):
    """The convex hull as a ``trimesh.Trimesh`` with outward-wound faces (scipy's qhull
    directly: trimesh's own ``convex_hull`` spends most of its time re-checking the winding)."""
    import trimesh

    v, f = _hull(np.asarray(mesh.vertices, np.float64))
    return trimesh.Trimesh(v, f, process=False, validate=False)


_PARALLEL = 1e-5  # trimesh's planes_lines: |n . d| at most this is no intersection


def _channels(v: np.ndarray, f: np.ndarray, grid: np.ndarray, no_hit_distance: float):
    out = np.zeros((len(grid), 3))
    out[:, 0] = no_hit_distance
    prim = first_hits(v, f, grid)
    ray = np.flatnonzero(prim >= 0)
    tri = f[prim[ray]]
    p0 = v[tri[:, 0]]
    n = np.cross(v[tri[:, 1]] - p0, v[tri[:, 2]] - p0)
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    g = grid[ray]
    d = -g / np.linalg.norm(g, axis=1, keepdims=True)
    denom = np.einsum("ij,ij->i", n, d)
    ok = np.abs(denom) > _PARALLEL  # trimesh's plane-line rule: near-parallel is no hit
    ray, n, g = ray[ok], n[ok], g[ok]
    t = np.einsum("ij,ij->i", n, p0[ok] - g) / denom[ok]  # the hit is g + t d
    out[ray, 0] = np.abs(t)
    out[ray, 1] = np.einsum("ij,ij->i", n, g)
    out[ray, 2] = np.linalg.norm(np.cross(n, g), axis=1)
    return out


def ray_channels(mesh, grid: np.ndarray, *, no_hit_distance: float) -> np.ndarray:
    """``(n, 3)`` float64 ``[dist, cos, sin]`` of the first hit of each ray ``g -> -g``."""
    return _channels(np.asarray(mesh.vertices, np.float64), np.asarray(mesh.faces, np.int64),
                     np.asarray(grid, np.float64), no_hit_distance)


def project_mesh(vertices, faces, grid: np.ndarray, *, rotation: np.ndarray | None = None,
                 translation: np.ndarray | None = None, no_hit_distance: float,
                 name: str = "mesh") -> np.ndarray:
    """The 6 channels ``(n_pixels, 6)`` float32 of one placed mesh (module docstring)."""
    v, f = _place(vertices, faces, np.eye(3) if rotation is None else rotation,
                  np.zeros(3) if translation is None else translation, name)
    grid = np.asarray(grid, np.float64)
    channels = np.empty((len(grid), 6), np.float32)
    channels[:, :3] = _channels(v, f, grid, no_hit_distance)
    channels[:, 3:] = _channels(*_hull(v), grid, no_hit_distance)
    if not np.isfinite(channels).all():
        raise ValueError(f"{name}: the projection holds non-finite values")
    return channels
