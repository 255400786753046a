"""Compiled (numba) kernels on CSR arrays, used by ``graphs_csr``, ``graphs_healpix`` and
``laplacian``: row sorting, the symmetric union ``A | A^T``, the explicit diagonal of a
Laplacian, row sums, and the packing of row-wise results into one CSR.

Each kernel runs over blocks of rows in parallel (``numba.prange``); a row is written by one
task only and the arithmetic of a row does not depend on the blocking, so the results are the
same for any number of threads. Indices are int32 or int64, values float32 or float64 (numba
compiles one version per combination, cached on disk).
"""

from __future__ import annotations

import math

import numba
import numpy as np

BLOCK = 8192  # rows per parallel task
_SHORT = 32  # rows up to this length are sorted by insertion


@numba.njit(cache=True, inline="always")
def _sort_row(indices, data, p0, p1):
    """Sort ``indices[p0:p1]`` ascending, carrying ``data`` (stable)."""
    if p1 - p0 <= _SHORT:
        for e in range(p0 + 1, p1):
            c, v = indices[e], data[e]
            t = e
            while t > p0 and indices[t - 1] > c:
                indices[t] = indices[t - 1]
                data[t] = data[t - 1]
                t -= 1
            indices[t] = c
            data[t] = v
    else:
        order = np.argsort(indices[p0:p1], kind="mergesort")
        indices[p0:p1] = indices[p0:p1][order]
        data[p0:p1] = data[p0:p1][order]


