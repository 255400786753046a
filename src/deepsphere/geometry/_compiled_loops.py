"""Compiled (numba) loops on CSR arrays, used by ``_sparse_graphs``, ``_healpix_graphs`` and
``laplacian``: row sorting, the symmetric union ``A | A^T``, the explicit diagonal of a
Laplacian, row sums, and the packing of row-wise results into one CSR.

Each loop runs over blocks of rows in parallel (``numba.prange``); a row is written by one
task only and the arithmetic of a row does not depend on the blocking, so the results are the
same for any number of threads. Indices are int32 or int64, values float32 or float64 (numba
compiles one version per combination, cached on disk).

Rows are handled through slices (``indices[indptr[i]:indptr[i + 1]]``) and computed indices
are converted to uint64 before they index: numba checks every signed index for a negative
value (wraparound), and in these loops that check was the main cost (a gather loop: ~15x,
``benchmarks/compiled_loops.py``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

BLOCK = 8192  # rows per parallel task
_SHORT = 32  # rows up to this length are sorted by insertion


@numba.njit(cache=True, inline="always")
def _sort_row(idx, val):
    """Sort the row slices ``idx`` ascending, carrying ``val`` (stable)."""
    if idx.size <= _SHORT:
        for e in range(1, idx.size):
            c, v = idx[e], val[e]
            t = e
            while t > 0 and idx[t - 1] > c:
                idx[t] = idx[t - 1]
                val[t] = val[t - 1]
                t -= 1
            idx[t] = c
            val[t] = v
    else:
        order = np.argsort(idx, kind="mergesort")
        idx[:] = idx[order]
        val[:] = val[order]


@numba.njit(cache=True, parallel=True)
def sort_rows(indptr, indices, data):
    """Sort the column indices of every row in place, carrying the values."""
    n = indptr.size - 1
    for b in numba.prange((n + BLOCK - 1) // BLOCK):
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            _sort_row(indices[indptr[i] : indptr[i + 1]], data[indptr[i] : indptr[i + 1]])


@numba.njit(cache=True, parallel=True)
def transpose_missing(indptr, indices):
    """For each entry ``(i, j)`` of A (sorted rows), whether ``(j, i)`` is absent from A:
    bool ``(nnz,)``."""
    n = indptr.size - 1
    missing = np.empty(indices.size, dtype=np.bool_)
    for b in numba.prange((n + BLOCK - 1) // BLOCK):
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            row = indices[indptr[i] : indptr[i + 1]]
            out = missing[indptr[i] : indptr[i + 1]]
            for e in range(row.size):
                j = np.uint64(row[e])
                other = indices[indptr[j] : indptr[j + np.uint64(1)]]
                lo, hi = np.uint64(0), np.uint64(other.size)
                while lo < hi:  # first position with other[pos] >= i
                    mid = (lo + hi) >> np.uint64(1)
                    if other[mid] < i:
                        lo = mid + np.uint64(1)
                    else:
                        hi = mid
                out[e] = not (lo < other.size and other[lo] == i)
    return missing


@numba.njit(cache=True, inline="always")
def _merge_sorted(a_idx, a_val, x_idx, x_val, out_idx, out_val):
    """Merge two sorted, disjoint index slices (with their values) into ``out_*``."""
    a, x = 0, 0
    for o in range(out_idx.size):
        if x == x_idx.size or (a < a_idx.size and a_idx[a] < x_idx[x]):
            out_idx[o] = a_idx[a]
            out_val[o] = a_val[a]
            a += 1
        else:
            out_idx[o] = x_idx[x]
            out_val[o] = x_val[x]
            x += 1


@numba.njit(cache=True, parallel=True)
def merge_rows(indptr, indices, data, xptr, xcols, xvals, out_indptr, out_indices, out_data):
    """Row ``i`` of the output: the sorted union of row ``i`` of A and of the extra entries
    ``xcols[xptr[i]:xptr[i + 1]]`` (sorted, disjoint from A's)."""
    n = indptr.size - 1
    for b in numba.prange((n + BLOCK - 1) // BLOCK):
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            a0, a1, x0, x1 = indptr[i], indptr[i + 1], xptr[i], xptr[i + 1]
            o0, o1 = out_indptr[i], out_indptr[i + 1]
            _merge_sorted(indices[a0:a1], data[a0:a1], xcols[x0:x1], xvals[x0:x1],
                          out_indices[o0:o1], out_data[o0:o1])


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
            row = data[indptr[i] : indptr[i + 1]]
            s = 0.0
            for e in range(row.size):
                v = np.float64(row[e])
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
            idx = indices[indptr[i] : indptr[i + 1]]
            val = data[indptr[i] : indptr[i + 1]]
            s = 0.0
            c = 0
            for e in range(idx.size):
                v = np.float64(val[e])
                s += v
                if v < 0:
                    negative[b] += 1
                if idx[e] != i:
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
            idx = indices[indptr[i] : indptr[i + 1]]
            val = data[indptr[i] : indptr[i + 1]]
            out_idx = out_indices[out_indptr[i] : out_indptr[i + 1]]
            out_val = out_data[out_indptr[i] : out_indptr[i + 1]]
            o = 0
            placed = False
            for e in range(idx.size):
                j = idx[e]
                if j == i:
                    continue
                if j > i and not placed:
                    out_idx[o] = i
                    out_val[o] = diag[i]
                    o += 1
                    placed = True
                if has_scale:
                    out_val[o] = ((val[e] * scale[i]) * scale[np.uint64(j)]) * factor
                else:
                    out_val[o] = val[e] * factor
                out_idx[o] = j
                o += 1
            if not placed:
                out_idx[o] = i
                out_val[o] = diag[i]


@numba.njit(cache=True, parallel=True)
def pack_rows(counts, cols, vals, lptr, lcols, lvals, out_ptr, out_cols, out_vals, kernel_scale):
    """Pack row-wise results into CSR arrays: row ``i`` takes ``cols[i, :counts[i]]`` (and
    ``vals``, copied) or, where ``counts[i] < 0``, the entries ``lptr[i]:lptr[i + 1]`` of the
    ``l*`` arrays, whose values become ``exp(-v / kernel_scale)`` if ``kernel_scale > 0``
    (the expression of ``_facegrid``, so that symmetric pairs get bit-equal weights),
    and is written at ``out_ptr[i]``."""
    m = counts.size
    for b in numba.prange((m + BLOCK - 1) // BLOCK):
        for i in range(b * BLOCK, min(m, (b + 1) * BLOCK)):
            dst_col = out_cols[out_ptr[i] : out_ptr[i + 1]]
            dst_val = out_vals[out_ptr[i] : out_ptr[i + 1]]
            if counts[i] >= 0:
                src_col = cols[i]
                src_val = vals[i]
                for t in range(dst_col.size):
                    dst_col[t] = src_col[t]
                    dst_val[t] = src_val[t]
            else:
                src_col = lcols[lptr[i] : lptr[i + 1]]
                src_val = lvals[lptr[i] : lptr[i + 1]]
                for t in range(dst_col.size):
                    dst_col[t] = src_col[t]
                    v = src_val[t]
                    dst_val[t] = math.exp(-v / kernel_scale) if kernel_scale > 0 else v


@numba.njit(cache=True, parallel=True)
def chebyshev_step(indptr, indices, data, t_cur, t_prev, c, first, t_next, y):
    """One term of a Chebyshev filter, fused: ``t_next = L t_cur`` (``first``) or
    ``2 L t_cur - t_prev``, then ``y += c t_next``; ``t_*`` and ``y`` are ``(n, f)``."""
    n = indptr.size - 1
    f = t_cur.shape[1]
    two = t_cur.dtype.type(2)
    for b in numba.prange((n + BLOCK - 1) // BLOCK):
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            for g in range(f):
                acc = t_cur.dtype.type(0)
                for e in range(np.uint64(indptr[i]), np.uint64(indptr[i + 1])):
                    acc += data[e] * t_cur[np.uint64(indices[e]), g]
                t = acc if first else two * acc - t_prev[i, g]
                t_next[i, g] = t
                y[i, g] += c * t
