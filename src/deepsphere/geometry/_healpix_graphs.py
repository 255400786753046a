"""HEALPix graphs, vectorised (used by ``graphs``): the 8-neighbour (V1) relation and the exact
k nearest neighbours from candidates in the HEALPix neighbourhood rings.

No Python loop over pixels: everything works on ``(rows, candidates)`` arrays in row chunks,
int32 indices and float32 values in the outputs.

kNN candidates: the pixels within ``r`` steps of the 8-neighbour relation (ring ``r``: the
``(2r+1)^2 - 1`` pixels of the square ``|dx|, |dy| <= r`` in the face coordinates away from the
face borders; breadth-first through ``get_all_neighbours`` near them). ``r`` is chosen from
``k`` so that the candidates are at least twice as many as k. A row is accepted only if its
k-th distance (ties included) is strictly below the distance to every pixel of the outermost
ring ``r``, which surrounds all the others; rows that fail retry with ``r + 1`` and ``r + 2``,
then are answered exactly by a cKDTree (partial spheres, tiny nside). Full sphere, NEST: the
rows are first answered on the face grid (``_facegrid``, compiled: same candidates,
guard and distances, bit for bit); only its leftovers (face borders, the 8 special vertices,
rare ties and retries) take this path. Every row comes out with ascending columns. The guard is a
geometric argument, not a proof (a pixel beyond ring r is assumed farther than the nearest
centre of ring r); the result was checked identical to the cKDTree reference for nside 32, 64
and 128, NEST and RING, k = 8, 20, 40, 60, and the tests check it against dense brute force.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from . import _compiled_loops as compiled_loops
from . import _facegrid
from ._sparse_graphs import (
    CHUNK_ROWS,
    index_dtype,
    select_knn,
    soa,
    sq_dist,
    tree_knn,
)


def _global_to_local(npix: int, indexes: np.ndarray | None) -> np.ndarray | None:
    """Inverse map of a pixel subset: ``local[global] = position`` or -1 (int32/int64)."""
    if indexes is None:
        return None
    local = np.full(npix, -1, dtype=index_dtype(npix))
    local[indexes] = np.arange(indexes.size, dtype=local.dtype)
    return local


def _to_local(cand: np.ndarray, local: np.ndarray | None) -> np.ndarray:
    if local is None:
        return cand
    return np.where(cand >= 0, local[np.maximum(cand, 0)], -1)


def v1_distances(nside: int, *, nest: bool, indexes: np.ndarray | None, vectors: np.ndarray):
    """The HEALPix 8-neighbour relation (``get_all_neighbours``, missing ones dropped) restricted
    to ``indexes`` (local numbering), as csr float32 of squared distances, sorted indices.
    Returns ``(W, mean d^2)``."""
    import healpy as hp

    npix = 12 * nside**2
    n = vectors.shape[0]
    local = _global_to_local(npix, indexes)
    xyz = soa(vectors)
    idt = index_dtype(8 * n)
    indices = np.empty(8 * n, dtype=idt)
    data = np.empty(8 * n, dtype=np.float32)
    counts = np.empty(n, dtype=idt)
    pos, total = 0, 0.0
    low = np.uint64(0xFFFFFFFF)
    for s0 in range(0, n, CHUNK_ROWS):
        rows = np.arange(s0, min(s0 + CHUNK_ROWS, n))
        pix = rows if indexes is None else indexes[rows]
        nbr = _to_local(hp.get_all_neighbours(nside, pix, nest=nest), local)  # (8, m)
        missing = nbr < 0
        d2 = sq_dist(xyz, rows, np.maximum(nbr, 0))
        # sort each row by column, carrying the float32 d^2 in the low 32 bits of the key
        key = np.where(missing, n, nbr).astype(np.uint64) << np.uint64(32)
        key |= d2.astype(np.float32).view(np.uint32)
        key = np.sort(key.T, axis=1)
        cols = (key >> np.uint64(32)).astype(idt)
        vals = (key & low).astype(np.uint32).view(np.float32)
        cols[:, 1:][cols[:, 1:] == cols[:, :-1]] = n  # duplicates (nside 1) dropped
        valid = cols < n
        if valid.all():
            cols, vals = cols.ravel(), vals.ravel()
        else:
            cols, vals = cols[valid], vals[valid]
        counts[rows] = valid.sum(axis=1)
        total += float(vals.sum(dtype=np.float64))
        indices[pos : pos + cols.size] = cols
        data[pos : pos + cols.size] = vals
        pos += cols.size
    indptr = np.zeros(n + 1, dtype=idt)
    np.cumsum(counts, out=indptr[1:])
    w = sp.csr_matrix((data[:pos], indices[:pos], indptr), shape=(n, n), copy=False)
    w.has_sorted_indices = True
    return w, total / max(pos, 1)


def ring_for_k(k: int) -> int:
    """Smallest neighbourhood radius r with at least 2k candidates ((2r+1)^2 - 1 >= 2k)."""
    r = 1
    while (2 * r + 1) ** 2 - 1 < 2 * k:
        r += 1
    return r


def _spread_bits(nside: int) -> np.ndarray:
    v = np.arange(nside, dtype=np.int64)
    out = np.zeros(nside, dtype=np.int64)
    for b in range(max(nside.bit_length(), 1)):
        out |= ((v >> b) & 1) << (2 * b)
    return out


def _bfs_candidates(nside: int, pix: np.ndarray, r: int, nest: bool):
    """Pixels within r steps of each of ``pix`` (self excluded), by breadth-first search through
    ``get_all_neighbours``: ``(cand, level)``, ``(m, c)``, -1 padded."""
    import healpy as hp

    m = pix.size
    big = 12 * nside**2 * (r + 1)
    key = (pix * (r + 1))[:, None]  # key = pixel * (r + 1) + level
    for step in range(1, r + 1):
        cur = key // (r + 1)
        cur = np.where(key < big, cur, pix[:, None])  # padding: search from self (a duplicate)
        nb = hp.get_all_neighbours(nside, cur.ravel(), nest=nest).reshape(8, m, -1)
        nb = nb.transpose(1, 0, 2).reshape(m, -1)
        key = np.concatenate([key, np.where(nb >= 0, nb * (r + 1) + step, big)], axis=1)
        key.sort(axis=1)
        dup = (key[:, 1:] // (r + 1)) == (key[:, :-1] // (r + 1))
        key[:, 1:][dup] = big  # keep the lowest level of each pixel
        key.sort(axis=1)
        key = key[:, : int((key < big).sum(axis=1).max())]
    cand = np.where(key < big, key // (r + 1), -1)
    level = np.where(key < big, key % (r + 1), -1)
    cand[level == 0] = -1
    return cand, level


def _candidates(nside: int, pix: np.ndarray, r: int, k: int, nest: bool, spread: np.ndarray):
    """Yield ``(loc, cand, outer, guess)``: rows ``pix[loc]``, their candidates within r steps
    (global pixel numbers, ``(c, m)``: one candidate per line) and those exactly r steps away:
    face interiors: no padding, ``outer`` the line numbers, ``guess`` the k lines nearest on a
    square lattice; near face borders: -1 padded, ``outer`` a mask like ``cand``, no guess."""
    import healpy as hp

    dy, dx = (a.ravel() for a in np.mgrid[-r : r + 1, -r : r + 1])
    off = (dx != 0) | (dy != 0)
    dx, dy = dx[off], dy[off]
    x, y, f = hp.pix2xyf(nside, pix, nest=nest)
    inner = (x >= r) & (x < nside - r) & (y >= r) & (y < nside - r)
    ii = np.flatnonzero(inner)
    if ii.size:
        steps = np.arange(-r, r + 1)[:, None]  # (2r+1, m) tables, then one add per candidate
        sx = spread[x[None, ii] + steps] + f[None, ii].astype(np.intp) * nside**2
        sy = 2 * spread[y[None, ii] + steps]
        cand = sx[dx + r] + sy[dy + r]
        if not nest:
            cand = hp.nest2ring(nside, cand)
        guess = np.argsort(dx**2 + dy**2, kind="stable")[:k]
        yield ii, cand, np.flatnonzero(np.maximum(np.abs(dx), np.abs(dy)) == r), guess
    bb = np.flatnonzero(~inner)
    if bb.size:
        cand, level = _bfs_candidates(nside, pix[bb], r, nest)
        yield bb, np.ascontiguousarray(cand.T), (level == r).T, None


def knn_directed(nside: int, k: int, *, nest: bool, indexes: np.ndarray | None,
                 vectors: np.ndarray, scale: float | None = None):
    """Directed exact kNN relation (ties within TIE_RTOL kept) on HEALPix pixel centres, local
    numbering: csr with ``d^2`` (float64) or, with ``scale``, ``exp(-d^2 / scale)`` (float32)
    as values, sorted indices. Returns ``(csr, spare)``: ``spare`` the ``(indices, data)``
    storage of the csr with room after it, for :func:`_sparse_graphs.union_with_transpose`."""
    import healpy as hp

    npix = 12 * nside**2
    n = vectors.shape[0]
    local = _global_to_local(npix, indexes)
    xyz = soa(vectors)
    if indexes is None:
        full = xyz
    else:  # the guard ring may leave the subset: distances on the full sphere
        full = tuple(np.empty(npix) for _ in range(3))
        for s0 in range(0, npix, 1 << 22):
            for a, b in zip(full, hp.pix2vec(nside, np.arange(s0, min(s0 + (1 << 22), npix)),
                                             nest=nest), strict=True):
                a[s0 : s0 + b.size] = b
    r0 = ring_for_k(k)
    spread = _spread_bits(nside)
    chunk = max(1024, (1 << 16) * 24 // ((2 * r0 + 1) ** 2))  # (m, c) temporaries ~12 MB
    idt = index_dtype(n * (k + 1) + 1024)  # indices and indptr: one dtype, no scipy upcast
    facegrid = None
    if nest and indexes is None:
        facegrid = _facegrid.FaceGridKnn(nside, k, r0, vectors, idt, scale)
        chunk = _facegrid.CHUNK
    tree = None
    counts = np.zeros(n, dtype=np.int64)
    # outputs written in place (grown if ties overflow): no list + concatenate double copy
    # room for the union's extra entries too (pages never written cost no memory)
    cols_all = np.empty(n * k + n + 1024, dtype=idt)
    vals_all = np.empty(cols_all.size, dtype=np.float64 if scale is None else np.float32)
    no_grid = (np.empty((0, 1), dtype=idt), np.empty((0, 1), dtype=vals_all.dtype))
    pos = 0
    for s0 in range(0, n, chunk):
        m = min(chunk, n - s0)
        if facegrid is None:
            grid_counts, (grid_cols, grid_vals) = np.full(m, -1, dtype=np.int64), no_grid
        else:
            grid_counts, grid_cols, grid_vals = facegrid.rows(s0, m)
        todo = np.flatnonzero(grid_counts < 0) + s0
        pieces = [(np.zeros(0, np.int64), np.zeros(0, idt), np.zeros(0))]
        for r in range(r0, r0 + 3):  # rows failing the guard retry with a wider neighbourhood
            if not todo.size:
                break
            pix = todo if indexes is None else indexes[todo]
            failed = []
            for loc, cand, outer, guess in _candidates(nside, pix, r, k, nest, spread):
                padded = outer.ndim == 2
                d2 = sq_dist(full, pix[loc], np.maximum(cand, 0) if padded else cand)
                if padded:
                    d2[cand < 0] = np.inf
                    guard = np.where(outer, d2, np.inf).min(axis=0)
                else:
                    guard = d2[outer].min(axis=0)
                if local is not None:
                    cand = _to_local(cand, local)
                    d2[cand < 0] = np.inf
                keep, lim2 = select_knn(d2, k, guess)
                ok = guard > lim2
                if not ok.all():
                    keep &= ok
                ri, ci = np.nonzero(np.ascontiguousarray(keep.T))  # grouped by row
                flat = ci * keep.shape[1] + ri
                pieces.append((todo[loc][ri], cand.ravel()[flat], d2.ravel()[flat]))
                failed.append(todo[loc[~ok]])
            todo = np.concatenate(failed)
            if not todo.size:
                break
        if todo.size:
            tree = cKDTree(vectors) if tree is None else tree
            pieces.append(tree_knn(tree, xyz, todo, k))
        r_, c_, v_ = (np.concatenate(p) for p in zip(*pieces, strict=True))
        order = np.lexsort((c_, r_))  # the general path's rows, columns ascending
        r_, c_, v_ = r_[order] - s0, c_[order].astype(idt), v_[order]
        lptr = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(np.bincount(r_, minlength=m), out=lptr[1:])
        row_counts = np.where(grid_counts >= 0, grid_counts, np.diff(lptr))
        out_ptr = np.empty(m + 1, dtype=np.int64)
        out_ptr[0] = pos
        np.cumsum(row_counts, out=out_ptr[1:])
        out_ptr[1:] += pos
        if out_ptr[-1] > cols_all.size:
            grow = max(int(out_ptr[-1]), int(cols_all.size * 1.25))
            cols_all, vals_all = np.resize(cols_all, grow), np.resize(vals_all, grow)
        compiled_loops.pack_rows(grid_counts, grid_cols, grid_vals, lptr, c_, v_, out_ptr,
                              cols_all, vals_all, 0.0 if scale is None else float(scale))
        counts[s0 : s0 + m] = row_counts
        pos = int(out_ptr[-1])
    cols, vals = cols_all[:pos], vals_all[:pos]
    indptr = np.zeros(n + 1, dtype=idt)
    np.cumsum(counts, out=indptr[1:])
    w = sp.csr_matrix((vals, cols, indptr), shape=(n, n), copy=False)
    w.has_sorted_indices = True
    return w, (cols_all, vals_all)
