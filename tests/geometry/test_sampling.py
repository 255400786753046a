"""Samplings against healpy and closed forms."""

import healpy as hp
import numpy as np
import pytest

from deepsphere.geometry import sampling


@pytest.mark.parametrize("bad", [0, 3, -2, 6, 2.0, True, "8"])
def test_check_nside_rejects(bad):
    with pytest.raises(ValueError, match="power of 2"):
        sampling.check_nside(bad)


@pytest.mark.parametrize("nest", [True, False])
def test_healpix_vectors_match_healpy(nest):
    s = sampling.healpix_sampling(8, nest=nest)
    ref = np.stack(hp.pix2vec(8, np.arange(768), nest=nest), axis=1)
    np.testing.assert_allclose(s.vectors, ref, atol=1e-15)
    assert s.n_vertices == 768 and s.kind == "healpix" and s.params["nest"] is nest
    theta, phi = hp.pix2ang(8, np.arange(768), nest=nest)
    np.testing.assert_allclose(s.lat, np.pi / 2 - theta, atol=1e-12)
    np.testing.assert_allclose(s.lon, phi, atol=1e-12)


def test_healpix_ordering_is_explicit():
    with pytest.raises(TypeError):
        sampling.healpix_sampling(4)  # nest is keyword-only and required
    with pytest.raises(ValueError, match="nest=True"):
        sampling.healpix_sampling(4, nest=None)


def test_healpix_subset_keeps_given_order():
    idx = [5, 2, 100]
    s = sampling.healpix_sampling(4, nest=False, indexes=idx)
    np.testing.assert_allclose(s.vectors, np.stack(hp.pix2vec(4, idx, nest=False), axis=1))
    assert s.params["indexes"] == idx


@pytest.mark.parametrize("bad,msg", [([0, 0], "duplicates"), ([-1], "out of range"),
                                     ([192], "out of range"), ([], "non-empty")])
def test_healpix_subset_errors(bad, msg):
    with pytest.raises(ValueError, match=msg):
        sampling.healpix_sampling(4, nest=True, indexes=bad)


@pytest.mark.parametrize("order", [1, 2, 4])
def test_patches_are_coarse_pixels(order):
    nside = 8
    n_patches = 12 * order**2
    for patch in (0, n_patches - 1):
        idx = sampling.healpix_patch_indexes(nside, order, patch, nest=True)
        assert idx.size == 12 * nside**2 // n_patches
        theta, phi = hp.pix2ang(nside, idx, nest=True)
        # every pixel centre of patch p lies in the coarse pixel p (nside = order)
        assert np.all(hp.ang2pix(order, theta, phi, nest=True) == patch)
    s = sampling.healpix_sampling(nside, nest=True, indexes=idx)
    assert s.params["indexes"] == {"order": order, "patch": n_patches - 1}


def test_patch_errors():
    with pytest.raises(ValueError, match="NEST"):
        sampling.healpix_patch_indexes(8, 2, nest=False)
    with pytest.raises(ValueError, match="order"):
        sampling.healpix_patch_indexes(8, 3, nest=True)
    with pytest.raises(ValueError, match="order"):
        sampling.healpix_patch_indexes(8, 16, nest=True)
    with pytest.raises(ValueError, match="patch"):
        sampling.healpix_patch_indexes(8, 1, 12, nest=True)


def test_split_nest_map_into_patches():
    m = np.arange(768.0)
    patches = sampling.split_nest_map_into_patches(np.stack([m, -m], axis=1), 2)
    assert patches.shape == (48, 16, 2)
    coarse = hp.ang2pix(2, *hp.pix2ang(8, np.arange(768), nest=True), nest=True)
    for p in (0, 17, 47):
        np.testing.assert_array_equal(patches[p, :, 0], np.flatnonzero(coarse == p))
    with pytest.raises(ValueError, match="12 nside"):
        sampling.split_nest_map_into_patches(np.zeros(100), 1)


def test_equiangular_soft_grid_b2():
    s = sampling.equiangular_sampling(2, grid="SOFT")
    theta = np.pi / 2 - s.lat.reshape(4, 4)
    # hand-worked: theta_j = pi (2j+1) / 8, phi_k = pi k / 2, colatitude rows outer
    np.testing.assert_allclose(theta[:, 0], [np.pi / 8, 3 * np.pi / 8, 5 * np.pi / 8, 7 * np.pi / 8])
    np.testing.assert_allclose(s.lon.reshape(4, 4)[1], [0, np.pi / 2, np.pi, 3 * np.pi / 2], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(s.vectors, axis=1), 1)


