"""deepsphere.layers against independent references (dense float64 NumPy, hand-worked cases).

Runs on the backend selected by KERAS_BACKEND; tests/layers/test_layers_backends.py reruns this file
on the other backend in a subprocess.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import scipy.sparse as sp

from deepsphere import layers
from deepsphere.layers import sparse_ops

BACKEND = keras.backend.backend()


# ------------------------------------------------------------------------------ references


def ring_laplacian(n, extra_edges=()):
    """Rescaled combinatorial Laplacian (exact lmax) of a ring plus a few chords, float64."""
    rows = list(range(n)) + [a for a, _ in extra_edges]
    cols = [(i + 1) % n for i in range(n)] + [b for _, b in extra_edges]
    w = np.linspace(0.5, 1.5, len(rows))
    W = sp.csr_matrix((w, (rows, cols)), shape=(n, n))
    W = W + W.T
    L = sp.diags(np.asarray(W.sum(1)).ravel()) - W
    lmax = np.linalg.eigvalsh(L.toarray()).max()
    return sp.csr_matrix(2.0 * L / lmax - sp.eye(n))


def healpix_v1_laplacian(nside):
    """HEALPix V1 graph (NEST, 8 neighbours, w = exp(-d^2 / (2 mean d^2))), normalized, [-1, 1]."""
    hp = pytest.importorskip("healpy")
    npix = 12 * nside**2
    pix = np.arange(npix)
    neigh = hp.get_all_neighbours(nside, pix, nest=True).T.ravel()
    rows = np.repeat(pix, 8)
    keep = neigh >= 0
    rows, cols = rows[keep], neigh[keep]
    vec = np.stack(hp.pix2vec(nside, pix, nest=True), axis=1)
    d2 = np.sum((vec[rows] - vec[cols]) ** 2, axis=1)
    W = sp.csr_matrix((np.exp(-d2 / (2 * d2.mean())), (rows, cols)), shape=(npix, npix))
    W = W.maximum(W.T)
    dinv = sp.diags(1 / np.sqrt(np.asarray(W.sum(1)).ravel()))
    L = sp.eye(npix) - dinv @ W @ dinv
    lmax = 1.02 * sp.linalg.eigsh(L, k=1, which="LA", return_eigenvectors=False)[0]
    return sp.csr_matrix(2 * L / lmax - sp.eye(npix))


def cheb_terms(L, x, K):
    """Dense float64 Chebyshev terms T_k(L) x, x: (batch, n, f)."""
    Ld = L.toarray()
    t = [x, np.einsum("ij,bjf->bif", Ld, x)]
    while len(t) < K:
        t.append(2 * np.einsum("ij,bjf->bif", Ld, t[-1]) - t[-2])
    return t[:K]


def cheb_reference(L, x, kernel):
    return sum(
        np.einsum("bnf,fo->bno", t, w)
        for t, w in zip(cheb_terms(L, x, len(kernel)), kernel, strict=True)
    )


def rel_err(a, b):
    return np.abs(np.asarray(a, np.float64) - b).max() / np.abs(b).max()


def value_and_grads(fn, args, cotangent):
    """Gradients of sum(fn(*args) * cotangent) w.r.t. every arg, on the active backend."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        ts = [tf.constant(a) for a in args]
        with tf.GradientTape() as tape:
            tape.watch(ts)
            out = fn(*ts)
            s = tf.reduce_sum(out * tf.constant(cotangent, out.dtype))
        return [np.asarray(g) for g in tape.gradient(s, ts)]
    import jax

    def loss(*a):
        return (fn(*a) * cotangent.astype(np.float32)).sum()

    return [np.asarray(g) for g in jax.grad(loss, argnums=tuple(range(len(args))))(*args)]


@pytest.fixture(scope="module")
def small_graph():
    return ring_laplacian(40, extra_edges=[(0, 20), (5, 31), (7, 8)])


# ------------------------------------------------------------------------------ ChebConv


@pytest.mark.parametrize("K", [1, 2, 5])
def test_chebconv_matches_dense_float64_recursion(small_graph, K):
    rng = np.random.default_rng(K)
    x = rng.standard_normal((3, 40, 4))
    layer = layers.ChebConv(6, K, small_graph, use_bias=True, bias_initializer="random_normal")
    y = np.asarray(layer(x.astype("float32")))
    kernel, bias = (np.asarray(w, np.float64) for w in (layer.kernel, layer.bias))
    assert kernel.shape == (K, 4, 6)
    assert y.shape == (3, 40, 6)
    assert rel_err(y, cheb_reference(small_graph, x, kernel) + bias) <= 1e-5


