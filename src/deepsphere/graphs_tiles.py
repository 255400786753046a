"""Face-grid fast path of the HEALPix kNN (used by ``graphs_healpix.knn_directed``): full
sphere, NEST; see :class:`Tiles`. Same result as the general path, bit for bit."""

from __future__ import annotations

import numpy as np

from .graphs_csr import TIE_RTOL, select_knn

TILE = 128  # tile side of the face-grid path (a power of 2; tests shrink it)


def _deinterleave(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NEST bits to face-grid ``(x, y)``: x from the even bits, y from the odd ones."""
    x = np.zeros_like(p)
    y = np.zeros_like(p)
    for b in range(max(int(p.max(initial=0)).bit_length() // 2 + 1, 1)):
        x |= ((p >> (2 * b)) & 1) << b
        y |= ((p >> (2 * b + 1)) & 1) << b
    return x, y


class Tiles:
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
        offsets ``+-o`` (``d2(c, c - o) = E_o[c - o]``: the same float operations, bit for bit).
        Rows in grid order (``self.perm`` maps pixel order to it)."""
        T, W, R = self.T, self.W, self.R
        g = [a.reshape(W, W) for a in coords]
        dx_all, dy_all = self.dxy[r]
        key = ("grid", r)
        if key not in self.buf:
            self.buf[key] = np.empty((dx_all.size, T, T))
        dg = self.buf[key]
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
        return dg.reshape(dx_all.size, T * T)

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
                dg = self._grid_sq_dist(coords, r)  # rows near the face borders: garbage
                at = self.perm if full else self.perm[pending]
                if n_in == k:  # reduce in grid order, permute only what is kept
                    guard, kth, d2 = dg[n_in:].min(axis=0)[at], dg[:n_in].max(axis=0)[at], None
                else:
                    d2 = dg[:, at]
            else:  # retry: only ring r is new
                d2 = np.concatenate([prev, self._sq_dist(coords, off[prev.shape[0]:] + b, b,
                                                          False)])
                idx = None
            if d2 is not None:
                guard = d2[n_in:].min(axis=0)
                kth = d2[:n_in].max(axis=0) if n_in == k else None
            if n_in < k:
                ok = np.zeros(pending.size, dtype=bool)
            elif n_in == k:  # every candidate within r - 1 steps is kept
                lim2 = (np.sqrt(kth) * (1 + TIE_RTOL)) ** 2
                ok = guard > lim2
                rows = np.repeat(pending[ok] + s0, k)
                vals = (d2[:n_in, ok] if d2 is not None else dg[:n_in, at[ok]]).T.ravel()
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
            pending, prev = pending[~ok], d2[:, ~ok] if d2 is not None else dg[:, at[~ok]]
        left.append(pending)
        return pieces, np.sort(np.concatenate(left)) + s0
