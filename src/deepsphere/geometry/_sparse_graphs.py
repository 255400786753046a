"""Low-level, memory-lean builders of symmetric sparse weight matrices (used by ``graphs``).

Everything here works on CSR arrays directly (int32 indices where they fit, float32 values),
in row chunks, so that an nside-2048 HEALPix graph (50M vertices, 400M entries) is built
without int64 COO intermediates and without Python loops over vertices.

Squared chordal distances are always ``(x_i - x_j)^2 + (y_i - y_j)^2 + (z_i - z_j)^2`` in
float64 (symmetric bit for bit, and exact enough at nside 2048 for the 1e-9 tie tolerance,
unlike ``2 - 2 x_i.x_j``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

CHUNK_ROWS = 1 << 16  # rows per chunk: (rows, candidates) temporaries of a few MB
TIE_RTOL = 1e-9  # distances within this relative tolerance of the k-th one count as ties


def index_dtype(max_value: int) -> type:
    """int32 if every index/offset fits, else int64."""
    return np.int32 if max_value < np.iinfo(np.int32).max else np.int64


def soa(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three coordinates of ``(n, 3)`` vectors as float64 arrays: views when possible (no
    copy: 1.2 GB at nside 2048; the three coordinates of a point share a cache line)."""
    v = np.asarray(vectors, dtype=np.float64)
    return v[:, 0], v[:, 1], v[:, 2]


