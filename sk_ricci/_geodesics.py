"""Graph -> sums of hop (graph-geodesic) distances (docs/method.md, section 3)."""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, reverse_cuthill_mckee

from ._kernels import (
    bfs_distance_sums,
    bfs_distance_sums_serial,
    n_threads,
    permute_csr,
    thread_limit,
)
from ._validation import check_graph

__all__ = ["GeodesicMass", "geodesic_mass"]



#: the reverse Cuthill-McKee relabelling (O(nnz) random access) runs only for
#: graphs with more than this many source batches ...
_RELABEL_MIN_BATCHES = 4
#: ... and a mean degree below this. Measured (one thread, kNN graphs of
#: Gaussian points): it saved 12% of the BFS at n = 10,000, k = 30, nothing at
#: n = 2,000-5,000, and cost more than it saved at n = 3,000, k = 100 and
#: n = 10,000, k = 300 (whose BFS has few levels anyway).
_RELABEL_MAX_DEGREE = 100

#: graphs smaller than this run their BFS on one thread whatever n_jobs says
#: (measured: n=1000 took 4.5 ms on 2 threads against 1.2 ms on one)
_MIN_PARALLEL_NODES = 4096


def _n_words(n, threads):
    """Machine words per node per BFS batch (64 sources each).

    Wider batches share each edge visit among more sources; too wide and the
    three (n, words) state arrays fall out of cache. Measured on 2 cores, one
    thread, kNN graphs: 16 words best or within 10% of the best width from
    n = 1,000 (hidden layers, k = 10 to 200; 1.5 ms at k = 200 against 1.7 ms
    at 8 words) to n = 10,000 (k = 30); 8 words above (n = 20,000, k = 30: 1.04 s
    against 1.61 s at 16). With several threads, narrower batches when n is
    small, so every thread gets at least two; one thread takes the widest.
    """
    words = 16 if n <= 10_000 else 8
    while threads > 1 and words > 1 and -(-n // (64 * words)) < 2 * threads:
        words //= 2
    return words


@dataclass(frozen=True)
class GeodesicMass:
    """Result of :func:`geodesic_mass`.

    Attributes
    ----------
    total : float
        g = sum over ordered pairs (i, j) of the hop distance gamma(i, j)
        (twice the Wiener index); ``inf`` when the graph is disconnected.
    row_sums : ndarray of shape (n_samples,)
        sum_j gamma(i, j) for every node i (``inf`` everywhere when
        disconnected: every node then has an unreachable node).
    n_components : int
        Number of connected components.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from sk_ricci import geodesic_mass
    >>> star = sp.csr_matrix([[0, 1, 1], [1, 0, 0], [1, 0, 0]])
    >>> g = geodesic_mass(star)  # leaf-leaf pairs are 2 hops apart
    >>> float(g), g.connected
    (8.0, True)
    """

    total: float
    row_sums: np.ndarray
    n_components: int

    @property
    def connected(self):
        """True when the graph has a single component."""
        return self.n_components == 1

    def __float__(self):
        return float(self.total)


def geodesic_mass(G, *, n_jobs=None):
    """Sum of all hop distances of an undirected graph, without an n x n matrix.

    Every node is a BFS source; sources run up to 1,024 at a time as bit-parallel
    breadth-first searches (one bit per source in machine words per node);
    large sparse graphs are first relabelled in reverse Cuthill-McKee order so
    each batch holds nearby sources. Memory is O(n + nnz) per thread, and the dense regime
    (n_neighbors ~ n/4) stays O(n * nnz / 64) instead of Floyd-Warshall's
    O(n^3). Edge multiplicities are ignored: distances are hops on the
    undirected support (non-integer, distance-like weights are refused).

    Parameters
    ----------
    G : sparse matrix of shape (n_samples, n_samples)
        Symmetric adjacency matrix, e.g. from :func:`sk_ricci.knn_graph`.
    n_jobs : int, default=None
        Threads (None: 1; -1: all). Integer sums make the result identical
        for any number of threads.

    Returns
    -------
    result : GeodesicMass
        ``total`` (g of Eq. 7), ``row_sums``, ``n_components``. ``float(result)``
        gives ``total``; it is ``inf`` for a disconnected graph.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from sk_ricci import geodesic_mass
    >>> path = sp.csr_matrix([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    >>> g = geodesic_mass(path)
    >>> g.total, g.row_sums, g.n_components
    (8.0, array([3., 2., 3.]), 1)
    >>> two_edges = sp.csr_matrix([[0, 1, 0, 0], [1, 0, 0, 0],
    ...                            [0, 0, 0, 1], [0, 0, 1, 0]])
    >>> geodesic_mass(two_edges).total
    inf
    """
    return _geodesic_mass(check_graph(G), n_jobs)


def _geodesic_mass(G, n_jobs=None, serial=False):
    """:func:`geodesic_mass` of a graph known to be a valid symmetric CSR."""
    return geodesic_mass_csr(G.indptr, G.indices, n_jobs, graph=G, serial=serial)


def geodesic_mass_csr(indptr, indices, n_jobs=None, graph=None, serial=False):
    """:func:`geodesic_mass` from the CSR arrays of a valid symmetric graph
    (``graph``, the same as a sparse matrix, is built only when needed).
    ``serial``: on the calling thread with the GIL released."""
    n = indptr.size - 1
    # below a few thousand nodes the whole BFS takes a few milliseconds and
    # waking a second OpenMP thread costs more than it saves
    threads = n_threads(n_jobs)  # validates n_jobs
    if n < _MIN_PARALLEL_NODES:
        threads = 1
    if n == 1:
        return GeodesicMass(0.0, np.zeros(1), 1)

    def as_graph(indptr=indptr, indices=indices):  # the original labels
        if graph is not None:
            return graph
        return sp.csr_matrix((np.ones(indices.size), indices, indptr), shape=(n, n))

    words = _n_words(n, threads)
    indptr = indptr.astype(np.int64, copy=False)
    indices = indices.astype(np.int64, copy=False)
    perm = None
    if n > _RELABEL_MIN_BATCHES * 64 * words and indices.size < _RELABEL_MAX_DEGREE * n:
        # many source batches on a sparse graph: relabel so each batch holds
        # nearby sources (they then finish in fewer levels)
        perm = reverse_cuthill_mckee(as_graph(), symmetric_mode=True)
        indptr, indices = permute_csr(indptr, indices, perm.astype(np.int64))
    if serial or threads == 1:  # no numba thread pool at all
        total, rowsum = bfs_distance_sums_serial(indptr, indices, words)
    else:
        with thread_limit(threads):
            groups = threads * 4 if threads > 1 else 1
            total, rowsum = bfs_distance_sums(indptr, indices, words, groups)
    if total < 0:  # a source did not reach every node
        n_comp = int(
            connected_components(as_graph(), directed=False, return_labels=False)
        )
        return GeodesicMass(np.inf, np.full(n, np.inf), n_comp)
    row_sums = np.empty(n, dtype=np.float64)
    if perm is None:
        row_sums[:] = rowsum
    else:
        row_sums[perm] = rowsum
    return GeodesicMass(float(total), row_sums, 1)
