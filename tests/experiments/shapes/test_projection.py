"""Projection onto the sphere against closed forms (sphere, cube, symmetry, hull, misses)."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from deepsphere.experiments.shapes import _embree as eb
from deepsphere.experiments.shapes import projection as pj

NSIDE = 16
GRID = pj.sphere_grid({"sampling": "healpix", "nside": NSIDE, "nest": True})


def _cube(a):
    return trimesh.creation.box(extents=[2 * a, 2 * a, 2 * a])


def test_a_sphere_of_radius_r_gives_distance_1_minus_r_and_cos_1():
    for r in (0.3, 0.7):
        sphere = trimesh.creation.icosphere(subdivisions=5, radius=r)
        ch = pj.ray_channels(sphere, GRID, no_hit_distance=1.0)
        # flat facets sit at most r (1 - cos(half the facet angle)) ~ 5e-5 r inside the sphere
        np.testing.assert_allclose(ch[:, 0], 1 - r, atol=1e-3 * r)
        np.testing.assert_allclose(ch[:, 1], 1.0, atol=1e-3)
        np.testing.assert_allclose(ch[:, 2], 0.0, atol=0.05)


def test_an_axis_aligned_cube_gives_the_closed_form_distance_along_each_ray():
    """A ray from g (|g| = 1) to the centre meets the face of the largest |g_i| at
    (1 - t) |g_i| = a: distance 1 - a / max_i |g_i|, cos = max_i |g_i|."""
    a = 0.4
    ch = pj.ray_channels(_cube(a), GRID, no_hit_distance=1.0)
    gmax = np.abs(GRID).max(axis=1)
    np.testing.assert_allclose(ch[:, 0], 1 - a / gmax, atol=1e-5)
    np.testing.assert_allclose(ch[:, 1], gmax, atol=1e-5)
    np.testing.assert_allclose(ch[:, 2], np.sqrt(1 - gmax**2), atol=1e-4)


def test_the_projected_cube_is_scaled_to_radius_0_99():
    out = pj.project_mesh(_cube(3.0).vertices, _cube(3.0).faces, GRID, no_hit_distance=1.0)
    a = 0.99 / np.sqrt(3)  # the corners land at radius 0.99
    gmax = np.abs(GRID).max(axis=1)
    assert out.shape == (len(GRID), 6) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0], 1 - a / gmax, atol=1e-5)
    np.testing.assert_allclose(out[:, 3:], out[:, :3], atol=1e-5)  # convex: hull = mesh


def _lopsided_mesh():
    """A union with no symmetry: a box, a sphere off to one side, a long thin bar."""
    parts = [trimesh.creation.box(extents=[1.0, 0.6, 0.4]),
             trimesh.creation.icosphere(subdivisions=3, radius=0.35).apply_translation([0.7, 0.3, 0.1]),
             trimesh.creation.box(extents=[0.1, 1.6, 0.1]).apply_translation([-0.3, 0.2, -0.2])]
    return trimesh.util.concatenate(parts)


def test_a_90_degree_z_rotation_of_the_mesh_is_a_pixel_permutation_of_the_map():
    mesh = _lopsided_mesh()
    rz = pj._rz(np.pi / 2)
    base = pj.project_mesh(mesh.vertices, mesh.faces, GRID, no_hit_distance=1.0)
    rotated = pj.project_mesh(mesh.vertices, mesh.faces, GRID, rotation=rz, no_hit_distance=1.0)
    # m'(g) = m(R^-1 g): HEALPix's pixel centres map onto each other under a 90 degree z turn
    back = GRID @ rz  # rows R^-1 g (R orthogonal)
    perm = np.argmin(((back[:, None, :] - GRID[None]) ** 2).sum(-1), axis=1)
    assert np.allclose(GRID[perm], back, atol=1e-9) and len(set(perm)) == len(GRID)
    np.testing.assert_allclose(rotated, base[perm], atol=2e-5)
    assert not np.allclose(rotated, base, atol=1e-2)  # the map did change


def test_a_concave_mesh_differs_from_its_hull():
    mesh = _lopsided_mesh()
    out = pj.project_mesh(mesh.vertices, mesh.faces, GRID, no_hit_distance=1.0)
    assert (out[:, 3] <= out[:, 0] + 1e-5).all()  # the hull is hit first or at the same place
    assert (out[:, 0] - out[:, 3] > 0.05).any()


def test_missed_rays_get_the_no_hit_values():
    small = trimesh.creation.icosphere(subdivisions=3, radius=0.1).apply_translation([0.5, 0, 0])
    for no_hit in (1.0, 0.0):
        ch = pj.ray_channels(small, GRID, no_hit_distance=no_hit)
        # the ray's line through g and 0 passes within 0.1 of (0.5, 0, 0) iff 0.5 sin(angle to
        # the x axis) < 0.1, i.e. within 11.5 degrees of +x or (beyond the centre, as the
        # originals' rays do) of -x
        angle = np.degrees(np.arccos(np.clip(GRID[:, 0], -1, 1)))
        hit_before, hit_beyond = angle < 11, angle > 169
        missed = (angle > 12.5) & (angle < 167.5)
        assert (ch[missed] == [no_hit, 0.0, 0.0]).all()
        assert (ch[hit_before, 0] < 0.5).all() and (ch[hit_before, 1] > 0).all()
        assert (ch[hit_beyond, 0] > 1.3).all()  # 1 + 0.4 (the near side of the ball at -x)


def test_rotations_are_seeded_orthogonal_and_uniform():
    rng = np.random.default_rng(0)
    so3 = np.stack([pj.random_rotation("so3", rng) for _ in range(3000)])
    np.testing.assert_allclose(so3 @ so3.transpose(0, 2, 1), np.broadcast_to(np.eye(3), so3.shape),
                               atol=1e-12)
    assert np.allclose(np.linalg.det(so3), 1.0)
    ez = so3[:, :, 2]  # R e_z is uniform on the sphere for a Haar R: mean 0, E z^2 = 1/3
    assert np.abs(ez.mean(axis=0)).max() < 0.05 and abs((ez[:, 2] ** 2).mean() - 1 / 3) < 0.03
    z = pj.random_rotation("z", rng)
    np.testing.assert_allclose(z @ [0, 0, 1], [0, 0, 1], atol=1e-15)
    assert (pj.random_rotation("none", rng) == np.eye(3)).all()
    r1 = pj.random_rotation("so3", np.random.default_rng(5))
    assert (r1 == pj.random_rotation("so3", np.random.default_rng(5))).all()
    with pytest.raises(ValueError, match="rotation 'xyz' is not one of"):
        pj.random_rotation("xyz", rng)


def test_translations_have_uniform_norm_below_the_bound():
    rng = np.random.default_rng(1)
    t = np.stack([pj.random_translation(0.1, rng) for _ in range(4000)])
    norm = np.linalg.norm(t, axis=1)
    assert norm.max() <= 0.1 and abs(norm.mean() - 0.05) < 0.003  # U(0, 0.1): mean 0.05
    assert np.abs((t / norm[:, None]).mean(axis=0)).max() < 0.05  # directions uniform
    assert (pj.random_translation(0.0, rng) == 0).all()


def test_grids_need_an_explicit_ordering_and_a_known_sampling():
    with pytest.raises(ValueError, match="explicit 'nest'"):
        pj.sphere_grid({"sampling": "healpix", "nside": 32})
    with pytest.raises(ValueError, match="projection sampling 'cube'"):
        pj.sphere_grid({"sampling": "cube"})
    soft = pj.sphere_grid({"sampling": "equiangular", "bandwidth": 4, "grid": "SOFT"})
    assert soft.shape == (64, 3) and np.allclose(np.linalg.norm(soft, axis=1), 1)


def test_a_mesh_with_only_degenerate_faces_is_refused_with_its_name():
    v = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0]], float)
    with pytest.raises(ValueError, match="flat.off: no face left"):
        pj.project_mesh(v, np.array([[0, 1, 2]]), GRID, no_hit_distance=1.0, name="flat.off")


def test_a_ray_entering_an_open_box_hits_the_bottom_from_inside_with_a_negative_cos():
    """Box [-a, a]^3 without its top: a ray from near the north pole passes the opening and
    meets the bottom z = -a from inside: (1 - t) g_z = -a, distance 1 + a / g_z, cos = -g_z."""
    a = 0.4
    box = _cube(a)
    box.update_faces(box.face_normals[:, 2] < 0.5)  # drop the two top triangles
    near_pole = GRID[:, 2] > 0.99
    ch = pj.ray_channels(box, GRID, no_hit_distance=1.0)[near_pole]
    gz = GRID[near_pole, 2]
    np.testing.assert_allclose(ch[:, 0], 1 + a / gz, atol=1e-5)
    np.testing.assert_allclose(ch[:, 1], -gz, atol=1e-5)


def _outside_hits_face_the_ray(out):
    """First hits from outside a closed body: the outward normal faces the ray, n . g > 0."""
    hit = out[:, 0] < 1.0
    return hit.any() and (out[hit, 1] > 0).all()


def test_inconsistently_wound_faces_are_reoriented_like_the_sphere_closed_form():
    sphere = trimesh.creation.icosphere(subdivisions=4)
    faces = sphere.faces.copy()
    flip = np.random.default_rng(0).random(len(faces)) < 0.2
    faces[flip] = faces[flip][:, ::-1]
    for f in (faces, faces[:, ::-1]):  # and with most faces inward: the closed body is inverted
        out = pj.project_mesh(sphere.vertices, f, GRID, no_hit_distance=1.0)
        np.testing.assert_allclose(out[:, 0], 1 - 0.99, atol=2e-3)  # radius 0.99
        np.testing.assert_allclose(out[:, 1], 1.0, atol=2e-3)


def test_each_closed_part_of_a_multi_part_mesh_is_oriented_outwards():
    """multibody: an inside-out ball next to a box (disjoint, closed) gets outward normals."""
    ball = trimesh.creation.icosphere(subdivisions=3, radius=0.3).apply_translation([0.5, 0, 0])
    ball.invert()
    box = trimesh.creation.box(extents=[0.4, 0.4, 0.4]).apply_translation([-0.4, 0, 0])
    mesh = trimesh.util.concatenate([ball, box])
    out = pj.project_mesh(mesh.vertices, mesh.faces, GRID, no_hit_distance=1.0)
    assert _outside_hits_face_the_ray(out)


def test_an_open_mesh_keeps_the_orientation_most_of_its_faces_had():
    sphere = trimesh.creation.icosphere(subdivisions=4)
    faces = sphere.faces[sphere.triangles_center[:, 2] < 0.8].copy()  # a large hole at the top
    flip = np.random.default_rng(2).random(len(faces)) < 0.2
    faces[flip] = faces[flip][:, ::-1]
    out = pj.project_mesh(sphere.vertices, faces, GRID, no_hit_distance=1.0)
    outside = out[:, 0] < 0.5  # hits on the outer side
    assert outside.sum() > len(GRID) / 2 and (out[outside, 1] > 0.9).all()
    inside = out[:, 0] > 1.0  # through the hole onto the inside of the far wall
    assert inside.any() and (out[inside, 1] < 0).all()


def test_triangular_and_quadrilateral_holes_are_closed():
    a = 0.99 / np.sqrt(3)
    gmax = np.abs(GRID).max(axis=1)
    cube = _cube(1.0)
    # a quad hole (the two triangles of side +x), a triangular hole (one of side -x)
    keep = np.ones(len(cube.faces), bool)
    side = np.flatnonzero(cube.face_normals[:, 0] > 0.5)
    keep[side] = False
    keep[np.flatnonzero(cube.face_normals[:, 0] < -0.5)[0]] = False
    placed = pj.place_mesh(cube.vertices, cube.faces[keep], rotation=np.eye(3),
                           translation=np.zeros(3))
    assert len(placed.faces) == len(cube.faces) and placed.is_watertight
    out = pj.project_mesh(cube.vertices, cube.faces[keep], GRID, no_hit_distance=1.0)
    np.testing.assert_allclose(out[:, 0], 1 - a / gmax, atol=1e-5)  # the whole cube's form
    np.testing.assert_allclose(out[:, 1], gmax, atol=1e-5)
    # holes that touch at a vertex: every other face of a band of the sphere removed
    sphere = trimesh.creation.icosphere(subdivisions=3)
    band = np.flatnonzero(np.abs(sphere.triangles_center[:, 2]) < 0.1)
    adjacent = set(map(tuple, sphere.face_adjacency.tolist()))
    removed = []
    for face in band:
        if not any((min(face, r), max(face, r)) in adjacent for r in removed):
            removed.append(face)
    keep = np.setdiff1d(np.arange(len(sphere.faces)), removed)
    placed = pj.place_mesh(sphere.vertices, sphere.faces[keep], rotation=np.eye(3),
                           translation=np.zeros(3))
    assert len(placed.faces) == len(sphere.faces) and placed.is_watertight


def test_an_isolated_triangle_is_not_doubled_by_the_hole_filling():
    """A lone triangle in z = 0 around the centre: every ray passes the centre, so a hit is at
    distance 1 with cos = g_z, both sides (trimesh's fill_holes would stack a reversed copy)."""
    v = np.array([[-1.0, -1.0, 0.0], [1.0, -1.0, 0.0], [0.0, 1.0, 0.0]])
    placed = pj.place_mesh(v, np.array([[0, 1, 2]]), rotation=np.eye(3), translation=np.zeros(3))
    assert len(placed.faces) == 1
    ch = pj.ray_channels(placed, GRID, no_hit_distance=1.0)
    steep = np.abs(GRID[:, 2]) > 1e-3
    np.testing.assert_allclose(ch[steep, 0], 1.0, atol=1e-9)
    np.testing.assert_allclose(ch[steep, 1], GRID[steep, 2], atol=1e-9)


def test_degenerate_duplicate_and_infinite_elements_are_dropped():
    sphere = trimesh.creation.icosphere(subdivisions=3)
    n = len(sphere.vertices)
    v = np.vstack([sphere.vertices, [[np.inf, 0, 0]], sphere.vertices[sphere.faces[9]]])
    f = np.vstack([sphere.faces, [[0, 0, 1], [n, 1, 2], [n + 1, n + 2, n + 3]],
                   sphere.faces[:5], sphere.faces[5:8, ::-1]])
    placed = pj.place_mesh(v, f, rotation=np.eye(3), translation=np.zeros(3))
    assert len(placed.faces) == len(sphere.faces) and len(placed.vertices) == n
    assert placed.is_watertight and placed.volume > 0


def test_the_embree_engine_agrees_with_trimeshs_own_engine():
    mesh = _lopsided_mesh()
    placed = pj.place_mesh(mesh.vertices, mesh.faces, rotation=pj._rz(0.3),
                           translation=np.zeros(3))
    ours = pj.ray_channels(placed, GRID, no_hit_distance=1.0)
    tri, ray, loc = trimesh.ray.ray_triangle.RayMeshIntersector(placed).intersects_id(
        GRID, -GRID, multiple_hits=False, return_locations=True)
    ref = np.zeros_like(ours)
    ref[:, 0] = 1.0
    n = placed.face_normals[tri]
    ref[ray, 0] = np.linalg.norm(GRID[ray] - loc, axis=1)
    ref[ray, 1] = np.einsum("ij,ij->i", n, GRID[ray])
    ref[ray, 2] = np.linalg.norm(np.cross(n, GRID[ray]), axis=1)
    np.testing.assert_allclose(ours[:, 0], ref[:, 0], atol=1e-5)
    # the normal may differ where a ray meets an edge between two faces
    assert (np.abs(ours - ref).max(axis=1) < 1e-5).mean() > 0.99
    if eb.ctypes_engine() is not None:  # the embreex-through-trimesh fallback gives the same
        eb._ENGINE[0], engine = None, eb._ENGINE[0]
        try:
            fallback = pj.ray_channels(placed, GRID, no_hit_distance=1.0)
        finally:
            eb._ENGINE[0] = engine
        np.testing.assert_allclose(fallback, ours, atol=1e-6)
