"""Laplacians against pygsp 0.6.1 and dense NumPy; spectra; Chebyshev rescaling and filtering."""

import numpy as np
import pytest
import scipy.sparse as sp

from deepsphere.geometry import graphs, laplacian


@pytest.fixture(scope="module")
def v1_graph():
    return graphs.healpix_v1_graph(4, nest=True)


def path_graph_with_isolated_vertex():
    # 0 -1- 1 -2- 2, vertex 3 isolated (hand-worked case)
    w = np.zeros((4, 4))
    w[0, 1] = w[1, 0] = 1.0
    w[1, 2] = w[2, 1] = 2.0
    return sp.csr_matrix(w)


@pytest.mark.parametrize("kind", ["combinatorial", "normalized"])
@pytest.mark.parametrize("make", [
    lambda: graphs.healpix_v1_graph(4, nest=True),
    lambda: graphs.healpix_knn_graph(4, 20, nest=False),
    lambda: graphs.icosahedral_graph(1),
])
def test_against_pygsp(make, kind):
    g = make()
    G = laplacian.to_pygsp(g)
    G.compute_laplacian(kind)
    L = laplacian.laplacian(g.weights, kind)
    assert L.dtype == np.float32 and L.format == "csr"
    np.testing.assert_allclose(L.toarray(), G.L.toarray(), atol=2e-6)


def test_hand_worked_and_isolated_vertex():
    w = path_graph_with_isolated_vertex()
    Lc = laplacian.laplacian(w, "combinatorial").toarray()
    np.testing.assert_allclose(Lc, [[1, -1, 0, 0], [-1, 3, -2, 0], [0, -2, 2, 0], [0, 0, 0, 0]])
    Ln = laplacian.laplacian(w, "normalized").toarray()
    expected = [[1, -1 / np.sqrt(3), 0, 0], [-1 / np.sqrt(3), 1, -2 / np.sqrt(6), 0],
                [0, -2 / np.sqrt(6), 1, 0], [0, 0, 0, 0]]  # L_33 = 0 as in pygsp 0.6.1
    np.testing.assert_allclose(Ln, expected, atol=1e-15)
    G = laplacian.to_pygsp(w)
    G.compute_laplacian("normalized")
    np.testing.assert_allclose(Ln, G.L.toarray(), atol=1e-15)


def test_spectrum_comes_in_harmonic_groups():
    # low end of the HEALPix graph Laplacian: near-degenerate groups of 1, 3, 5, 7 (l = 0..3)
    for g in (graphs.healpix_v1_graph(8, nest=True), graphs.healpix_knn_graph(8, 20, nest=False)):
        L = laplacian.laplacian(g.weights.astype(np.float64), "combinatorial")
        e = np.linalg.eigvalsh(L.toarray())[:16]
        assert abs(e[0]) < 1e-10
        groups = [e[1:4], e[4:9], e[9:16]]
        for lower, upper in zip(groups[:-1], groups[1:], strict=True):
            assert upper.min() > 1.4 * lower.max()
        for grp in groups:
            assert grp.max() < 1.3 * grp.min()
        # l(l+1) ratios 1 : 3 : 6 for l = 1, 2, 3, within 15%
        means = np.array([grp.mean() for grp in groups])
        np.testing.assert_allclose(means / means[0], [1, 3, 6], rtol=0.15)


def test_normalized_spectrum_and_bounds(v1_graph):
    L = laplacian.laplacian(v1_graph.weights, "normalized")
    e = np.linalg.eigvalsh(L.toarray().astype(np.float64))
    assert e.min() > -1e-6 and e.max() <= 2
    assert laplacian.largest_eigenvalue(L, "bound", kind="normalized") == 2.0
    lmax = laplacian.largest_eigenvalue(L, safety=1.02)
    assert lmax == pytest.approx(1.02 * e.max(), rel=1e-5)


def test_combinatorial_bound_is_twice_max_degree(v1_graph):
    w = v1_graph.weights
    L = laplacian.laplacian(w, "combinatorial")
    bound = laplacian.largest_eigenvalue(L, "bound", kind="combinatorial")
    assert bound == pytest.approx(2 * np.asarray(w.sum(axis=1)).max(), rel=1e-6)
    assert bound >= np.linalg.eigvalsh(L.toarray().astype(np.float64)).max()


def test_eigsh_path_matches_dense():
    g = graphs.healpix_v1_graph(16, nest=True)  # 3072 vertices: the ARPACK branch
    L = laplacian.laplacian(g.weights, "normalized")
    dense = 1.4788  # tf1-spec section 1.3 (dense eigendecomposition, 4 digits)
    lmax = laplacian.largest_eigenvalue(L, "eigsh", safety=1.0)
    assert dense * 0.99 <= lmax <= dense + 1e-4
    assert laplacian.largest_eigenvalue(L, "eigsh") >= dense  # the safety factor covers it