def test_default_initializer_is_the_original_truncated_normal():
    L = ring_laplacian(400)
    layer = layers.ChebConv(64, 5, L)
    layer.build((None, 400, 32))
    w = np.asarray(layer.kernel)
    std = 1 / np.sqrt(32 * 5.5 / 2)
    assert np.abs(w).max() <= 2 * std + 1e-7  # truncated at two standard deviations
    # truncated N(0, s) at 2s has std 0.8796 s; 10240 samples -> about 1% sampling error
    assert w.std() == pytest.approx(0.8796 * std, rel=0.05)


def test_gradients_match_closed_form_adjoint(small_graph):
    """y is bilinear in (x, W): dx = sum_k T_k(L)^T g W_k^T, dW_k = sum T_k(x)^T g."""
    rng = np.random.default_rng(0)
    K = 4
    x, w = rng.standard_normal((2, 40, 3)), rng.standard_normal((K, 3, 5))
    g = rng.standard_normal((2, 40, 5))
    op = sparse_ops.SparseOperand.from_scipy(small_graph)
    dx, dw = value_and_grads(
        lambda a, b: sparse_ops.chebyshev_filter(op, a, b),
        [x.astype("float32"), w.astype("float32")],
        g,
    )
    LT = small_graph.T.tocsr()
    dx_ref = sum(np.einsum("bno,fo->bnf", t, w[k]) for k, t in enumerate(cheb_terms(LT, g, K)))
    dw_ref = np.stack([np.einsum("bnf,bno->fo", t, g) for t in cheb_terms(small_graph, x, K)])
    assert rel_err(dx, dx_ref) <= 1e-5
    assert rel_err(dw, dw_ref) <= 1e-5


@pytest.mark.skipif(
    BACKEND != "tensorflow", reason="float64 finite differences need TF (JAX x64 off)"
)
def test_gradients_match_finite_differences_float64(small_graph):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 40, 2)), rng.standard_normal((3, 2, 2))
    g = rng.standard_normal((2, 40, 2))
    dx, dw = value_and_grads(lambda a, b: sparse_ops.chebyshev_filter(small_graph, a, b), [x, w], g)

    def f(x, w):
        return np.sum(cheb_reference(small_graph, x, w) * g)

    eps = 1e-6
    for arr, grad, other in ((x, dx, "x"), (w, dw, "w")):
        for idx in [tuple(int(rng.integers(s)) for s in arr.shape) for _ in range(5)]:
            p, m = arr.copy(), arr.copy()
            p[idx] += eps
            m[idx] -= eps
            num = (f(p, w) - f(m, w)) if other == "x" else (f(x, p) - f(x, m))
            assert grad[idx] == pytest.approx(num / (2 * eps), rel=1e-6, abs=1e-9)


def test_split_products_equal_unsplit(small_graph):
    """nnz * columns above the limit: the dense operand is split along its columns."""
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((3, 40, 4)), rng.standard_normal((3, 4, 5))
    g = rng.standard_normal((3, 40, 5))
    op = sparse_ops.SparseOperand.from_scipy(small_graph)
    limit = op.nnz * 5  # forces chunks of 4 columns out of 12 (fwd) and 15 (bwd)
    assert sparse_ops.column_chunks(op.nnz, 12, limit) == [(0, 4), (4, 8), (8, 12)]
    args = [x.astype("float32"), w.astype("float32")]
    y = sparse_ops.chebyshev_filter(op, *args, max_product=limit)
    assert rel_err(y, cheb_reference(small_graph, x, w)) <= 1e-5
    split = value_and_grads(
        lambda a, b: sparse_ops.chebyshev_filter(op, a, b, max_product=limit), args, g
    )
    whole = value_and_grads(
        lambda a, b: sparse_ops.chebyshev_filter(op, a, b, max_product=None), args, g
    )
    for a, b in zip(split, whole, strict=True):
        assert rel_err(a, b.astype(np.float64)) <= 1e-6


