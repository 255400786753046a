"""Projection of a 3-D mesh onto the sphere: 6 channels per pixel (ICLR 2020, §4.2; tf1-spec §2.4).

1. Clean the mesh (degenerate and duplicate faces, infinite values, unreferenced vertices,
   consistent normals, small holes filled), centre it on its (area-weighted) centroid and scale it
   to a maximum vertex radius of 1.
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
   no_hit_distance`` (ModelNet40 1, SHREC'17 0, as the originals) and cos = sin = 0.
4. The same three channels on the mesh's convex hull. Result ``(n_pixels, 6)`` float32:
   ``[dist, cos, sin, hull_dist, hull_cos, hull_sin]``.

A sphere of radius r gives distance 1 - r and cos = 1 everywhere; a convex mesh's hull channels
equal its mesh channels. The ray engine is Embree (through ``embreex``) when installed, else
trimesh's own (slower; a warning says so).
"""

from __future__ import annotations

import logging
import math

import numpy as np

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

log = logging.getLogger(__name__)

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


def _clean(vertices, faces, name: str):
    import trimesh

    mesh = trimesh.Trimesh(np.asarray(vertices, np.float64), np.asarray(faces, np.int64),
                           process=True, validate=False)
    mesh.remove_infinite_values()
    mesh.update_faces(mesh.nondegenerate_faces())
    mesh.update_faces(mesh.unique_faces())
    mesh.remove_unreferenced_vertices()
    if len(mesh.faces) == 0:
        raise ValueError(f"{name}: no face left after removing degenerate faces")
    trimesh.repair.fix_normals(mesh)
    trimesh.repair.fill_holes(mesh)
    return mesh


def place_mesh(vertices, faces, *, rotation: np.ndarray, translation: np.ndarray,
               name: str = "mesh"):
    """The cleaned mesh (a ``trimesh.Trimesh``), centred, scaled to radius 1, translated,
    rotated and rescaled to radius 0.99 (steps 1-2 of the module docstring)."""
    import trimesh

    mesh = _clean(vertices, faces, name)
    v = normalise_vertices(mesh.vertices, mesh.centroid)
    v = (v + np.asarray(translation, np.float64)) @ np.asarray(rotation, np.float64).T
    v = normalise_vertices(v, np.zeros(3), FINAL_RADIUS)
    return trimesh.Trimesh(v, mesh.faces, process=False)


def convex_hull(mesh):
    """The convex hull as a ``trimesh.Trimesh`` with outward-wound faces (scipy's qhull
    directly: trimesh's own ``convex_hull`` spends most of its time re-checking the winding)."""
    import trimesh
    from scipy.spatial import ConvexHull

    hull = ConvexHull(mesh.vertices)
    faces = hull.simplices.copy()
    v = hull.points
    normals = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    inward = np.einsum("ij,ij->i", normals, hull.equations[:, :3]) < 0
    faces[inward] = faces[inward][:, ::-1]
    return trimesh.Trimesh(v, faces, process=False, validate=False)


_WARNED = []


def _intersector(mesh):
    import trimesh

    if trimesh.ray.has_embree:
        return trimesh.ray.ray_pyembree.RayMeshIntersector(mesh, scale_to_box=False)
    if not _WARNED:
        log.warning("embreex is not installed: rays are cast by trimesh's own engine, about "
                    "hundreds of times slower and memory-hungry (benchmarks/results/projection.md; "
                    "pip install embreex)")
        _WARNED.append(True)
    return trimesh.ray.ray_triangle.RayMeshIntersector(mesh)


def ray_channels(mesh, grid: np.ndarray, *, no_hit_distance: float) -> np.ndarray:
    """``(n, 3)`` float64 ``[dist, cos, sin]`` of the first hit of each ray ``g -> -g``."""
    grid = np.asarray(grid, np.float64)
    out = np.zeros((len(grid), 3))
    out[:, 0] = no_hit_distance
    tri, ray, loc = _intersector(mesh).intersects_id(
        grid, -grid, multiple_hits=False, return_locations=True)
    if len(ray):
        normals = mesh.face_normals[tri]
        g = grid[ray]
        out[ray, 0] = np.linalg.norm(g - loc, axis=1)
        out[ray, 1] = np.einsum("ij,ij->i", normals, g)
        out[ray, 2] = np.linalg.norm(np.cross(normals, g), axis=1)
    return out


def project_mesh(vertices, faces, grid: np.ndarray, *, rotation: np.ndarray | None = None,
                 translation: np.ndarray | None = None, no_hit_distance: float,
                 name: str = "mesh") -> np.ndarray:
    """The 6 channels ``(n_pixels, 6)`` float32 of one placed mesh (module docstring)."""
    mesh = place_mesh(vertices, faces, rotation=np.eye(3) if rotation is None else rotation,
                      translation=np.zeros(3) if translation is None else translation,
                      name=name)
    channels = np.concatenate([
        ray_channels(mesh, grid, no_hit_distance=no_hit_distance),
        ray_channels(convex_hull(mesh), grid, no_hit_distance=no_hit_distance),
    ], axis=1).astype(np.float32)
    if not np.isfinite(channels).all():
        raise ValueError(f"{name}: the projection holds non-finite values")
    return channels
