"""Numba kernels for per-edge and per-point quantities: arrays in, arrays out.

Graphs are CSR arrays (``indptr``, ``indices``, ``data``) of symmetric
adjacency matrices with unique (not necessarily sorted) columns and no
self-loops; ``data`` holds edge multiplicities. Every kernel has a dense
NumPy/SciPy reference in the tests (``tests/test_local.py``,
``tests/test_curvature.py``).

- :func:`target_distances`: hop distance in a graph H from every point x to
  each of its neighbours in another graph G (the local expansion of
  :func:`sk_ricci.local_ricci_flow`), by a breadth-first search from x that
  stops as soon as all of x's targets are found. O(n + nnz) memory.
- :func:`edge_forman`, :func:`edge_triangles`, :func:`edge_approx_ollivier`:
  edge curvatures aligned with the CSR entries.
- :func:`ollivier_balls`, :func:`ollivier_edge_costs`: the hop-distance cost
  matrix of the optimal transport problem of one edge for the exact
  Ollivier-Ricci curvature (memory quadratic in the degree).
- :func:`row_means`: multiplicity-weighted mean of an edge quantity over every
  node's edges.
"""

import numba
import numpy as np

from ._threads import CHUNKS


@numba.njit(cache=True, nogil=True)
def target_distances_rows(t_indptr, t_indices, h_indptr, h_indices, lo, hi, out):
    """:func:`target_distances` for the sources ``lo .. hi - 1``.

    From each source x: level 1 marks H-neighbours of x; then, while targets
    are pending, a pending target y not yet reached has d(x, y) = r + 1 when
    one of its H-neighbours sits at level r (checked by scanning N_H(y), which
    spares expanding the last, largest level), else level r + 1 is expanded.
    A target still pending when the search runs out of nodes is unreachable
    (-1). Distances are exact: levels are those of a plain BFS.
    """
    n = h_indptr.size - 1
    dist = np.full(n, -1, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    max_deg = 0
    for x in range(lo, hi):
        max_deg = max(max_deg, t_indptr[x + 1] - t_indptr[x])
    pend = np.empty(max_deg, dtype=np.int64)
    for x in range(lo, hi):
        t0 = t_indptr[x]
        t1 = t_indptr[x + 1]
        if t1 == t0:
            continue
        npend = 0
        for e in range(t0, t1):
            out[e] = -1
            pend[npend] = e
            npend += 1
        # level 0 and 1
        dist[x] = 0
        queue[0] = x
        tail = 1
        for f in range(h_indptr[x], h_indptr[x + 1]):
            v = h_indices[f]
            if dist[v] < 0:
                dist[v] = 1
                queue[tail] = v
                tail += 1
        level_lo = 1  # queue[level_lo:tail] is level r
        r = 1
        while npend > 0:
            kept = 0
            for p in range(npend):
                e = pend[p]
                y = t_indices[e]
                dy = dist[y]
                if dy >= 0:
                    out[e] = dy
                    continue
                found = False
                for f in range(h_indptr[y], h_indptr[y + 1]):
                    if dist[h_indices[f]] == r:
                        found = True
                        break
                if found:
                    out[e] = r + 1
                else:
                    pend[kept] = e
                    kept += 1
            npend = kept
            if npend == 0 or level_lo == tail:
                break
            # expand level r -> r + 1
            new_lo = tail
            for q in range(level_lo, tail):
                u = queue[q]
                for f in range(h_indptr[u], h_indptr[u + 1]):
                    v = h_indices[f]
                    if dist[v] < 0:
                        dist[v] = r + 1
                        queue[tail] = v
                        tail += 1
            level_lo = new_lo
            r += 1
            if level_lo == tail:  # nothing new: the rest is unreachable
                break
        for q in range(tail):
            dist[queue[q]] = -1


@numba.njit(cache=True, parallel=True, nogil=True)
def _target_distances_parallel(t_indptr, t_indices, h_indptr, h_indices, out):
    n = t_indptr.size - 1
    chunks = min(n, CHUNKS)
    for c in numba.prange(chunks):
        target_distances_rows(
            t_indptr, t_indices, h_indptr, h_indices,
            (c * n) // chunks, ((c + 1) * n) // chunks, out,
        )


def target_distances(t_indptr, t_indices, h_indptr, h_indices, parallel=False):
    """Hop distance in H from every x to each of its G-neighbours.

    ``out[e]`` is d_H(x, t_indices[e]) for the CSR entry e of row x of G
    (``t_indptr``, ``t_indices``), or -1 when unreachable. Sources are
    independent, so the parallel split cannot change the result.
    """
    out = np.empty(t_indices.size, dtype=np.int64)
    if parallel:
        _target_distances_parallel(t_indptr, t_indices, h_indptr, h_indices, out)
    else:
        target_distances_rows(
            t_indptr, t_indices, h_indptr, h_indices, 0, t_indptr.size - 1, out
        )
    return out


@numba.njit(cache=True, nogil=True)
def node_degrees(indptr, data):
    """Row sums: degrees counting multiplicity."""
    n = indptr.size - 1
    d = np.zeros(n, dtype=np.float64)
    for i in range(n):
        s = 0.0
        for e in range(indptr[i], indptr[i + 1]):
            s += data[e]
        d[i] = s
    return d


@numba.njit(cache=True, nogil=True)
def edge_forman(indptr, indices, data):
    """R_e = 4 - d_i - d_j for every CSR entry e = (i, j)."""
    n = indptr.size - 1
    d = node_degrees(indptr, data)
    R = np.empty(indices.size, dtype=np.float64)
    for i in range(n):
        for e in range(indptr[i], indptr[i + 1]):
            R[e] = 4.0 - d[i] - d[indices[e]]
    return R


@numba.njit(cache=True, nogil=True)
def edge_triangles(indptr, indices):
    """Triangles through every edge, on the simple graph (support): the
    number of common neighbours of i and j, for every CSR entry (i, j)."""
    n = indptr.size - 1
    stamp = np.full(n, -1, dtype=np.int64)
    T = np.zeros(indices.size, dtype=np.float64)
    for i in range(n):
        for e in range(indptr[i], indptr[i + 1]):
            stamp[indices[e]] = i
        for e in range(indptr[i], indptr[i + 1]):
            j = indices[e]
            c = 0
            for f in range(indptr[j], indptr[j + 1]):
                c += stamp[indices[f]] == i
            T[e] = c
    return T


@numba.njit(cache=True, nogil=True)
def edge_approx_ollivier(indptr, indices, data):
    """Closed-form approximation of the Ollivier-Ricci curvature (Tian et
    al. 2023): the mean of Jost and Liu's lower bound and the upper bound
    T / max(d_i, d_j), with T the triangles through the edge."""
    n = indptr.size - 1
    d = node_degrees(indptr, data)
    T = edge_triangles(indptr, indices)
    R = np.empty(indices.size, dtype=np.float64)
    for i in range(n):
        for e in range(indptr[i], indptr[i + 1]):
            j = indices[e]
            dmax = max(d[i], d[j])
            dmin = min(d[i], d[j])
            base = 1.0 - 1.0 / d[i] - 1.0 / d[j]
            upper = T[e] / dmax
            lower = (
                -max(0.0, base - T[e] / dmin) - max(0.0, base - T[e] / dmax) + upper
            )
            R[e] = 0.5 * (upper + lower)
    return R


@numba.njit(cache=True, nogil=True)
def row_means(indptr, data, vals):
    """sum_e data[e] vals[e] / sum_e data[e] over every row (NaN for an empty
    row; inf/NaN values propagate)."""
    n = indptr.size - 1
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        s = 0.0
        w = 0.0
        for e in range(indptr[i], indptr[i + 1]):
            s += data[e] * vals[e]
            w += data[e]
        out[i] = s / w if w > 0 else np.nan
    return out


@numba.njit(cache=True, nogil=True)
def ollivier_balls(indptr, indices, x):
    """Support of node x's measure and the 1- and 2-balls of its points.

    Returns (sx, ball1, ball2): x's support [x, N(x)...] and, for its a-th
    point u, bit sets (words of 64 nodes) of the nodes within 1 and 2 hops of
    u. Memory: 2 (d_x + 1) ceil(n / 64) words, linear in the degree.
    """
    n = indptr.size - 1
    W = (n + 63) // 64
    one = np.uint64(1)
    dx = indptr[x + 1] - indptr[x]
    sx = np.empty(dx + 1, dtype=np.int64)
    sx[0] = x
    for t in range(dx):
        sx[t + 1] = indices[indptr[x] + t]
    ns = dx + 1
    ball1 = np.zeros((ns, W), dtype=np.uint64)
    ball2 = np.zeros((ns, W), dtype=np.uint64)
    for a in range(ns):
        u = sx[a]
        ball1[a, u >> 6] |= one << np.uint64(u & 63)
        for f in range(indptr[u], indptr[u + 1]):
            v = indices[f]
            ball1[a, v >> 6] |= one << np.uint64(v & 63)
        for w in range(W):
            ball2[a, w] = ball1[a, w]
        for f in range(indptr[u], indptr[u + 1]):
            v = indices[f]
            for g in range(indptr[v], indptr[v + 1]):
                z = indices[g]
                ball2[a, z >> 6] |= one << np.uint64(z & 63)
    return sx, ball1, ball2


@numba.njit(cache=True, nogil=True)
def ollivier_edge_costs(indptr, indices, sx, ball1, ball2, y):
    """Hop-distance cost matrix of the transport problem of the edge (x, y).

    ``sx``, ``ball1``, ``ball2`` come from :func:`ollivier_balls` of x. Rows:
    x's support; columns: y's support [y, N(y)...]. Supports of neighbours
    lie within 3 hops of each other, so the cost is 0 (same node), 1
    (adjacent), 2 (a common neighbour) or 3. One (d_x + 1) x (d_y + 1)
    matrix per edge: memory quadratic in the degree, whatever the number of
    edges of x.
    """
    one = np.uint64(1)
    ns = sx.size
    dy = indptr[y + 1] - indptr[y] + 1
    sy = np.empty(dy, dtype=np.int64)
    sy[0] = y
    for t in range(dy - 1):
        sy[t + 1] = indices[indptr[y] + t]
    C = np.empty((ns, dy), dtype=np.float64)
    for a in range(ns):
        u = sx[a]
        for b in range(dy):
            v = sy[b]
            if u == v:
                cst = 0.0
            elif (ball1[a, v >> 6] >> np.uint64(v & 63)) & one:
                cst = 1.0
            elif (ball2[a, v >> 6] >> np.uint64(v & 63)) & one:
                cst = 2.0
            else:
                cst = 3.0
            C[a, b] = cst
    return C
