"""ChebConv's checks of a prebuilt ``matrix=`` and the order bias -> activation, against
independent references (the definition's own graph, dense NumPy)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import scipy.sparse as sp

from deepsphere import layers
from deepsphere.geometry import graphs
from deepsphere.geometry.laplacian import chebyshev_laplacian
from deepsphere.layers import chebconv


def healpix(nside, graph="v1", **extra):
    return {"sampling": "healpix", "nside": nside, "nest": True, "indexes": None, "graph": graph,
            **extra}


def spec(definition, lmax="eigsh"):
    return {"graph": definition, "kind": "normalized", "interval": [-1.0, 1.0], "lmax": lmax}


def matrix_of(definition, lmax="eigsh"):
    """The workflow's cached path: the graph built (or loaded), then its rescaled Laplacian."""
    return chebyshev_laplacian(graphs.build_graph(definition).weights, "normalized", (-1.0, 1.0),
                               lmax)


def test_matrix_of_another_resolution_is_refused_naming_both():
    with pytest.raises(ValueError, match=r"matrix= is 48x48 .* graph 'healpix-nside4-nest-all-v1'"
                                         r" with 192 vertices.*leave out matrix="):
        layers.ChebConv(4, 3, spec(healpix(4)), matrix=matrix_of(healpix(2)))


def test_matrix_of_another_k_with_the_same_vertex_count_is_refused_naming_both():
    """The user's case: same 192 vertices, k = 20 instead of 8; before, it trained and saved and
    the saved model rebuilt another Laplacian on load."""
    knn8, knn20 = healpix(4, "knn", k=8), healpix(4, "knn", k=20)
    wrong = matrix_of(knn20)
    assert wrong.shape == (192, 192) and wrong.nnz / 192 > 20  # the other graph, same size
    with pytest.raises(ValueError, match=r"matrix= \(192x192, 2\d\.\d entries per row\) is not "
                                         r"the normalized Laplacian of the graph "
                                         r"'healpix-nside4-nest-all-knn8-tpaper' that "
                                         r"laplacian= defines \([89]\.\d "
                                         r"entries per row\)"):
        layers.ChebConv(4, 3, spec(knn8), matrix=wrong)
    with pytest.raises(ValueError, match="knn8-tpaper"):  # v1 graph matrix, knn definition
        layers.ChebConv(4, 3, spec(knn8), matrix=matrix_of(healpix(4)))
    with pytest.raises(ValueError, match="start at -1.0"):  # rescaled to another interval
        layers.ChebConv(4, 3, spec(knn8), matrix=0.5 * (matrix_of(knn8) + sp.eye(192)))


def test_matching_matrix_is_accepted_saves_and_loads_identically(tmp_path):
    definition = healpix(4, "knn", k=8)
    for lmax in ("eigsh", "bound"):
        layer = layers.ChebConv(2, 3, spec(definition, lmax), matrix=matrix_of(definition, lmax))
        np.testing.assert_allclose(layer._laplacian_matrix.toarray(),
                                   matrix_of(definition, lmax).toarray(), atol=0)
    model = keras.Sequential([keras.Input((192, 3)),
                              layers.ChebConv(2, 3, spec(definition), matrix=matrix_of(definition))])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    x = np.random.default_rng(0).standard_normal((2, 192, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-5, atol=1e-6)


def test_above_the_verification_size_only_the_count_is_checked(monkeypatch):
    """Large (cached) graphs are not rebuilt: the normal cached path stays cheap."""
    v1 = matrix_of(healpix(4))
    monkeypatch.setattr(chebconv, "VERIFY_MAX_VERTICES", 100)

    def no_build(definition):
        raise AssertionError("the definition's graph must not be built above the limit")

    monkeypatch.setattr(graphs, "build_graph", no_build)
    chebconv._definition_graph_laplacian.cache_clear()
    knn8 = healpix(4, "knn", k=8)
    layers.ChebConv(2, 3, spec(knn8), matrix=v1)  # same count: not detectable without a build
    with pytest.raises(ValueError, match="with 192 vertices"):
        layers.ChebConv(2, 3, spec(knn8), matrix=sp.eye(48, format="csr"))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_bias_is_added_before_the_activation(activation):
    rng = np.random.default_rng(3)
    L = matrix_of(healpix(2)).astype(np.float64)
    layer = layers.ChebConv(5, 3, L, use_bias=True, activation=activation,
                            bias_initializer=keras.initializers.RandomNormal(stddev=2.0, seed=1))
    x = rng.standard_normal((2, 48, 4))
    y = np.asarray(layer(x.astype("float32")), np.float64)
    kernel, bias = np.asarray(layer.kernel, np.float64), np.asarray(layer.bias, np.float64)
    assert np.abs(bias).min() > 0.05  # a bias that matters
    Ld = L.toarray()
    t = [x, np.einsum("ij,bjf->bif", Ld, x)]
    t.append(2 * np.einsum("ij,bjf->bif", Ld, t[1]) - t[0])
    z = sum(np.einsum("bnf,fo->bno", tk, wk) for tk, wk in zip(t, kernel, strict=True)) + bias
    expected = np.tanh(z) if activation == "tanh" else np.maximum(z, 0.0)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
