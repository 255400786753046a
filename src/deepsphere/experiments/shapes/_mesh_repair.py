"""Mesh repair before the projection (:mod:`.projection`, step 1): cleaning, consistent normals
and small holes, vectorised (numpy and scipy.sparse; no trimesh, no networkx).

Cleaning: drop the faces that touch a non-finite vertex, merge the vertices that agree to 8
decimals (trimesh's merge tolerance), drop degenerate faces (an edge from the first vertex, or a
height on it, not above 1e-8) and duplicate faces (the same three vertices in any order), drop
unreferenced vertices; then make the normals consistent and fill small holes (below).

Normals (the sign of the projection's ``cos``). The originals ran ``trimesh.repair.fix_normals``;
this module does the same work vectorised, with one deliberate difference. Faces are linked
through the edges that exactly two faces share (trimesh's face adjacency). (a) Winding: in each
linked component whose winding is inconsistent, the faces are flipped to agree with a
breadth-first spanning tree, keeping the orientation that most of the component's faces had
(trimesh keeps an arbitrary face's). (b) Direction: every closed component (each edge shared by
exactly two of its faces, consistently wound, at least 4 faces) with a negative signed volume is
inverted, so its normals point outwards, which is ``fix_normals(multibody=True)``; the
originals' default (``multibody=False``) inverted the whole mesh only when all of it was closed
and its total volume negative, leaving an inside-out part of a multi-part mesh (plain
concatenations of closed parts are common) inside-out. Open components keep their (consistent)
orientation, so a ray that enters an open mesh and hits its inside from behind gets a negative
``cos``, as in the originals.

Holes (trimesh's ``fill_holes``, which fills the triangles and quadrilaterals of a cycle basis of
the boundary edges): every triangle of boundary edges and every lone boundary loop of 4 edges (4
vertices on two boundary edges each) is closed by 1 or 2 triangles wound against the loop, except
a loop that only outlines faces already there (an isolated triangle or two-triangle patch:
trimesh "fills" it with a reversed copy of itself, which leaves the sign of ``cos`` on it to
chance).

Speed: the groupings (merged vertices, duplicate faces, edges) and the components are compiled
hash-table and union-find loops (:mod:`._repair_loops`); the floating-point tests (degenerate
faces, the sign of a component's volume) are settled by compiled loops only where they are far
from their threshold (bounds on rounding), the rest by numpy's formulas, so the results are
exactly those of the plain numpy formulation. The breadth-first forest, needed only when the
winding is inconsistent, stays scipy's.
"""

from __future__ import annotations

import numpy as np

__all__ = ["clean_arrays", "fill_small_holes", "orient"]

_MERGE_DIGITS = 8  # vertices equal to 8 decimals are one (trimesh's tol.merge = 1e-8)
_DEGENERATE = 1e-8  # trimesh's nondegenerate height


def _group_rows(rows: np.ndarray):
    """``(inverse, first)`` of the distinct rows of an int64 array: ``rows == rows[first][inverse]``
    and ``first`` the index of each group's first occurrence, the groups in the order of their
    row keys (one int64 per row, a wrapping multiply-add) or, if two different rows have the
    same key, in lexicographic order."""
    from deepsphere.experiments.shapes._repair_loops import group_rows, sort_ties

    if len(rows) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    group, first, key, collided = group_rows(np.ascontiguousarray(rows, np.int64))
    # the groups are distinct rows with (unless collided) distinct keys: one order either way
    if collided:
        distinct = np.ascontiguousarray(rows[first], np.int64)
        order = np.argsort(distinct[:, 0])
        sort_ties(distinct, order)  # as np.lexsort(distinct.T[::-1]), faster
    else:
        order = np.argsort(key)
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return rank[group], first[order]


def _compact(vertices: np.ndarray, faces: np.ndarray):
    """Drop unreferenced vertices, renumbering the faces."""
    used = np.zeros(len(vertices), bool)
    used[faces] = True
    if used.all():
        return vertices, faces
    renumber = np.cumsum(used) - 1
    return vertices[used], renumber[faces]


