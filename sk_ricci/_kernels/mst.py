"""Exact Euclidean minimum spanning tree (Boruvka on top of kNN lists)."""

import numba
import numpy as np

from ._threads import CHUNKS, n_threads, thread_limit
from .knn import sqdist


@numba.njit(cache=True)
def _find(parent, i):
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@numba.njit(cache=True, inline="always")
def _better(d, a, b, bd, ba, bb):
    # order candidate edges by (distance, min index, max index)
    lo, hi = min(a, b), max(a, b)
    blo, bhi = min(ba, bb), max(ba, bb)
    if d != bd:
        return d < bd
    if lo != blo:
        return lo < blo
    return hi < bhi


@numba.njit(cache=True, nogil=True)
def _brute_outside_rows(X, label, points, best_d, best_u, best_v, out_d, out_j,
                        lo, hi):
    """For points[lo:hi], the best edge to another component (exact scan),
    starting from the component's current best edge."""
    n = X.shape[0]
    for r in range(lo, hi):
        i = points[r]
        li = label[i]
        bd, bu, bv = best_d[li], best_u[li], best_v[li]
        bj = -1
        for j in range(n):
            if label[j] != li:
                d = sqdist(X, i, j)
                if bu < 0 or _better(d, i, j, bd, bu, bv):
                    bd, bu, bv, bj = d, i, j, j
        out_d[r] = bd
        out_j[r] = bj


@numba.njit(cache=True, parallel=True, nogil=True)
def _brute_outside(X, label, points, best_d, best_u, best_v, out_d, out_j):
    """:func:`_brute_outside_rows` for all points, split over threads."""
    m = points.size
    chunks = min(m, CHUNKS)
    for c in numba.prange(chunks):
        _brute_outside_rows(
            X, label, points, best_d, best_u, best_v, out_d, out_j,
            (c * m) // chunks, ((c + 1) * m) // chunks,
        )


@numba.njit(cache=True, parallel=True, nogil=True)
def _gram_outside(X, sq, label, points, G, tol, best_d, best_u, best_v, out_d,
                  out_j):
    """:func:`_brute_outside_rows` for all points from their Gram rows
    ``G = X[points] @ X.T`` (one BLAS product): the approximate squared
    distances ``sq[j] - 2 G[r, j]`` (up to the constant ``sq[i]``) locate the
    nearest point of another component, then every point within ``tol[r]``
    of it (the rounding bound, twice) is measured exactly, so the edge is the
    one of the exact scan, ties included."""
    m, n = G.shape
    for r in numba.prange(m):
        i = points[r]
        li = label[i]
        lo = np.inf
        for j in range(n):
            if label[j] != li:
                v = sq[j] - 2.0 * G[r, j]
                lo = min(lo, v)
        bd, bu, bv = best_d[li], best_u[li], best_v[li]
        bj = -1
        thr = lo + tol[r]
        for j in range(n):
            if label[j] != li and sq[j] - 2.0 * G[r, j] <= thr:
                d = sqdist(X, i, j)
                if bu < 0 or _better(d, i, j, bd, bu, bv):
                    bd, bu, bv, bj = d, i, j, j
        out_d[r] = bd
        out_j[r] = bj


#: from this many points on, the scans of Boruvka's unresolved points read
#: distances from BLAS Gram blocks (with an exact recheck of near ties)
#: instead of measuring every pair in a loop: the same edges, 3.5 to 4.1
#: times faster on two 50,000-point, 64-wide layers (benchmarks/bench_mst.py)
GRAM_MIN_SAMPLES = 8192


def gram_tolerance(X, sq, pts):
    """How far above the computed minimum of ``sq[j] - 2 G[r, j]`` the Gram
    scan rechecks exactly: |computed - exact| is at most about
    2 (dim + 2) eps (|x_i|^2 + max_j |x_j|^2) (the dot products' and the
    norms' rounding), the exact nearest lies within twice that of the
    computed minimum, and 8 leaves a margin of 2."""
    eps = np.finfo(np.float64).eps
    return 8.0 * (X.shape[1] + 2) * eps * (sq[pts] + sq.max())


