"""deepsphere.experiments.sphere.equivariance: rotations, signals, the error and the kernel-width search.

References are independent of the code under test: closed forms (rotated dipole, invariance of
the per-degree power, Haar moments, a convex function's minimum), the spherical Laplacian
-l(l+1) (exactly equivariant) and the paper's published numbers.
"""

import healpy as hp
import numpy as np
import pandas as pd
import pytest

from deepsphere.experiments.sphere import equivariance as eq
from deepsphere.experiments.sphere import study
from deepsphere.geometry.graphs import healpix_knn_graph, healpix_v1_graph
from deepsphere.geometry.kernel_widths import paper_kernel_width_sigma
from deepsphere.geometry.laplacian import laplacian

NSIDE = 16


def _vectors(nside, nest):
    return np.stack(hp.pix2vec(nside, np.arange(hp.nside2npix(nside)), nest=nest), axis=1)


def _band_limited_map(nside, lmax, seed, nest):
    cl = np.ones(lmax + 1)
    cl[0] = 0
    alm = eq.random_alm(cl, np.random.default_rng(seed))
    return alm, eq.alm_to_map(alm, nside, nest=nest, lmax=lmax)


@pytest.mark.parametrize("distribution", ["haar", "paper"])
@pytest.mark.parametrize("nest", [True, False])
def test_rotation_is_active_on_a_dipole(distribution, nest):
    # f(x) = v.x rotated by R is x -> v.(R^T x) = (R v).x
    rng = np.random.default_rng(3)
    vec = _vectors(NSIDE, nest)
    v = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    rot = eq.random_rotations(1, rng, distribution)[0]
    lmax = 2 * NSIDE
    rotated = eq.rotate_map(vec @ v, rot, nest=nest, lmax=lmax, iter=10)
    np.testing.assert_allclose(rotated, vec @ (rot @ v), atol=1e-6)


def test_rotation_preserves_the_power_of_each_degree():
    lmax = 3 * NSIDE - 1
    alm, _ = _band_limited_map(NSIDE, lmax, 0, nest=True)
    rot = eq.random_rotations(1, np.random.default_rng(1))[0]
    out = eq.rotate_alm(alm, rot, lmax=lmax)
    np.testing.assert_allclose(hp.alm2cl(out), hp.alm2cl(alm), rtol=1e-9, atol=1e-12)
    assert not np.allclose(out, alm)  # it did rotate


def test_rotation_is_an_isometry_on_band_limited_maps():
    lmax = NSIDE
    _, m = _band_limited_map(NSIDE, lmax, 1, nest=True)
    rot = eq.random_rotations(1, np.random.default_rng(2))[0]
    out = eq.rotate_map(m, rot, nest=True, lmax=lmax, iter=10)
    # the pixel sum is a quadrature of the L2 norm, exact to ~1e-4 at this band limit
    assert abs(np.linalg.norm(out) / np.linalg.norm(m) - 1) < 1e-3


def test_rotation_composes_and_inverts():
    lmax = 2 * NSIDE
    alm, m = _band_limited_map(NSIDE, lmax, 2, nest=True)
    r1, r2 = eq.random_rotations(2, np.random.default_rng(4))
    back = eq.rotate_map(eq.rotate_map(m, r1, nest=True, lmax=lmax, iter=10), r1.T, nest=True,
                         lmax=lmax, iter=10)  # fmt: skip
    np.testing.assert_allclose(back, m, atol=1e-8 * np.abs(m).max())
    two_steps = eq.rotate_alm(eq.rotate_alm(alm, r1, lmax=lmax), r2, lmax=lmax)
    np.testing.assert_allclose(two_steps, eq.rotate_alm(alm, r2 @ r1, lmax=lmax), atol=1e-9)


def test_haar_rotations_move_an_axis_uniformly():
    rots = eq.random_rotations(4000, np.random.default_rng(5), "haar")
    assert np.allclose(np.einsum("nij,nkj->nik", rots, rots), np.eye(3), atol=1e-12)
    assert np.allclose(np.linalg.det(rots), 1.0)
    z = rots[:, :, 2]  # image of the z axis: uniform on the sphere under Haar
    assert np.all(np.abs(z.mean(axis=0)) < 0.05)
    np.testing.assert_allclose((z**2).mean(axis=0), 1 / 3, atol=0.03)


def test_single_degree_alm_has_unit_power_at_that_degree_only():
    lmax, ell = 40, 12
    cls = np.array([hp.alm2cl(eq.random_alm(eq.single_degree_spectrum(ell, lmax),
                                            np.random.default_rng(s))) for s in range(200)])  # fmt: skip
    assert np.all(np.delete(cls, ell, axis=1) == 0)
    assert abs(cls[:, ell].mean() - 1) < 0.05  # E C_l^hat = C_l = 1


