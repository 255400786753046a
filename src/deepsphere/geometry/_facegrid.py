"""Face-grid fast path of the HEALPix kNN (used by ``_healpix_graphs.knn_directed``): full
sphere, NEST, compiled with numba. Same candidates, guard and result as the general path.

A pixel at face coordinates ``(x, y)`` at least ``r`` steps from its face's borders has as
candidates within ``r`` steps the square ``|dx|, |dy| <= r`` of its face (NEST numbers from the
interleaved bits, no lookup). Its row is accepted at radius ``r`` only if its k-th squared
distance, widened by the tie tolerance, is strictly below the distance to every pixel of the
outermost ring ``r`` (which surrounds all the others). An accepted row therefore keeps nothing
of ring ``r``: the kept entries are the candidates within ``r - 1`` steps whose ``d^2`` is at
most ``lim2 = (d_k (1 + TIE_RTOL))^2``. Rows that fail retry at ``r + 1`` and ``r + 2`` (only
the new ring's distances are computed); rows near the face borders, rows that fail at
``r0 + 2`` and rows with more than ``k + MAX_EXTRA_TIES`` kept entries are left to the general
path (``_healpix_graphs``), which answers them exactly.

The squared distances are ``(x_c - x_p)^2 + (y_c - y_p)^2 + (z_c - z_p)^2`` evaluated in that
order in float64, as in ``_sparse_graphs.sq_dist``, so both paths agree bit for bit (numba does
not fuse multiply-adds without ``fastmath``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._sparse_graphs import TIE_RTOL

MAX_EXTRA_TIES = 16  # kept entries beyond k per row before a row goes to the general path
CHUNK = 1 << 20  # rows per call: (CHUNK, k + MAX_EXTRA_TIES) result buffers, ~300 MB at k = 8
PARTS = 64  # parallel tasks per call (each loops over its share of the tiles)
TILE = 64  # side of the squares of rows handled together (a power of 2; tests shrink it)


def ring_offsets(r_max: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets ``(dx, dy)`` of the squares ``|dx|, |dy| <= r``, ring after ring (ring r: the
    cells with ``max(|dx|, |dy|) == r``), and ``sizes[r]``: the number of cells within ``r``
    steps, centre excluded (``(2r + 1)^2 - 1``)."""
    dx_all, dy_all = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for r in range(1, r_max + 1):
        dy, dx = (a.ravel() for a in np.mgrid[-r : r + 1, -r : r + 1])
        ring = np.maximum(np.abs(dx), np.abs(dy)) == r
        dx_all.append(dx[ring])
        dy_all.append(dy[ring])
    sizes = np.array([(2 * r + 1) ** 2 - 1 for r in range(r_max + 1)], dtype=np.int64)
    return np.concatenate(dx_all), np.concatenate(dy_all), sizes


@numba.njit(cache=True, inline="always")
def _compact_bits(v):
    """The even bits of ``v`` packed together (NEST index -> face coordinate)."""
    v &= 0x5555555555555555
    v = (v | (v >> 1)) & 0x3333333333333333
    v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v >> 4)) & 0x00FF00FF00FF00FF
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFF
    v = (v | (v >> 16)) & 0x00000000FFFFFFFF
    return v


@numba.njit(cache=True, inline="always")
def _spread_bits(v):
    """Inverse of :func:`_compact_bits`: the bits of ``v`` on the even positions."""
    v &= 0x00000000FFFFFFFF
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    v = (v | (v << 1)) & 0x5555555555555555
    return v


@numba.njit(cache=True, inline="always")
def _clip(v, hi):
    return min(max(v, 0), hi)


@numba.njit(cache=True, inline="always")
def _tie_limit(kth):
    """``(d_k (1 + TIE_RTOL))^2`` from ``d_k^2``, as ``_sparse_graphs.select_knn``."""
    s = math.sqrt(kth) * (1.0 + TIE_RTOL)
    return s * s


@numba.njit(cache=True, inline="always")
def _write_row(i, n_keep, kept_col, kept_d2, kernel_scale, cols, vals):
    """Row ``i`` of the buffers: the kept entries by ascending column (rank by counting: the
    columns are distinct), values ``d^2`` or ``exp(-d^2 / kernel_scale)``."""
    for u in range(n_keep):
        rank = np.uint64(0)  # unsigned: no negative-index check (see _face_grid_rows)
        for w in range(n_keep):
            rank += np.uint64(kept_col[w] < kept_col[u])
        cols[i, rank] = kept_col[u]
        if kernel_scale > 0:
            vals[i, rank] = math.exp(-kept_d2[u] / kernel_scale)
        else:
            vals[i, rank] = kept_d2[u]


