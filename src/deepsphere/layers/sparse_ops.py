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

The backends live in :mod:`deepsphere.layers.sparse_tf` and :mod:`deepsphere.layers.sparse_jax`.
Large products are split along the dense operand's columns so that ``nnz * columns`` stays
below a backend's index limit (TensorFlow's GPU kernels: ``2**31``).
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import scipy.sparse as sp

from deepsphere.layers._sparse_common import column_chunks

#: TensorFlow GPU sparse kernels index with int32: ``nnz * columns`` must stay below this.
TF_GPU_PRODUCT_LIMIT = 2**31 - 1

__all__ = [
    "SparseOperand",
    "TF_GPU_PRODUCT_LIMIT",
    "check_square_sparse",
    "chebyshev_filter",
    "column_chunks",
    "csr_components",
    "is_symmetric",
    "sparse_dense_matmul",
]


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


def _backend_function(name):
    """``tf_<name>`` or ``jax_<name>`` from the module of the active Keras backend."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        from deepsphere.layers import sparse_tf

        return getattr(sparse_tf, f"tf_{name}")
    if backend == "jax":
        from deepsphere.layers import sparse_jax

        return getattr(sparse_jax, f"jax_{name}")
    raise NotImplementedError(
        f"deepsphere sparse products support the tensorflow and jax backends, not {backend}; "
        "set KERAS_BACKEND=tensorflow or jax."
    )


def _default_limit():
    if keras.backend.backend() == "tensorflow" and _tf_has_gpu():
        return TF_GPU_PRODUCT_LIMIT
    return None


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
    return _backend_function("matmul")(op, x, limit)


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
    return _backend_function("chebyshev")(op, x, kernel, limit)
