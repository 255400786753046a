"""Parametric shape families of the stand-in datasets: random proportions, tapers, jitter, size
and offset, rotated about z or uniformly; defects (open meshes, degenerate faces, a removed lid)
so that the readers and the projection meet what real datasets hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import trimesh

from deepsphere.experiments.shapes.projection import random_rotation

_HEIGHT_OF_VARIANT = (1.0, 0.7, 1.4)  # variant 0 = the synset itself, 1 and 2 = siblings


class Family(NamedTuple):
    build: Callable[[np.random.Generator, float], trimesh.Trimesh]
    flat_top: bool  # the top is a flat face set (a "lid" can be removed)


def _u(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


def _translated(mesh: trimesh.Trimesh, offset) -> trimesh.Trimesh:
    mesh.apply_translation(offset)
    return mesh


def _box(rng, h):
    mesh = trimesh.creation.box(extents=[_u(rng, .6, 1.4), _u(rng, .6, 1.4), _u(rng, .6, 1.4) * h])
    return mesh.subdivide().subdivide()


# tower and lying_tower: long boxes standing and lying (their long axis vertical, or along x
# before the z rotation): orientation-related classes, as in aligned real data
def _tower(rng, h):
    mesh = trimesh.creation.box(extents=[_u(rng, .35, .5), _u(rng, .35, .5), _u(rng, 1.2, 1.6) * h])
    return mesh.subdivide().subdivide()


def _lying_tower(rng, h):
    mesh = trimesh.creation.box(extents=[_u(rng, 1.2, 1.6) * h, _u(rng, .35, .5), _u(rng, .35, .5)])
    return mesh.subdivide().subdivide()


def _cylinder(rng, h):
    return trimesh.creation.cylinder(radius=_u(rng, .3, .7), height=_u(rng, .6, 1.6) * h, sections=32)


def _cone(rng, h):
    return trimesh.creation.cone(radius=_u(rng, .4, .8), height=_u(rng, .8, 1.6) * h, sections=32)


def _torus(rng, h):
    mesh = trimesh.creation.torus(_u(rng, .6, 1.0), _u(rng, .15, .35), 32, 16)
    mesh.apply_scale([1.0, 1.0, h])
    return mesh


def _capsule(rng, h):
    return trimesh.creation.capsule(height=_u(rng, .5, 1.5) * h, radius=_u(rng, .25, .5), count=[16, 16])


def _ellipsoid(rng, h):
    mesh = trimesh.creation.icosphere(subdivisions=2)
    mesh.apply_scale([_u(rng, .5, 1.0), _u(rng, .5, 1.0), _u(rng, .8, 1.5) * h])
    return mesh


def _pyramid(rng, h):
    return trimesh.creation.cone(radius=_u(rng, .5, .9), height=_u(rng, .6, 1.4) * h, sections=4)


def _hex_prism(rng, h):
    return trimesh.creation.cylinder(radius=_u(rng, .4, .8), height=_u(rng, .4, 1.2) * h, sections=6)


def _tube(rng, h):
    r_min = _u(rng, .25, .45)
    return trimesh.creation.annulus(r_min=r_min, r_max=r_min + _u(rng, .1, .3),
                                    height=_u(rng, .6, 1.4) * h, sections=32)


def _table(rng, h):
    leg = _u(rng, .6, 1.0) * h
    thickness = _u(rng, .06, .12)
    top = trimesh.creation.box(extents=[_u(rng, 1.0, 1.6), _u(rng, .8, 1.2), thickness])
    top = _translated(top.subdivide(), [0, 0, leg + thickness / 2])
    stem = _translated(trimesh.creation.cylinder(radius=_u(rng, .05, .12), height=leg, sections=16),
                       [0, 0, leg / 2])
    return trimesh.util.concatenate([top, stem])


def _snowman(rng, h):
    r1 = _u(rng, .4, .6)
    r2 = r1 * _u(rng, .5, .8)
    low = trimesh.creation.icosphere(subdivisions=2, radius=r1)
    high = _translated(trimesh.creation.icosphere(subdivisions=2, radius=r2), [0, 0, (r1 + .8 * r2) * h])
    return trimesh.util.concatenate([low, high])


def _ice_cream(rng, h):
    height = _u(rng, .8, 1.4) * h
    radius = _u(rng, .25, .4)
    cone = trimesh.creation.cone(radius=radius, height=height, sections=24)
    cone.apply_transform(trimesh.transformations.rotation_matrix(np.pi, [1, 0, 0]))  # apex down
    ball = trimesh.creation.icosphere(subdivisions=2, radius=radius * _u(rng, 1.0, 1.3))
    return trimesh.util.concatenate([_translated(cone, [0, 0, height]),
                                     _translated(ball, [0, 0, height])])


def _dumbbell(rng, h):
    length = _u(rng, 1.0, 1.6)
    bar = trimesh.creation.cylinder(radius=_u(rng, .06, .12), height=length, sections=16)
    bar.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [0, 1, 0]))  # along x
    radius = _u(rng, .2, .35)
    balls = [_translated(trimesh.creation.icosphere(subdivisions=2, radius=radius),
                         [sign * length / 2, 0, 0]) for sign in (-1, 1)]
    mesh = trimesh.util.concatenate([bar, *balls])
    mesh.apply_scale([1.0, 1.0, h])
    return mesh


def _cross(rng, h):
    long, wide, thick = _u(rng, 1.2, 1.8), _u(rng, .2, .4), _u(rng, .15, .35) * h
    a = trimesh.creation.box(extents=[long, wide, thick])
    b = trimesh.creation.box(extents=[wide, long * _u(rng, .6, 1.0), thick])
    return trimesh.util.concatenate([a.subdivide(), b.subdivide()])


#: The shape families, in class order (one per class; ``flat_top`` families can lose a "lid").
FAMILIES: dict[str, Family] = {
    "tower": Family(_tower, True),
    "lying_tower": Family(_lying_tower, True),
    "box": Family(_box, True),
    "cylinder": Family(_cylinder, True),
    "cone": Family(_cone, False),
    "torus": Family(_torus, False),
    "capsule": Family(_capsule, False),
    "ellipsoid": Family(_ellipsoid, False),
    "pyramid": Family(_pyramid, False),
    "hex_prism": Family(_hex_prism, True),
    "tube": Family(_tube, True),
    "table": Family(_table, True),
    "snowman": Family(_snowman, False),
    "ice_cream": Family(_ice_cream, False),
    "dumbbell": Family(_dumbbell, False),
    "cross": Family(_cross, True),
}


# ----------------------------------------------------------------------------- deformations
def _remove_band(mesh: trimesh.Trimesh, rng) -> trimesh.Trimesh:
    """Remove the faces whose centroid lies in a horizontal band (an open mesh)."""
    z = mesh.triangles_center[:, 2]
    low, high = float(z.min()), float(z.max())
    z0 = low + _u(rng, .3, .7) * (high - low)
    drop = np.abs(z - z0) < 0.08 * (high - low)
    if not drop.any():
        drop[np.argmin(np.abs(z - z0))] = True
    return trimesh.Trimesh(mesh.vertices, mesh.faces[~drop], process=False)


def _remove_lid(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Remove the upward faces at the top (a box without its lid: rays from above enter)."""
    top = float(mesh.vertices[:, 2].max())
    extent = float(np.ptp(mesh.vertices[:, 2]))
    drop = (mesh.face_normals[:, 2] > 0.99) & (mesh.triangles_center[:, 2] > top - 1e-6 * extent)
    if not drop.any():
        raise ValueError("this mesh has no flat top to remove")
    return trimesh.Trimesh(mesh.vertices, mesh.faces[~drop], process=False)