@numba.njit(cache=True, inline="always")
def _row_with_retries(d2, base, edge, k, r0, r_max, sizes, off, gx, gy, gz, gpix, top,
                      kept_col, kept_d2):
    """The general acceptance test of one row whose distances to the candidates within ``r0``
    steps are in ``d2``: squares of radius ``r0 .. r_max`` (only the new ring's distances are
    computed). ``base``: the row's grid cell, ``off``: the candidates' offsets, both uint64.
    Returns the number of kept entries (in ``kept_*``), or -1 (general path)."""
    vx, vy, vz = gx[base], gy[base], gz[base]
    done = sizes[r0]
    for r in range(r0, r_max + 1):
        if edge < r:
            return -1
        for c in range(done, sizes[r]):
            g = base + off[c]
            ex = gx[g] - vx
            ey = gy[g] - vy
            ez = gz[g] - vz
            d2[c] = ex * ex + ey * ey + ez * ez
        done = sizes[r]
        n_in = sizes[r - 1]
        if n_in < k:
            continue
        guard = np.inf
        for c in range(n_in, sizes[r]):
            guard = min(guard, d2[c])
        for c in range(k):  # k smallest of the inner candidates, ascending, by insertion
            top[c] = np.inf
        for c in range(n_in):
            v = d2[c]
            if v < top[k - 1]:
                u = k - 1
                while u > 0 and top[u - 1] > v:
                    top[u] = top[u - 1]
                    u -= 1
                top[u] = v
        lim2 = _tie_limit(top[k - 1])
        if not guard > lim2:
            continue  # retry with a wider square
        n_keep = 0
        for c in range(n_in):
            if d2[c] <= lim2:
                if n_keep == kept_col.size:
                    return -1  # too many ties for the buffer: general path
                kept_col[n_keep] = gpix[base + off[c]]
                kept_d2[n_keep] = d2[c]
                n_keep += 1
        return n_keep
    return -1