def sq_dist(xyz, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``d2[c, i] = |v[rows[i]] - v[cols[c, i]]|^2``, float64, shape ``(c, m)`` like ``cols``.

    Candidates run along the first axis so that the row terms broadcast over a long,
    contiguous last axis (numpy pays an inner loop per row otherwise)."""
    out = None
    for a in xyz:
        t = a[cols]
        t -= a[rows]
        t *= t
        if out is None:
            out = t
        else:
            out += t
    return out


def select_knn(d2: np.ndarray, k: int, guess: np.ndarray | None = None):
    """Per column of ``d2`` (c, m) (one candidate per line, ``inf`` = absent): the k smallest
    plus ties within TIE_RTOL (in distance) of the k-th. Returns ``(keep, lim2)``: the kept
    mask like ``d2`` and the squared tie limit ``(d_k (1 + rtol))^2`` per column.

    ``guess``: k line numbers likely to hold the k nearest. Where exactly k entries are
    ``<= u``, the largest of the guessed ones, those are the k smallest and ``d_k = u``; only the
    other columns are partitioned."""
    if guess is None:
        kth = np.partition(d2.T, k - 1, axis=1)[:, k - 1]
    else:
        kth = d2[guess].max(axis=0)
        slow = np.count_nonzero(d2 <= kth, axis=0) != k
        if slow.any():
            kth[slow] = np.partition(d2[:, slow].T, k - 1, axis=1)[:, k - 1]
    lim2 = (np.sqrt(kth) * (1 + TIE_RTOL)) ** 2
    return d2 <= lim2, lim2


def csr_from_sorted_rows(rows, cols, vals, n: int) -> sp.csr_matrix:
    """CSR from entries grouped by ascending row (columns in any order within a row)."""
    idt = index_dtype(max(cols.size, n))
    indptr = np.zeros(n + 1, dtype=idt)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return sp.csr_matrix((vals, cols.astype(idt, copy=False), indptr), shape=(n, n), copy=False)


def union_with_transpose(a: sp.csr_matrix, *, spare=None) -> sp.csr_matrix:
    """The union ``A | A^T`` of a directed relation whose values are symmetric (``v_ij = v_ji``
    where both exist), e.g. distances: A plus the entries of ``A^T`` missing from it. Each
    entry ``(i, j)`` looks for ``i`` in row ``j`` (binary search in the sorted row); the few
    missing ones are sorted and merged into A's rows in one pass. Input of any index order (its
    rows are sorted in place: the input is consumed); output sorted, same dtypes.

    ``spare``: optional ``(indices, data)`` arrays that hold ``a.indices`` and ``a.data`` as
    their first ``a.nnz`` entries (A's storage, with room after it); when the missing entries
    fit, the union is merged into them in place (no second copy of the matrix)."""
    from . import _compiled_loops as compiled_loops

    n = a.shape[0]
    if not a.has_sorted_indices:
        compiled_loops.sort_rows(a.indptr, a.indices, a.data)
        a.has_sorted_indices = True
    entry = np.flatnonzero(compiled_loops.transpose_missing(a.indptr, a.indices))
    if not entry.size:
        return a
    x_col = np.searchsorted(a.indptr, entry, side="right") - 1  # the row of A is the column
    x_row = a.indices[entry].astype(np.int64)
    order = np.lexsort((x_col, x_row))
    x_row, x_col, x_val = x_row[order], x_col[order], a.data[entry][order]
    nnz = a.nnz + entry.size
    idt = index_dtype(max(nnz, n))
    x_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(x_row, minlength=n), out=x_ptr[1:])
    indptr = a.indptr.astype(idt) + x_ptr.astype(idt)
    if spare is not None and spare[0].size >= nnz and spare[0].dtype == idt:
        indices, data = spare
        compiled_loops.merge_rows_in_place(a.indptr, x_ptr, x_col.astype(idt), x_val, indices, data)
        indices, data = indices[:nnz], data[:nnz]
    else:
        indices = np.empty(nnz, dtype=idt)
        data = np.empty(nnz, dtype=a.data.dtype)
        compiled_loops.merge_rows(a.indptr, a.indices, a.data, x_ptr, x_col.astype(idt), x_val,
                               indptr, indices, data)
    w = sp.csr_matrix((data, indices, indptr), shape=(n, n), copy=False)
    w.has_sorted_indices = True
    return w


def padded_rows_to_csr(nbr_chunks, n_rows: int, n_cols: int, capacity: int) -> sp.csr_matrix:
    """Assemble a CSR pattern (values 1, float32, sorted indices) from padded neighbour lists:
    ``(start_row, nbr)`` chunks, ``nbr`` int ``(m, c)``, ``-1`` for absent entries."""
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
    mat = sp.csr_matrix((np.ones(pos, dtype=np.float32), indices[:pos], indptr),
                        shape=(n_rows, n_cols), copy=False)
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


def fill_edge_values(mat: sp.csr_matrix, vectors, scale: float | None = None):
    """Overwrite ``mat.data`` with squared chordal distances or, if ``scale`` is given, with
    ``exp(-d^2 / scale)`` (float64, stored in the matrix dtype). ``vectors``: ``(n, 3)`` or
    :func:`soa`. Returns ``(mean d^2, mean d)`` over all entries."""
    xyz = soa(vectors) if isinstance(vectors, np.ndarray) else vectors
    total2 = total1 = 0.0
    for _, _, p0, p1, rows in row_chunks(mat.indptr, mat.shape[0]):
        d2 = sq_dist(xyz, rows, mat.indices[None, p0:p1])[0]
        total2 += float(d2.sum())
        total1 += float(np.sqrt(d2).sum())
        mat.data[p0:p1] = d2 if scale is None else np.exp(-d2 / scale)
    n = max(mat.nnz, 1)
    return total2 / n, total1 / n


def mean_sqrt(values: np.ndarray) -> float:
    """Mean of ``sqrt(values)`` in float64, chunked."""
    step = 1 << 24
    total = sum(float(np.sqrt(values[s : s + step], dtype=np.float64).sum())
                for s in range(0, values.size, step))
    return total / max(values.size, 1)


def heat_kernel_inplace(mat: sp.csr_matrix, scale: float) -> None:
    """``data <- exp(-data / scale)`` in place, in chunks (data holds squared distances).

    Used when the width depends on all distances (V1, mean-distance): then ``d^2 / scale`` is
    O(1) and the float32 rounding of ``d^2`` costs < 1e-6 relative in the weight."""
    step = 1 << 24
    for s in range(0, mat.data.size, step):
        seg = mat.data[s : s + step]
        np.multiply(seg, -1.0 / scale, out=seg)
        np.exp(seg, out=seg)


def tree_knn(tree: cKDTree, xyz, query: np.ndarray, k: int):
    """Exact kNN (ties kept) of the points ``query`` (indices into the tree's data) by
    cKDTree, distances recomputed with :func:`sq_dist`. Returns ``(rows, cols, d2)``."""
    n = tree.n
    q = min(n, 2 * k + 2)
    pts = tree.data[query]
    while True:
        idx = tree.query(pts, k=q, workers=-1)[1].reshape(query.size, q)
        d2 = sq_dist(xyz, query, idx.T)  # (q, m)
        d2[idx.T == query] = np.inf
        keep, lim2 = select_knn(d2, k)
        far = np.where(np.isinf(d2), -np.inf, d2).max(axis=0)
        if q == n or not np.any(far <= lim2):
            break
        q = min(n, 2 * q)  # ties may continue past the last queried column: ask for more
    ri, ci = np.nonzero(keep.T)
    return query[ri], idx[ri, ci], d2[ci, ri]


def knn_directed(vectors: np.ndarray, k: int) -> sp.csr_matrix:
    """Directed kNN relation (ties kept, self excluded) of arbitrary unit vectors by cKDTree:
    csr with squared distances as values (float64), rows grouped, columns unsorted."""
    n = vectors.shape[0]
    rows, cols, d2 = tree_knn(cKDTree(vectors), soa(vectors), np.arange(n), k)
    return csr_from_sorted_rows(rows, cols, d2, n)
