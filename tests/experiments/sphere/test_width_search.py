"""deepsphere.experiments.sphere.width_search: the kernel-width search and the V1 width.

References are independent of the code under test: a convex function's known minimum, the
graph module's heat kernel, the paper's published widths.
"""

import numpy as np
import pytest

from deepsphere.experiments.sphere import width_search as ws
from deepsphere.geometry.graphs import healpix_knn_graph
from deepsphere.geometry.kernel_widths import paper_kernel_width_sigma


def test_width_search_recovers_a_known_minimum():
    target = 0.0317
    res = ws.search_kernel_width(lambda s: (np.log(s / target)) ** 2 + 1.0, 0.05)
    step = res.sigma_grid[1] / res.sigma_grid[0]
    assert res.sigma_grid.size == 20 and np.isclose(res.sigma_grid[0], 0.005)
    assert np.isclose(res.sigma_grid[-1], 0.5) and not res.at_edge
    assert 1 / step <= res.sigma_grid_best / target <= step
    assert abs(res.sigma_best / target - 1) < 0.01
    edge = ws.search_kernel_width(lambda s: s, 0.05, refine=False)
    assert edge.at_edge and edge.sigma_best == edge.sigma_grid[0]


def test_width_search_lands_near_the_paper_sigma_for_knn8():
    nside = 16  # paper table: sigma(32) * 32 / 16 (the paper's own extrapolation)
    g = healpix_knn_graph(nside, 8, nest=True, t="paper")
    objective = ws.knn_width_objective(ws.KnnReweighter(g.weights, g.sampling.vectors), nside,
                                       nest=True, seed=0, n_signals=1, n_rotations=3)  # fmt: skip
    res = ws.search_kernel_width(objective, ws.paper_sigma0(nside))
    assert abs(res.sigma_best / paper_kernel_width_sigma(nside, 8) - 1) < 0.25


def test_reweighter_reproduces_the_heat_kernel():
    g = healpix_knn_graph(8, 8, nest=True, t=1e-3)
    w = ws.KnnReweighter(g.weights, g.sampling.vectors)(1e-3)
    np.testing.assert_allclose(w.toarray(), g.weights.toarray(), rtol=1e-5, atol=1e-7)


def test_v1_heuristic_width_matches_the_paper():
    assert ws.v1_heuristic_t(32) == pytest.approx(ws.paper_v1_heuristic_t()[32], rel=1e-4)


@pytest.mark.parametrize(
    ("call", "match"),
    list(zip(
    [
        lambda: ws.search_kernel_width(lambda s: s, -1.0),
        lambda: ws.KnnReweighter(healpix_knn_graph(2, 8, nest=True).weights, np.zeros((3, 3))),
        lambda: ws.KnnReweighter(healpix_knn_graph(2, 8, nest=True).weights, np.eye(3)[[0] * 48])(
            0.0
        ),
    ],
    ['need sigma0 > 0', 'vectors must have shape \\(48, 3\\)', 'kernel width t must be > 0'],
    strict=True,
    )),
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