def _scan_outside(X, sq, label, pts, best_d, best_u, best_v, d, j, n_jobs,
                  serial):
    """The best edge from each of ``pts`` to another component (``d``,
    ``j``; ``j = -1`` where none beats its component's current best)."""
    if serial or X.shape[0] < GRAM_MIN_SAMPLES:
        if serial or n_threads(n_jobs) == 1:
            _brute_outside_rows(X, label, pts, best_d, best_u, best_v, d, j, 0,
                                pts.size)
        else:
            with thread_limit(n_threads(n_jobs)):
                _brute_outside(X, label, pts, best_d, best_u, best_v, d, j)
        return
    tol = gram_tolerance(X, sq, pts)
    with thread_limit(n_threads(n_jobs)):
        G = X[pts] @ X.T
        _gram_outside(X, sq, label, pts, G, tol, best_d, best_u, best_v, d, j)


@numba.njit(cache=True, nogil=True)
def _labels(parent):
    n = parent.size
    label = np.empty(n, dtype=np.int64)
    for i in range(n):
        label[i] = _find(parent, i)
    return label


@numba.njit(cache=True, nogil=True)
def _boruvka_kNN_pass(X, knn_idx, knn_d, label, best_d, best_u, best_v, lb):
    n, k = knn_idx.shape
    for i in range(n):
        li = label[i]
        found = False
        for t in range(k):
            j = knn_idx[i, t]
            if label[j] != li:
                d = knn_d[i, t]
                if _better(d, i, j, best_d[li], best_u[li], best_v[li]):
                    best_d[li] = d
                    best_u[li] = i
                    best_v[li] = j
                found = True
                break
        lb[i] = -1.0 if found else knn_d[i, k - 1]


def euclidean_mst(X, knn_idx, knn_sqdist, n_jobs=None, serial=False):
    """Exact Euclidean minimum spanning tree by Boruvka's algorithm.

    The sorted kNN lists answer most "nearest point in another component"
    queries; only points whose whole list lies inside their component and
    whose k-th distance could still beat the component's best are scanned by
    brute force (O(n d) each, no n x n matrix). Edges are ordered by
    (squared distance, indices), which makes the tree unique. Returns an
    (n - 1, 2) int array of edges. ``serial=True`` runs every scan on the
    calling thread, without numba's thread pool (``n_jobs`` is then unused).
    """
    n = X.shape[0]
    parent = np.arange(n, dtype=np.int64)
    edges = []
    knn_idx = np.ascontiguousarray(knn_idx, dtype=np.int64)
    knn_d = np.ascontiguousarray(knn_sqdist, dtype=np.float64)
    lb = np.empty(n)
    sq = None  # squared norms, computed at the first brute-force scan
    while len(edges) < n - 1:
        label = _labels(parent)
        best_d = np.full(n, np.inf)
        best_u = np.full(n, -1, dtype=np.int64)
        best_v = np.full(n, -1, dtype=np.int64)
        _boruvka_kNN_pass(X, knn_idx, knn_d, label, best_d, best_u, best_v, lb)
        unresolved = np.flatnonzero(lb >= 0)
        if unresolved.size:
            # points whose kNN distance bound cannot beat the current best of
            # their component are skipped; the rest are scanned in parallel
            # in rounds of increasing bound so the best tightens as we go.
            unresolved = unresolved[np.argsort(lb[unresolved], kind="stable")]
            chunk = 256
            for s in range(0, unresolved.size, chunk):
                pts = unresolved[s : s + chunk]
                pts = pts[lb[pts] <= best_d[label[pts]]]
                if pts.size == 0:
                    continue
                d = np.full(pts.size, np.inf)
                j = np.full(pts.size, -1, dtype=np.int64)
                if sq is None:
                    sq = np.einsum("ij,ij->i", X, X)
                _scan_outside(X, sq, label, pts, best_d, best_u, best_v, d, j,
                              n_jobs, serial)
                for r in range(pts.size):
                    i, li = pts[r], label[pts[r]]
                    if j[r] >= 0 and _better(
                        d[r], i, j[r], best_d[li], best_u[li], best_v[li]
                    ):
                        best_d[li], best_u[li], best_v[li] = d[r], i, j[r]
        comps = np.flatnonzero(best_u >= 0)
        merged = False
        for c in comps:
            u, v = best_u[c], best_v[c]
            ru, rv = _find(parent, u), _find(parent, v)
            if ru != rv:
                parent[max(ru, rv)] = min(ru, rv)
                edges.append((min(u, v), max(u, v)))
                merged = True
        if not merged:  # pragma: no cover - cannot happen for n >= 2
            raise RuntimeError("Boruvka made no progress")
    return np.array(edges, dtype=np.int64).reshape(-1, 2)
