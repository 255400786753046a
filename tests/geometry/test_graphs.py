"""Sphere graphs against healpy, dense NumPy brute force and the tf1 sanity values."""

import json
import os

import healpy as hp
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial import cKDTree

from deepsphere.geometry import graphs, kernel_widths, laplacian, sampling


def dense_d2(v):
    return np.sum((v[:, None, :] - v[None, :, :]) ** 2, axis=-1)


def brute_knn_union(v, k, rtol=1e-9):
    """Dense reference: k nearest (ties at the k-th distance kept), union-symmetrised."""
    d = np.sqrt(dense_d2(v))
    np.fill_diagonal(d, np.inf)
    dk = np.sort(d, axis=1)[:, k - 1 : k]
    a = d <= dk * (1 + rtol)
    return a | a.T, d


def assert_knn_matches_brute_force(g, vectors, k, t):
    """``g``'s weights: the union-symmetrised kNN pattern of ``vectors`` (ties kept) and
    ``exp(-d^2 / 4t)`` on it, against dense NumPy."""
    a, d = brute_knn_union(vectors, k)
    w = g.weights.toarray()
    np.testing.assert_array_equal(w > 0, a)
    np.testing.assert_allclose(w[a], np.exp(-d[a] ** 2 / (4 * t)), rtol=1e-6)


def healpy_neighbour_matrix(nside, nest):
    nbr = hp.get_all_neighbours(nside, np.arange(12 * nside**2), nest=nest)
    a = np.zeros((12 * nside**2,) * 2, dtype=bool)
    cols = np.arange(12 * nside**2)
    for row in nbr:  # 8 directions
        ok = row >= 0
        a[cols[ok], row[ok]] = True
    return a


def rotation_permutation(nside, nest):
    """Pixel j such that pixel i rotated by 90 degrees about z is pixel j (exact on HEALPix)."""
    theta, phi = hp.pix2ang(nside, np.arange(12 * nside**2), nest=nest)
    perm = hp.ang2pix(nside, theta, phi + np.pi / 2, nest=nest)
    assert np.unique(perm).size == perm.size
    return perm


@pytest.mark.parametrize("nest", [True, False])
@pytest.mark.parametrize("nside", [1, 2, 4, 8])
def test_v1_neighbours_match_healpy(nside, nest):
    g = graphs.healpix_v1_graph(nside, nest=nest)
    w = g.weights
    assert w.dtype == np.float32 and w.format == "csr" and w.shape == (12 * nside**2,) * 2
    np.testing.assert_array_equal(w.toarray() > 0, healpy_neighbour_matrix(nside, nest))
    degrees = np.diff(w.indptr)
    if nside >= 2:
        assert np.sum(degrees == 7) == 24 and np.all((degrees == 7) | (degrees == 8))


@pytest.mark.parametrize("nest", [True, False])
def test_v1_weights_dense_reference(nest):
    g = graphs.healpix_v1_graph(8, nest=nest)
    a = healpy_neighbour_matrix(8, nest)
    d2 = dense_d2(np.stack(hp.pix2vec(8, np.arange(768), nest=nest), axis=1))
    expected = np.where(a, np.exp(-d2 / (2 * d2[a].mean())), 0)
    np.testing.assert_allclose(g.weights.toarray(), expected, rtol=1e-6, atol=0)


@pytest.mark.parametrize("nside,nnz,lmax", [(4, 1512, 1.4203), (8, 6120, 1.4459),
                                            (16, 24552, 1.4788)])
def test_v1_tf1_sanity_values(nside, nnz, lmax):
    g = graphs.healpix_v1_graph(nside, nest=True)
    assert g.weights.nnz == nnz
    L = laplacian.laplacian(g.weights, "normalized")
    assert laplacian.largest_eigenvalue(L, safety=1.0) == pytest.approx(lmax, abs=2e-3)


@pytest.mark.parametrize("nest", [True, False])
@pytest.mark.parametrize("make", [
    lambda nest: graphs.healpix_v1_graph(8, nest=nest),
    lambda nest: graphs.healpix_knn_graph(8, 8, nest=nest),
    lambda nest: graphs.healpix_knn_graph(8, 20, nest=nest),
])
def test_rotation_by_90_degrees_is_an_automorphism(make, nest):
    w = make(nest).weights.toarray()
    perm = rotation_permutation(8, nest)
    rotated = np.empty_like(w)
    rotated[np.ix_(perm, perm)] = w
    np.testing.assert_allclose(rotated, w, rtol=2e-6, atol=0)


