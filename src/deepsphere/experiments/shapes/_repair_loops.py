"""Compiled (numba) loops of the mesh repair (:mod:`._mesh_repair`): grouping of equal integer
rows, the undirected edge groups of a triangle mesh, and connected components.

The groups come from hash tables (open addressing, linear probing, a power-of-two table at most
half full) whose probes compare whole rows, so a hash collision costs a probe, never a wrong
group. Groups are numbered in order of first occurrence; the caller reorders them where an
order matters. The loops are serial (each is one pass, a few milliseconds at 100k faces) and
cached on disk, as in :mod:`deepsphere.geometry._compiled_loops`.
"""

from __future__ import annotations

import numba
import numpy as np

_MIX0 = -7046029254386353131  # the multipliers of _mesh_repair's row key
_MIX1 = -4658895280553007687
_GOLDEN = 0x9E3779B97F4A7C15  # slot = top bits of key * golden
_SPLITMIX = 0xBF58476D1CE4E5B9
_SHORT = 16  # runs up to this length are sorted by insertion


@numba.njit(cache=True, inline="always")
def _table(n):
    """An empty table (``-1``, int32: at most 2**31 - 1 groups) of at least ``2 n`` slots and
    its shift (``64 - log2 size``)."""
    bits = 1
    while (1 << bits) < 2 * n:
        bits += 1
    return np.full(1 << bits, -1, np.int32), np.uint64(64 - bits)


@numba.njit(cache=True, inline="always")
def _slot(key, shift):
    """The table slot of a key: the top bits of ``key * golden``."""
    return np.uint64(key) * np.uint64(_GOLDEN) >> shift


@numba.njit(cache=True)
def group_rows(rows):
    """Groups of equal rows of an int64 ``(n, w)`` array, ``w >= 1``: ``(group (n,), first (g,),
    key (g,), collided)``, ``first`` the index of each group's first row (increasing), ``key``
    its row key (``_mesh_repair._group_rows``'s wrapping multiply-add) and ``collided`` whether
    two different rows have the same key."""
    n, w = rows.shape
    table, shift = _table(n)
    mask = np.uint64(table.size - 1)
    group = np.empty(n, np.int64)
    first = np.empty(n, np.int64)
    keys = np.empty(n, np.int64)
    g = 0
    collided = False
    for i in range(n):
        key = rows[i, 0] * np.int64(_MIX0)
        for j in range(1, w):
            key = (key ^ rows[i, j]) * np.int64(_MIX1)
        s = _slot(key, shift)
        while True:
            t = table[s]
            if t < 0:  # a new group
                table[s] = g
                first[g] = i
                keys[g] = key
                group[i] = g
                g += 1
                break
            if keys[t] == key:
                r = first[t]
                same = True
                for j in range(w):
                    if rows[r, j] != rows[i, j]:
                        same = False
                        break
                if same:
                    group[i] = t
                    break
                collided = True
            s = (s + np.uint64(1)) & mask
    return group, first[:g].copy(), keys[:g].copy(), collided


@numba.njit(cache=True)
def sort_ties(rows, order):
    """Make ``order``, the rows (distinct, ``(n, w)``) sorted by their first column with ties in
    any order, lexicographic: each run of equal first columns sorted by the other columns, in
    place (insertion for short runs, else stable sorts from the last column)."""
    n, w = rows.shape
    i = 0
    while i < n:
        j = i + 1
        while j < n and rows[order[j], 0] == rows[order[i], 0]:
            j += 1
        run = order[i:j]
        if run.size <= _SHORT:
            for e in range(1, run.size):
                c = run[e]
                t = e
                while t > 0:
                    p = run[t - 1]
                    col = 1
                    while col < w and rows[p, col] == rows[c, col]:
                        col += 1
                    if col == w or rows[p, col] < rows[c, col]:
                        break
                    run[t] = p
                    t -= 1
                run[t] = c
        else:
            for col in range(w - 1, 0, -1):
                run[:] = run[np.argsort(rows[run, col], kind="mergesort")]
        i = j


