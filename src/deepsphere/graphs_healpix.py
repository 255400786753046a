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
then are answered exactly by a cKDTree (partial spheres, tiny nside). The guard is a
geometric argument, not a proof (a pixel beyond ring r is assumed farther than the nearest
centre of ring r); the result was checked identical to the cKDTree reference for nside 32, 64
and 128, NEST and RING, k = 8, 20, 40, 60, and the tests check it against dense brute force.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from .graphs_csr import (
    CHUNK_ROWS,
    TIE_RTOL,
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


TILE = 128  # tile side of the face-grid path (a power of 2; tests shrink it)


def _deinterleave(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NEST bits to face-grid ``(x, y)``: x from the even bits, y from the odd ones."""
    x = np.zeros_like(p)
    y = np.zeros_like(p)
    for b in range(max(int(p.max(initial=0)).bit_length() // 2 + 1, 1)):
        x |= ((p >> (2 * b)) & 1) << b
        y |= ((p >> (2 * b + 1)) & 1) << b
    return x, y


class _Tiles:
    """Face-grid fast path (full sphere, NEST): the pixels of a NEST range ``[s0, s0 + T^2)``
    (``s0`` a multiple of ``T^2``) form a ``T x T`` square of one face, so their coordinates
    and those of a halo of ``R`` pixels are read once into small ``(T+2R)^2`` grids, and the
    candidates of a row within ``r`` steps (away from the face borders: the square
    ``|dx|, |dy| <= r``) are offsets into those grids: cache-resident gathers.

    Same acceptance as the general path: the k-th distance (ties included) strictly below the
    distance to every pixel of the outermost ring r. An accepted row therefore keeps none of
    ring r, so only the candidates within ``r - 1`` steps are ranked (all of them when there
    are exactly k: k = 8 at r = 2, no ranking at all) and ring r only enters through its
    minimum. Rows that fail retry at ``r + 1`` reusing their distances; rows whose square
    leaves the face or that fail at ``R`` are left to the general path."""

    def __init__(self, nside: int, k: int, r0: int, vectors: np.ndarray, spread: np.ndarray):
        self.nside, self.k, self.r0, self.R = nside, k, r0, r0 + 2
        self.vectors, self.spread = vectors, spread
        self.T = min(nside, TILE if (2 * r0 + 1) ** 2 <= 25 else TILE // 2)
        self.W = self.T + 2 * self.R
        self.xl, self.yl = _deinterleave(np.arange(self.T**2, dtype=np.int64))
        self.base = ((self.xl + self.R) * self.W + self.yl + self.R).astype(np.intp)
        self.geo, self.buf, self.dxy = {}, {}, {}
        self.perm = (self.xl * self.T + self.yl).astype(np.intp)  # pixel order -> grid cell
        dx_all = dy_all = np.zeros(0, dtype=np.int64)
        for r in range(1, self.R + 1):
            dy, dx = (a.ravel() for a in np.mgrid[-r : r + 1, -r : r + 1])
            ring = np.maximum(np.abs(dx), np.abs(dy)) == r
            n_in = dx_all.size  # candidates order: within r - 1 steps, then ring r
            dx_all, dy_all = np.concatenate([dx_all, dx[ring]]), np.concatenate([dy_all, dy[ring]])
            off = dx_all * self.W + dy_all
            guess = np.argsort(dx_all[:n_in] ** 2 + dy_all[:n_in] ** 2, kind="stable")[:k]
            self.dxy[r] = (dx_all, dy_all)
            self.geo[r] = (off[:, None], n_in, guess,
                           (off[:, None] + self.base) if r == r0 else None)

    def _sq_dist(self, coords, idx, b, reuse: bool) -> np.ndarray:
        """``d2[c, i]`` between grid cells ``b[i]`` and ``idx[c, i]`` (as ``sq_dist``, bit for
        bit); full tiles reuse two buffers (no fresh pages for each tile)."""
        if reuse:
            if idx.shape not in self.buf:
                self.buf[idx.shape] = (np.empty(idx.shape), np.empty(idx.shape))
            d2, t = self.buf[idx.shape]
        else:
            d2, t = np.empty(idx.shape), np.empty(idx.shape)
        for i, a in enumerate(coords):
            out = d2 if i == 0 else t
            np.take(a, idx, out=out, mode="clip")  # mode "raise" would buffer out
            np.subtract(out, a[b], out=out)
            np.multiply(out, out, out=out)
            if i:
                np.add(d2, t, out=d2)
        return d2

    def _grid_sq_dist(self, coords, r: int) -> np.ndarray:
        """``_sq_dist`` for every row of a tile far from the face borders, from shifted slices
        of the ``(W, W)`` grids: ``E_o[u] = |v[u + o] - v[u]|^2`` once per pair of opposite
        offsets ``+-o`` (``d2(c, c - o) = E_o[c - o]``: the same float operations, bit for bit),
        then permuted from grid order to pixel order."""
        T, W, R = self.T, self.W, self.R
        g = [a.reshape(W, W) for a in coords]
        dx_all, dy_all = self.dxy[r]
        key = ("grid", r)
        if key not in self.buf:
            self.buf[key] = (np.empty((dx_all.size, T, T)), np.empty((dx_all.size, T * T)))
        dg, out = self.buf[key]
        done = {}
        for i, (dx, dy) in enumerate(zip(dx_all.tolist(), dy_all.tolist(), strict=True)):
            sign = 1 if (dx, dy) > (0, 0) else -1
            o = (sign * dx, sign * dy)
            if o not in done:
                ox, oy = o
                x0, x1 = max(0, -ox), W - max(0, ox)
                y0, y1 = max(0, -oy), W - max(0, oy)
                e = None
                for a in g:
                    t = a[x0 + ox : x1 + ox, y0 + oy : y1 + oy] - a[x0:x1, y0:y1]
                    t *= t
                    e = t if e is None else e.__iadd__(t)
                done[o] = (e, x0, y0)
            e, x0, y0 = done[o]
            cx, cy = (R - x0, R - y0) if sign > 0 else (R + dx - x0, R + dy - y0)
            dg[i] = e[cx : cx + T, cy : cy + T]
        np.take(dg.reshape(dx_all.size, T * T), self.perm, axis=1, out=out, mode="clip")
        return out

    def rows(self, s0: int):
        """Results for the tile starting at pixel ``s0``: ``(pieces, leftover rows)``."""
        ns, T, R, k = self.nside, self.T, self.R, self.k
        f, q = divmod(s0, ns * ns)
        x0, y0 = (int(a[0]) for a in _deinterleave(np.array([q])))
        gx = np.clip(np.arange(x0 - R, x0 + T + R), 0, ns - 1)
        gy = np.clip(np.arange(y0 - R, y0 + T + R), 0, ns - 1)
        grid = (f * ns * ns + self.spread[gx][:, None] + 2 * self.spread[gy][None, :]).ravel()
        g = self.vectors[grid]  # (W*W, 3)
        coords = [np.ascontiguousarray(g[:, i]) for i in range(3)]
        if min(x0, y0) >= R and max(x0, y0) + T + R <= ns:  # all rows far from the borders
            edge = None
        else:
            x, y = self.xl + x0, self.yl + y0
            edge = np.minimum(np.minimum(x, ns - 1 - x), np.minimum(y, ns - 1 - y))
        pending, prev = np.arange(T * T), None
        pieces, left = [], []
        for r in range(self.r0, R + 1):
            inside = None if edge is None else edge[pending] >= r
            if inside is not None and not inside.all():
                left.append(pending[~inside])
                pending = pending[inside]
                prev = None if prev is None else prev[:, inside]
            if not pending.size:
                break
            off, n_in, guess, idx_full = self.geo[r]
            b = self.base[pending]
            if prev is None:
                full = pending.size == T * T
                idx = idx_full if full else off + b
                d2 = self._grid_sq_dist(coords, r)  # rows near the face borders: garbage
                if not full:
                    d2 = d2[:, pending]
            else:  # retry: only ring r is new
                d2 = np.concatenate([prev, self._sq_dist(coords, off[prev.shape[0]:] + b, b,
                                                          False)])
                idx = None
            guard = d2[n_in:].min(axis=0)
            if n_in < k:
                ok = np.zeros(pending.size, dtype=bool)
            elif n_in == k:  # every candidate within r - 1 steps is kept
                lim2 = (np.sqrt(d2[:n_in].max(axis=0)) * (1 + TIE_RTOL)) ** 2
                ok = guard > lim2
                rows = np.repeat(pending[ok] + s0, k)
                vals = d2[:n_in, ok].T.ravel()
                cell = (idx[:n_in, ok] if idx is not None else off[:n_in] + b[ok]).T.ravel()
            else:
                keep, lim2 = select_knn(d2[:n_in], k, guess)
                ok = guard > lim2
                ri, ci = np.nonzero(np.ascontiguousarray(keep[:, ok].T))
                okpos = np.flatnonzero(ok)[ri]
                rows = pending[okpos] + s0
                vals = d2[ci, okpos]
                cell = b[okpos] + off[ci, 0]
            if n_in >= k:
                pieces.append((rows, grid[cell], vals))
            if ok.all():
                pending = pending[:0]
                break
            pending, prev = pending[~ok], d2[:, ~ok]
        left.append(pending)
        return pieces, np.sort(np.concatenate(left)) + s0


def knn_directed(nside: int, k: int, *, nest: bool, indexes: np.ndarray | None,
                 vectors: np.ndarray, scale: float | None = None) -> sp.csr_matrix:
    """Directed exact kNN relation (ties within TIE_RTOL kept) on HEALPix pixel centres, local
    numbering: csr with ``d^2`` (float64) or, with ``scale``, ``exp(-d^2 / scale)`` (float32)
    as values; rows grouped, columns unsorted."""
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
    tiles = None
    if nest and indexes is None:
        tiles = _Tiles(nside, k, r0, np.asarray(vectors, dtype=np.float64), spread)
        tile = tiles.T**2  # chunks of whole tiles; their leftovers go on together
        chunk = tile * max(1, min((1 << 16) // tile, nside * nside // tile))
    tree = None
    counts = np.zeros(n, dtype=np.int64)
    # outputs written in place (grown if ties overflow): no list + concatenate double copy
    idt = index_dtype(n * (k + 1) + 1024)  # indices and indptr: one dtype, no scipy upcast
    cols_all = np.empty(n * k + n // 16 + 1024, dtype=idt)
    vals_all = np.empty(cols_all.size, dtype=np.float64 if scale is None else np.float32)
    pos = 0
    for s0 in range(0, n, chunk):
        if tiles is None:
            todo, pieces = np.arange(s0, min(s0 + chunk, n)), []
        else:
            pieces, left = [], []
            for t0 in range(s0, s0 + chunk, tile):
                p, lo = tiles.rows(t0)
                pieces += p
                left.append(lo)
            todo = np.concatenate(left)
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
        if len(pieces) > 1:
            order = np.argsort(r_, kind="stable")  # a few sorted runs: linear time
            r_, c_, v_ = r_[order], c_[order], v_[order]
        if scale is not None:
            v_ = np.exp(-v_ / scale).astype(np.float32)
        counts[s0 : s0 + chunk] = np.bincount(r_ - s0, minlength=min(chunk, n - s0))
        if pos + c_.size > cols_all.size:
            grow = max(pos + c_.size, int(cols_all.size * 1.25))
            cols_all, vals_all = np.resize(cols_all, grow), np.resize(vals_all, grow)
        cols_all[pos : pos + c_.size] = c_
        vals_all[pos : pos + c_.size] = v_
        pos += c_.size
    cols, vals = cols_all[:pos], vals_all[:pos]
    indptr = np.zeros(n + 1, dtype=idt)
    np.cumsum(counts, out=indptr[1:])
    return sp.csr_matrix((vals, cols, indptr), shape=(n, n), copy=False)