@pytest.mark.skipif(BACKEND != "tensorflow", reason="unknown batch size while tracing: TF only")
def test_split_products_with_unknown_batch_size_in_tf_function(small_graph):
    import tensorflow as tf

    rng = np.random.default_rng(11)
    x, w = rng.standard_normal((3, 40, 4)), rng.standard_normal((3, 4, 5))
    op = sparse_ops.SparseOperand.from_scipy(small_graph)
    spec = tf.TensorSpec((None, 40, 4), tf.float32)
    traced = tf.function(
        lambda a: sparse_ops.chebyshev_filter(op, a, w.astype("float32"), max_product=op.nnz * 5),
        input_signature=[spec],
    )
    assert rel_err(traced(x.astype("float32")), cheb_reference(small_graph, x, w)) <= 1e-5


def test_sparse_dense_matmul_non_symmetric_gradient_uses_transpose():
    A = sp.random(30, 30, density=0.2, random_state=3, format="csr")
    rng = np.random.default_rng(3)
    z, g = rng.standard_normal((30, 7)), rng.standard_normal((30, 7))
    y = sparse_ops.sparse_dense_matmul(A, z.astype("float32"))
    assert rel_err(y, A @ z) <= 1e-5
    (dz,) = value_and_grads(
        lambda a: sparse_ops.sparse_dense_matmul(A, a), [z.astype("float32")], g
    )
    assert rel_err(dz, A.T @ g) <= 1e-5
    limit = A.nnz * 2
    (dz_split,) = value_and_grads(
        lambda a: sparse_ops.sparse_dense_matmul(A, a, max_product=limit), [z.astype("float32")], g
    )
    assert rel_err(dz_split, A.T @ g) <= 1e-5


def _rotation_permutation(nside):
    """perm[i] = NEST pixel of pixel i rotated by 90 degrees about z (exact for HEALPix)."""
    import healpy as hp

    x, y, z = hp.pix2vec(nside, np.arange(12 * nside**2), nest=True)
    perm = hp.vec2pix(nside, -y, x, z, nest=True)
    assert np.array_equal(np.sort(perm), np.arange(12 * nside**2))
    return perm


def test_fcn_with_global_average_is_invariant_to_90_degree_rotation():
    pytest.importorskip("healpy")
    L4, L2 = healpix_v1_laplacian(4), healpix_v1_laplacian(2)
    model = keras.Sequential(
        [
            keras.Input((192, 2)),
            layers.ChebConv(8, 4, L4, activation="relu"),
            layers.HealpixPooling(4, mode="max"),
            layers.ChebConv(8, 4, L2),
            layers.ChebBatchNormalization(),
            layers.Bias(bias_initializer="random_normal"),
            keras.layers.Activation("relu"),
            layers.ChebConv(3, 4, L2),
            layers.GlobalVertexPooling("avg"),
        ]
    )
    rng = np.random.default_rng(4)
    m = rng.standard_normal((2, 192, 2)).astype("float32")
    rotated = np.empty_like(m)
    rotated[:, _rotation_permutation(4)] = m
    a, b = np.asarray(model(m)), np.asarray(model(rotated))
    assert np.abs(a).max() > 1e-3  # a non-trivial output
    assert rel_err(b, a.astype(np.float64)) <= 1e-5
    # sanity: a generic permutation breaks it, so the test can fail
    shuffled = m[:, rng.permutation(192)]
    assert rel_err(np.asarray(model(shuffled)), a.astype(np.float64)) > 1e-3


def healpix_definition(nside):
    graph = {"sampling": "healpix", "nside": nside, "nest": True, "indexes": None, "graph": "v1"}
    return {"graph": graph, "kind": "normalized", "interval": [-1.0, 1.0], "lmax": "eigsh"}


def test_graph_definition_laplacian_matches_independent_build():
    layer = layers.ChebConv(3, 3, healpix_definition(4))
    reference = healpix_v1_laplacian(4)
    assert rel_err(layer._laplacian_matrix.toarray(), reference.toarray()) <= 1e-5
    x = np.random.default_rng(10).standard_normal((2, 192, 2))
    y = layer(x.astype("float32"))
    assert rel_err(y, cheb_reference(reference, x, np.asarray(layer.kernel, np.float64))) <= 1e-5
    assert layer.get_config()["laplacian"] == healpix_definition(4)


