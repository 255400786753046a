"""deepsphere.experiments.sphere.filtering_speed: the filters against dense / closed-form references (no timings)."""

import healpy as hp
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.polynomial import chebyshev

from deepsphere.experiments.sphere import filtering_speed as fs
from deepsphere.geometry.graphs import healpix_v1_graph
from deepsphere.geometry.laplacian import laplacian, rescale_laplacian


def _small_laplacian():
    return laplacian(healpix_v1_graph(4, nest=True).weights, "combinatorial").astype(np.float64)


@pytest.mark.parametrize("K", [1, 2, 5, 15])
def test_chebyshev_filter_equals_dense_eigendecomposition(K):
    lap = _small_laplacian()
    lam, u = np.linalg.eigh(lap.toarray())
    lmax = lam.max() * 1.01
    rng = np.random.default_rng(K)
    coeffs, x = rng.standard_normal(K), rng.standard_normal((lap.shape[0], 3))
    reference = u @ (chebyshev.chebval(2 * lam / lmax - 1, coeffs)[:, None] * (u.T @ x))
    rescaled = rescale_laplacian(lap, lmax, dtype=np.float64)
    np.testing.assert_allclose(fs.chebyshev_filter(rescaled, x, coeffs), reference, atol=1e-10)
    np.testing.assert_allclose(fs.chebyshev_filter(rescaled, x[:, 0], coeffs), reference[:, 0],
                               atol=1e-10)  # fmt: skip


def test_rescaled_spectrum_lies_in_unit_interval():
    lap = _small_laplacian()
    lam = np.linalg.eigvalsh(lap.toarray())
    scaled = np.linalg.eigvalsh(rescale_laplacian(lap, lam.max(), dtype=np.float64).toarray())
    np.testing.assert_allclose([scaled.min(), scaled.max()], [-1.0, 1.0], atol=1e-10)


def test_rescale_dtype_float64_is_exact_and_float32_stays_the_default():
    lap = _small_laplacian()  # float64
    lmax = 2.0 * lap.diagonal().max()
    reference = lap.toarray() * (2.0 / lmax) - np.eye(lap.shape[0])  # float64, same operations
    wide = rescale_laplacian(lap, lmax, dtype=np.float64)
    assert wide.dtype == np.float64
    np.testing.assert_array_equal(wide.toarray(), reference)  # bit for bit, no float32 detour
    default = rescale_laplacian(lap, lmax)
    assert default.dtype == np.float32
    np.testing.assert_array_equal(default.toarray(), reference.astype(np.float32))
    narrow = rescale_laplacian(lap.astype(np.float32), lmax, dtype=np.float32)
    assert narrow.dtype == np.float32
    np.testing.assert_allclose(narrow.toarray(), reference, atol=1e-6)


def test_graph_filter_times_in_the_laplacian_dtype(monkeypatch):
    seen = []
    monkeypatch.setattr(fs, "chebyshev_filter", lambda lap, x, c: seen.append((lap.dtype, x.dtype)))
    for dtype in (np.float32, np.float64):
        fs.time_graph_filter(_small_laplacian().astype(dtype), 3, repeats=1, seed=0)
        assert seen[-1] == (np.dtype(dtype), np.dtype(dtype))


@pytest.mark.parametrize("nest", [True, False])
def test_sh_filter_scales_a_single_degree_map_by_h(nest):
    nside, lmax, ell = 16, 32, 7
    alm = np.zeros(hp.Alm.getsize(lmax), complex)
    alm[hp.Alm.getidx(lmax, ell, np.arange(ell + 1))] = np.random.default_rng(0).standard_normal(
        ell + 1
    )
    m = hp.alm2map(alm, nside, lmax=lmax)
    if nest:
        m = hp.reorder(m, r2n=True)
    h = np.linspace(0.5, 2.0, lmax + 1)
    np.testing.assert_allclose(fs.sh_filter(m, h, nest=nest, lmax=lmax, iter=5), h[ell] * m,
                               atol=1e-6 * np.abs(m).max())  # fmt: skip


def test_measure_returns_one_row_per_configuration():
    lap = _small_laplacian()
    patch = laplacian(healpix_v1_graph(4, nest=True, indexes={"order": 1, "patch": 0}).weights)
    df = fs.measure_filtering_speed(4, graph_laplacians={1: lap, 12: patch}, Ks=[5, 15],
                                    lmax_factors=[2, 3], repeats=1, seed=0, threads=1,
                                    progress=False)  # fmt: skip
    assert len(df) == 6
    assert set(df["method"]) == {"sh", "graph", "graph_patch"}
    assert df.loc[df.method == "graph_patch", "n_vertices"].unique().tolist() == [16]


def test_the_frame_reports_the_min_and_median_of_each_timing(monkeypatch):
    """With every call timed as 3, 1, 2 s: seconds_min 1 and seconds_median 2 in every row."""
    monkeypatch.setattr(fs, "runtime_time_call", lambda fn, repeats: [3.0, 1.0, 2.0])
    lap = laplacian(healpix_v1_graph(2, nest=True).weights)
    df = fs.measure_filtering_speed(2, graph_laplacians={1: lap}, Ks=[5], lmax_factors=[2],
                                    repeats=3, seed=0, threads=1, progress=False)
    assert (df["seconds_min"] == 1.0).all() and (df["seconds_median"] == 2.0).all()


def test_check_filtering_speed():
    table = pd.DataFrame({"nside": [256, 256, 256, 128], "method": ["graph", "sh", "graph", "sh"],
                          "seconds_ours": [0.1, 0.2, 0.15, 0.01]})  # fmt: skip
    assert [c.passed for c in fs.check_filtering_speed(table)] == [True, True]
    table.loc[2, "seconds_ours"] = 0.3  # the cheapest graph filter still wins, not every one
    assert [c.passed for c in fs.check_filtering_speed(table)] == [True, False]
    table.loc[0, "seconds_ours"] = 0.25
    assert [c.passed for c in fs.check_filtering_speed(table)] == [False, False]
    assert not fs.check_filtering_speed(table, nside_min=512)[0].passed  # not measured


@pytest.mark.parametrize(
    ("call", "match"),
    list(zip(
    [
        lambda: fs.chebyshev_filter(sp.identity(3, format="csr"), np.ones(3), []),
        lambda: fs.chebyshev_filter(sp.identity(3, format="csr"), np.ones(4), [1.0]),
        lambda: rescale_laplacian(sp.identity(3, format="csr"), 0.0),
        lambda: rescale_laplacian(sp.identity(3, format="csr"), 1.0, dtype=np.int64),
        lambda: fs.sh_filter(np.ones(12), np.ones(2), nest=True, lmax=2),
        lambda: fs.time_call(lambda: None, 0),
        lambda: fs.time_sh_filter(3, 4, repeats=1, seed=0),
    ],
    ['coefficients must be a non-empty', 'shape mismatch', 'lmax=0\\.0: pass a positive', 'dtype=int64: pass float32 or float64', 'h_ell must have shape \\(3,\\)', 'repeats must be >= 1, got 0', 'nside=3 is not a valid HEALPix nside'],
    strict=True,
    )),
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