@pytest.mark.parametrize("interval", [(-1.0, 1.0), (-1.0, 0.5)])
def test_rescaled_spectrum_in_interval(v1_graph, interval):
    L = laplacian.laplacian(v1_graph.weights, "normalized")
    lmax = laplacian.largest_eigenvalue(L)
    R = laplacian.rescale_laplacian(L, lmax, interval)
    assert R.dtype == np.float32
    a, b = interval
    expected = (b - a) / lmax * L.toarray().astype(np.float64) + a * np.eye(L.shape[0])
    np.testing.assert_allclose(R.toarray(), expected, atol=1e-6)
    e = np.linalg.eigvalsh(R.toarray().astype(np.float64))
    assert e.min() == pytest.approx(a, abs=1e-5) and e.max() < b
    C = laplacian.chebyshev_laplacian(v1_graph.weights, "normalized", interval, "eigsh")
    np.testing.assert_allclose(C.toarray(), R.toarray(), atol=1e-6)


def test_chebyshev_filter_matches_dense_and_pygsp():
    g = graphs.healpix_knn_graph(4, 8, nest=True)
    L = laplacian.laplacian(g.weights.astype(np.float64), "normalized")
    lam, U = np.linalg.eigh(L.toarray())
    lmax = laplacian.largest_eigenvalue(L)
    R = laplacian.rescale_laplacian(L, lmax)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(L.shape[0])
    c = rng.standard_normal(6)
    # Chebyshev recursion with our rescaled operator
    t0, t1 = x, R @ x
    y = c[0] * t0 + c[1] * t1
    for ck in c[2:]:
        t0, t1 = t1, 2 * (R @ t1) - t0
        y = y + ck * t1
    h = np.polynomial.chebyshev.chebval(2 * lam / lmax - 1, c)  # dense spectral reference
    np.testing.assert_allclose(y, U @ (h * (U.T @ x)), atol=1e-4)
    # pygsp's Chebyshev heat filter on the same graph vs our exact eigendecomposition
    from pygsp import filters

    G = laplacian.to_pygsp(g)
    G.compute_laplacian("normalized")
    G.estimate_lmax()
    f = filters.Heat(G, scale=2.0)
    approx = f.filter(x, method="chebyshev", order=40)
    exact = U @ (np.exp(-2.0 * lam / G.lmax) * (U.T @ x))
    np.testing.assert_allclose(approx, exact, atol=1e-4)


def test_to_pygsp(v1_graph):
    G = laplacian.to_pygsp(v1_graph)
    np.testing.assert_allclose(G.W.toarray(), v1_graph.weights.toarray())
    np.testing.assert_array_equal(G.coords, v1_graph.sampling.vectors)


@pytest.mark.parametrize("call,msg", [
    (lambda w: laplacian.laplacian(w, "random-walk"), "kind="),
    (lambda w: laplacian.laplacian(w.toarray(), "normalized"), "square scipy.sparse"),
    (lambda w: laplacian.laplacian(w[:3], "normalized"), "square"),
    (lambda w: laplacian.laplacian(-w, "normalized"), "non-negative"),
    (lambda w: laplacian.laplacian(w + sp.eye(4), "normalized"), "zero diagonal"),
    (lambda w: laplacian.largest_eigenvalue(w, "power"), "method="),
    (lambda w: laplacian.largest_eigenvalue(w, safety=0.9), "safety"),
    (lambda w: laplacian.rescale_laplacian(w, 0.0), "lmax"),
    (lambda w: laplacian.rescale_laplacian(w, 2.0, (1, -1)), "interval"),
])
def test_errors(call, msg):
    with pytest.raises(ValueError, match=msg):
        call(path_graph_with_isolated_vertex())


@pytest.mark.parametrize("kind", ["combinatorial", "normalized"])
def test_one_pass_bound_path_equals_two_steps(v1_graph, kind):
    w = v1_graph.weights
    L = laplacian.laplacian(w.astype(np.float64), kind).toarray()
    lmax = 2.0 if kind == "normalized" else 2 * np.asarray(w.sum(axis=1)).max()
    expected = 1.5 / lmax * L - np.eye(L.shape[0])  # interval (-1, 0.5)
    got = laplacian.chebyshev_laplacian(w, kind, (-1.0, 0.5), "bound")
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.toarray(), expected, atol=1e-6)


def dense_normalized(w):
    """Dense float64 ``I - D^-1/2 W D^-1/2`` with ``L_ii = 0`` at isolated vertices."""
    w = np.asarray(w, dtype=np.float64)
    d = w.sum(axis=1)
    dinv = np.where(d > 0, 1 / np.sqrt(np.where(d > 0, d, 1)), 0.0)
    return np.diag((d > 0).astype(float)) - dinv[:, None] * w * dinv[None, :]


