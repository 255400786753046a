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

from ._sparse_graphs import index_dtype

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
    """Row sums in float64, shape ``(n,)``."""
    from . import _compiled_loops as compiled_loops

    return compiled_loops.row_sums(m.indptr, m.data, absolute)


def _check_weights(weights) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Validate a weight matrix in one pass: ``(W as csr, degree (float64), off-diagonal
    entries per row)``."""
    from . import _compiled_loops as compiled_loops

    w = _check_square_sparse(weights, "weights")
    degree, offdiag, negative, diagonal = compiled_loops.weight_stats(w.indptr, w.indices, w.data)
    if not np.isfinite(degree).all():  # NaN and +inf propagate to the row sum (cheap test)
        _check_finite(w)
    if negative:
        raise ValueError("weights must be non-negative (a graph's edge weights).")
    if diagonal:
        raise ValueError("weights must have a zero diagonal (no self-loops): remove them with "
                         "W.setdiag(0); W.eliminate_zeros().")
    _check_symmetric(w)
    return w, degree, offdiag


def _entry(m: sp.csr_matrix, k: int) -> tuple[int, int]:
    """``(row, column)`` of the ``k``-th stored entry of a CSR matrix."""
    return int(np.searchsorted(m.indptr, k, side="right") - 1), int(m.indices[k])


def _check_finite(w: sp.csr_matrix, name: str = "weights") -> None:
    """Raise if an entry is NaN or infinite (it would make the whole Laplacian row NaN)."""
    bad = np.flatnonzero(~np.isfinite(w.data))
    if bad.size:
        i, j = _entry(w, bad[0])
        s = "W" if name == "weights" else name
        raise ValueError(
            f"{name} has {bad.size} non-finite entr{'y' if bad.size == 1 else 'ies'} (NaN or "
            f"inf), e.g. {s}[{i}, {j}] = {w.data[bad[0]]}: they would make the Laplacian NaN; "
            "fix the distances or kernel width that produced them, or drop those edges."
        )


_SYMMETRY_RTOL = 1e-6  # |W_ij - W_ji| <= rtol * max(|W_ij|, |W_ji|): float32 rounding passes


def _check_symmetric(w: sp.csr_matrix, name: str = "weights") -> None:
    """Raise unless ``W_ij == W_ji`` (up to ``_SYMMETRY_RTOL``) for every stored entry.

    Fast path (O(nnz), no sort): the transpose of a structurally symmetric matrix has the same
    CSR pattern, so the values compare position by position. Otherwise every entry looks up its
    mirror (explicit zeros count as absent edges)."""
    t = w.T.tocsr()
    t.sort_indices()
    if np.array_equal(w.indptr, t.indptr) and np.array_equal(w.indices, t.indices):
        a, b = w.data, t.data
    else:
        n = w.shape[0]
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(w.indptr))
        cols = w.indices.astype(np.int64)
        keys = rows * n + cols  # ascending: rows in order, sorted columns
        mirror = np.searchsorted(keys, cols * n + rows).clip(max=max(keys.size - 1, 0))
        found = keys[mirror] == cols * n + rows if keys.size else np.zeros(0, bool)
        a = w.data
        b = np.where(found, w.data[mirror], 0) if keys.size else w.data
    bad = np.flatnonzero(np.abs(a - b) > _SYMMETRY_RTOL * np.maximum(np.abs(a), np.abs(b)))
    if bad.size:
        i, j = _entry(w, bad[0])
        s = "W" if name == "weights" else name
        raise ValueError(
            f"{name} is not symmetric: {bad.size} stored entr"
            f"{'y' if bad.size == 1 else 'ies'} {s}[i, j] differ{'s' if bad.size == 1 else ''} "
            f"from {s}[j, i], e.g. "
            f"{s}[{i}, {j}] = {a[bad[0]]} but {s}[{j}, {i}] = {b[bad[0]]} (a one-way or unequal "
            "edge); a graph Laplacian needs undirected edges: symmetrise the weights, e.g. "
            "W = W.maximum(W.T) or (W + W.T) / 2, and rebuild it."
        )


def _check_laplacian(L, name: str = "L") -> sp.csr_matrix:
    """A square, finite, symmetric sparse Laplacian as sorted CSR."""
    L = _check_square_sparse(L, name)
    if not np.isfinite(L.data).all():
        _check_finite(L, name)
    _check_symmetric(L, name)
    return L


def _rebuild_with_diagonal(m: sp.csr_matrix, diag: np.ndarray, dtype, *, factor,
                           scale: np.ndarray | None = None,
                           offdiag: np.ndarray | None = None) -> sp.csr_matrix:
    """A new CSR (sorted indices, ``dtype``) with an explicit diagonal ``diag`` (float64, one
    per row; stored diagonal entries of ``m`` are dropped) and the off-diagonal entries of ``m``
    (sorted indices required; ``offdiag``: their number per row, if known) with values
    ``((v * scale[i]) * scale[j]) * factor``, or
    ``v * factor`` without ``scale``: evaluated in the precision of ``scale`` or, without it,
    of ``m``'s values, or of ``factor`` if it is a wider NumPy scalar (numpy's promotion rules:
    a Python float does not widen float32, a ``np.float64`` does)."""
    from . import _compiled_loops as compiled_loops

    n = m.shape[0]
    if offdiag is None:
        offdiag = compiled_loops.weight_stats(m.indptr, m.indices, m.data)[1]
    idt = index_dtype(int(offdiag.sum()) + n)
    indptr = np.zeros(n + 1, dtype=idt)
    np.cumsum(offdiag, out=indptr[1:])
    indptr[1:] += np.arange(1, n + 1, dtype=idt)
    indices = np.empty(int(indptr[-1]), dtype=idt)
    data = np.empty(indices.size, dtype=dtype)
    work = m.data.dtype if scale is None else scale.dtype
    scale = np.zeros(0, dtype=work) if scale is None else scale
    compiled_loops.with_diagonal(m.indptr, m.indices, m.data, np.asarray(diag, dtype=np.float64),
                              scale, factor if isinstance(factor, np.floating) else work.type(factor),
                              indptr, indices, data)
    out = sp.csr_matrix((data, indices, indptr), shape=(n, n), copy=False)
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
    w, degree, offdiag = _check_weights(weights)
    dtype = w.dtype if w.dtype in (np.float32, np.float64) else np.float64
    if kind == "combinatorial":
        return _rebuild_with_diagonal(w, degree, dtype, factor=-1.0, offdiag=offdiag)
    dinv = np.zeros_like(degree)
    np.power(degree, -0.5, where=degree > 0, out=dinv)
    return _rebuild_with_diagonal(w, (degree > 0).astype(float), dtype, factor=-1.0, scale=dinv,
                                  offdiag=offdiag)


def largest_eigenvalue(L, method="eigsh", safety=1.02, *, kind=None) -> float:
    """An upper estimate of the largest eigenvalue of a symmetric PSD Laplacian.

    Args:
        method: ``"eigsh"`` (ARPACK largest-magnitude eigenvalue times ``safety``; dense
            ``eigvalsh`` below 2000 vertices) or ``"bound"`` (analytic, no safety factor:
            2 if ``kind == "normalized"``, else the Gershgorin bound ``max_i sum_j |L_ij|``).
        safety: multiplicative factor >= 1 for ``"eigsh"`` (1.02 as the originals).
        kind: the Laplacian's kind, used by ``"bound"`` only.
    """
    L = _check_laplacian(L)
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


def rescale_laplacian(L, lmax, interval=(-1.0, 1.0), *, dtype=np.float32) -> sp.csr_matrix:
    """Map the spectrum ``[0, lmax]`` affinely onto ``interval = (a, b)``:
    ``(b - a) L / lmax + a I`` as csr ``dtype`` (float32 by default, or float64; ``2L/lmax - I``
    for ``(-1, 1)``). Off-diagonal entries are computed in ``L``'s precision, the diagonal in
    float64, then stored as ``dtype``."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype={dtype}: pass float32 or float64.")
    L = _check_laplacian(L)
    if not (np.isfinite(lmax) and lmax > 0):
        raise ValueError(f"lmax={lmax!r}: pass a positive eigenvalue estimate.")
    a, b = (float(x) for x in interval)
    if not a < b:
        raise ValueError(f"interval={interval!r}: pass (a, b) with a < b, e.g. (-1, 1).")
    scale = (b - a) / float(lmax)
    diag = scale * L.diagonal().astype(np.float64) + a
    return _rebuild_with_diagonal(L, diag, dtype, factor=scale)


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
    w, degree, offdiag = _check_weights(weights)
    if kind == "combinatorial":
        scale = (b - a) / max(2.0 * degree.max(), np.finfo(float).tiny)
        return _rebuild_with_diagonal(w, scale * degree + a, np.float32, factor=-scale,
                                      offdiag=offdiag)
    scale = (b - a) / 2.0
    dinv = np.zeros_like(degree)
    np.power(degree, -0.5, where=degree > 0, out=dinv)
    dinv = dinv.astype(np.float32)  # float32 output: float32 products halve the memory traffic
    return _rebuild_with_diagonal(w, scale * (degree > 0) + a, np.float32, factor=-scale,
                                  scale=dinv, offdiag=offdiag)


def to_pygsp(graph):
    """A ``pygsp.graphs.Graph`` (pygsp 0.6.1) with the same weights (float64) and coordinates.

    Accepts a ``graphs.SphereGraph`` or a sparse weight matrix."""
    from pygsp import graphs as pg

    if sp.issparse(graph):
        return pg.Graph(sp.csr_matrix(graph, dtype=np.float64))
    return pg.Graph(sp.csr_matrix(graph.weights, dtype=np.float64), coords=graph.sampling.vectors)
