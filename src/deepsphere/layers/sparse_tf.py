"""TensorFlow backend of :mod:`deepsphere.layers.sparse_ops`: ``CSRSparseMatrix`` products.

``tf.raw_ops.SparseMatrixMatMul`` on a ``CSRSparseMatrix`` was about 9x faster than
``tf.sparse.sparse_dense_matmul`` on this project's CPU benchmark; the custom gradients reuse the
(symmetric) matrix so that the backward pass is the same fast product.
"""

from __future__ import annotations

from deepsphere.layers._sparse_common import column_chunks


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
    return column_chunks(nnz, columns, max_product)


def tf_matmul(op, x, max_product):
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


def tf_chebyshev(op, x, kernel, max_product):
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