@pytest.mark.parametrize("interval", [(-1.0, 1.0), (-1.0, 0.5)])
def test_one_pass_normalized_keeps_the_isolated_vertex_at_the_interval_start(interval):
    """Bound path: L_33 = 0 at the isolated vertex, so its rescaled diagonal is exactly ``a``."""
    w = path_graph_with_isolated_vertex()
    a, b = interval
    expected = (b - a) / 2.0 * dense_normalized(w.toarray()) + a * np.eye(4)
    assert expected[3, 3] == a and expected[1, 1] == (b - a) / 2 + a  # the hand-worked values
    got = laplacian.chebyshev_laplacian(w, "normalized", interval, "bound")
    np.testing.assert_allclose(got.toarray(), expected, atol=1e-7)
    combinatorial = laplacian.chebyshev_laplacian(w, "combinatorial", interval, "bound")
    lc = np.diag(w.toarray().sum(1)) - w.toarray()
    np.testing.assert_allclose(combinatorial.toarray(), (b - a) / 6.0 * lc + a * np.eye(4),
                               atol=1e-7)  # Gershgorin bound 2 * max degree = 6


ENTRY_POINTS = {
    "combinatorial": lambda w: laplacian.laplacian(w, "combinatorial"),
    "normalized": lambda w: laplacian.laplacian(w, "normalized"),
    "bound-normalized": lambda w: laplacian.chebyshev_laplacian(w, "normalized", (-1, 1), "bound"),
    "bound-combinatorial": lambda w: laplacian.chebyshev_laplacian(w, "combinatorial",
                                                                  (-1, 1), "bound"),
    "eigsh": lambda w: laplacian.chebyshev_laplacian(w, "normalized", (-1, 1), "eigsh"),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_finite_weights_raise_naming_count_and_entry(entry, bad, dtype):
    w = path_graph_with_isolated_vertex().toarray()
    w[1, 2] = w[2, 1] = bad  # two stored entries
    with pytest.raises(ValueError, match=r"2 non-finite entries .*W\[1, 2\] = (nan|inf).*fix"):
        ENTRY_POINTS[entry](sp.csr_matrix(w.astype(dtype)))


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_one_way_edge_raises_instead_of_being_dropped(entry):
    w = path_graph_with_isolated_vertex().toarray()
    w[2, 3] = 0.5  # a one-way edge to the isolated vertex
    with pytest.raises(ValueError, match=r"not symmetric: 1 stored entry .*W\[2, 3\] = 0.5 but "
                                         r"W\[3, 2\] = 0.0.*W.maximum\(W.T\)"):
        ENTRY_POINTS[entry](sp.csr_matrix(w))


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_unequal_pair_raises(entry):
    w = path_graph_with_isolated_vertex().toarray()
    w[2, 1] = 2.5  # W[1, 2] = 2
    with pytest.raises(ValueError, match=r"not symmetric: 2 stored entries .*W\[1, 2\] = 2.0 but "
                                         r"W\[2, 1\] = 2.5"):
        ENTRY_POINTS[entry](sp.csr_matrix(w))


def test_symmetric_up_to_rounding_and_one_sided_explicit_zero_are_accepted():
    w = path_graph_with_isolated_vertex().toarray().astype(np.float32)
    w[2, 1] = np.nextafter(np.float32(2.0), np.float32(3.0))  # one float32 ulp apart
    got = laplacian.laplacian(sp.csr_matrix(w), "combinatorial").toarray()
    np.testing.assert_allclose(got, np.diag(w.sum(1)) - w, atol=1e-6)
    # an explicitly stored zero with no mirror entry is no edge at all
    m = sp.csr_matrix(path_graph_with_isolated_vertex()).tocoo()
    m = sp.csr_matrix((np.r_[m.data, 0.0], (np.r_[m.row, 2], np.r_[m.col, 3])), shape=(4, 4))
    assert m.nnz == 5 and m.indices[m.indptr[2]:m.indptr[3]].tolist() == [1, 3]  # stored (2, 3)
    np.testing.assert_allclose(laplacian.laplacian(m, "normalized").toarray(),
                               dense_normalized(m.toarray()), atol=1e-12)


def test_laplacian_level_entry_points_refuse_non_finite_or_asymmetric_matrices():
    L = laplacian.laplacian(path_graph_with_isolated_vertex(), "combinatorial").toarray()
    asym = L.copy()
    asym[0, 3] = -0.5
    nan = L.copy()
    nan[2, 2] = np.nan
    for call in (lambda m: laplacian.largest_eigenvalue(m, "eigsh"),
                 lambda m: laplacian.largest_eigenvalue(m, "bound"),
                 lambda m: laplacian.rescale_laplacian(m, 6.0)):
        with pytest.raises(ValueError, match=r"L is not symmetric: 1 stored entry.*L\[0, 3\]"):
            call(sp.csr_matrix(asym))
        with pytest.raises(ValueError, match=r"L has 1 non-finite entry.*L\[2, 2\] = nan"):
            call(sp.csr_matrix(nan))
