"""Numba kernels: arrays in, arrays out, no validation.

Every kernel here has a plain NumPy/SciPy reference path in the tests.
"""

import numbers
import sys
from contextlib import contextmanager

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros


def n_threads(n_jobs):
    """Threads for ``n_jobs`` (scikit-learn's convention: None is 1, -1 all)."""
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(
            f"n_jobs must be None or an int (-1 for all cores), got "
            f"{type(n_jobs).__name__} {n_jobs!r}; pass e.g. n_jobs=2"
        )
    if n_jobs == 0:
        raise ValueError("n_jobs=0 is not valid; use None, a positive int or -1")
    if n_jobs < 0:
        return max(1, numba.config.NUMBA_NUM_THREADS + 1 + n_jobs)
    return min(int(n_jobs), numba.config.NUMBA_NUM_THREADS)


@contextmanager
def thread_limit(threads):
    """Run numba's parallel kernels on ``threads`` threads, then restore both
    numba's and torch's thread counts: numba's OpenMP layer shares
    ``omp_set_num_threads`` with torch, and would otherwise silently change
    the thread count of a torch model trained in the same process."""
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    old = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(old)
        if torch is not None and torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_ONE = np.uint64(1)
_ZERO = np.uint64(0)


@numba.njit(cache=True, inline="always")
def _popcount(x):
    x = x - ((x >> _ONE) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return (x * _H01) >> np.uint64(56)


_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@numba.njit(cache=True, nogil=True)
def _bfs_batch_group(indptr, indices, n_words, batch_lo, batch_hi, rowsum):
    """Bit-parallel multi-source BFS for sources batch_lo*64*n_words onwards.

    Sources are processed 64 * n_words at a time; bit b of word w of a node
    says "source (start + 64 w + b) has reached this node". Hop distances are
    accumulated into ``rowsum`` (per target node); returns the total, or -1
    when the graph is disconnected.

    Direction-optimizing (Beamer et al., SC 2012), per level:

    - *push*: every node that gained sources at the last level ORs those
      bits into its neighbours (cost: the frontier's degrees);
    - *pull*: every node still missing sources ORs its neighbours' reached
      sets and stops as soon as it has them all (cost: at most the
      unsaturated nodes' degrees, usually far less in dense graphs).

    Push is taken only when its cost is under half the pull bound: pulling
    writes each node once instead of scattering into random rows, and stops
    early (measured on 2 cores: equal within 10% on one-batch hidden-layer
    graphs, 2.4x faster on n = 2,000, k = 350). Level 1 pushes only the one
    word holding each source's bit. Both directions give the same levels,
    hence the same sums.
    """
    n = indptr.size - 1
    W = n_words
    visited = np.zeros((n, W), dtype=np.uint64)
    frontier = np.zeros((n, W), dtype=np.uint64)
    nxt = np.zeros((n, W), dtype=np.uint64)
    full = np.zeros(W, dtype=np.uint64)
    touched = np.zeros(n, dtype=np.bool_)
    touched_list = np.empty(n, dtype=np.int64)
    front_list = np.empty(n, dtype=np.int64)
    active = np.empty(n, dtype=np.int64)
    reached = np.zeros(n, dtype=np.int64)
    total = 0
    per_batch = 64 * W
    for batch in range(batch_lo, batch_hi):
        start = batch * per_batch
        stop = min(start + per_batch, n)
        nsrc = stop - start
        for w in range(W):  # the bits of this batch's sources
            lo = 64 * w
            if lo + 64 <= nsrc:
                full[w] = _ALL
            elif lo < nsrc:
                full[w] = (_ONE << np.uint64(nsrc - lo)) - _ONE
            else:
                full[w] = _ZERO
        nfront = 0
        for s in range(start, stop):
            b = s - start
            bit = _ONE << np.uint64(b % 64)
            visited[s, b // 64] |= bit
            frontier[s, b // 64] |= bit
            front_list[nfront] = s
            nfront += 1
            reached[s] = 1
        # pull candidates: nodes not yet reached by every source, and the sum
        # of their degrees (the pull cost bound)
        nact = n
        active_deg = indptr[n]
        for v in range(n):
            active[v] = v
            if reached[v] == nsrc:
                active_deg -= indptr[v + 1] - indptr[v]
        level = 0
        while nfront > 0:
            level += 1
            push_cost = 0
            for f in range(nfront):
                u = front_list[f]
                push_cost += indptr[u + 1] - indptr[u]
            ntouched = 0
            if level == 1 or 2 * push_cost <= active_deg:
                for f in range(nfront):
                    u = front_list[f]
                    w_lo, w_hi = 0, W
                    if level == 1:  # a source's frontier is its own bit
                        w_lo = (u - start) // 64
                        w_hi = w_lo + 1
                    for e in range(indptr[u], indptr[u + 1]):
                        v = indices[e]
                        if not touched[v]:
                            touched[v] = True
                            touched_list[ntouched] = v
                            ntouched += 1
                        for w in range(w_lo, w_hi):
                            nxt[v, w] |= frontier[u, w]
            else:
                kept = 0
                for a in range(nact):
                    v = active[a]
                    if reached[v] == nsrc:
                        continue
                    active[kept] = v
                    kept += 1
                    touched[v] = True
                    touched_list[ntouched] = v
                    ntouched += 1
                    for w in range(W):
                        nxt[v, w] = visited[v, w]
                    # four neighbours per step: one read-modify-write of
                    # nxt[v] per four rows ORed (the compiler cannot keep
                    # nxt[v] in registers; 10-20% faster than one by one)
                    e0 = indptr[v]
                    e1 = indptr[v + 1]
                    e = e0
                    while e + 4 <= e1:
                        u0 = indices[e]
                        u1 = indices[e + 1]
                        u2 = indices[e + 2]
                        u3 = indices[e + 3]
                        for w in range(W):
                            nxt[v, w] |= (visited[u0, w] | visited[u1, w]) | (
                                visited[u2, w] | visited[u3, w]
                            )
                        e += 4
                        if (e - e0) & 7 == 0:  # saturated? every 8 edges
                            sat = True
                            for w in range(W):
                                sat &= nxt[v, w] == full[w]
                            if sat:
                                break
                    else:
                        while e < e1:
                            u = indices[e]
                            for w in range(W):
                                nxt[v, w] |= visited[u, w]
                            e += 1
                nact = kept
            for f in range(nfront):
                u = front_list[f]
                for w in range(W):
                    frontier[u, w] = _ZERO
            nfront = 0
            for t in range(ntouched):
                v = touched_list[t]
                touched[v] = False
                cnt = 0
                for w in range(W):
                    x = nxt[v, w] & ~visited[v, w]
                    nxt[v, w] = _ZERO
                    if x != _ZERO:
                        visited[v, w] |= x
                        frontier[v, w] = x
                        cnt += _popcount(x)
                if cnt > 0:
                    front_list[nfront] = v
                    nfront += 1
                    rowsum[v] += level * cnt
                    total += level * cnt
                    reached[v] += cnt
                    if reached[v] == nsrc:
                        active_deg -= indptr[v + 1] - indptr[v]
        # the batch's first source must have reached every node, else the
        # graph is disconnected: stop (the caller counts the components)
        ok = 0
        for v in range(n):
            ok += visited[v, 0] & _ONE
            reached[v] = 0
            for w in range(W):
                visited[v, w] = _ZERO
        if ok != n:
            return -1
    return total


@numba.njit(cache=True, nogil=True)
def bfs_distance_sums_serial(indptr, indices, n_words):
    """:func:`bfs_distance_sums` on the calling thread, without the GIL."""
    n = indptr.size - 1
    per_batch = 64 * n_words
    rowsum = np.zeros(n, dtype=np.int64)
    total = _bfs_batch_group(
        indptr, indices, n_words, 0, (n + per_batch - 1) // per_batch, rowsum
    )
    return total, rowsum


@numba.njit(cache=True, parallel=True, nogil=True)
def bfs_distance_sums(indptr, indices, n_words, n_groups):
    """Sum of hop distances from every node, for a connected undirected graph.

    Returns (total, rowsum) where rowsum[v] = sum_u d(u, v), or total = -1
    when the graph turns out to be disconnected. Work is split in ``n_groups``
    contiguous groups of source batches run in parallel; integer sums make
    the result independent of the split.
    """
    n = indptr.size - 1
    per_batch = 64 * n_words
    n_batches = (n + per_batch - 1) // per_batch
    n_groups = max(1, min(n_groups, n_batches))
    rowsums = np.zeros((n_groups, n), dtype=np.int64)
    totals = np.zeros(n_groups, dtype=np.int64)
    for g in numba.prange(n_groups):
        lo = (g * n_batches) // n_groups
        hi = ((g + 1) * n_batches) // n_groups
        totals[g] = _bfs_batch_group(indptr, indices, n_words, lo, hi, rowsums[g])
    rowsum = np.zeros(n, dtype=np.int64)
    for g in range(n_groups):
        rowsum += rowsums[g]
    if totals.min() < 0:
        return -1, rowsum
    return totals.sum(), rowsum


@numba.njit(cache=True, nogil=True)
def csr_symmetric(indptr, indices, data):
    """True when a CSR matrix with sorted, unique column indices equals its
    transpose. O(nnz), no allocation but one cursor per row: rows are read in
    order, and the mirror (j, i) of each entry (i, j) must then be the next
    unread entry of row j (its earlier columns were matched by earlier rows);
    every entry matched once and every row read to its end means G = G^T."""
    n = indptr.size - 1
    cursor = indptr[:-1].copy()
    for i in range(n):
        for e in range(indptr[i], indptr[i + 1]):
            j = indices[e]
            c = cursor[j]
            if c >= indptr[j + 1] or indices[c] != i or data[c] != data[e]:
                return False
            cursor[j] = c + 1
    for j in range(n):
        if cursor[j] != indptr[j + 1]:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def permute_csr(indptr, indices, perm):
    """CSR arrays of G[perm][:, perm] (column indices left unsorted)."""
    n = indptr.size - 1
    inv = np.empty(n, dtype=np.int64)
    for i in range(n):
        inv[perm[i]] = i
    new_indptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        r = perm[i]
        new_indptr[i + 1] = new_indptr[i] + indptr[r + 1] - indptr[r]
    new_indices = np.empty(new_indptr[n], dtype=np.int64)
    for i in range(n):
        r = perm[i]
        base = new_indptr[i] - indptr[r]
        for e in range(indptr[r], indptr[r + 1]):
            new_indices[base + e] = inv[indices[e]]
    return new_indptr, new_indices


@numba.njit(cache=True, inline="always")
def _sqdist(X, i, j):
    s = 0.0
    for f in range(X.shape[1]):
        t = X[i, f] - X[j, f]
        s += t * t
    return s


@numba.njit(cache=True)
def _select(a, m, k):
    """k-th smallest value (k >= 1) of a[:m], reordering a[:m] in place.

    Quickselect with branch-free partitions: every element is swapped whether
    or not it moves, so the loop has no data-dependent branch to mispredict
    (on random distances, 3-4x faster than Hoare's partition). The partition
    also counts the values equal to the pivot: the answer is the pivot when
    the rank falls among them, and when the pivot is the smallest value left
    they are split off by a second pass, so long runs of equal values
    (duplicated points) cannot make it quadratic.
    """
    lo, hi, t = 0, m, k - 1
    rounds = 0
    while hi - lo > 1:
        rounds += 1
        if rounds > 64:  # pathological pivots: sort what is left
            rest = np.sort(a[lo:hi])
            return rest[t - lo]
        x, y, z = a[lo], a[(lo + hi) >> 1], a[hi - 1]
        if x > y:
            x, y = y, x
        y = min(y, z)
        p = max(y, x)  # median of three
        s = lo
        eq = 0
        for r in range(lo, hi):
            v = a[r]
            a[r] = a[s]
            a[s] = v
            s += v < p
            eq += v == p
        if t < s:
            hi = s
        elif t < s + eq:
            return p  # ranks s .. s + eq - 1 all hold the pivot's value
        elif s > lo:
            lo = s  # [s, hi) is smaller and still holds the answer
        else:
            e = s  # nothing below the pivot: split off the equal values
            for r in range(s, hi):
                v = a[r]
                a[r] = a[e]
                a[e] = v
                e += v <= p
            lo = e
    return a[t]


#: parallel kernels split their rows in at most this many contiguous chunks
#: (a constant: numba.get_num_threads() inside a kernel defeats caching)
_CHUNKS = 256

#: candidate lists at least this long are ordered by radix sort, shorter ones
#: by numba's mergesort (measured, 2 cores: 3.2 us against 7.1 us for 200
#: values, 1.1 us against 0.5 us for 30)
_RADIX_MIN = 64


@numba.njit(cache=True, nogil=True)
def _radix_order(vals, idx, m, kv, ki, tv, ti, count):
    """Stable sort of the non-negative floats vals[:m], carrying idx[:m].

    LSD radix sort over the 8 bytes of the IEEE bit patterns (monotone for
    values >= 0), skipping bytes every value shares. Stability keeps equal
    values in their input order (ascending index here). The result is left
    in kv[:m] / ki[:m]; tv, ti and count (256) are scratch.
    """
    for r in range(m):
        kv[r] = vals[r]
        ki[r] = idx[r]
    keys = kv[:m].view(np.uint64)
    tkeys = tv[:m].view(np.uint64)
    src_k, src_i, dst_k, dst_i = keys, ki, tkeys, ti
    flips = 0
    for p in range(8):
        shift = np.uint64(8 * p)
        for b in range(256):
            count[b] = 0
        for r in range(m):
            count[(src_k[r] >> shift) & np.uint64(255)] += 1
        if count[(src_k[0] >> shift) & np.uint64(255)] == m:
            continue  # one shared byte: nothing moves
        tot = 0
        for b in range(256):
            c = count[b]
            count[b] = tot
            tot += c
        for r in range(m):
            key = src_k[r]
            b = (key >> shift) & np.uint64(255)
            pos = count[b]
            dst_k[pos] = key
            dst_i[pos] = src_i[r]
            count[b] = pos + 1
        src_k, dst_k = dst_k, src_k
        src_i, dst_i = dst_i, src_i
        flips += 1
    if flips % 2 == 1:
        for r in range(m):
            keys[r] = tkeys[r]
            ki[r] = ti[r]


#: rows at least this long pre-filter candidates with a sampled threshold
_SAMPLE_MIN_N = 256
_SAMPLE = 64


@numba.njit(cache=True, nogil=True)
def knn_from_gram_serial(X, row_start, P, sqn, k, out_idx, out_sqd, sort=True):
    """Exact, tie-broken k nearest neighbours for rows row_start.. of a block.

    ``P`` is the Gram block X[rows] @ X.T. Approximate squared distances
    ||x_i||^2 - 2 x_i.x_j + ||x_j||^2 select the candidates: every j within a
    rounding tolerance of the k-th smallest value. Their squared distances are
    recomputed exactly by direct differences (so identical points are exactly
    tied) and candidates are ordered by (distance, index). Writes indices and
    exact squared distances of the first k into row ``row_start + r``.

    The k-th smallest value of a row is found without sorting: a strided
    sample of 64 values gives a threshold that almost always keeps at least k
    values (expected rank + 2.5 standard deviations); those
    are gathered by one branch-free pass and the k-th is selected among them
    (:func:`_select`). Exact whatever the sample: when the threshold keeps
    fewer than k, the whole row is used.

    ``sort=False`` (one k, no MST: only the neighbour *set* matters) skips the
    exact re-check and the sort in rows without a near-tie at the k-th
    distance; those rows hold their neighbours in index order with
    approximate squared distances.

    Serial and GIL-free (several layers may run in threads at once);
    :func:`knn_from_gram` splits the rows over numba's threads.
    """
    nb, n = P.shape
    scale = sqn.max()
    stride = n // _SAMPLE
    # rank of the threshold in the sample: the k-th smallest's expected rank
    # plus 2.5 binomial standard deviations (measured on trained hidden
    # layers: 10-15% faster than 3 sd + 3; about 1 row in 1,000 then falls
    # back to the whole row)
    expected = k * _SAMPLE / n
    q = int(expected + 2.5 * np.sqrt(expected * (1.0 - k / n)) + 1.0)
    use_sample = n >= _SAMPLE_MIN_N and q < _SAMPLE
    d = np.empty(n)
    cv = np.empty(n)
    ci = np.empty(n, dtype=np.int64)
    sample = np.empty(_SAMPLE)
    kv = np.empty(n)
    tv = np.empty(n)
    ki = np.empty(n, dtype=np.int64)
    ti = np.empty(n, dtype=np.int64)
    count = np.empty(256, dtype=np.int64)
    for r in range(nb):
        i = row_start + r
        for j in range(n):  # vectorized
            d[j] = sqn[i] - 2.0 * P[r, j] + sqn[j]
        d[i] = np.inf
        m = 0
        if use_sample:
            for s in range(_SAMPLE):
                sample[s] = d[s * stride]
            t = _select(sample, _SAMPLE, q)
            for j in range(n):  # branch-free gather of the indices of d <= t
                ci[m] = j
                m += d[j] <= t
        if m < k:
            for j in range(n):
                ci[j] = j
            m = n
        for s in range(m):
            cv[s] = d[ci[s]]
        kth = _select(cv, m, k)
        # rounding error of the expansion is ~1e-16 x (|x_i|^2 + |x_j|^2)
        thr = kth + 1e-9 * (sqn[i] + scale) + 1e-300
        cnt = 0
        for s in range(m):  # in-place branch-free compaction, index order
            j = ci[s]
            ci[cnt] = j
            cnt += d[j] <= thr
        if not sort and cnt == k:
            # no near-tie at the boundary: the candidates are exactly the k
            # nearest; unsorted callers take them in index order
            for c in range(k):
                out_idx[i, c] = ci[c]
                out_sqd[i, c] = max(d[ci[c]], 0.0)
            continue
        for c in range(cnt):
            cv[c] = _sqdist(X, i, ci[c])
        # stable sorts: equal distances stay in index order
        if cnt >= _RADIX_MIN:
            _radix_order(cv, ci, cnt, kv, ki, tv, ti, count)
            for c in range(k):
                out_idx[i, c] = ki[c]
                out_sqd[i, c] = kv[c]
        else:
            order = np.argsort(cv[:cnt], kind="mergesort")
            for c in range(k):
                out_idx[i, c] = ci[order[c]]
                out_sqd[i, c] = cv[order[c]]


@numba.njit(cache=True, parallel=True, nogil=True)
def knn_from_gram(X, row_start, P, sqn, k, out_idx, out_sqd, sort=True):
    """:func:`knn_from_gram_serial` with the rows split over numba's threads
    (the split cannot change the result: rows are independent)."""
    nb = P.shape[0]
    chunks = min(nb, _CHUNKS)
    for c in numba.prange(chunks):
        lo = (c * nb) // chunks
        hi = ((c + 1) * nb) // chunks
        knn_from_gram_serial(
            X, row_start + lo, P[lo:hi], sqn, k, out_idx, out_sqd, sort
        )


@numba.njit(cache=True, parallel=True)
def exact_sqdist_pairs(X, rows, nbrs):
    out = np.empty(nbrs.shape, dtype=np.float64)
    for r in numba.prange(nbrs.shape[0]):
        for t in range(nbrs.shape[1]):
            out[r, t] = _sqdist(X, rows[r], nbrs[r, t])
    return out


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
                d = _sqdist(X, i, j)
                if bu < 0 or _better(d, i, j, bd, bu, bv):
                    bd, bu, bv, bj = d, i, j, j
        out_d[r] = bd
        out_j[r] = bj


@numba.njit(cache=True, parallel=True, nogil=True)
def _brute_outside(X, label, points, best_d, best_u, best_v, out_d, out_j):
    """:func:`_brute_outside_rows` for all points, split over threads."""
    m = points.size
    chunks = min(m, _CHUNKS)
    for c in numba.prange(chunks):
        _brute_outside_rows(
            X, label, points, best_d, best_u, best_v, out_d, out_j,
            (c * m) // chunks, ((c + 1) * m) // chunks,
        )


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
                if serial or n_threads(n_jobs) == 1:
                    _brute_outside_rows(
                        X, label, pts, best_d, best_u, best_v, d, j, 0, pts.size
                    )
                else:
                    with thread_limit(n_threads(n_jobs)):
                        _brute_outside(X, label, pts, best_d, best_u, best_v, d, j)
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


#: the bitmap construction of symmetric_knn_csr is used up to this many
#: nodes (two n x n bit matrices: 16 MiB at the limit) ...
_BITMAP_MAX_NODES = 8192
#: ... when k >= n / this (scanning n^2 / 64 words must stay below ~4 n k)
_BITMAP_MIN_K_RATIO = 256


@numba.njit(cache=True, nogil=True)
def _symmetric_knn_csr_bitmap(idx, k, mode):
    """:func:`symmetric_knn_csr` through two n x n bit matrices (the directed
    kNN relation and its transpose): rows come out with sorted columns, and
    no O(n k) scatter through an in-neighbour index is needed (n = 1,000,
    k = 200: 0.5 ms against 1.8 ms)."""
    n = idx.shape[0]
    W = (n + 63) // 64
    D = np.zeros((n, W), dtype=np.uint64)  # D[i] has bit j: j in kNN(i)
    T = np.zeros((n, W), dtype=np.uint64)  # T[j] has bit i: j in kNN(i)
    for i in range(n):
        for t in range(k):
            j = idx[i, t]
            D[i, j >> 6] |= _ONE << np.uint64(j & 63)
            T[j, i >> 6] |= _ONE << np.uint64(i & 63)
    indptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        c = 0
        for w in range(W):
            x = (D[i, w] & T[i, w]) if mode == 1 else (D[i, w] | T[i, w])
            c += _popcount(x)
        indptr[i + 1] = indptr[i] + c
    nnz = indptr[n]
    indices = np.empty(nnz, dtype=np.int64)
    data = np.empty(nnz, dtype=np.float64)
    for i in range(n):
        p = indptr[i]
        for w in range(W):
            both = D[i, w] & T[i, w]
            x = both if mode == 1 else (D[i, w] | T[i, w])
            while x != _ZERO:
                tz = trailing_zeros(x)
                indices[p] = 64 * w + tz
                mutual = (both >> np.uint64(tz)) & _ONE
                data[p] = 2.0 if (mode == 2 and mutual != _ZERO) else 1.0
                p += 1
                x &= x - _ONE
    return indptr, indices, data


@numba.njit(cache=True, nogil=True)
def symmetric_knn_csr(idx, k, mode):
    """CSR arrays of the symmetrized kNN graph from the first k columns of
    ``idx`` (mode 0: "max" union, 1: "min" mutual, 2: "sum" A + A^T with
    multiplicities).

    Small or dense graphs (n <= 8,192 and k >= n / 256) go through bit
    matrices (:func:`_symmetric_knn_csr_bitmap`; sorted columns). Otherwise
    O(n k): in-neighbour lists from a counting sort by target, mutual pairs
    found with a per-row stamp; each row then holds its out-neighbours in kNN
    order, then the in-only neighbours in index order (unique, not sorted).
    """
    n = idx.shape[0]
    if n <= _BITMAP_MAX_NODES and n <= _BITMAP_MIN_K_RATIO * k:
        return _symmetric_knn_csr_bitmap(idx, k, mode)
    return _symmetric_knn_csr_scatter(idx, k, mode)


@numba.njit(cache=True, nogil=True)
def _symmetric_knn_csr_scatter(idx, k, mode):
    """:func:`symmetric_knn_csr` in O(n k) memory and time."""
    n = idx.shape[0]
    in_ptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        for t in range(k):
            in_ptr[idx[i, t] + 1] += 1
    for j in range(n):
        in_ptr[j + 1] += in_ptr[j]
    fill = in_ptr[:-1].copy()
    in_src = np.empty(n * k, dtype=np.int64)
    for i in range(n):
        for t in range(k):
            j = idx[i, t]
            in_src[fill[j]] = i
            fill[j] += 1
    stamp = np.full(n, -1, dtype=np.int64)
    mutual = np.zeros(n, dtype=np.bool_)
    indptr = np.zeros(n + 1, dtype=np.int64)
    indices = np.empty(2 * n * k, dtype=np.int64)
    data = np.empty(2 * n * k, dtype=np.float64)
    nnz = 0
    for i in range(n):
        for t in range(k):
            j = idx[i, t]
            stamp[j] = i
            mutual[j] = False
        for b in range(in_ptr[i], in_ptr[i + 1]):
            j = in_src[b]
            if stamp[j] == i:
                mutual[j] = True
        for t in range(k):
            j = idx[i, t]
            if mode == 1 and not mutual[j]:
                continue
            indices[nnz] = j
            data[nnz] = 2.0 if (mode == 2 and mutual[j]) else 1.0
            nnz += 1
        if mode != 1:
            for b in range(in_ptr[i], in_ptr[i + 1]):
                j = in_src[b]
                if stamp[j] != i:
                    indices[nnz] = j
                    data[nnz] = 1.0
                    nnz += 1
        indptr[i + 1] = nnz
    return indptr, indices[:nnz].copy(), data[:nnz].copy()


@numba.njit(cache=True, nogil=True)
def forman_total(indptr, data):
    """Total Forman curvature 2 sum(G) - sum_i d_i^2 from CSR arrays
    (d_i: row sums, i.e. degrees with multiplicity)."""
    n = indptr.size - 1
    s = 0.0
    dd = 0.0
    for i in range(n):
        d = 0.0
        for e in range(indptr[i], indptr[i + 1]):
            d += data[e]
        s += d
        dd += d * d
    return 2.0 * s - dd