def _add_degenerate_faces(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Append zero-area faces: ``(a, a, b)`` and ``(a, a', b)`` with ``a'`` a copy of vertex ``a``."""
    a, b = int(faces[0, 0]), int(faces[0, 1])
    vertices = np.vstack([vertices, vertices[a]])
    extra = np.array([[a, a, b], [a, len(vertices) - 1, b]], dtype=np.int64)
    return vertices, np.vstack([faces, extra])


def make_shape(
    family: str, rng: np.random.Generator, *, rotation: str = "z", variant: int = 0,
    defect: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One random mesh of ``family``: ``(vertices float64 (n, 3), faces int64 (m, 3))``.

    ``rotation``: ``"z"`` (about the z axis) or ``"so3"`` (uniform). ``variant`` 0, 1, 2 scales
    the family's heights by 1, 0.7, 1.4. ``defect``: ``None``, ``"open"``, ``"degenerate"`` or
    ``"lid"`` (flat-topped families only), see the module docstring.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown shape family {family!r}; known: {list(FAMILIES)}")
    if rotation not in ("z", "so3"):
        raise ValueError(f"rotation must be 'z' or 'so3', got {rotation!r}")
    if defect not in (None, "open", "degenerate", "lid"):
        raise ValueError(f"unknown defect {defect!r}")
    if defect == "lid" and not FAMILIES[family].flat_top:
        raise ValueError(f"family {family!r} has no flat top: it cannot lose a lid")
    mesh = FAMILIES[family].build(rng, _HEIGHT_OF_VARIANT[variant])
    if defect == "open":
        mesh = _remove_band(mesh, rng)
    elif defect == "lid":
        mesh = _remove_lid(mesh)
    vertices = np.array(mesh.vertices, dtype=np.float64)
    faces = np.array(mesh.faces, dtype=np.int64)
    z = vertices[:, 2]
    span = max(float(np.ptp(z)), 1e-9)
    taper = 1 + _u(rng, -.15, .15) * ((z - z.min()) / span - 0.5)
    vertices[:, :2] *= taper[:, None]
    vertices += rng.normal(0.0, 0.004 * float(np.ptp(vertices, axis=0).max()), vertices.shape)
    rot = random_rotation("z" if rotation == "z" else "so3", rng)  # the projection's draws
    scale = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
    offset = rng.uniform(-0.2, 0.2, 3) * scale
    vertices = vertices @ rot.T * scale + offset
    if defect == "degenerate":
        vertices, faces = _add_degenerate_faces(vertices, faces)
    return vertices, faces
