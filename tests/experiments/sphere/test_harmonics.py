"""deepsphere.experiments.sphere.harmonics: signals and rotations.

References are independent of the code under test: closed forms (rotated dipole, invariance of
the per-degree power, Haar moments, the expected power of a random field).
"""

import healpy as hp
import numpy as np
import pytest

from deepsphere.experiments.sphere import harmonics as hm

NSIDE = 16


def _vectors(nside, nest):
    return np.stack(hp.pix2vec(nside, np.arange(hp.nside2npix(nside)), nest=nest), axis=1)


def _band_limited_map(nside, lmax, seed, nest):
    cl = np.ones(lmax + 1)
    cl[0] = 0
    alm = hm.random_alm(cl, np.random.default_rng(seed))
    return alm, hm.alm_to_map(alm, nside, nest=nest, lmax=lmax)


@pytest.mark.parametrize("distribution", ["haar", "paper"])
@pytest.mark.parametrize("nest", [True, False])
def test_rotation_is_active_on_a_dipole(distribution, nest):
    # f(x) = v.x rotated by R is x -> v.(R^T x) = (R v).x
    rng = np.random.default_rng(3)
    vec = _vectors(NSIDE, nest)
    v = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    rot = hm.random_rotations(1, rng, distribution)[0]
    lmax = 2 * NSIDE
    rotated = hm.rotate_map(vec @ v, rot, nest=nest, lmax=lmax, iter=10)
    np.testing.assert_allclose(rotated, vec @ (rot @ v), atol=1e-6)


def test_rotation_preserves_the_power_of_each_degree():
    lmax = 3 * NSIDE - 1
    alm, _ = _band_limited_map(NSIDE, lmax, 0, nest=True)
    rot = hm.random_rotations(1, np.random.default_rng(1))[0]
    out = hm.rotate_alm(alm, rot, lmax=lmax)
    np.testing.assert_allclose(hp.alm2cl(out), hp.alm2cl(alm), rtol=1e-9, atol=1e-12)
    assert not np.allclose(out, alm)  # it did rotate


def test_rotation_is_an_isometry_on_band_limited_maps():
    lmax = NSIDE
    _, m = _band_limited_map(NSIDE, lmax, 1, nest=True)
    rot = hm.random_rotations(1, np.random.default_rng(2))[0]
    out = hm.rotate_map(m, rot, nest=True, lmax=lmax, iter=10)
    # the pixel sum is a quadrature of the L2 norm, exact to ~1e-4 at this band limit
    assert abs(np.linalg.norm(out) / np.linalg.norm(m) - 1) < 1e-3


def test_rotation_composes_and_inverts():
    lmax = 2 * NSIDE
    alm, m = _band_limited_map(NSIDE, lmax, 2, nest=True)
    r1, r2 = hm.random_rotations(2, np.random.default_rng(4))
    back = hm.rotate_map(hm.rotate_map(m, r1, nest=True, lmax=lmax, iter=10), r1.T, nest=True,
                         lmax=lmax, iter=10)  # fmt: skip
    np.testing.assert_allclose(back, m, atol=1e-8 * np.abs(m).max())
    two_steps = hm.rotate_alm(hm.rotate_alm(alm, r1, lmax=lmax), r2, lmax=lmax)
    np.testing.assert_allclose(two_steps, hm.rotate_alm(alm, r2 @ r1, lmax=lmax), atol=1e-9)


def test_haar_rotations_move_an_axis_uniformly():
    rots = hm.random_rotations(4000, np.random.default_rng(5), "haar")
    assert np.allclose(np.einsum("nij,nkj->nik", rots, rots), np.eye(3), atol=1e-12)
    assert np.allclose(np.linalg.det(rots), 1.0)
    z = rots[:, :, 2]  # image of the z axis: uniform on the sphere under Haar
    assert np.all(np.abs(z.mean(axis=0)) < 0.05)
    np.testing.assert_allclose((z**2).mean(axis=0), 1 / 3, atol=0.03)


def test_single_degree_alm_has_unit_power_at_that_degree_only():
    lmax, ell = 40, 12
    cls = np.array([hp.alm2cl(hm.random_alm(hm.single_degree_spectrum(ell, lmax),
                                            np.random.default_rng(s))) for s in range(200)])  # fmt: skip
    assert np.all(np.delete(cls, ell, axis=1) == 0)
    assert abs(cls[:, ell].mean() - 1) < 0.05  # E C_l^hat = C_l = 1


@pytest.mark.parametrize(
    ("call", "match"),
    list(zip(
    [
        lambda: hm.single_degree_spectrum(0, 10),
        lambda: hm.random_rotations(2, np.random.default_rng(0), "zyz"),
        lambda: hm.default_lmax(12),
        lambda: hm.rotate_alm(np.zeros(3, complex), np.ones((3, 3)), lmax=1),
    ],
    ['ell must be in \\[1, lmax=10\\]', 'rotation distribution must be one of', 'nside=12 is not a valid HEALPix nside', 'rotation must be a 3x3 orthogonal'],
    strict=True,
    )),
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
