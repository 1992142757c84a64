"""Hop-distance sums of a graph: bit-parallel, direction-optimizing BFS."""

import numba
import numpy as np

from ._bits import _ALL, _ONE, _ZERO, popcount

# Per-word operations on one node's row of bits (rows of (n, words) arrays).


@numba.njit(cache=True, inline="always")
def _copy_row(dst, v, src):
    """dst[v] = src[v]."""
    for w in range(dst.shape[1]):
        dst[v, w] = src[v, w]


@numba.njit(cache=True, inline="always")
def _or_row(dst, v, src, u, w_lo, w_hi):
    """dst[v, w] |= src[u, w] for the words w_lo .. w_hi - 1."""
    for w in range(w_lo, w_hi):
        dst[v, w] |= src[u, w]


@numba.njit(cache=True, inline="always")
def _or4_row(dst, v, src, u0, u1, u2, u3):
    """dst[v] |= src[u0] | src[u1] | src[u2] | src[u3]."""
    for w in range(dst.shape[1]):
        dst[v, w] |= (src[u0, w] | src[u1, w]) | (src[u2, w] | src[u3, w])


@numba.njit(cache=True, inline="always")
def _row_is(a, v, words):
    """True when a[v] equals ``words``."""
    same = True
    for w in range(words.size):
        same &= a[v, w] == words[w]
    return same


@numba.njit(cache=True, inline="always")
def _clear_rows(a, rows, m):
    """a[rows[:m]] = 0."""
    for r in range(m):
        u = rows[r]
        for w in range(a.shape[1]):
            a[u, w] = _ZERO


@numba.njit(cache=True, inline="always")
def _take_new_bits(nxt, visited, frontier, v):
    """Move the bits of nxt[v] missing from visited[v] into visited[v] and
    frontier[v], clear nxt[v]; return how many bits were new."""
    cnt = 0
    for w in range(nxt.shape[1]):
        x = nxt[v, w] & ~visited[v, w]
        nxt[v, w] = _ZERO
        if x != _ZERO:
            visited[v, w] |= x
            frontier[v, w] = x
            cnt += popcount(x)
    return cnt


# One batch of sources: set-up, the two directions of a level, the new level.
# Every helper below is inlined (``inline="always"``) into _bfs_batch_group:
# compiled as separate functions, push, pull and settle each cost 2-3% of the
# BFS on the hidden-layer graphs of n = 2,000 (measured in CPU time, 2 cores);
# inlined, the whole is within 1-2% of a single hand-written function.


@numba.njit(cache=True, inline="always")
def _batch_bits(full, nsrc):
    """full[w] = the bits of the batch's ``nsrc`` sources in word w."""
    for w in range(full.size):
        lo = 64 * w
        if lo + 64 <= nsrc:
            full[w] = _ALL
        elif lo < nsrc:
            full[w] = (_ONE << np.uint64(nsrc - lo)) - _ONE
        else:
            full[w] = _ZERO


