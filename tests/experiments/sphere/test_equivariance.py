"""deepsphere.experiments.sphere.equivariance (the error) and .study (paper numbers, checks).

References are independent of the code under test: the spherical Laplacian -l(l+1) (exactly
equivariant), a multiplication by a non-constant function (not equivariant) and the paper's
published numbers and graph ordering.
"""

import healpy as hp
import numpy as np
import pandas as pd
import pytest

from deepsphere.experiments.sphere import equivariance as eq
from deepsphere.experiments.sphere import harmonics as hm
from deepsphere.experiments.sphere import study
from deepsphere.geometry.graphs import healpix_knn_graph, healpix_v1_graph
from deepsphere.geometry.laplacian import laplacian

NSIDE = 16


def test_error_vanishes_for_the_spherical_laplacian_and_not_for_a_mask():
    lmax_op = 2 * NSIDE
    exact = hm.harmonic_laplacian(NSIDE, nest=True, lmax=lmax_op, iter=10)
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


def test_paper_numbers_and_definitions():
    paper = study.load_paper_equivariance_error()
    assert set(paper["graph"]) == set(study.STUDY_GRAPHS)
    row = paper[(paper.graph == "v1") & (paper.nside == 32) & (paper.ell == 10)]
    assert row["error"].item() == pytest.approx(0.5222740239788759)
    assert study.study_graph_definition("knn20", 32)["k"] == 20


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
    ("call", "match"),
    list(zip(
    [
        lambda: study.study_graph_definition("knn", 32),
        lambda: eq.equivariance_ratios(
            np.eye(12),
            1,
            hm.single_degree_spectrum(1, 2),
            nest=True,
            rng=np.random.default_rng(0),
            rotate_signal="x",
        ),  # fmt: skip
        lambda: eq.equivariance_ratios(
            np.zeros((12, 12)),
            1,
            hm.single_degree_spectrum(1, 2),
            nest=True,
            rng=np.random.default_rng(0),
        ),  # fmt: skip
    ],
    ["study graph must be 'v1' or 'knn<k>'", "rotate_signal must be 'analysis' or 'exact'", 'L f is zero'],
    strict=True,
    )),
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
