"""Graph Laplacians and their Chebyshev rescaling, built directly in CSR (vectorised, chunked).

- combinatorial ``L = D - W``; normalized ``L = I - D^{-1/2} W D^{-1/2}``, with ``L_ii = 0`` at
  isolated vertices (the PyGSP 0.6.1 convention).
- ``largest_eigenvalue``: ``"eigsh"`` (ARPACK, seeded start vector; the result is multiplied by
  ``safety``, 1.02 as in the originals, so the rescaled spectrum stays inside the interval) or
  ``"bound"`` (2 for the normalized Laplacian; otherwise the Gershgorin bound
  ``max_i sum_j |L_ij|``, i.e. ``2 max degree`` for the combinatorial one; no safety factor).
- ``rescale_laplacian``: the affine map of ``[0, lmax]`` onto ``interval`` (``2L/lmax - I`` for
  the default ``(-1, 1)``; the cosmology originals used ``(-1, 0.5)``), as csr float32.

Every output has an explicit diagonal entry in every row and sorted column indices.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .graphs_csr import index_dtype, row_chunks

__all__ = [
    "chebyshev_laplacian",
    "laplacian",
    "largest_eigenvalue",
    "rescale_laplacian",
    "to_pygsp",
]

_KINDS = ("combinatorial", "normalized")


def _check_square_sparse(m, name: str) -> sp.csr_matrix:
    if not sp.issparse(m) or m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"{name} must be a square scipy.sparse matrix, got {type(m).__name__} "
                         f"of shape {getattr(m, 'shape', None)}.")
    m = m.tocsr() if m.format != "csr" else m
    if not m.has_sorted_indices:
        m = m.copy()
        m.sum_duplicates()
    return m


def _check_kind(kind) -> str:
    if kind not in _KINDS:
        raise ValueError(f"kind={kind!r}: pass 'combinatorial' or 'normalized'.")
    return kind


def _row_sums(m: sp.csr_matrix, absolute: bool = False) -> np.ndarray:
    """Row sums in float64, shape ``(n,)``, chunked."""
    out = np.zeros(m.shape[0])
    for r0, r1, p0, p1, rows in row_chunks(m.indptr, m.shape[0]):
        vals = m.data[p0:p1].astype(np.float64)
        if absolute:
            np.abs(vals, out=vals)
        out[r0:r1] = np.bincount(rows - r0, weights=vals, minlength=r1 - r0)
    return out


def _insert_diagonal(m: sp.csr_matrix, diag: np.ndarray, offdiag, dtype) -> sp.csr_matrix:
    """Fast path of :func:`_rebuild_with_diagonal` for ``m`` without stored diagonal entries
    (sorted indices): every entry moves by its row number, plus one past the diagonal."""
    n = m.shape[0]
    indptr, indices = m.indptr, m.indices
    idt = index_dtype(m.nnz + n)
    new_indptr = indptr.astype(idt) + np.arange(n + 1, dtype=idt)
    out_indices = np.empty(m.nnz + n, dtype=idt)
    out_data = np.empty(m.nnz + n, dtype=dtype)
    for r0, r1, p0, p1, rows in row_chunks(indptr, n):
        # the chunk's rows fill the output block [p0 + r0, p1 + r1): a mask of the diagonal
        # slots, then two sequential masked copies (no scatter)
        cols = indices[p0:p1]
        n_below = np.bincount(rows[cols < rows] - r0, minlength=r1 - r0)
        diag_slot = np.zeros(p1 - p0 + r1 - r0, dtype=bool)
        diag_slot[new_indptr[r0:r1] - (p0 + r0) + n_below] = True
        entry_slot = ~diag_slot
        block = slice(p0 + r0, p1 + r1)
        out_indices[block][entry_slot] = cols
        out_indices[block][diag_slot] = np.arange(r0, r1, dtype=idt)
        out_data[block][entry_slot] = offdiag(rows, cols, m.data[p0:p1])
        out_data[block][diag_slot] = diag[r0:r1]
    out = sp.csr_matrix((out_data, out_indices, new_indptr), shape=(n, n), copy=False)
    out.has_sorted_indices = True
    return out


def _has_stored_diagonal(m: sp.csr_matrix) -> bool:
    return any(bool(np.any(m.indices[p0:p1] == rows))
               for _, _, p0, p1, rows in row_chunks(m.indptr, m.shape[0]))


def _rebuild_with_diagonal(m: sp.csr_matrix, diag: np.ndarray, offdiag, dtype) -> sp.csr_matrix:
    """A new CSR with the off-diagonal entries ``offdiag(rows, cols, values)`` of ``m`` (sorted
    indices required) and an explicit diagonal ``diag``, without int64 COO intermediates."""
    if not _has_stored_diagonal(m):
        return _insert_diagonal(m, diag, offdiag, dtype)
    n = m.shape[0]
    indptr, indices = m.indptr, m.indices
    kept = np.empty(n, dtype=np.int64)
    for r0, r1, p0, p1, rows in row_chunks(indptr, n):
        own = indices[p0:p1] == rows
        kept[r0:r1] = np.diff(indptr[r0 : r1 + 1]) - np.bincount(rows[own] - r0, minlength=r1 - r0)
    idt = index_dtype(int(kept.sum()) + n)
    new_indptr = np.zeros(n + 1, dtype=idt)
    np.cumsum(kept + 1, out=new_indptr[1:])
    del kept
    out_indices = np.empty(int(new_indptr[-1]), dtype=idt)
    out_data = np.empty(int(new_indptr[-1]), dtype=dtype)
    for r0, r1, p0, p1, rows in row_chunks(indptr, n):
        cols = indices[p0:p1]
        keep = cols != rows
        below = cols < rows
        before = np.concatenate([[0], np.cumsum(keep)])  # kept entries before each entry
        rank = before[:-1] - before[indptr[r0:r1] - p0][rows - r0]
        pos = new_indptr[rows] + rank + (~below)
        out_indices[pos[keep]] = cols[keep]
        out_data[pos[keep]] = offdiag(rows[keep], cols[keep], m.data[p0:p1][keep])
        n_below = np.bincount(rows[keep & below] - r0, minlength=r1 - r0)
        dpos = new_indptr[r0:r1] + n_below
        out_indices[dpos] = np.arange(r0, r1)
        out_data[dpos] = diag[r0:r1]
    out = sp.csr_matrix((out_data, out_indices, new_indptr), shape=(n, n), copy=False)
    out.has_sorted_indices = True
    return out


def laplacian(weights, kind="combinatorial") -> sp.csr_matrix:
    """Laplacian of a symmetric, non-negative weight matrix with zero diagonal.

    Args:
        weights: sparse ``(n, n)``.
        kind: ``"combinatorial"`` (``D - W``) or ``"normalized"`` (``I - D^-1/2 W D^-1/2``).

    Returns:
        csr ``(n, n)`` in the dtype of ``weights`` (float32 or float64; others give float64).
    """
    kind = _check_kind(kind)
    w = _check_square_sparse(weights, "weights")
    if w.nnz and w.data.min() < 0:
        raise ValueError("weights must be non-negative (a graph's edge weights).")
    if np.any(w.diagonal() != 0):
        raise ValueError("weights must have a zero diagonal (no self-loops): remove them with "
                         "W.setdiag(0); W.eliminate_zeros().")
    dtype = w.dtype if w.dtype in (np.float32, np.float64) else np.float64
    degree = _row_sums(w)
    if kind == "combinatorial":
        return _rebuild_with_diagonal(w, degree, lambda r, c, v: -v, dtype)
    dinv = np.zeros_like(degree)
    np.power(degree, -0.5, where=degree > 0, out=dinv)
    return _rebuild_with_diagonal(
        w, (degree > 0).astype(float), lambda r, c, v: -v * dinv[r] * dinv[c], dtype
    )


def largest_eigenvalue(L, method="eigsh", safety=1.02, *, kind=None) -> float:
    """An upper estimate of the largest eigenvalue of a symmetric PSD Laplacian.

    Args:
        method: ``"eigsh"`` (ARPACK largest-magnitude eigenvalue times ``safety``; dense
            ``eigvalsh`` below 2000 vertices) or ``"bound"`` (analytic, no safety factor:
            2 if ``kind == "normalized"``, else the Gershgorin bound ``max_i sum_j |L_ij|``).
        safety: multiplicative factor >= 1 for ``"eigsh"`` (1.02 as the originals).
        kind: the Laplacian's kind, used by ``"bound"`` only.
    """
    L = _check_square_sparse(L, "L")
    if method not in ("eigsh", "bound"):
        raise ValueError(f"method={method!r}: pass 'eigsh' or 'bound'.")
    if not safety >= 1:
        raise ValueError(f"safety={safety!r}: pass a factor >= 1 (1.02 as the originals).")
    if kind is not None:
        _check_kind(kind)
    if method == "bound":
        return 2.0 if kind == "normalized" else float(_row_sums(L, absolute=True).max())
    n = L.shape[0]
    if n < 2000:
        lmax = float(np.linalg.eigvalsh(L.toarray().astype(np.float64))[-1])
    else:
        from scipy.sparse.linalg import eigsh

        v0 = np.random.default_rng(0).standard_normal(n).astype(L.dtype)
        # tol 1e-2 (the originals: machine precision): the top of a sphere-graph spectrum is
        # clustered, so Lanczos converges slowly (nside 256: 5 s at 1e-2, 49 s at 1e-4); the
        # Ritz value is then within ~0.2% below lmax, which the safety factor 1.02 covers.
        lmax = float(eigsh(L, k=1, which="LM", v0=v0, tol=1e-2, return_eigenvectors=False)[0])
    return lmax * float(safety)


def rescale_laplacian(L, lmax, interval=(-1.0, 1.0)) -> sp.csr_matrix:
    """Map the spectrum ``[0, lmax]`` affinely onto ``interval = (a, b)``:
    ``(b - a) L / lmax + a I`` as csr float32 (``2L/lmax - I`` for ``(-1, 1)``)."""
    L = _check_square_sparse(L, "L")
    if not (np.isfinite(lmax) and lmax > 0):
        raise ValueError(f"lmax={lmax!r}: pass a positive eigenvalue estimate.")
    a, b = (float(x) for x in interval)
    if not a < b:
        raise ValueError(f"interval={interval!r}: pass (a, b) with a < b, e.g. (-1, 1).")
    scale = (b - a) / float(lmax)
    diag = scale * L.diagonal().astype(np.float64) + a
    return _rebuild_with_diagonal(L, diag, lambda r, c, v: v * scale, np.float32)


def chebyshev_laplacian(weights, kind="normalized", interval=(-1.0, 1.0), lmax_method="eigsh",
                        ) -> sp.csr_matrix:
    """``rescale_laplacian(laplacian(W, kind), largest_eigenvalue(...), interval)``, float32.

    With ``lmax_method="bound"`` the bound is known from the degrees alone (2, or the Gershgorin
    bound ``2 max degree`` of ``D - W``), so the rescaled matrix is built in one pass."""
    if lmax_method != "bound":
        L = laplacian(weights, kind)
        lmax = largest_eigenvalue(L, lmax_method, kind=kind)
        return rescale_laplacian(L, lmax, interval)
    kind = _check_kind(kind)
    a, b = (float(x) for x in interval)
    if not a < b:
        raise ValueError(f"interval={interval!r}: pass (a, b) with a < b, e.g. (-1, 1).")
    w = _check_square_sparse(weights, "weights")
    if w.nnz and w.data.min() < 0:
        raise ValueError("weights must be non-negative (a graph's edge weights).")
    if np.any(w.diagonal() != 0):
        raise ValueError("weights must have a zero diagonal (no self-loops).")
    degree = _row_sums(w)
    if kind == "combinatorial":
        scale = (b - a) / max(2.0 * degree.max(), np.finfo(float).tiny)
        return _rebuild_with_diagonal(w, scale * degree + a, lambda r, c, v: -scale * v,
                                      np.float32)
    scale = (b - a) / 2.0
    dinv = np.zeros_like(degree)
    np.power(degree, -0.5, where=degree > 0, out=dinv)
    dinv = dinv.astype(np.float32)  # float32 output: float32 products halve the memory traffic
    neg = np.float32(-scale)
    return _rebuild_with_diagonal(w, scale * (degree > 0) + a,
                                  lambda r, c, v: v * dinv[r] * dinv[c] * neg, np.float32)


def to_pygsp(graph):
    """A ``pygsp.graphs.Graph`` (pygsp 0.6.1) with the same weights (float64) and coordinates.

    Accepts a ``graphs.SphereGraph`` or a sparse weight matrix."""
    from pygsp import graphs as pg

    if sp.issparse(graph):
        return pg.Graph(sp.csr_matrix(graph, dtype=np.float64))
    return pg.Graph(sp.csr_matrix(graph.weights, dtype=np.float64), coords=graph.sampling.vectors)
