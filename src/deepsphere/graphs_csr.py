"""Low-level, memory-lean builders of symmetric sparse weight matrices (used by ``graphs``).

Everything here works on CSR arrays directly (int32 indices where they fit, float32 values),
in row chunks, so that an nside-2048 HEALPix graph (50M vertices, 400M entries) is built
without int64 COO intermediates.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

CHUNK_ROWS = 1 << 21  # rows per chunk: bounds the temporaries to ~100 MB per candidate column
TIE_RTOL = 1e-9  # distances within this relative tolerance of the k-th one count as ties


def index_dtype(max_value: int) -> type:
    """int32 if every index/offset fits, else int64."""
    return np.int32 if max_value < np.iinfo(np.int32).max else np.int64


def padded_rows_to_csr(nbr_chunks, n_rows: int, n_cols: int, capacity: int) -> sp.csr_matrix:
    """Assemble a CSR pattern from padded neighbour lists, chunk by chunk.

    Args:
        nbr_chunks: iterable of ``(start_row, nbr)`` with ``nbr`` int array ``(m, c)``: column
            indices of row ``start_row + i``, ``-1`` for absent entries, any order, no duplicates.
        capacity: an upper bound on the number of entries (the buffer size).

    Returns:
        csr_matrix with sorted column indices and all values 1 (float32), shape
        ``(n_rows, n_cols)``.
    """
    idt = index_dtype(max(capacity, n_cols))
    indices = np.empty(capacity, dtype=idt)
    counts = np.zeros(n_rows, dtype=idt)
    pos = 0
    for start, nbr in nbr_chunks:
        nbr = np.where(nbr < 0, n_cols, nbr)  # sentinel sorts last
        nbr.sort(axis=1)
        nbr[:, 1:][nbr[:, 1:] == nbr[:, :-1]] = n_cols  # duplicates (tiny nside) dropped
        valid = nbr < n_cols
        counts[start : start + nbr.shape[0]] = valid.sum(axis=1)
        vals = nbr[valid]
        indices[pos : pos + vals.size] = vals
        pos += vals.size
    indptr = np.zeros(n_rows + 1, dtype=idt)
    np.cumsum(counts, out=indptr[1:])
    data = np.ones(pos, dtype=np.float32)
    mat = sp.csr_matrix((n_rows, n_cols), dtype=np.float32)
    mat.data, mat.indices, mat.indptr = data, indices[:pos], indptr
    mat.has_sorted_indices = True
    return mat


def row_chunks(indptr: np.ndarray, n_rows: int, chunk: int = CHUNK_ROWS):
    """Yield ``(r0, r1, p0, p1, rows)``: row range, entry range and the row of each entry."""
    for r0 in range(0, n_rows, chunk):
        r1 = min(r0 + chunk, n_rows)
        p0, p1 = int(indptr[r0]), int(indptr[r1])
        counts = np.diff(indptr[r0 : r1 + 1])
        rows = np.repeat(np.arange(r0, r1, dtype=indptr.dtype), counts)
        yield r0, r1, p0, p1, rows


def fill_edge_values(mat: sp.csr_matrix, vectors: np.ndarray, scale: float | None = None):
    """Overwrite ``mat.data`` with squared chordal distances ``d^2 = |x_i - x_j|^2`` or, if
    ``scale`` is given, with ``exp(-d^2 / scale)`` (computed in float64, stored in the matrix
    dtype). Returns ``(mean d^2, mean d)`` over all entries."""
    total2 = total1 = 0.0
    for _, _, p0, p1, rows in row_chunks(mat.indptr, mat.shape[0]):
        diff = vectors[rows] - vectors[mat.indices[p0:p1]]
        d2 = np.einsum("ij,ij->i", diff, diff)
        del diff
        total2 += float(d2.sum())
        total1 += float(np.sqrt(d2).sum())
        mat.data[p0:p1] = d2 if scale is None else np.exp(-d2 / scale)
    n = max(mat.nnz, 1)
    return total2 / n, total1 / n


def heat_kernel_inplace(mat: sp.csr_matrix, scale: float) -> None:
    """``data <- exp(-data / scale)`` in place, in chunks (data holds squared distances).

    Used when the width depends on all distances (V1, mean-distance): then ``d^2 / scale`` is
    O(1) and the float32 rounding of ``d^2`` costs < 1e-6 relative in the weight."""
    step = 1 << 24
    for s in range(0, mat.data.size, step):
        seg = mat.data[s : s + step]
        np.multiply(seg, -1.0 / scale, out=seg)
        np.exp(seg, out=seg)


def knn_lists(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours (chordal), ties at the k-th distance all included.

    Returns:
        ``(rows, cols)`` int64 arrays of the directed kNN relation (self excluded).
    """
    n = vectors.shape[0]
    tree = cKDTree(vectors)
    q = min(n, 2 * k + 2)
    while True:
        dist, idx = tree.query(vectors, k=q, workers=-1)
        own = idx == np.arange(n)[:, None]
        dist = np.where(own, np.inf, dist)
        dk = np.partition(dist, k - 1, axis=1)[:, k - 1 : k]
        keep = (dist <= dk * (1 + TIE_RTOL) + 1e-300) & ~own
        # ties may continue past the last queried column: ask for more
        if q == n or not np.any(keep[:, -1]):
            break
        q = min(n, 2 * q)
    rows = np.broadcast_to(np.arange(n)[:, None], idx.shape)[keep]
    return rows.astype(np.int64), idx[keep].astype(np.int64)


def union_pattern(rows: np.ndarray, cols: np.ndarray, n: int) -> sp.csr_matrix:
    """CSR pattern (values 1, float32) of the union of a relation and its transpose."""
    key = np.unique(np.concatenate([rows * n + cols, cols * n + rows]))
    r, c = np.divmod(key, n)
    idt = index_dtype(max(key.size, n))
    indptr = np.zeros(n + 1, dtype=idt)
    np.cumsum(np.bincount(r, minlength=n), out=indptr[1:])
    mat = sp.csr_matrix((n, n), dtype=np.float32)
    mat.data = np.ones(key.size, dtype=np.float32)
    mat.indices = c.astype(idt)
    mat.indptr = indptr
    mat.has_sorted_indices = True
    return mat