@numba.njit(cache=True, parallel=True)
def sort_rows(indptr, indices, data):
    """Sort the column indices of every row in place, carrying the values."""
    n = indptr.size - 1
    for b in numba.prange((n + BLOCK - 1) // BLOCK):
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            _sort_row(indices, data, indptr[i], indptr[i + 1])


@numba.njit(cache=True, parallel=True)
def transpose_missing(indptr, indices):
    """For each entry ``(i, j)`` of A (sorted rows), whether ``(j, i)`` is absent from A:
    bool ``(nnz,)``."""
    n = indptr.size - 1
    missing = np.empty(indices.size, dtype=np.bool_)
    for b in numba.prange((n + BLOCK - 1) // BLOCK):
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            for e in range(indptr[i], indptr[i + 1]):
                j = indices[e]
                lo, hi = indptr[j], indptr[j + 1]
                while lo < hi:
                    mid = (lo + hi) // 2
                    if indices[mid] < i:
                        lo = mid + 1
                    else:
                        hi = mid
                missing[e] = not (lo < indptr[j + 1] and indices[lo] == i)
    return missing


@numba.njit(cache=True, parallel=True)
def merge_rows(indptr, indices, data, xptr, xcols, xvals, out_indptr, out_indices, out_data):
    """Row ``i`` of the output: the sorted union of row ``i`` of A and of the extra entries
    ``xcols[xptr[i]:xptr[i + 1]]`` (sorted, disjoint from A's)."""
    n = indptr.size - 1
    for b in numba.prange((n + BLOCK - 1) // BLOCK):
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            a, a1 = indptr[i], indptr[i + 1]
            x, x1 = xptr[i], xptr[i + 1]
            o = out_indptr[i]
            while a < a1 or x < x1:
                if x == x1 or (a < a1 and indices[a] < xcols[x]):
                    out_indices[o] = indices[a]
                    out_data[o] = data[a]
                    a += 1
                else:
                    out_indices[o] = xcols[x]
                    out_data[o] = xvals[x]
                    x += 1
                o += 1


@numba.njit(cache=True)
def merge_rows_in_place(indptr, xptr, xcols, xvals, indices, data):
    """:func:`merge_rows` into A's own arrays, which must have room for the ``xptr[-1]``
    extra entries after A's ``indptr[-1]``: rows are rewritten from the last one down, each
    from its end, so no entry is overwritten before it is read (row ``i`` moves by
    ``xptr[i] >= 0``). Rows before the first one with extras do not move. Sequential."""
    n = indptr.size - 1
    for i in range(n - 1, -1, -1):
        if xptr[i + 1] == 0:
            break
        w = indptr[i + 1] + xptr[i + 1] - 1
        a, a0 = indptr[i + 1] - 1, indptr[i]
        x, x0 = xptr[i + 1] - 1, xptr[i]
        while x >= x0:
            if a >= a0 and indices[a] > xcols[x]:
                indices[w] = indices[a]
                data[w] = data[a]
                a -= 1
            else:
                indices[w] = xcols[x]
                data[w] = xvals[x]
                x -= 1
            w -= 1
        if w != a:
            while a >= a0:
                indices[w] = indices[a]
                data[w] = data[a]
                a -= 1
                w -= 1


@numba.njit(cache=True, parallel=True)
def row_sums(indptr, data, absolute):
    """Row sums in float64, each accumulated in the order of the entries: ``(n,)``."""
    n = indptr.size - 1
    out = np.zeros(n, dtype=np.float64)
    for b in numba.prange((n + BLOCK - 1) // BLOCK):
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            s = 0.0
            for e in range(indptr[i], indptr[i + 1]):
                v = np.float64(data[e])
                s += abs(v) if absolute else v
            out[i] = s
    return out


@numba.njit(cache=True, parallel=True)
def weight_stats(indptr, indices, data):
    """One pass over a weight matrix: ``(degree, offdiag, n_negative, n_nonzero_diagonal)``,
    the row sums in float64 (accumulated in the order of the entries), the number of
    off-diagonal entries of each row (int64), and the counts of negative values and of
    non-zero diagonal values."""
    n = indptr.size - 1
    n_blocks = (n + BLOCK - 1) // BLOCK
    degree = np.zeros(n, dtype=np.float64)
    offdiag = np.empty(n, dtype=np.int64)
    negative = np.zeros(n_blocks, dtype=np.int64)
    nonzero_diagonal = np.zeros(n_blocks, dtype=np.int64)
    for b in numba.prange(n_blocks):
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            s = 0.0
            c = 0
            for e in range(indptr[i], indptr[i + 1]):
                v = np.float64(data[e])
                s += v
                if v < 0:
                    negative[b] += 1
                if indices[e] != i:
                    c += 1
                elif v != 0:
                    nonzero_diagonal[b] += 1
            degree[i] = s
            offdiag[i] = c
    return degree, offdiag, negative.sum(), nonzero_diagonal.sum()


@numba.njit(cache=True, parallel=True)
def with_diagonal(indptr, indices, data, diag, scale, factor, out_indptr, out_indices,
                  out_data):
    """Rows of A (sorted) with their stored diagonal entries replaced by ``diag`` (float64,
    one entry per row, at its sorted place) and every off-diagonal value ``v`` replaced by
    ``((v * scale[i]) * scale[j]) * factor`` (``scale`` empty: ``v * factor``), evaluated in
    the precision of ``scale`` (or of ``factor``) and stored in the output's dtype."""
    n = indptr.size - 1
    has_scale = scale.size > 0
    for b in numba.prange((n + BLOCK - 1) // BLOCK):
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            o = out_indptr[i]
            placed = False
            for e in range(indptr[i], indptr[i + 1]):
                j = indices[e]
                if j == i:
                    continue
                if j > i and not placed:
                    out_indices[o] = i
                    out_data[o] = diag[i]
                    o += 1
                    placed = True
                if has_scale:
                    out_data[o] = ((data[e] * scale[i]) * scale[j]) * factor
                else:
                    out_data[o] = data[e] * factor
                out_indices[o] = j
                o += 1
            if not placed:
                out_indices[o] = i
                out_data[o] = diag[i]


@numba.njit(cache=True, parallel=True)
def pack_rows(counts, cols, vals, lptr, lcols, lvals, out_ptr, out_cols, out_vals, kernel_scale):
    """Pack row-wise results into CSR arrays: row ``i`` takes ``cols[i, :counts[i]]`` (and
    ``vals``, copied) or, where ``counts[i] < 0``, the entries ``lptr[i]:lptr[i + 1]`` of the
    ``l*`` arrays, whose values become ``exp(-v / kernel_scale)`` if ``kernel_scale > 0``
    (the expression of ``graphs_facegrid``, so that symmetric pairs get bit-equal weights),
    and is written at ``out_ptr[i]``."""
    m = counts.size
    for b in numba.prange((m + BLOCK - 1) // BLOCK):
        for i in range(b * BLOCK, min(m, (b + 1) * BLOCK)):
            o = out_ptr[i]
            if counts[i] >= 0:
                for t in range(counts[i]):
                    out_cols[o + t] = cols[i, t]
                    out_vals[o + t] = vals[i, t]
            else:
                for t in range(lptr[i + 1] - lptr[i]):
                    out_cols[o + t] = lcols[lptr[i] + t]
                    v = lvals[lptr[i] + t]
                    out_vals[o + t] = math.exp(-v / kernel_scale) if kernel_scale > 0 else v
