"""Shared fixtures: independent dense oracles.

The oracles here never call sk_ricci: they rebuild every quantity from a dense
distance matrix, plain loops and scipy.sparse.csgraph, so the tests compare
the library against a second, deliberately naive implementation.
"""

import types

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, shortest_path

# --------------------------------------------------------------------------
# dense oracles
# --------------------------------------------------------------------------


def dense_sqdist(X):
    """Exact squared Euclidean distances by direct differences (n x n)."""
    X = np.asarray(X, dtype=np.float64)
    diff = X[:, None, :] - X[None, :, :]
    return (diff**2).sum(axis=-1)


def dense_knn(X, k):
    """k nearest neighbours of each row (itself excluded), ordered by
    (distance, index): the tie-break the spec asks for."""
    D = dense_sqdist(X)
    n = D.shape[0]
    idx = np.empty((n, k), dtype=np.int64)
    for i in range(n):
        order = np.lexsort((np.arange(n), D[i]))  # primary D[i], then index
        order = order[order != i]
        idx[i] = order[:k]
    dist = np.sqrt(D[np.arange(n)[:, None], idx])
    return idx, dist


def directed_knn(X, k):
    """Dense 0/1 matrix A with A[i, j] = 1 iff j in kNN(i)."""
    idx, _ = dense_knn(X, k)
    n = idx.shape[0]
    A = np.zeros((n, n), dtype=np.int64)
    for i in range(n):
        A[i, idx[i]] = 1
    return A


def dense_graph(X, k, symmetrize):
    """The three graph conventions of docs/method.md (section 1), built densely."""
    A = directed_knn(X, k)
    if symmetrize == "max":
        return (A | A.T).astype(float)
    if symmetrize == "min":
        return (A & A.T).astype(float)
    if symmetrize == "sum":
        return (A + A.T).astype(float)
    raise AssertionError(symmetrize)


def prim_mst(X):
    """Euclidean MST by a plain O(n^2) Prim on the dense distance matrix.

    Returns (set of (i, j) edges with i < j, total length). Handles zero
    distances (duplicate points), unlike scipy's minimum_spanning_tree, which
    reads a 0 as "no edge".
    """
    D = np.sqrt(dense_sqdist(X))
    n = D.shape[0]
    in_tree = np.zeros(n, dtype=bool)
    in_tree[0] = True
    best = D[0].copy()
    parent = np.zeros(n, dtype=np.int64)
    edges, total = set(), 0.0
    for _ in range(n - 1):
        cand = np.where(in_tree, np.inf, best)
        j = int(np.argmin(cand))
        i = int(parent[j])
        edges.add((min(i, j), max(i, j)))
        total += D[i, j]
        in_tree[j] = True
        closer = D[j] < best
        best = np.where(closer, D[j], best)
        parent = np.where(closer, j, parent)
    return edges, total


def kruskal_mst(X):
    """Euclidean MST by Kruskal with edges ordered by (squared distance, i, j),
    i < j: with exact ties (integer coordinates) this picks one specific tree.
    Returns the set of (i, j) edges, i < j."""
    D = dense_sqdist(X)
    n = D.shape[0]
    parent = list(range(n))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    pairs = [(D[a, b], a, b) for a in range(n) for b in range(a + 1, n)]
    edges = set()
    for _, i, j in sorted(pairs):
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
            edges.add((i, j))
    return edges


def edge_set(G):
    """Undirected edge set {(i, j), i < j} of a (dense or sparse) matrix."""
    M = sp.coo_matrix(G)
    return {(int(i), int(j)) for i, j, v in zip(M.row, M.col, M.data)
            if i < j and v != 0}


def geodesics(G):
    """Hop distances on the undirected support of G (scipy BFS)."""
    return shortest_path(
        sp.csr_matrix(np.asarray(sp.csr_matrix(G).toarray()) != 0, dtype=float),
        unweighted=True, directed=False,
    )


def n_components(G):
    return int(connected_components(sp.csr_matrix(G), directed=False)[0])


def total_curvature_loops(X, k, symmetrize):
    """Ric of Eq. 6 by explicit loops over the edge list the spec names:
    undirected edges once ("max"/"min"), directed kNN edges ("sum")."""
    A = directed_knn(X, k)
    G = dense_graph(X, k, symmetrize)
    d = G.sum(axis=1)  # "sum": row sum of A + A^T = out + in degree
    n = A.shape[0]
    total = 0.0
    if symmetrize == "sum":
        for i in range(n):
            for j in range(n):
                if A[i, j]:
                    total += 4 - d[i] - d[j]
    else:
        for i in range(n):
            for j in range(i + 1, n):
                if G[i, j]:
                    total += 4 - d[i] - d[j]
    return total


@pytest.fixture(scope="session")
def oracle():
    """Namespace of the dense reference implementations above."""
    return types.SimpleNamespace(
        dense_sqdist=dense_sqdist,
        dense_knn=dense_knn,
        directed_knn=directed_knn,
        dense_graph=dense_graph,
        prim_mst=prim_mst,
        kruskal_mst=kruskal_mst,
        edge_set=edge_set,
        geodesics=geodesics,
        n_components=n_components,
        total_curvature_loops=total_curvature_loops,
    )


@pytest.fixture(scope="module")
def one_torch_thread():
    """torch on one thread for a test module, restored afterwards: tiny
    networks gain nothing from threads, and on a busy machine OpenMP barriers
    make them much slower. Use with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    from sk_ricci.nn._threads import one_torch_thread as one_thread

    with one_thread():
        yield