def _nondegenerate(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Whether each face is not degenerate: both edges from its first vertex, and the height on
    each, above 1e-8 (as this formula computes them: a compiled test settles the faces far from
    the threshold, the formula the others)."""
    from deepsphere.experiments.shapes._repair_loops import surely_nondegenerate

    ok = surely_nondegenerate(v, f, _DEGENERATE)
    rest = np.flatnonzero(~ok)
    if len(rest):
        g = f[rest]
        a = v[g[:, 1]] - v[g[:, 0]]
        b = v[g[:, 2]] - v[g[:, 0]]
        area2 = np.linalg.norm(np.cross(a, b), axis=1)
        la, lb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ok[rest] = ((la > _DEGENERATE) & (lb > _DEGENERATE) & (area2 / la > _DEGENERATE)
                        & (area2 / lb > _DEGENERATE))
    return ok


def clean_arrays(vertices, faces, name: str):
    """``(vertices float64, faces int64)`` cleaned as the module docstring says."""
    from deepsphere.experiments.shapes._repair_loops import first_faces

    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3:
        raise ValueError(f"{name}: vertices must be (n, 3) and faces (m, 3), got {v.shape} and "
                         f"{f.shape}")
    if len(f) and (f.min() < 0 or f.max() >= len(v)):
        raise ValueError(f"{name}: a face refers to a vertex that does not exist")
    finite = np.isfinite(v).all(axis=1)
    if not finite.all():
        f = f[finite[f].all(axis=1)]
    # merge the (referenced, finite) vertices that agree to 8 decimals
    v, f = _compact(v, f)
    if len(f):
        inverse, first = _group_rows(np.round(v * 10.0**_MERGE_DIGITS).astype(np.int64))
        v, f = v[first], inverse[f]
        f = f[_nondegenerate(v, f)]
        f = f[first_faces(f)]  # duplicates (the same vertices in any order): the first stays
        v, f = _compact(v, f)
    if len(f) == 0:
        raise ValueError(f"{name}: no face left after removing degenerate faces")
    f, edges = orient(v, f)
    return v, fill_small_holes(v, f, edges)


def _edges(f: np.ndarray):
    """Directed edges ``(3 m, 2)`` (edge ``k`` of face ``k // 3``: v0 v1, v1 v2, v2 v0), the
    undirected group of each (numbered in order of first occurrence), the group sizes, and the
    pairs ``(a, b)`` (``a < b``) of edge indices of the groups of exactly two edges."""
    from deepsphere.experiments.shapes._repair_loops import edge_groups

    e = f[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    return (e, *edge_groups(np.ascontiguousarray(f, np.int64)))


def _sorted_pairs(e: np.ndarray, n: int):
    """The pairs ``(a, b)`` of :func:`_edges` ordered as an (unstable) argsort of the edge keys
    leaves them: the breadth-first forest of :func:`orient` follows this order."""
    key = np.minimum(e[:, 0], e[:, 1]) * n + np.maximum(e[:, 0], e[:, 1])
    order = np.argsort(key)
    ks = key[order]
    new = np.empty(len(ks), bool)
    new[0] = True
    np.not_equal(ks[1:], ks[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    two = starts[np.diff(np.append(starts, len(ks))) == 2]
    return order[two], order[two + 1]


def orient(v: np.ndarray, f: np.ndarray):
    """Consistent winding per linked component, closed components outwards (module docstring):
    the faces, with ``(edges, group, counts, flip)`` of the faces before (the groups do not
    change; a flipped face's edges are reversed)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order

    from deepsphere.experiments.shapes._repair_loops import components, open_parts, part_volumes

    m = len(f)
    e, group, counts, a, b = _edges(f)
    fa, fb = a // 3, b // 3
    same = e[a, 0] == e[b, 0]  # the shared edge runs the same way in both: one must flip
    n_comp, comp = components(fa, fb, m)
    flip = np.zeros(m, bool)
    if same.any():
        a, b = _sorted_pairs(e, int(f.max()) + 1)
        fa, fb = a // 3, b // 3
        same = e[a, 0] == e[b, 0]
        # a breadth-first forest from a super-root (node m) linked to the first face of each
        # component; a face's flip is the parity of "same" edges on its path to the root
        roots = np.unique(comp, return_index=True)[1]
        u = np.concatenate([fa, roots])
        w = np.concatenate([fb, np.full(len(roots), m)])
        lo, hi = np.minimum(u, w), np.maximum(u, w)
        keys = lo * (m + 1) + hi
        weight = np.concatenate([same, np.zeros(len(roots), bool)])
        srt = np.argsort(keys)
        keys, weight = keys[srt], weight[srt]
        graph = coo_matrix((np.ones(len(u)), (u, w)), shape=(m + 1, m + 1)).tocsr()
        _, pred = breadth_first_order(graph, m, directed=False, return_predecessors=True)
        anc = pred.copy()
        anc[m] = m
        nodes = np.arange(m)
        tree_keys = np.minimum(nodes, anc[:m]) * (m + 1) + np.maximum(nodes, anc[:m])
        acc = np.zeros(m + 1, bool)
        acc[:m] = weight[np.searchsorted(keys, tree_keys)]
        while (anc != m).any():  # pointer jumping: log2(depth) rounds
            acc = acc ^ acc[anc]
            anc = anc[anc]
        flip = acc[:m]
        # keep the orientation most of each component's faces had
        majority = np.bincount(comp, weights=flip, minlength=n_comp) * 2 > np.bincount(
            comp, minlength=n_comp)
        flip ^= majority[comp]
        same ^= flip[fa] ^ flip[fb]
    # closed components: every edge of their faces in a group of two, consistently wound
    closed = ~open_parts(comp, n_comp, group, counts, fa, same)
    volume = np.zeros(n_comp)
    if closed.any():
        volume, bound = part_volumes(v, f, comp, n_comp, flip)
        unsure = closed & ~(np.abs(volume) > bound)
        if unsure.any():  # numpy's sums, whose signs the compiled ones did not settle
            rest = np.flatnonzero(unsure[comp])
            g = f[rest]
            term = np.einsum("ij,ij->i", v[g[:, 0]], np.cross(v[g[:, 1]], v[g[:, 2]]))
            term[flip[rest]] *= -1
            volume[unsure] = np.bincount(comp[rest], weights=term, minlength=n_comp)[unsure]
    inverted = closed & (volume < 0)
    flip ^= inverted[comp]
    if flip.any():
        f = f.copy()
        f[flip] = f[flip][:, ::-1]
    return f, (e, group, counts, flip)


def fill_small_holes(v: np.ndarray, f: np.ndarray, edges) -> np.ndarray:
    """Close the triangles of boundary edges and the lone boundary loops of 4 edges (module
    docstring); ``edges`` from :func:`orient`."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    e, group, counts, flip = edges
    boundary = np.flatnonzero(counts[group] == 1)
    if len(boundary) < 3:
        return f
    be = e[boundary]
    be = np.where(flip[boundary // 3, None], be[:, ::-1], be)  # as the oriented faces run
    nv = len(v)
    directed = set(zip(be[:, 0].tolist(), be[:, 1].tolist(), strict=True))
    new = []
    # triangles: boundary edges (a, b) whose ends have a common boundary neighbour c
    adj = coo_matrix((np.ones(len(be)), (be[:, 0], be[:, 1])), shape=(nv, nv)).tocsr()
    adj = ((adj + adj.T) > 0).astype(np.int32)
    common = (adj @ adj).multiply(adj).tocoo()
    if common.nnz:
        faces = set(map(tuple, np.sort(f, axis=1).tolist()))
        neighbours = np.split(adj.indices, adj.indptr[1:-1])
        for a, b in zip(common.row.tolist(), common.col.tolist(), strict=True):
            if a >= b:
                continue
            for c in set(neighbours[a].tolist()) & set(neighbours[b].tolist()):
                if c > b and (a, b, c) not in faces:  # else the outline of a face there
                    new.append([a, b, c])
    # lone loops of 4: components of the boundary graph of 4 vertices on two edges each
    _, label = connected_components(adj, directed=False)
    on_boundary = np.zeros(nv, bool)
    on_boundary[be] = True
    degree = np.asarray(adj.sum(axis=1)).ravel()
    n_lab = label.max() + 1
    n_vert = np.bincount(label[on_boundary], minlength=n_lab)
    n_edge = np.bincount(label[be[:, 0]], minlength=n_lab)
    irregular = np.bincount(label[on_boundary], weights=degree[on_boundary] != 2,
                            minlength=n_lab) > 0
    # the vertex of each boundary edge's face opposite the edge: on the loop for all the loop's
    # edges only when the loop outlines its own faces (an isolated two-triangle patch)
    opposite = e[boundary - boundary % 3 + (boundary % 3 + 2) % 3, 0]  # a flip keeps it
    inside = on_boundary[opposite] & (label[opposite] == label[be[:, 0]])
    outline = np.bincount(label[be[:, 0]], weights=~inside, minlength=n_lab) == 0
    for lab in np.flatnonzero((n_vert == 4) & (n_edge == 4) & ~irregular & ~outline):
        loop = be[label[be[:, 0]] == lab].tolist()
        cycle = list(loop[0])
        while len(cycle) < 4:  # follow the loop
            cycle.append(next(q if p == cycle[-1] else p for p, q in loop
                              if cycle[-1] in (p, q) and cycle[-2] not in (p, q)))
        new += [cycle[:3], [cycle[2], cycle[3], cycle[0]]]
    if not new:
        return f
    for tri in new:  # wound against the loop (trimesh's rule)
        if any((tri[i], tri[(i + 1) % 3]) in directed for i in range(3)):
            tri.reverse()
    return np.concatenate([f, np.asarray(new, np.int64)])