def test_error_vanishes_for_the_spherical_laplacian_and_not_for_a_mask():
    lmax_op = 2 * NSIDE
    exact = eq.harmonic_laplacian(NSIDE, nest=True, lmax=lmax_op, iter=10)
    ells = [2, 8, 16]
    good = eq.equivariance_error_curve(exact, NSIDE, ells, nest=True, seed=0, n_signals=2,
                                       n_rotations=2, iter=10, progress=False)  # fmt: skip
    assert good["error"].max() < 1e-2
    theta, _ = hp.pix2ang(NSIDE, np.arange(hp.nside2npix(NSIDE)), nest=True)
    weight = 1 + np.cos(theta)  # multiplication by a non-constant function: not equivariant
    bad = eq.equivariance_error_curve(lambda m: weight * m, NSIDE, ells, nest=True, seed=0,
                                      n_signals=2, n_rotations=2, progress=False)  # fmt: skip
    assert bad["error"].min() > 0.3
    np.testing.assert_allclose(bad["error_squared"] >= bad["error"] ** 2, True)  # Jensen


def test_graph_error_decreases_from_v1_to_knn40():
    ells = [10, 20]
    curves = {}
    graphs = {"v1": healpix_v1_graph(NSIDE, nest=True)}
    graphs.update({k: healpix_knn_graph(NSIDE, k, nest=True, t="paper") for k in (8, 20, 40)})
    for name, g in graphs.items():
        lap = laplacian(g.weights, "combinatorial")
        curves[name] = eq.equivariance_error_curve(lap, NSIDE, ells, nest=True, seed=1,
                                                   n_signals=2, n_rotations=2,
                                                   progress=False)["error"].to_numpy()  # fmt: skip
    order = np.stack([curves[n] for n in ("v1", 8, 20, 40)])
    assert np.all(np.diff(order, axis=0) < 0), order


def test_width_search_recovers_a_known_minimum():
    target = 0.0317
    res = eq.search_kernel_width(lambda s: (np.log(s / target)) ** 2 + 1.0, 0.05)
    step = res.sigma_grid[1] / res.sigma_grid[0]
    assert res.sigma_grid.size == 20 and np.isclose(res.sigma_grid[0], 0.005)
    assert np.isclose(res.sigma_grid[-1], 0.5) and not res.at_edge
    assert 1 / step <= res.sigma_grid_best / target <= step
    assert abs(res.sigma_best / target - 1) < 0.01
    edge = eq.search_kernel_width(lambda s: s, 0.05, refine=False)
    assert edge.at_edge and edge.sigma_best == edge.sigma_grid[0]


def test_width_search_lands_near_the_paper_sigma_for_knn8():
    nside = 16  # paper table: sigma(32) * 32 / 16 (the paper's own extrapolation)
    g = healpix_knn_graph(nside, 8, nest=True, t="paper")
    objective = eq.knn_width_objective(eq.KnnReweighter(g.weights, g.sampling.vectors), nside,
                                       nest=True, seed=0, n_signals=1, n_rotations=3)  # fmt: skip
    res = eq.search_kernel_width(objective, eq.paper_sigma0(nside))
    assert abs(res.sigma_best / paper_kernel_width_sigma(nside, 8) - 1) < 0.25


def test_reweighter_reproduces_the_heat_kernel():
    g = healpix_knn_graph(8, 8, nest=True, t=1e-3)
    w = eq.KnnReweighter(g.weights, g.sampling.vectors)(1e-3)
    np.testing.assert_allclose(w.toarray(), g.weights.toarray(), rtol=1e-5, atol=1e-7)


def test_paper_numbers_and_definitions():
    paper = study.load_paper_equivariance_error()
    assert set(paper["graph"]) == set(study.STUDY_GRAPHS)
    row = paper[(paper.graph == "v1") & (paper.nside == 32) & (paper.ell == 10)]
    assert row["error"].item() == pytest.approx(0.5222740239788759)
    assert study.study_graph_definition("knn20", 32)["k"] == 20
    assert eq.v1_heuristic_t(32) == pytest.approx(eq.paper_v1_heuristic_t()[32], rel=1e-4)


def test_check_equivariance_verdicts():
    rows = []
    for ell in (20, 30):
        for g, e in zip(study.STUDY_GRAPHS, (0.3, 0.1, 0.03, 0.01), strict=True):
            rows.append(
                {"graph": g, "nside": 32, "ell": ell, "error_paper": e, "error_ours": e * 1.5}
            )
    table = pd.DataFrame(rows)
    assert all(c.passed for c in study.check_equivariance(table, nsides=(32,)))
    table.loc[table.graph == "knn40", "error_ours"] = 0.1  # 10x the paper and out of order
    failed = [c.name for c in study.check_equivariance(table, nsides=(32,)) if not c.passed]
    assert len(failed) == 2 and any("ordering" in n for n in failed)


@pytest.mark.parametrize(
    "call",
    [
        lambda: eq.single_degree_spectrum(0, 10),
        lambda: eq.random_rotations(2, np.random.default_rng(0), "zyz"),
        lambda: eq.default_lmax(12),
        lambda: eq.rotate_alm(np.zeros(3, complex), np.ones((3, 3)), lmax=1),
        lambda: eq.search_kernel_width(lambda s: s, -1.0),
        lambda: study.study_graph_definition("knn", 32),
        lambda: eq.equivariance_ratios(np.eye(12), 1, eq.single_degree_spectrum(1, 2), nest=True,
                                       rng=np.random.default_rng(0), rotate_signal="x"),  # fmt: skip
        lambda: eq.equivariance_ratios(
            np.zeros((12, 12)),
            1,
            eq.single_degree_spectrum(1, 2),
            nest=True,
            rng=np.random.default_rng(0),
        ),  # fmt: skip
    ],
)
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()