def test_prebuilt_matrix_is_used_and_only_the_definition_is_recorded():
    reference = healpix_v1_laplacian(4)
    # the same graph's Laplacian rescaled with a 10% larger lmax estimate: accepted (the check
    # does not recompute lmax), and distinguishable from the definition's own build
    other_lmax = (reference + sp.eye(192)) / 1.1 - sp.eye(192)
    layer = layers.ChebConv(2, 3, healpix_definition(4), matrix=other_lmax)
    assert rel_err(layer._laplacian_matrix.toarray(), other_lmax.toarray()) <= 1e-6
    own = layers.ChebConv(2, 3, healpix_definition(4))._laplacian_matrix.toarray()
    assert rel_err(layer._laplacian_matrix.toarray(), own) > 1e-2
    assert layer.get_config()["laplacian"] == healpix_definition(4)
    assert "matrix" not in layer.get_config()
    with pytest.raises(ValueError, match="graph definition"):
        layers.ChebConv(2, 3, reference, matrix=reference)


def test_save_load_keras_gives_identical_predictions(tmp_path):
    """Conv 1 is rebuilt from its graph definition, conv 2 from its inline matrix."""
    model = keras.Sequential(
        [
            keras.Input((48, 3)),
            layers.ChebConv(4, 3, healpix_definition(2), use_bias=True, activation="relu"),
            layers.ChebBatchNormalization(),
            layers.Bias(bias_initializer="random_normal"),
            layers.ChebConv(2, 2, healpix_v1_laplacian(2)),
            layers.GlobalVertexPooling("avg"),
        ]
    )
    x = np.random.default_rng(5).standard_normal((4, 48, 3)).astype("float32")
    bn = model.layers[1]
    bn.moving_mean.assign(np.full(4, 0.3, "float32"))
    bn.moving_variance.assign(np.full(4, 2.0, "float32"))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    expected = np.asarray(model(x))
    assert np.abs(expected).max() > 1e-3
    np.testing.assert_array_equal(np.asarray(loaded(x)), expected)
    assert loaded.layers[0].get_config()["laplacian"] == healpix_definition(2)
    # the Laplacian is rebuilt from the config, not stored as weights: only kernel and bias
    import io
    import zipfile

    h5py = pytest.importorskip("h5py")
    with zipfile.ZipFile(path) as zf, h5py.File(io.BytesIO(zf.read("model.weights.h5"))) as f:
        shapes = []
        f["layers"].visititems(
            lambda name, obj: (
                shapes.append(obj.shape) if "cheb_conv" in name and hasattr(obj, "shape") else None
            )
        )
    # conv 1: kernel (K=3, 3, 4) and bias (4,); conv 2: kernel (2, 4, 2); no Laplacian arrays
    assert sorted(shapes) == sorted([(3, 3, 4), (4,), (2, 4, 2)]), shapes


def test_fit_reduces_loss_on_both_backends(small_graph):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((16, 40, 3)).astype("float32")
    target = cheb_reference(small_graph, x.astype(np.float64), rng.standard_normal((3, 3, 2)))
    model = keras.Sequential([keras.Input((40, 3)), layers.ChebConv(2, 3, small_graph)])
    model.compile(keras.optimizers.Adam(0.05), "mse")
    first = model.evaluate(x, target, verbose=0)
    model.fit(x, target, epochs=30, batch_size=8, verbose=0)
    assert model.evaluate(x, target, verbose=0) < 0.1 * first


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((4, 0), "K"),
        ((0, 3), "filters"),
    ],
)
def test_bad_hyperparameters_raise(small_graph, args, message):
    with pytest.raises(ValueError, match=message):
        layers.ChebConv(*args, small_graph)


def test_bad_laplacians_raise(small_graph):
    with pytest.raises(ValueError, match="square"):
        layers.ChebConv(4, 3, sp.csr_matrix(np.ones((3, 4))))
    with pytest.raises(ValueError, match="symmetric"):
        layers.ChebConv(4, 3, sp.csr_matrix(np.triu(np.ones((4, 4)))))
    with pytest.raises(ValueError, match="dict"):
        layers.ChebConv(4, 3, np.eye(4))
    with pytest.raises(ValueError, match="40x40"):
        layers.ChebConv(4, 3, small_graph)(np.zeros((1, 41, 2), "float32"))
