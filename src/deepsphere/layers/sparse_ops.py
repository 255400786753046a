"""The one per-backend sparse product, and the fused Chebyshev filter built on it.

Representation, chosen by measurement on the 2-core CPU machine
(``/work/shared/reference/perf-baseline.md`` and ``benchmarks/chebconv.py``):

- TensorFlow: ``CSRSparseMatrix`` (``tf.raw_ops.SparseMatrixMatMul``), about 9x faster than
  ``tf.sparse.sparse_dense_matmul`` on a COO ``SparseTensor``; ``keras.ops.matmul`` on a
  ``SparseTensor`` materialises an ``(nnz, C)`` gather and runs out of memory at Nside 256.
- JAX: ``BCSR`` (lowers to jaxlib's native CSR kernel), about 8x faster than ``BCOO``; its
  autodiff transpose falls back to the slow path, hence the custom VJPs below.

Both backends get a custom gradient that uses ``L^T`` (``= L`` for the symmetric rescaled
Laplacian, so the backward pass is the same fast product). :func:`chebyshev_filter` fuses the
whole recursion: its backward pass runs the recursion once on the output gradient
(``dW_k = X^T T_k(L) dY`` and ``dX = sum_k T_k(L) dY W_k^T`` as ``T_k(L)`` is symmetric), so
no ``(K, N, C)`` stack of Chebyshev terms is ever stored.

Large products are split along the dense operand's columns so that ``nnz * columns`` stays
below a backend's index limit (TensorFlow's GPU kernels: ``2**31``).
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import scipy.sparse as sp

#: TensorFlow GPU sparse kernels index with int32: ``nnz * columns`` must stay below this.
TF_GPU_PRODUCT_LIMIT = 2**31 - 1


class SparseOperand:
    """A square sparse matrix held as backend tensors, in the layout the backend's product needs.

    Args:
        components: dict of tensors from :func:`csr_components` (TensorFlow: ``coo``
            ``(nnz, 2)`` int64 row/column pairs in row-major order; JAX: ``indptr`` ``(n + 1,)``
            and ``indices`` ``(nnz,)`` int32 CSR arrays), plus ``values`` ``(nnz,)``.
        n: number of rows (= columns).
        symmetric: whether the matrix equals its transpose (then gradients reuse it).
        transpose: the transposed matrix as another :class:`SparseOperand`; needed by
            :func:`sparse_dense_matmul`'s gradient when ``symmetric`` is false.
    """

    def __init__(self, components, n, *, symmetric=True, transpose=None):
        self.components = dict(components)
        self.n = int(n)
        self.symmetric = bool(symmetric)
        self.transpose = transpose

    @classmethod
    def from_scipy(cls, matrix, dtype="float32", *, _transpose=True):
        """Builds an operand from any square scipy sparse matrix (symmetry is detected)."""
        csr = check_square_sparse(matrix, "matrix")
        symmetric = is_symmetric(csr)
        transpose = None
        if not symmetric and _transpose:
            transpose = cls.from_scipy(csr.T.tocsr(), dtype, _transpose=False)
        comps = csr_components(csr, dtype)
        tensors = {k: keras.ops.convert_to_tensor(v) for k, v in comps.items()}
        return cls(tensors, csr.shape[0], symmetric=symmetric, transpose=transpose)

    @property
    def values(self):
        return self.components["values"]

    @property
    def nnz(self):
        return int(self.values.shape[0])


def check_square_sparse(matrix, name="laplacian"):
    """Returns ``matrix`` as a sorted CSR matrix; raises ``ValueError`` unless square 2-D."""
    if not sp.issparse(matrix):
        raise ValueError(
            f"{name} must be a scipy.sparse matrix, got {type(matrix).__name__}; "
            "convert it with scipy.sparse.csr_matrix(...)."
        )
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(
            f"{name} must be square (n, n), got shape {matrix.shape}; pass the (rescaled) "
            "Laplacian of the graph whose vertices are the input's vertex axis."
        )
    csr = sp.csr_matrix(matrix)
    csr.sum_duplicates()
    csr.sort_indices()
    return csr


def is_symmetric(matrix, rtol=1e-6):
    """Whether a scipy sparse matrix equals its transpose up to ``rtol`` of its largest entry."""
    diff = abs(matrix - matrix.T)
    scale = abs(matrix).max() if matrix.nnz else 0.0
    return diff.nnz == 0 or diff.max() <= rtol * max(scale, 1e-30)


def csr_components(matrix, dtype="float32", backend=None):
    """Numpy arrays of a square sparse matrix in the layout ``backend``'s product uses.

    Returns:
        TensorFlow: ``{"coo": (nnz, 2) int64, "values": (nnz,)}`` (row-major, what
        ``SparseTensorToCSRSparseMatrix`` takes: storing it avoids rebuilding it every call);
        JAX: ``{"indptr": (n + 1,) int32, "indices": (nnz,) int32, "values": (nnz,)}``.
    """
    csr = check_square_sparse(matrix, "matrix")
    if csr.nnz >= 2**31:
        raise ValueError(f"matrix has {csr.nnz} non-zeros; int32 indexing allows < 2**31.")
    values = csr.data.astype(dtype)
    if (backend or keras.backend.backend()) == "tensorflow":
        rows = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
        return {"coo": np.stack([rows, csr.indices.astype(np.int64)], axis=1), "values": values}
    return {
        "indptr": csr.indptr.astype(np.int32),
        "indices": csr.indices.astype(np.int32),
        "values": values,
    }


def _as_operand(L):
    return L if isinstance(L, SparseOperand) else SparseOperand.from_scipy(L)


@functools.cache
def _tf_has_gpu():
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU"))


def _column_chunks(nnz, columns, max_product):
    """Column slices ``[(start, stop), ...]`` keeping ``nnz * (stop - start) < max_product``."""
    if max_product is None or nnz * columns < max_product:
        return None
    width = max(1, (max_product - 1) // max(nnz, 1))
    return [(s, min(s + width, columns)) for s in range(0, columns, width)]


def _default_limit():
    if keras.backend.backend() == "tensorflow" and _tf_has_gpu():
        return TF_GPU_PRODUCT_LIMIT
    return None


# --------------------------------------------------------------------------------------------
# TensorFlow


def _tf_csr(op, dtype, scale=1.0):
    """The ``CSRSparseMatrix`` of ``scale * op`` (about 8% of one product's time to build)."""
    import tensorflow as tf

    values = tf.cast(op.values, dtype)
    return tf.raw_ops.SparseTensorToCSRSparseMatrix(
        indices=op.components["coo"],
        values=values if scale == 1.0 else values * scale,
        dense_shape=tf.constant([op.n, op.n], tf.int64),
    )


def _tf_product(csr, x, chunks):
    import tensorflow as tf

    if chunks is None:
        return tf.raw_ops.SparseMatrixMatMul(a=csr, b=x)
    if isinstance(chunks, int):  # column count unknown while tracing: split in a loop
        return _tf_product_dynamic(csr, x, chunks)
    parts = [tf.raw_ops.SparseMatrixMatMul(a=csr, b=x[:, a:b]) for a, b in chunks]
    return tf.concat(parts, axis=1)


def _tf_product_dynamic(csr, x, width):
    import tensorflow as tf

    columns = tf.shape(x)[1]
    count = (columns + width - 1) // width
    parts = tf.TensorArray(x.dtype, size=count, infer_shape=False)

    def body(i, parts):
        part = tf.raw_ops.SparseMatrixMatMul(a=csr, b=x[:, i * width : (i + 1) * width])
        return i + 1, parts.write(i, tf.transpose(part))

    _, parts = tf.while_loop(lambda i, _: i < count, body, (0, parts))
    return tf.transpose(parts.concat())


def _tf_chunks(nnz, columns, max_product):
    """Static chunks, or an int width when the column count is only known at run time."""
    if max_product is None:
        return None
    if columns is None:
        return max(1, (max_product - 1) // max(nnz, 1))
    return _column_chunks(nnz, columns, max_product)


def _tf_matmul(op, x, max_product):
    import tensorflow as tf

    chunks = _tf_chunks(op.nnz, x.shape[1], max_product)
    csr = _tf_csr(op, x.dtype)
    csr_t = csr if op.symmetric else _tf_csr(op.transpose, x.dtype)

    @tf.custom_gradient
    def product(x):
        def grad(dy):
            return _tf_product(csr_t, dy, chunks)

        return _tf_product(csr, x, chunks), grad

    return product(x)


def _tf_recursion(csr, csr2, t0, K, chunks, consume):
    """Runs ``T_k(L) t0`` for ``k < K``, handing each term to ``consume(k, T_k)`` at once.

    ``consume`` returns the tensors that must be computed before the next sparse product
    starts: these control dependencies keep TensorFlow's executor from running the recursion
    ahead of its consumers, so only about five ``(n, columns)`` buffers are alive at a time.
    """
    import tensorflow as tf

    done = consume(0, t0)
    if K == 1:
        return
    with tf.control_dependencies(done):
        t1 = _tf_product(csr, t0, chunks)
    done = consume(1, t1)
    for k in range(2, K):
        with tf.control_dependencies(done):
            t0, t1 = t1, _tf_product(csr2, t1, chunks) - t0
        done = consume(k, t1)


def _tf_chebyshev(op, x, kernel, max_product):
    import tensorflow as tf

    batch, n, f_in = tf.unstack(tf.shape(x))
    K, _, f_out = kernel.shape
    csr, csr2 = _tf_csr(op, x.dtype), _tf_csr(op, x.dtype, 2.0)  # L and 2L: one pass fewer
    static_batch = x.shape[0]
    cols_in = None if static_batch is None else static_batch * int(x.shape[2])
    cols_out = None if static_batch is None else static_batch * int(f_out)
    chunks_in = _tf_chunks(op.nnz, cols_in, max_product)
    chunks_out = _tf_chunks(op.nnz, cols_out, max_product)

    @tf.custom_gradient
    def cheb(x, kernel):
        x0 = tf.reshape(tf.transpose(x, (1, 0, 2)), (n, batch * f_in))
        rows = n * batch
        acc = {}

        def forward_term(k, t):
            term = tf.matmul(tf.reshape(t, (rows, f_in)), kernel[k])
            acc["y"] = term if k == 0 else acc["y"] + term
            return [acc["y"]]

        _tf_recursion(csr, csr2, x0, K, chunks_in, forward_term)
        out = tf.transpose(tf.reshape(acc["y"], (n, batch, f_out)), (1, 0, 2))

        def grad(dy):
            # x0 is recomputed rather than kept: a layer then holds no copy of its input
            # between the forward and the backward pass (one transpose instead of a buffer).
            x0r = tf.reshape(tf.transpose(x, (1, 0, 2)), (rows, f_in))
            g0 = tf.reshape(tf.transpose(dy, (1, 0, 2)), (n, batch * f_out))
            dws = []

            def backward_term(k, u):
                ur = tf.reshape(u, (rows, f_out))
                term = tf.matmul(ur, kernel[k], transpose_b=True)
                acc["dx"] = term if k == 0 else acc["dx"] + term
                dws.append(tf.matmul(x0r, ur, transpose_a=True))
                return [acc["dx"], dws[-1]]

            _tf_recursion(csr, csr2, g0, K, chunks_out, backward_term)
            dx = tf.transpose(tf.reshape(acc["dx"], (n, batch, f_in)), (1, 0, 2))
            return dx, tf.stack(dws)

        return out, grad

    return cheb(x, kernel)


# --------------------------------------------------------------------------------------------
# JAX


def _jax_product(data, indices, indptr, n, x, chunks):
    import jax.numpy as jnp
    from jax.experimental import sparse as jsparse

    mat = jsparse.BCSR((data, indices, indptr), shape=(n, n), indices_sorted=True)
    if chunks is None:
        return mat @ x
    return jnp.concatenate([mat @ x[:, a:b] for a, b in chunks], axis=1)


def _jax_zero_cotangents(arrays):
    import jax

    return tuple(
        np.zeros(a.shape, dtype=jax.dtypes.float0)
        if jax.numpy.issubdtype(a.dtype, jax.numpy.integer)
        else jax.numpy.zeros_like(a)
        for a in arrays
    )


@functools.cache
def _jax_kernels():
    """Module-level jitted custom-VJP functions (built once: eager calls then hit jit's cache).

    Static arguments: ``n`` (vertices) and ``chunks`` (column split, a tuple or ``None``).
    """
    import jax
    import jax.numpy as jnp

    @functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
    def matmul(n, chunks, x, data, indices, indptr, data_t, indices_t, indptr_t):
        return _jax_product(data, indices, indptr, n, x, chunks)

    def matmul_fwd(n, chunks, x, *arrays):
        return matmul(n, chunks, x, *arrays), arrays

    def matmul_bwd(n, chunks, arrays, dy):
        dx = _jax_product(*arrays[3:], n, dy, chunks)
        return (dx, *_jax_zero_cotangents(arrays))

    matmul.defvjp(matmul_fwd, matmul_bwd)

    def terms(t0, data, indices, indptr, n, K, chunks):
        """Yields T_k(L) t0 for k = 0..K-1, keeping only two previous terms alive."""
        yield t0
        if K > 1:
            t1 = _jax_product(data, indices, indptr, n, t0, chunks)
            yield t1
            for _ in range(2, K):
                t0, t1 = t1, 2.0 * _jax_product(data, indices, indptr, n, t1, chunks) - t0
                yield t1

    def forward(n, chunks, x, kernel, data, indices, indptr):
        batch, _, f_in = x.shape
        K, _, f_out = kernel.shape
        x0 = jnp.transpose(x, (1, 0, 2)).reshape(n, batch * f_in)
        y = None
        for k, t in enumerate(terms(x0, data, indices, indptr, n, K, chunks[0])):
            term = t.reshape(n * batch, f_in) @ kernel[k]
            y = term if y is None else y + term
        return jnp.transpose(y.reshape(n, batch, f_out), (1, 0, 2)), x0

    @functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
    def cheb(n, chunks, x, kernel, data, indices, indptr):
        return forward(n, chunks, x, kernel, data, indices, indptr)[0]

    def cheb_fwd(n, chunks, x, kernel, data, indices, indptr):
        out, _ = forward(n, chunks, x, kernel, data, indices, indptr)
        return out, (x, kernel, data, indices, indptr)

    def cheb_bwd(n, chunks, res, dy):
        x, kernel, data, indices, indptr = res  # x, not its transpose: no extra residual
        batch = dy.shape[0]
        K, f_in, f_out = kernel.shape
        x0r = jnp.transpose(x, (1, 0, 2)).reshape(n * batch, f_in)
        g0 = jnp.transpose(dy, (1, 0, 2)).reshape(n, batch * f_out)
        dx, dws = None, []
        for k, u in enumerate(terms(g0, data, indices, indptr, n, K, chunks[1])):
            ur = u.reshape(n * batch, f_out)
            term = ur @ kernel[k].T
            dx = term if dx is None else dx + term
            dws.append(x0r.T @ ur)
        dx = jnp.transpose(dx.reshape(n, batch, f_in), (1, 0, 2))
        return (dx, jnp.stack(dws), *_jax_zero_cotangents((data, indices, indptr)))

    cheb.defvjp(cheb_fwd, cheb_bwd)
    return jax.jit(matmul, static_argnums=(0, 1)), jax.jit(cheb, static_argnums=(0, 1))


def _tuple_chunks(chunks):
    return None if chunks is None else tuple(chunks)


def _jax_matmul(op, x, max_product):
    chunks = _tuple_chunks(_column_chunks(op.nnz, int(x.shape[1]), max_product))
    c = op.components
    ct = (op if op.symmetric else op.transpose).components
    arrays = (c["values"].astype(x.dtype), c["indices"], c["indptr"])
    arrays_t = (ct["values"].astype(x.dtype), ct["indices"], ct["indptr"])
    return _jax_kernels()[0](op.n, chunks, x, *arrays, *arrays_t)


def _jax_chebyshev(op, x, kernel, max_product):
    batch, _, f_in = x.shape
    f_out = kernel.shape[2]
    chunks = (
        _tuple_chunks(_column_chunks(op.nnz, batch * f_in, max_product)),
        _tuple_chunks(_column_chunks(op.nnz, batch * f_out, max_product)),
    )
    c = op.components
    return _jax_kernels()[1](
        op.n, chunks, x, kernel, c["values"].astype(x.dtype), c["indices"], c["indptr"]
    )


# --------------------------------------------------------------------------------------------
# Public entry points


def sparse_dense_matmul(L, x, *, max_product="auto"):
    """``L @ x`` for a square sparse ``L`` and a dense ``x``, differentiable w.r.t. ``x``.

    Args:
        L: ``(n, n)`` :class:`SparseOperand` or scipy sparse matrix.
        x: ``(n, c)`` dense tensor.
        max_product: split ``x`` along its columns so that ``nnz * columns < max_product``;
            ``"auto"`` applies TensorFlow's GPU limit when a GPU is visible, ``None`` never splits.

    Returns:
        ``(n, c)`` tensor of ``x``'s dtype.
    """
    op = _as_operand(L)
    x = keras.ops.convert_to_tensor(x)
    if len(x.shape) != 2 or x.shape[0] != op.n:
        raise ValueError(
            f"x must have shape ({op.n}, columns) to be multiplied by the {op.n}x{op.n} "
            f"sparse matrix, got {tuple(x.shape)}."
        )
    limit = _default_limit() if max_product == "auto" else max_product
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tf_matmul(op, x, limit)
    if backend == "jax":
        return _jax_matmul(op, x, limit)
    raise NotImplementedError(
        f"deepsphere sparse products support tensorflow and jax, not {backend}."
    )


def chebyshev_filter(L, x, kernel, *, max_product="auto"):
    """``y = sum_k T_k(L) x W_k``: the Chebyshev graph filter, fused, with a custom gradient.

    ``T_0 = x``, ``T_1 = L x``, ``T_k = 2 L T_{k-1} - T_{k-2}``, applied on the vertex axis
    for the whole batch at once (one sparse product per term on an ``(n, batch*f_in)`` view).

    Args:
        L: ``(n, n)`` symmetric rescaled Laplacian (:class:`SparseOperand` or scipy sparse).
        x: ``(batch, n, f_in)`` signals.
        kernel: ``(K, f_in, f_out)`` weights, ``kernel[k]`` multiplies ``T_k``.
        max_product: see :func:`sparse_dense_matmul`.

    Returns:
        ``(batch, n, f_out)``.
    """
    op = _as_operand(L)
    if not op.symmetric:
        raise ValueError(
            "chebyshev_filter needs a symmetric Laplacian; symmetrise the graph weights."
        )
    x = keras.ops.convert_to_tensor(x)
    kernel = keras.ops.cast(keras.ops.convert_to_tensor(kernel), x.dtype)
    if len(x.shape) != 3 or (x.shape[1] is not None and x.shape[1] != op.n):
        raise ValueError(f"x must have shape (batch, {op.n}, features), got {tuple(x.shape)}.")
    if len(kernel.shape) != 3 or kernel.shape[1] != x.shape[2]:
        raise ValueError(
            f"kernel must have shape (K, {x.shape[2]}, f_out) for inputs with {x.shape[2]} "
            f"features, got {tuple(kernel.shape)}."
        )
    limit = _default_limit() if max_product == "auto" else max_product
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tf_chebyshev(op, x, kernel, limit)
    if backend == "jax":
        return _jax_chebyshev(op, x, kernel, limit)
    raise NotImplementedError(
        f"deepsphere sparse products support tensorflow and jax, not {backend}."
    )