@pytest.mark.parametrize("nest", [True, False])
@pytest.mark.parametrize("nside,k", [(2, 8), (4, 8), (4, 20), (8, 8), (8, 20), (8, 40), (8, 60)])
def test_healpix_knn_against_brute_force(nside, k, nest):
    g = graphs.healpix_knn_graph(nside, k, nest=nest)
    v = np.stack(hp.pix2vec(nside, np.arange(12 * nside**2), nest=nest), axis=1)
    a, d = brute_knn_union(v, k)
    w = g.weights.toarray()
    np.testing.assert_array_equal(w > 0, a)
    t = kernel_widths.paper_kernel_width_t(nside, k)
    np.testing.assert_allclose(w[a], np.exp(-d[a] ** 2 / (4 * t)), rtol=1e-6)


@pytest.mark.parametrize("k,nest", [(8, True), (60, False)])
def test_healpix_knn_face_interior_and_borders_against_brute_force(k, nest):
    """nside 16: both candidate paths (face-interior squares, breadth-first near face borders)."""
    g = graphs.healpix_knn_graph(16, k, nest=nest, t=1e-3)
    v = np.stack(hp.pix2vec(16, np.arange(3072), nest=nest), axis=1)
    assert_knn_matches_brute_force(g, v, k, 1e-3)


@pytest.mark.parametrize("tile,k,extra_ties", [(4, 8, 16), (4, 20, 16), (8, 8, 0), (16, 40, 0),
                                               (16, 20, 0)])
def test_healpix_knn_face_grid_against_brute_force(monkeypatch, tile, k, extra_ties):
    """nside 16 with small tiles: the compiled face-grid path (NEST, full sphere) on tiles far
    from the face borders and touching them, retries at r + 1 and r + 2, rows whose ties
    overflow the buffer (``extra_ties`` 0), and the leftover rows (face borders, the 8 special
    vertices) on the general path, all packed into one CSR."""
    from deepsphere.geometry import _facegrid as graphs_facegrid

    monkeypatch.setattr(graphs_facegrid, "TILE", tile)
    monkeypatch.setattr(graphs_facegrid, "MAX_EXTRA_TIES", extra_ties)
    g = graphs.healpix_knn_graph(16, k, nest=True, t=1e-3)
    v = np.stack(hp.pix2vec(16, np.arange(3072), nest=True), axis=1)
    assert_knn_matches_brute_force(g, v, k, 1e-3)
    rows = np.repeat(np.arange(3072), np.diff(g.weights.indptr))
    assert g.weights.has_sorted_indices
    assert np.all(np.diff(g.weights.indices)[rows[1:] == rows[:-1]] > 0)


@pytest.mark.parametrize("nest,indexes,k", [
    (True, {"order": 1, "patch": 5}, 20),  # a NEST patch: rows at its border fall back
    (False, np.random.default_rng(3).choice(3072, size=900, replace=False), 40),
])
def test_healpix_knn_partial_sphere_against_brute_force(nest, indexes, k):
    g = graphs.healpix_knn_graph(16, k, nest=nest, indexes=indexes, t=1e-3)
    assert_knn_matches_brute_force(g, g.sampling.vectors, k, 1e-3)