@numba.njit(cache=True, inline="always")
def _seed(visited, frontier, front_list, reached, start, stop):
    """Level 0: every source reaches itself. Returns the frontier size."""
    for s in range(start, stop):
        b = s - start
        bit = _ONE << np.uint64(b % 64)
        visited[s, b // 64] |= bit
        frontier[s, b // 64] |= bit
        front_list[b] = s
        reached[s] = 1
    return stop - start


@numba.njit(cache=True, inline="always")
def _pull_bound(indptr, active, reached, nsrc):
    """Pull candidates: every node, listed in ``active``. Returns the sum of
    the degrees of those not yet reached by every source (the pull cost
    bound)."""
    n = indptr.size - 1
    active_deg = indptr[n]
    for v in range(n):
        active[v] = v
        if reached[v] == nsrc:
            active_deg -= indptr[v + 1] - indptr[v]
    return active_deg


@numba.njit(cache=True, inline="always")
def _frontier_degree(indptr, front_list, nfront):
    """Sum of the frontier's degrees (the push cost)."""
    cost = 0
    for f in range(nfront):
        u = front_list[f]
        cost += indptr[u + 1] - indptr[u]
    return cost


@numba.njit(cache=True, inline="always")
def _push(indptr, indices, frontier, nxt, front_list, nfront, touched,
          touched_list, first, start):
    """Every frontier node ORs its new bits into its neighbours' ``nxt``
    rows; at the first level only the word holding the source's own bit.
    Returns how many nodes were touched (listed in ``touched_list``)."""
    ntouched = 0
    for f in range(nfront):
        u = front_list[f]
        w_lo, w_hi = 0, frontier.shape[1]
        if first:
            w_lo = (u - start) // 64
            w_hi = w_lo + 1
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            if not touched[v]:
                touched[v] = True
                touched_list[ntouched] = v
                ntouched += 1
            _or_row(nxt, v, frontier, u, w_lo, w_hi)
    return ntouched


@numba.njit(cache=True, inline="always")
def _pull(indptr, indices, visited, nxt, full, active, nact, reached, nsrc,
          touched, touched_list):
    """Every candidate still missing sources sets its ``nxt`` row to its
    visited row ORed with its neighbours', stopping once it holds every
    source of the batch (``full``); saturated nodes leave ``active[:nact]``.
    Returns the new ``nact`` and how many nodes were touched (all of them)."""
    kept = 0
    for a in range(nact):
        v = active[a]
        if reached[v] == nsrc:
            continue
        active[kept] = v
        touched[v] = True
        touched_list[kept] = v
        kept += 1
        # Rows are ORed here, not in a per-node helper: an inlined helper
        # with an early exit keeps numba's reference counting of its array
        # arguments (an atomic increment and decrement per array per call),
        # which cost about 20% on sparse graphs (n = 5,000, k = 30; hidden
        # layers of n = 2,000).
        _copy_row(nxt, v, visited)
        # four neighbours per step: one read-modify-write of nxt[v] per four
        # rows ORed (the compiler cannot keep nxt[v] in registers; 10-20%
        # faster than one by one)
        e0 = indptr[v]
        e1 = indptr[v + 1]
        e = e0
        while e + 4 <= e1:
            _or4_row(nxt, v, visited, indices[e], indices[e + 1],
                     indices[e + 2], indices[e + 3])
            e += 4
            if (e - e0) & 7 == 0 and _row_is(nxt, v, full):  # every 8 edges
                break
        else:
            while e < e1:
                _or_row(nxt, v, visited, indices[e], 0, nxt.shape[1])
                e += 1
    return kept, kept


@numba.njit(cache=True, inline="always")
def _settle(indptr, visited, frontier, nxt, touched, touched_list, ntouched,
            front_list, reached, rowsum, nsrc, level):
    """Make the new bits of every touched node the next frontier and add
    their hop distances to ``rowsum``. Returns the frontier size, the sum of
    the new distances, and the degrees of the nodes that became saturated."""
    nfront = 0
    added = 0
    saturated_deg = 0
    for t in range(ntouched):
        v = touched_list[t]
        touched[v] = False
        cnt = _take_new_bits(nxt, visited, frontier, v)
        if cnt > 0:
            front_list[nfront] = v
            nfront += 1
            rowsum[v] += level * cnt
            added += level * cnt
            reached[v] += cnt
            if reached[v] == nsrc:
                saturated_deg += indptr[v + 1] - indptr[v]
    return nfront, added, saturated_deg


@numba.njit(cache=True, inline="always")
def _bfs_batch(indptr, indices, start, stop, visited, frontier, nxt, full,
               touched, touched_list, front_list, active, reached, rowsum):
    """BFS from the sources start .. stop - 1, level by level, choosing push
    or pull at each (see :func:`_bfs_batch_group`). Returns the sum of their
    hop distances."""
    nsrc = stop - start
    _batch_bits(full, nsrc)
    nfront = _seed(visited, frontier, front_list, reached, start, stop)
    nact = indptr.size - 1
    active_deg = _pull_bound(indptr, active, reached, nsrc)
    total = 0
    level = 0
    while nfront > 0:
        level += 1
        push_cost = _frontier_degree(indptr, front_list, nfront)
        if level == 1 or 2 * push_cost <= active_deg:
            ntouched = _push(indptr, indices, frontier, nxt, front_list, nfront,
                             touched, touched_list, level == 1, start)
        else:
            nact, ntouched = _pull(indptr, indices, visited, nxt, full, active,
                                   nact, reached, nsrc, touched, touched_list)
        _clear_rows(frontier, front_list, nfront)
        nfront, added, saturated_deg = _settle(
            indptr, visited, frontier, nxt, touched, touched_list, ntouched,
            front_list, reached, rowsum, nsrc, level,
        )
        total += added
        active_deg -= saturated_deg
    return total


@numba.njit(cache=True, inline="always")
def _end_batch(visited, reached):
    """Clear the batch's state; True when its first source reached every
    node."""
    n = visited.shape[0]
    ok = 0
    for v in range(n):
        ok += visited[v, 0] & _ONE
        reached[v] = 0
        for w in range(visited.shape[1]):
            visited[v, w] = _ZERO
    return ok == n


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
    visited = np.zeros((n, n_words), dtype=np.uint64)
    frontier = np.zeros((n, n_words), dtype=np.uint64)
    nxt = np.zeros((n, n_words), dtype=np.uint64)
    full = np.zeros(n_words, dtype=np.uint64)
    touched = np.zeros(n, dtype=np.bool_)
    touched_list = np.empty(n, dtype=np.int64)
    front_list = np.empty(n, dtype=np.int64)
    active = np.empty(n, dtype=np.int64)
    reached = np.zeros(n, dtype=np.int64)
    total = 0
    per_batch = 64 * n_words
    for batch in range(batch_lo, batch_hi):
        start = batch * per_batch
        stop = min(start + per_batch, n)
        total += _bfs_batch(
            indptr, indices, start, stop, visited, frontier, nxt, full,
            touched, touched_list, front_list, active, reached, rowsum,
        )
        # the batch's first source must have reached every node, else the
        # graph is disconnected: stop (the caller counts the components)
        if not _end_batch(visited, reached):
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