def test_equiangular_dh_grid():
    b = 3
    s = sampling.equiangular_sampling(b, grid="DH")
    v = s.vectors.reshape(2 * b, 2 * b, 3)
    j, k = 4, 5
    th, ph = np.pi * j / (2 * b), np.pi * k / b
    np.testing.assert_allclose(v[j, k], [np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)])
    np.testing.assert_allclose(v[0, :, 2], 1.0)  # row 0 is the north pole
    with pytest.raises(ValueError, match="SOFT"):
        sampling.equiangular_sampling(3, grid="GL")
    with pytest.raises(ValueError, match="bandwidth"):
        sampling.equiangular_sampling(0)


def test_icosahedral_counts_and_hierarchy():
    prev = None
    for level in range(5):
        s = sampling.icosahedral_sampling(level)
        assert s.n_vertices == 10 * 4**level + 2
        np.testing.assert_allclose(np.linalg.norm(s.vectors, axis=1), 1, atol=1e-14)
        if prev is not None:
            np.testing.assert_array_equal(s.vectors[: prev.n_vertices], prev.vectors)
        prev = s
    assert [sampling.icosahedral_sampling(lv).n_vertices for lv in range(4)] == [12, 42, 162, 642]


def test_icosahedron_is_regular():
    v = sampling.icosahedral_sampling(0).vectors
    d = np.linalg.norm(v[:, None] - v[None], axis=-1)
    edge = 4 / np.sqrt(10 + 2 * np.sqrt(5))  # edge of the unit-circumradius icosahedron
    np.testing.assert_allclose(np.sort(d, axis=1)[:, 1:6], edge, rtol=1e-12)
    assert np.all(np.sort(d, axis=1)[:, 6] > edge * 1.5)


def test_icosahedral_level1_midpoints():
    v0 = sampling.icosahedral_sampling(0).vectors
    v1 = sampling.icosahedral_sampling(1).vectors[12:]
    # each new vertex is the normalised midpoint of two level-0 vertices one edge apart
    d = np.linalg.norm(v1[:, None] - v0[None], axis=-1)
    two = np.argsort(d, axis=1)[:, :2]
    mid = v0[two[:, 0]] + v0[two[:, 1]]
    np.testing.assert_allclose(v1, mid / np.linalg.norm(mid, axis=1, keepdims=True), atol=1e-14)


def test_points_sampling():
    s = sampling.points_sampling([0, 90, -180], [0, 45, -90])
    np.testing.assert_allclose(
        s.vectors, [[1, 0, 0], [0, np.sqrt(0.5), np.sqrt(0.5)], [0, 0, -1]], atol=1e-15
    )
    np.testing.assert_allclose(np.rad2deg(s.lat), [0, 45, -90])
    for lon, lat, msg in [([0, 1], [0], "same length"), ([0], [91], "lat_deg"),
                          ([np.nan], [0], "NaN")]:
        with pytest.raises(ValueError, match=msg):
            sampling.points_sampling(lon, lat)


@pytest.mark.parametrize("make", [
    lambda: sampling.healpix_sampling(4, nest=True, indexes=[3, 1]),
    lambda: sampling.healpix_sampling(4, nest=True, indexes={"order": 2, "patch": 5}),
    lambda: sampling.equiangular_sampling(3, grid="DH"),
    lambda: sampling.icosahedral_sampling(2),
    lambda: sampling.points_sampling([1.5, 2], [3, -4]),
])
def test_params_rebuild(make):
    import json

    s = make()
    r = sampling.sampling_from_params(s.kind, json.loads(json.dumps(s.params)))
    np.testing.assert_array_equal(r.vectors, s.vectors)


@pytest.mark.parametrize("nside", [1, 2, 4, 16, 128])
def test_nest_z_in_closed_form_equals_healpy(nside):
    """The NumPy-only z of the NEST pixel centres against healpy's pix2vec."""
    reference = hp.pix2vec(nside, np.arange(12 * nside**2), nest=True)[2]
    np.testing.assert_allclose(sampling.healpix_nest_z(nside), reference, rtol=0, atol=1e-15)


def test_nest_z_refuses_a_bad_nside():
    with pytest.raises(ValueError, match="nside"):
        sampling.healpix_nest_z(12)