@numba.njit(cache=True, inline="always")
def _edge(faces, k):
    """The ends ``(lo, hi)`` of directed edge ``k``."""
    p = faces[k // 3, k % 3]
    q = faces[k // 3, (k % 3 + 1) % 3]
    return min(p, q), max(p, q)


@numba.njit(cache=True)
def edge_groups(faces):
    """The undirected edges of the directed edges of ``faces`` (edge ``k`` of face ``k // 3``:
    v0 v1, v1 v2, v2 v0): ``(group (3 m,), counts (g,), a, b)``, ``(a, b)`` the two edges
    (``a < b``) of each group of exactly two edges, in order of the groups."""
    n = 3 * faces.shape[0]
    table, shift = _table(n)
    mask = np.uint64(table.size - 1)
    group = np.empty(n, np.int64)
    counts = np.zeros(n, np.int64)
    first = np.empty(n, np.int64)
    second = np.empty(n, np.int64)
    g = 0
    for k in range(n):
        lo, hi = _edge(faces, k)
        h = np.uint64(lo) * np.uint64(_GOLDEN) + np.uint64(hi)
        h ^= h >> np.uint64(29)  # (lo, hi) -> well-mixed top bits (splitmix64's steps)
        s = h * np.uint64(_SPLITMIX) >> shift
        while True:
            t = table[s]
            if t < 0:
                table[s] = g
                first[g] = k
                counts[g] = 1
                group[k] = g
                g += 1
                break
            if _edge(faces, first[t]) == (lo, hi):
                if counts[t] == 1:
                    second[t] = k
                counts[t] += 1
                group[k] = t
                break
            s = (s + np.uint64(1)) & mask
    two = np.flatnonzero(counts[:g] == 2)
    return group, counts[:g].copy(), first[two], second[two]


@numba.njit(cache=True)
def components(u, w, n):
    """Connected components of the undirected graph on ``n`` nodes with edges ``(u, w)``:
    ``(n_comp, label)``, labels in order of each component's smallest node (as scipy's
    ``connected_components``)."""
    parent = np.arange(n)
    for e in range(u.size):
        x, y = u[e], w[e]
        while parent[x] != x:  # path halving
            parent[x] = parent[parent[x]]
            x = parent[x]
        while parent[y] != y:
            parent[y] = parent[parent[y]]
            y = parent[y]
        if x != y:
            if x < y:
                parent[y] = x
            else:
                parent[x] = y
    label = np.full(n, -1, np.int64)
    n_comp = 0
    for i in range(n):
        r = i
        while parent[r] != r:
            r = parent[r]
        if label[r] < 0:
            label[r] = n_comp
            n_comp += 1
        label[i] = label[r]
    return n_comp, label


@numba.njit(cache=True)
def first_faces(faces):
    """The index of the first of each group of faces on the same three vertices (in any order),
    increasing."""
    m = faces.shape[0]
    srt = np.empty((m, 3), np.int64)
    for i in range(m):
        p, q, r = faces[i, 0], faces[i, 1], faces[i, 2]
        if p > q:
            p, q = q, p
        if q > r:
            q, r = r, q
        if p > q:
            p, q = q, p
        srt[i, 0], srt[i, 1], srt[i, 2] = p, q, r
    return group_rows(srt)[1]


@numba.njit(cache=True)
def surely_nondegenerate(v, faces, threshold):
    """Whether each face is surely not degenerate: both edges from its first vertex, and the
    heights on them, above ``threshold`` by a relative margin of 1e-9, far above the rounding
    of numpy's formula (the cross product here is computed as numpy's, term by term, and the
    norms differ by a few ulps at most). Faces not sure are left to that formula."""
    m = faces.shape[0]
    sure = np.empty(m, np.bool_)
    t2 = threshold * threshold * (1.0 + 1e-9)
    for i in range(m):
        p, q, r = faces[i, 0], faces[i, 1], faces[i, 2]
        a0, a1, a2 = v[q, 0] - v[p, 0], v[q, 1] - v[p, 1], v[q, 2] - v[p, 2]
        b0, b1, b2 = v[r, 0] - v[p, 0], v[r, 1] - v[p, 1], v[r, 2] - v[p, 2]
        c0 = a1 * b2 - a2 * b1
        c1 = a2 * b0 - a0 * b2
        c2 = a0 * b1 - a1 * b0
        la2 = a0 * a0 + a1 * a1 + a2 * a2
        lb2 = b0 * b0 + b1 * b1 + b2 * b2
        lc2 = c0 * c0 + c1 * c1 + c2 * c2
        sure[i] = (np.isfinite(lc2) and la2 > t2 and lb2 > t2 and lc2 > t2 * la2
                   and lc2 > t2 * lb2)
    return sure


@numba.njit(cache=True)
def open_parts(comp, n_comp, group, counts, fa, same):
    """Whether each component is not closed: a face with an edge not in a group of two, a
    shared edge wound the same way in both faces, or fewer than 4 faces."""
    bad = np.zeros(n_comp, np.bool_)
    size = np.zeros(n_comp, np.int64)
    for i in range(comp.size):
        size[comp[i]] += 1
        for k in range(3 * i, 3 * i + 3):
            if counts[group[k]] != 2:
                bad[comp[i]] = True
    for j in range(fa.size):
        if same[j]:
            bad[comp[fa[j]]] = True
    for c in range(n_comp):
        if size[c] < 4:
            bad[c] = True
    return bad


@numba.njit(cache=True)
def part_volumes(v, faces, comp, n_comp, flip):
    """Per component, ``(sum, bound)``: the sum of its faces' signed volumes ``v0 . (v1 x v2)``
    (negated where ``flip``) and a bound on its distance from any other evaluation of the same
    sum in floating point (any order of the products and sums): a sum beyond its bound has the
    sign of the exact one."""
    total = np.zeros(n_comp)
    scale = np.zeros(n_comp)
    size = np.zeros(n_comp)
    for i in range(faces.shape[0]):
        p, q, r = faces[i, 0], faces[i, 1], faces[i, 2]
        c0 = v[q, 1] * v[r, 2] - v[q, 2] * v[r, 1]
        c1 = v[q, 2] * v[r, 0] - v[q, 0] * v[r, 2]
        c2 = v[q, 0] * v[r, 1] - v[q, 1] * v[r, 0]
        t = v[p, 0] * c0 + v[p, 1] * c1 + v[p, 2] * c2
        total[comp[i]] += -t if flip[i] else t
        m = 1.0
        for s in (p, q, r):
            m *= abs(v[s, 0]) + abs(v[s, 1]) + abs(v[s, 2])
        scale[comp[i]] += m
        size[comp[i]] += 1.0
    # each term within 8 u of its sum of absolute products, each sum within (n + 8) u of its
    # sum of absolute terms; twice (this evaluation and the other), with a factor 2 of slack
    bound = 4.0 * (size + 8.0) * 2.0**-53 * scale
    return total, bound