@numba.njit(cache=True, parallel=True)
def _face_grid_rows(s0, m, nside, tile, k, r0, r_max, vectors, dx, dy, sizes, kernel_scale,
                    cols, vals, counts):
    """Rows ``s0 .. s0 + m - 1`` (whole ``tile x tile`` squares): their kept columns
    (ascending) in ``cols[i]``, their values (``d^2``, or ``exp(-d^2 / kernel_scale)`` if
    ``kernel_scale > 0``) in ``vals[i]`` and their number in ``counts[i]``, or
    ``counts[i] = -1`` (general path).

    The ``tile^2`` rows of a NEST range form a square of one face: the coordinates of the
    square and a halo of ``r_max`` pixels are gathered once into small grids (clipped at the
    face borders, where only rows left to the general path would look), so that the
    candidates of a row are fixed offsets into them. The distances within ``r0`` steps, the
    k-th of them and the guard are computed for a whole line of the square at once (SIMD);
    rows that need more (ties, retries, k below the inner candidates) continue one by one."""
    npf = nside * nside
    cap = cols.shape[1]
    width = tile + 2 * r_max
    off = dx * width + dy
    # Computed indices are unsigned where they index: numba checks every signed index for
    # negative values (wraparound), which here cost ~15x in the inner loops
    # (``benchmarks/compiled_loops.py``). A negative offset as uint64 still lands right:
    # the additions wrap modulo 2^64.
    uoff = off.astype(np.uint64)
    n0, n_in0 = sizes[r0], sizes[r0 - 1]
    n_tiles = m // (tile * tile)
    n_parts = min(n_tiles, PARTS)
    for part in numba.prange(n_parts):  # scratch allocated once per part, not per tile
        gx = np.empty(width * width, dtype=np.float64)
        gy = np.empty(width * width, dtype=np.float64)
        gz = np.empty(width * width, dtype=np.float64)
        gpix = np.empty(width * width, dtype=np.int64)
        line = np.empty((n0, tile), dtype=np.float64)  # d^2 of one line of the square
        kth = np.empty(tile, dtype=np.float64)
        guard = np.empty(tile, dtype=np.float64)
        d2 = np.empty(sizes[r_max], dtype=np.float64)
        top = np.empty(k, dtype=np.float64)
        kept_col = np.empty(cap, dtype=np.int64)
        kept_d2 = np.empty(cap, dtype=np.float64)
        for t in range(part * n_tiles // n_parts, (part + 1) * n_tiles // n_parts):
            p0 = s0 + t * tile * tile
            f = p0 // npf
            x0 = _compact_bits(p0 - f * npf)
            y0 = _compact_bits((p0 - f * npf) >> 1)
            for a in range(width):
                sx = f * npf + _spread_bits(_clip(x0 - r_max + a, nside - 1))
                for b in range(width):
                    j = sx + 2 * _spread_bits(_clip(y0 - r_max + b, nside - 1))
                    g = a * width + b
                    gpix[g] = j
                    gx[g] = vectors[j, 0]
                    gy[g] = vectors[j, 1]
                    gz[g] = vectors[j, 2]
            for lx in range(tile):
                row0 = (lx + r_max) * width + r_max  # grid cell of (lx, ly = 0)
                # slices, not signed computed indices: LLVM vectorises this loop
                px, py, pz = (gx[row0 : row0 + tile], gy[row0 : row0 + tile],
                              gz[row0 : row0 + tile])
                kth[:] = 0.0
                guard[:] = np.inf
                for c in range(n0):
                    o = row0 + off[c]
                    qx, qy, qz = gx[o : o + tile], gy[o : o + tile], gz[o : o + tile]
                    out = line[c]
                    for ly in range(tile):
                        ex = qx[ly] - px[ly]
                        ey = qy[ly] - py[ly]
                        ez = qz[ly] - pz[ly]
                        out[ly] = ex * ex + ey * ey + ez * ez
                    if c < n_in0:
                        for ly in range(tile):
                            kth[ly] = max(kth[ly], out[ly])
                    else:
                        for ly in range(tile):
                            guard[ly] = min(guard[ly], out[ly])
                x = x0 + lx
                sx = _spread_bits(lx)
                for ly in range(tile):
                    i = np.uint64(p0 + sx + 2 * _spread_bits(ly) - s0)
                    y = y0 + ly
                    edge = min(min(x, nside - 1 - x), min(y, nside - 1 - y))
                    base = np.uint64(row0 + ly)
                    n_keep = -1
                    if edge < r0:
                        pass
                    elif n_in0 == k and guard[ly] > _tie_limit(kth[ly]):
                        for c in range(n_in0):  # every inner candidate is kept
                            kept_col[c] = gpix[base + uoff[c]]
                            kept_d2[c] = line[c, ly]
                        n_keep = n_in0
                    else:
                        for c in range(n0):
                            d2[c] = line[c, ly]
                        n_keep = _row_with_retries(d2, base, edge, k, r0, r_max, sizes, uoff,
                                                   gx, gy, gz, gpix, top, kept_col, kept_d2)
                    counts[i] = n_keep
                    if n_keep > 0:
                        _write_row(i, n_keep, kept_col, kept_d2, kernel_scale, cols, vals)


class FaceGridKnn:
    """The face-grid kNN of the full NEST sphere, chunk by chunk: :meth:`rows` answers the rows
    it can and names the others."""

    def __init__(self, nside: int, k: int, r0: int, vectors: np.ndarray, index_dtype,
                 kernel_scale: float | None = None):
        self.nside, self.k, self.r0, self.r_max = nside, k, r0, r0 + 2
        self.tile = min(nside, TILE)
        self.kernel_scale = 0.0 if kernel_scale is None else float(kernel_scale)
        self.value_dtype = np.float64 if kernel_scale is None else np.float32
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float64)
        self.dx, self.dy, self.sizes = ring_offsets(self.r_max)
        self.cap = k + MAX_EXTRA_TIES
        self.index_dtype = index_dtype
        self._buffers = None

    def rows(self, s0: int, m: int):
        """Rows ``s0 .. s0 + m - 1`` (``m <= CHUNK``): ``(counts, cols, vals)``, ``counts[i]``
        the number of kept entries of row ``s0 + i`` (-1: left to the general path), ``cols``
        and ``vals`` ``(m, k + MAX_EXTRA_TIES)`` views of reused buffers; ``vals`` holds
        ``d^2`` (float64) or, with ``kernel_scale``, ``exp(-d^2 / kernel_scale)`` (float32)."""
        if self._buffers is None or self._buffers[0].shape[0] < m:
            self._buffers = (np.empty((m, self.cap), dtype=self.index_dtype),
                             np.empty((m, self.cap), dtype=self.value_dtype),
                             np.empty(m, dtype=np.int64))
        cols, vals, counts = (a[:m] for a in self._buffers)
        if s0 % self.tile**2 or m % self.tile**2:
            raise ValueError(f"rows {s0}..{s0 + m}: pass whole {self.tile}x{self.tile} tiles.")
        _face_grid_rows(s0, m, self.nside, self.tile, self.k, self.r0, self.r_max, self.vectors,
                        self.dx, self.dy, self.sizes, self.kernel_scale, cols, vals, counts)
        return counts, cols, vals