@pytest.mark.parametrize("in_place", [False, True])
def test_union_with_transpose_against_dense(in_place):
    rng = np.random.default_rng(0)
    n = 300
    a = (rng.random((n, n)) < 0.03) & ~np.eye(n, dtype=bool)
    a[:50, :50] |= a[:50, :50].T  # a symmetric block: rows equal in A and A^T, others not
    a[:50, 50:] = a[50:, :50] = False
    r, c = np.nonzero(a)
    perm = rng.permutation(r.size)  # unsorted columns within rows
    order = np.argsort(r[perm], kind="stable")
    r, c = r[perm][order], c[perm][order]
    indptr = np.r_[0, np.cumsum(np.bincount(r, minlength=n))].astype(np.int32)
    directed = sp.csr_matrix((r + c + 1.0, c.astype(np.int32), indptr), shape=(n, n))
    spare = None
    if in_place:  # A's storage with room after it, as knn_directed hands it over
        spare = (np.full(r.size + n * n // 10, -7, dtype=np.int32), np.full(r.size + n * n // 10, -7.0))
        spare[0][: r.size], spare[1][: r.size] = directed.indices, directed.data
        directed.indices, directed.data = spare[0][: r.size], spare[1][: r.size]
    from deepsphere.geometry._sparse_graphs import union_with_transpose

    w = union_with_transpose(directed, spare=spare)
    if in_place:  # the union was merged into the spare storage
        np.testing.assert_array_equal(spare[0][: w.nnz], w.indices)
        np.testing.assert_array_equal(spare[1][: w.nnz], w.data)
    u = a | a.T
    ii, jj = np.nonzero(u)
    expected = np.zeros((n, n))
    expected[ii, jj] = ii + jj + 1.0
    np.testing.assert_array_equal(w.toarray(), expected)
    assert w.has_sorted_indices and w.dtype == np.float64
    for i in range(n):
        assert np.all(np.diff(w.indices[w.indptr[i] : w.indptr[i + 1]]) > 0)


def test_knn_contains_ckdtree_and_extras_are_ties():
    v = sampling.healpix_sampling(4, nest=True).vectors
    k = 8
    dist, idx = cKDTree(v).query(v, k + 1)
    tree = sp.coo_matrix((np.ones(v.shape[0] * k), (np.repeat(np.arange(192), k), idx[:, 1:].ravel())),
                         shape=(192, 192)).toarray() > 0
    tree = tree | tree.T
    ours = graphs.healpix_knn_graph(4, k, nest=True, t=1e-3).weights.toarray() > 0
    assert np.all(ours >= tree)
    # every extra edge (i, j) is a tie: |x_i - x_j| equals the k-th distance of i or of j
    i, j = np.nonzero(ours & ~tree)
    dij = np.linalg.norm(v[i] - v[j], axis=1)
    assert np.all(np.isclose(dij, dist[i, k], rtol=1e-9) | np.isclose(dij, dist[j, k], rtol=1e-9))


def test_knn_t_options():
    v = sampling.healpix_sampling(4, nest=True).vectors
    a, d = brute_knn_union(v, 8)
    w = graphs.healpix_knn_graph(4, 8, nest=True, t=2e-3).weights.toarray()
    np.testing.assert_allclose(w[a], np.exp(-d[a] ** 2 / 8e-3), rtol=1e-6)
    sigma = d[a].mean()  # PyGSP NNGraph default: w = exp(-ln2 d^2 / sigma^2), sigma = mean d
    w = graphs.healpix_knn_graph(4, 8, nest=True, t="mean-distance").weights.toarray()
    np.testing.assert_allclose(w[a], np.exp(-np.log(2) * d[a] ** 2 / sigma**2), rtol=1e-6)


@pytest.mark.parametrize("nest", [True, False])
def test_partial_sphere(nest):
    idx = np.random.default_rng(0).choice(768, size=200, replace=False)
    v = np.stack(hp.pix2vec(8, idx, nest=nest), axis=1)
    full = healpy_neighbour_matrix(8, nest)[np.ix_(idx, idx)]
    d2 = dense_d2(v)
    g = graphs.healpix_v1_graph(8, nest=nest, indexes=idx)
    expected = np.where(full, np.exp(-d2 / (2 * d2[full].mean())), 0)
    np.testing.assert_allclose(g.weights.toarray(), expected, rtol=1e-6)
    g = graphs.healpix_knn_graph(8, 8, nest=nest, indexes=idx)
    a, d = brute_knn_union(v, 8)  # kNN within the subset
    np.testing.assert_array_equal(g.weights.toarray() > 0, a)


def test_patch_graph_is_nest_block():
    g = graphs.healpix_v1_graph(8, nest=True, indexes={"order": 2, "patch": 3})
    full = healpy_neighbour_matrix(8, True)[16 * 3 : 16 * 4, 16 * 3 : 16 * 4]
    np.testing.assert_array_equal(g.weights.toarray() > 0, full)
    assert g.definition["indexes"] == {"order": 2, "patch": 3}
    assert graphs.graph_id(g.definition) == "healpix-nside8-nest-o2p3-v1"


@pytest.mark.parametrize("grid", ["SOFT", "DH"])
def test_equiangular_khasanova(grid):
    b = 4
    g = graphs.equiangular_khasanova_graph(b, grid=grid)
    v = g.sampling.vectors
    m = 2 * b
    expected = np.zeros((m * m, m * m), dtype=bool)
    for j in range(m):  # hand-written grid walk (independent of the vectorised code)
        for k in range(m):
            i = j * m + k
            for jj, kk in [(j, k - 1), (j, k + 1), (j - 1, k), (j + 1, k)]:
                if jj < 0 or jj >= m:
                    jj, kk = j, k + b  # across the pole
                expected[i, jj * m + kk % m] = True
    d = np.sqrt(dense_d2(v))
    expected &= d > 1e-12
    w = g.weights.toarray()
    np.testing.assert_array_equal(w > 0, expected)
    np.testing.assert_allclose(w[expected], 1 / d[expected], rtol=1e-6)
    # longitudinal shift by one column is an automorphism (the paper's check)
    perm = (np.arange(m * m) // m) * m + (np.arange(m * m) % m + 1) % m
    rotated = np.empty_like(w)
    rotated[np.ix_(perm, perm)] = w
    np.testing.assert_allclose(rotated, w, rtol=1e-5)


def test_icosahedral_graph_brute_force():
    g = graphs.icosahedral_graph(2)
    v = g.sampling.vectors
    a, d = brute_knn_union(v, 6)
    w = g.weights.toarray()
    np.testing.assert_array_equal(w > 0, a)
    sigma = d[a].mean()
    np.testing.assert_allclose(w[a], np.exp(-np.log(2) * d[a] ** 2 / sigma**2), rtol=1e-6)
    assert np.diff(g.weights.indptr).min() >= 6


def test_points_graph_brute_force():
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(-180, 180, 150), np.rad2deg(np.arcsin(rng.uniform(-1, 1, 150)))
    g = graphs.points_knn_graph(lon, lat, 10, t=0.01)
    a, d = brute_knn_union(sampling.points_sampling(lon, lat).vectors, 10)
    w = g.weights.toarray()
    np.testing.assert_array_equal(w > 0, a)
    np.testing.assert_allclose(w[a], np.exp(-d[a] ** 2 / 0.04), rtol=1e-6)
    np.testing.assert_allclose(graphs.knn_heat_kernel_graph(g.sampling.vectors, 10, 0.01).toarray(), w)


DEFINITIONS = [
    {"sampling": "healpix", "nside": 4, "nest": True, "indexes": None, "graph": "v1"},
    {"sampling": "healpix", "nside": 4, "nest": False, "indexes": [1, 5, 7, 9, 30, 31],
     "graph": "knn", "k": 2, "t": 0.5},
    {"sampling": "healpix", "nside": 8, "nest": True, "indexes": {"order": 1, "patch": 2},
     "graph": "knn", "k": 8, "t": "paper"},
    {"sampling": "equiangular", "bandwidth": 4, "grid": "DH", "graph": "khasanova"},
    {"sampling": "icosahedral", "level": 1, "graph": "knn", "k": 6, "t": "mean-distance"},
    {"sampling": "points", "lon_deg": [0, 10, 20, 30], "lat_deg": [0, 5, -5, 1], "graph": "knn",
     "k": 2, "t": "mean-distance"},
]


@pytest.mark.parametrize("definition", DEFINITIONS)
def test_build_save_load_roundtrip(definition, tmp_path):
    g = graphs.build_graph(definition)
    assert json.loads(json.dumps(g.definition)) == g.definition
    again = graphs.build_graph(json.loads(json.dumps(g.definition)))
    assert (again.weights != g.weights).nnz == 0
    assert graphs.graph_id(g.definition) == graphs.graph_id(definition)
    path = tmp_path / f"{graphs.graph_id(definition)}.npz"
    graphs.save_graph(path, g)
    graphs.save_graph(path, g)  # overwriting is atomic too
    assert os.listdir(tmp_path) == [path.name]
    loaded = graphs.load_graph(path)
    assert (loaded.weights != g.weights).nnz == 0 and loaded.weights.dtype == np.float32
    np.testing.assert_array_equal(loaded.sampling.vectors, g.sampling.vectors)
    assert loaded.definition == g.definition


def test_graph_ids():
    d = {"sampling": "healpix", "nside": 32, "nest": True, "indexes": None, "graph": "knn",
         "k": 8, "t": "paper"}
    assert graphs.graph_id(d) == "healpix-nside32-nest-all-knn8-tpaper"
    ids = {graphs.graph_id({**d, **change}) for change in
           [{}, {"nest": False}, {"k": 20}, {"t": 1e-5}, {"t": 2e-5}, {"t": "mean-distance"},
            {"nside": 64}, {"indexes": [1, 2]}, {"indexes": [1, 3]}]}
    assert len(ids) == 9
    listed = {**d, "indexes": list(range(256, 512))}  # the NEST patch o=2, p=1 as a list
    assert graphs.graph_id(listed) == "healpix-nside32-nest-o2p1-knn8-tpaper"
    assert graphs.graph_id({"sampling": "equiangular", "bandwidth": 64, "grid": "SOFT",
                            "graph": "khasanova"}) == "equiangular-b64-soft-khasanova"


@pytest.mark.parametrize("definition,msg", [
    ({"sampling": "cube", "graph": "knn"}, "unknown sampling"),
    ({"sampling": "healpix", "nside": 3, "nest": True, "graph": "v1"}, "power of 2"),
    ({"sampling": "healpix", "nside": 4, "nest": True, "graph": "knn", "k": 0}, "positive"),
    ({"sampling": "healpix", "nside": 4, "nest": True, "graph": "knn", "k": -3}, "positive"),
    ({"sampling": "healpix", "nside": 4, "nest": True, "graph": "knn", "k": 10}, "explicit t"),
    ({"sampling": "healpix", "nside": 4, "nest": True, "graph": "knn", "k": 8, "t": -1.0}, "t="),
    ({"sampling": "healpix", "nside": 4, "nest": True, "graph": "v1", "indexes": [1, 1]},
     "duplicates"),
    ({"sampling": "healpix", "nside": 4, "nest": True, "graph": "v1", "indexes": [192]},
     "out of range"),
    ({"sampling": "healpix", "nside": 4, "nest": False, "graph": "v1",
      "indexes": {"order": 1, "patch": 0}}, "NEST"),
    ({"sampling": "healpix", "nside": 4, "nest": "yes", "graph": "v1"}, "nest"),
    ({"sampling": "healpix", "nside": 4, "nest": True, "graph": "v1", "kk": 8}, "unknown keys"),
    ({"sampling": "healpix", "nside": 4, "graph": "v1"}, "missing keys"),
    ({"sampling": "points", "lon_deg": [0, 1], "lat_deg": [0, 1], "graph": "knn", "k": 2},
     "only 2 vertices"),
])
def test_bad_definitions_raise(definition, msg):
    with pytest.raises(ValueError, match=msg):
        graphs.build_graph(definition)


def test_knn_rejects_paper_t_off_healpix():
    with pytest.raises(ValueError, match="HEALPix"):
        graphs.icosahedral_graph(1, t="paper")


def test_graph_id_refuses_a_k_without_a_tabulated_width():
    """The workflow registers graphs at parse time: a bad definition fails before any job."""
    from deepsphere.geometry.graphs import graph_id

    base = {"sampling": "healpix", "nside": 32, "nest": True, "indexes": None, "graph": "knn"}
    with pytest.raises(ValueError, match="explicit t"):
        graph_id({**base, "k": 7, "t": "paper"})
    assert graph_id({**base, "k": 7, "t": 1e-4}).endswith("knn7-t0.0001")


def test_knn_and_laplacian_do_not_depend_on_the_thread_count():
    """Each row is computed by one thread: 1 and 2 threads give identical arrays."""
    from deepsphere.runtime import threads

    before = threads.num_threads()
    built = []
    try:
        for n in (1, 2):
            threads.set_num_threads(n)
            w = graphs.healpix_knn_graph(32, 20, nest=True).weights
            lap = laplacian.chebyshev_laplacian(w, "normalized", (-1, 1), "bound")
            built.append((w, lap))
    finally:
        threads.set_num_threads(before)
    for a, b in zip(*built, strict=True):
        for name in ("indptr", "indices", "data"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_union_sorts_long_unsorted_rows():
    """Rows longer than the insertion-sort limit (merge sort path), against dense NumPy."""
    rng = np.random.default_rng(5)
    n = 120
    a = rng.random((n, n)) < 0.4
    np.fill_diagonal(a, False)
    r, c = np.nonzero(a)
    perm = rng.permutation(r.size)
    order = np.argsort(r[perm], kind="stable")
    r, c = r[perm][order], c[perm][order]
    indptr = np.r_[0, np.cumsum(np.bincount(r, minlength=n))]
    directed = sp.csr_matrix((r * 1000.0 + c + 1000 * c + r, c, indptr), shape=(n, n))
    directed.has_sorted_indices = False
    from deepsphere.geometry._sparse_graphs import union_with_transpose

    w = union_with_transpose(directed)
    ii, jj = np.nonzero(a | a.T)
    expected = np.zeros((n, n))
    expected[ii, jj] = 1001.0 * (ii + jj)
    np.testing.assert_array_equal(w.toarray(), expected)
    assert max(np.diff(indptr)) > 32


def test_a_truncated_graph_file_is_refused_with_its_name(tmp_path):
    path = tmp_path / "g.npz"
    graphs.save_graph(path, graphs.healpix_v1_graph(2, nest=True))
    os.truncate(path, path.stat().st_size // 2)
    with pytest.raises(ValueError, match=r"g\.npz: not a readable graph file .* Delete it"):
        graphs.load_graph(path)
