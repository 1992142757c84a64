"""Geodesic mass: hand-computed graphs and scipy's BFS as the reference."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from scipy.sparse.csgraph import connected_components, shortest_path

from sk_ricci import GeodesicMass, geodesic_mass, knn_graph


def graph(n, edges):
    """Simple undirected graph from an edge list."""
    e = np.array(edges, dtype=np.int64).reshape(-1, 2)
    rows, cols = np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]]
    return sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))


K4 = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]

# name -> (n, edges, total, row sums)
HAND = {
    # P4: distances 1,2,3 (from 0), 1,2 (from 1), 1 (from 2) -> 10 unordered,
    # 20 ordered. rows: 0: 1+2+3 = 6, 1: 1+1+2 = 4, 2: 4, 3: 6.
    "P4": (4, [(0, 1), (1, 2), (2, 3)], 20, [6, 4, 4, 6]),
    # C5: from any node 1,1,2,2 -> 6 per row, 30 in total (Wiener index 15).
    "C5": (5, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0)], 30, [6] * 5),
    # S4, center 0: center row 4 x 1 = 4; leaf row 1 + 3 x 2 = 7;
    # total 4 + 4 x 7 = 32.
    "S4": (5, [(0, 1), (0, 2), (0, 3), (0, 4)], 32, [4, 7, 7, 7, 7]),
    # K5: all distances 1: rows 4, total 20.
    "K5": (5, [(i, j) for i in range(5) for j in range(i + 1, 5)], 20, [4] * 5),
    # two K4 {0..3}, {4..7} + bridge 3-4: node 0: 1+1+1 (own clique)
    # + 2 (node 4) + 3+3+3 = 14; node 3: 3 + 1 + 2+2+2 = 10.
    # total 6 x 14 + 2 x 10 = 104.
    "two_K4_bridge": (
        8, K4 + [(i + 4, j + 4) for i, j in K4] + [(3, 4)], 104,
        [14, 14, 14, 10, 10, 14, 14, 14],
    ),
}


@pytest.mark.parametrize("name", list(HAND))
def test_hand_computed(name):
    n, edges, total, rows = HAND[name]
    g = geodesic_mass(graph(n, edges))
    assert isinstance(g, GeodesicMass)
    assert g.total == total
    assert float(g) == total
    assert_array_equal(g.row_sums, rows)
    assert g.n_components == 1
    assert g.connected


def test_disconnected_pair_of_edges():
    g = geodesic_mass(graph(4, [(0, 1), (2, 3)]))
    assert g.total == np.inf
    assert np.all(np.isinf(g.row_sums))
    assert g.n_components == 2
    assert not g.connected


def test_one_and_two_nodes():
    g1 = geodesic_mass(sp.csr_matrix((1, 1)))
    assert (g1.total, g1.n_components) == (0.0, 1)
    assert_array_equal(g1.row_sums, [0.0])
    g2 = geodesic_mass(graph(2, [(0, 1)]))  # d(0,1) = d(1,0) = 1
    assert (g2.total, g2.n_components) == (2.0, 1)
    assert_array_equal(g2.row_sums, [1, 1])
    g2_empty = geodesic_mass(sp.csr_matrix((2, 2)))
    assert (g2_empty.total, g2_empty.n_components) == (np.inf, 2)


# --------------------------------------------------------------------------
# random graphs vs scipy
# --------------------------------------------------------------------------


def erdos_renyi(n, p, rng, connected=True):
    U = np.triu(rng.rand(n, n) < p, 1)
    if connected and n > 1:  # a random Hamiltonian path guarantees it
        perm = rng.permutation(n)
        U[np.minimum(perm[:-1], perm[1:]), np.maximum(perm[:-1], perm[1:])] = True
    A = (U | U.T).astype(float)
    return sp.csr_matrix(A)


def check_against_scipy(G, n_jobs=None):
    D = shortest_path(G, unweighted=True, directed=False)
    n_comp = connected_components(G, directed=False)[0]
    g = geodesic_mass(G, n_jobs=n_jobs)
    assert g.n_components == n_comp
    if n_comp == 1:
        assert np.isfinite(D).all()
        assert g.total == D.sum()
        # row_sums[i] = sum_j gamma(i, j); D is symmetric
        assert_array_equal(g.row_sums, D.sum(axis=1))
        assert g.row_sums.sum() == g.total
    else:
        assert g.total == np.inf
        assert np.isinf(g.row_sums).all()
    return g


SIZES = [3, 5, 17, 63, 64, 65, 127, 128, 129, 200, 257, 300]


@pytest.mark.parametrize("n", SIZES)
def test_sparse_erdos_renyi(n):
    rng = np.random.RandomState(n)
    G = erdos_renyi(n, 3.0 / n, rng)  # average degree ~3 + the path
    g = check_against_scipy(G)
    assert g.connected


@pytest.mark.parametrize("n", [5, 63, 129, 250])
def test_dense_erdos_renyi(n):
    rng = np.random.RandomState(1000 + n)
    G = erdos_renyi(n, 0.5, rng, connected=False)
    check_against_scipy(G)


@pytest.mark.parametrize("n", [10, 70, 200, 301])
def test_disconnected_erdos_renyi(n):
    rng = np.random.RandomState(2000 + n)
    G = erdos_renyi(n, 1.0 / n, rng, connected=False)  # many components
    g = check_against_scipy(G)
    assert g.n_components > 1


def test_long_path_deep_bfs():
    # diameter 399: many BFS levels; total = 2 * sum_{d=1}^{n-1} d (n - d)
    n = 400
    G = graph(n, [(i, i + 1) for i in range(n - 1)])
    expected = 2 * sum(d * (n - d) for d in range(1, n))
    assert geodesic_mass(G).total == expected
    check_against_scipy(G)


def path_mass(n):
    # gamma(i, j) = |i - j|: d occurs for n - d unordered pairs
    return 2 * sum(d * (n - d) for d in range(1, n))


def cycle_mass(n):
    # odd n: each row 2 * (1 + ... + (n-1)/2) = (n^2 - 1)/4;
    # even n: 2 * (1 + ... + (n/2 - 1)) + n/2 = n^2/4
    return n * (n * n - 1) // 4 if n % 2 else n**3 // 4


# sizes beyond one BFS batch per thread (batches hold at most a few hundred
# sources), so several batches run in one group, one after the other
@pytest.mark.parametrize("n", [513, 1025, 4501])
@pytest.mark.parametrize("n_jobs", [None, 2])
def test_path_and_cycle_closed_forms_many_batches(n, n_jobs):
    path = graph(n, [(i, i + 1) for i in range(n - 1)])
    g = geodesic_mass(path, n_jobs=n_jobs)
    assert g.total == path_mass(n)
    i = np.arange(n)
    # row i: sum_j |i - j| = i(i+1)/2 + (n-1-i)(n-i)/2
    assert_array_equal(g.row_sums, i * (i + 1) // 2 + (n - 1 - i) * (n - i) // 2)
    cyc = graph(n, [(i, (i + 1) % n) for i in range(n)])
    g = geodesic_mass(cyc, n_jobs=n_jobs)
    assert g.total == cycle_mass(n)
    assert_array_equal(g.row_sums, cycle_mass(n) // n)


@pytest.mark.parametrize("n", [700, 3001])
def test_large_sparse_graph_vs_scipy_in_chunks(n):
    rng = np.random.RandomState(n)
    G = erdos_renyi(n, 2.0 / n, rng)
    rows = np.concatenate([
        shortest_path(G, unweighted=True, directed=False,
                      indices=np.arange(s, min(s + 500, n))).sum(axis=1)
        for s in range(0, n, 500)
    ])
    for n_jobs in (None, 2):
        g = geodesic_mass(G, n_jobs=n_jobs)
        assert_array_equal(g.row_sums, rows)
        assert g.total == rows.sum()


@pytest.mark.parametrize("n, k", [(40, 3), (90, 5), (150, 37), (260, 65), (600, 150)])
@pytest.mark.parametrize("symmetrize", ["max", "sum"])
def test_knn_graphs_small_and_large_k(n, k, symmetrize):
    X = np.random.RandomState(n + k).normal(size=(n, 4))
    G = knn_graph(X, k, symmetrize=symmetrize)
    check_against_scipy(G)


def test_mutual_knn_graph_may_be_disconnected():
    X = np.random.RandomState(5).normal(size=(120, 3))
    G = knn_graph(X, 2, symmetrize="min")
    g = check_against_scipy(G)
    assert g.n_components > 1


@pytest.mark.parametrize("n", [17, 129, 300])
def test_n_jobs_identical(n):
    rng = np.random.RandomState(n)
    G = erdos_renyi(n, 4.0 / n, rng)
    g1 = geodesic_mass(G, n_jobs=1)
    g2 = geodesic_mass(G, n_jobs=2)
    gall = geodesic_mass(G, n_jobs=-1)
    assert g1.total == g2.total == gall.total
    assert_array_equal(g1.row_sums, g2.row_sums)
    assert_array_equal(g1.row_sums, gall.row_sums)


@pytest.mark.parametrize("n", [30, 200])
def test_permuting_labels(n):
    rng = np.random.RandomState(n)
    G = erdos_renyi(n, 3.0 / n, rng)
    perm = rng.permutation(n)
    g = geodesic_mass(G)
    gp = geodesic_mass(sp.csr_matrix(G[perm][:, perm]))
    assert gp.total == g.total
    # node i of the permuted graph is node perm[i] of the original
    assert_array_equal(gp.row_sums, g.row_sums[perm])


def test_multigraph_weights_ignored():
    rng = np.random.RandomState(0)
    n = 150
    G = erdos_renyi(n, 3.0 / n, rng)
    W = sp.triu(G, 1).tocoo()
    W.data = rng.choice([1.0, 2.0], size=W.nnz)  # multiplicities 1 or 2
    W = sp.csr_matrix(W + W.T)
    assert (W.data == 2).any()
    g, gw = geodesic_mass(G), geodesic_mass(W)
    assert gw.total == g.total
    assert_array_equal(gw.row_sums, g.row_sums)
    check_against_scipy(W)


def test_sum_graph_equals_max_graph_geodesics():
    # the "sum" multigraph has the support of the "max" graph
    X = np.random.RandomState(9).normal(size=(80, 3))
    assert (
        geodesic_mass(knn_graph(X, 4, symmetrize="sum")).total
        == geodesic_mass(knn_graph(X, 4, symmetrize="max")).total
    )


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "G, match",
    [
        (np.zeros((3, 4)), "square adjacency matrix"),
        (np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), "not symmetric"),
        (np.array([[0, -1], [-1, 0]]), "negative entries"),
        (np.array([[0, 1], [1, 1]]), "self-loop"),
        (np.array([[0, np.nan], [np.nan, 0]]), "non-finite"),
    ],
)
def test_bad_graphs(G, match):
    with pytest.raises(ValueError, match=match):
        geodesic_mass(G)


def test_n_jobs_zero():
    with pytest.raises(ValueError, match="n_jobs=0 is not valid"):
        geodesic_mass(graph(3, [(0, 1), (1, 2)]), n_jobs=0)


def _chunked_row_sums(G, chunk=500):
    n = G.shape[0]
    return np.concatenate([
        shortest_path(G, unweighted=True, directed=False,
                      indices=np.arange(s, min(s + chunk, n))).sum(axis=1)
        for s in range(0, n, chunk)
    ])


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_dense_knn_graph_many_batches_vs_scipy(n_jobs):
    # dense graphs over several source batches: the BFS switches from pushing
    # frontiers to pulling reached sets (and stopping early) at middle levels
    X = np.random.RandomState(7).normal(size=(2200, 4))
    G = knn_graph(X, 120)
    rows = _chunked_row_sums(G)
    g = geodesic_mass(G, n_jobs=n_jobs)
    assert_array_equal(g.row_sums, rows)
    assert g.total == rows.sum()


def test_dense_blob_plus_path_vs_scipy():
    # one dense block (pull levels) with a long path hanging off it (push
    # levels with a thin frontier): both directions in the same BFS
    rng = np.random.RandomState(3)
    block = erdos_renyi(300, 0.3, rng, connected=False)
    path = graph(500, [(i, i + 1) for i in range(499)])
    G = sp.block_diag([block, path], format="lil")
    G[0, 300] = G[300, 0] = 1
    G[10, 799] = G[799, 10] = 1  # close the path into a long cycle
    G = sp.csr_matrix(G)
    assert connected_components(G, directed=False)[0] == 1
    rows = _chunked_row_sums(G)
    assert_array_equal(geodesic_mass(G).row_sums, rows)


def test_irregular_graph_row_sums_after_relabelling(monkeypatch):
    # above the relabelling size the BFS runs on reverse Cuthill-McKee labels
    # and must hand each row sum back to its own node; paths and cycles cannot
    # tell (their row sums survive the relabelling), an irregular kNN graph
    # can: blobs of different density plus uniform noise, k = 8, joined by
    # the minimum spanning tree
    from sk_ricci import _geodesics

    rng = np.random.RandomState(0)
    X = np.r_[
        rng.normal(size=(2500, 2)),
        0.3 * rng.normal(size=(1200, 2)) + [4.0, 0.0],
        rng.uniform(-3, 6, size=(1300, 2)),
    ]
    X = X[rng.permutation(len(X))]
    G = knn_graph(X, 8, connect="mst")
    n = G.shape[0]
    # the relabelling rule: more than 4 source batches, mean degree < 100
    assert n > _geodesics._RELABEL_MIN_BATCHES * 64 * _geodesics._n_words(n, 1)
    assert G.nnz < _geodesics._RELABEL_MAX_DEGREE * n
    calls, rcm = [], _geodesics.reverse_cuthill_mckee

    def spy(*args, **kwargs):
        perm = rcm(*args, **kwargs)
        calls.append(perm)
        return perm

    monkeypatch.setattr(_geodesics, "reverse_cuthill_mckee", spy)
    g = geodesic_mass(G)
    monkeypatch.undo()
    assert len(calls) == 1 and (calls[0] != np.arange(n)).mean() > 0.9
    assert g.connected and g.total == g.row_sums.sum()
    # scipy's BFS on 800 random sources (all n would take half a minute)
    sources = np.sort(rng.choice(n, 800, replace=False))
    rows = shortest_path(G, unweighted=True, directed=False,
                         indices=sources).sum(axis=1)
    assert len(np.unique(rows)) > 700  # irregular: a scramble cannot hide
    assert_array_equal(g.row_sums[sources], rows)


def test_disconnected_dense_blobs_many_batches():
    rng = np.random.RandomState(4)
    X = np.r_[rng.normal(size=(800, 3)), 100 + rng.normal(size=(700, 3))]
    g = geodesic_mass(knn_graph(X, 60))
    assert g.total == np.inf
    assert g.n_components == 2


@pytest.mark.parametrize("seed", range(6))
def test_symmetry_check_against_scipy(seed):
    # the O(nnz) cursor check of check_graph against G != G.T
    from sk_ricci._kernels import csr_symmetric

    rng = np.random.RandomState(seed)
    n = [1, 2, 7, 40, 150, 300][seed]
    A = sp.random(n, n, density=0.1, random_state=rng, format="csr")
    S = sp.csr_matrix(A + A.T)
    cases = [S, sp.csr_matrix(A), sp.csr_matrix((n, n))]
    if S.nnz:
        T = S.copy()
        T.data[rng.randint(T.nnz)] += 1.0  # one weight differs from its mirror
        cases.append(T)
        U = S.tolil()
        i, j = S.nonzero()
        U[i[0], j[0]] = 0  # one entry without its mirror
        cases.append(sp.csr_matrix(U))
    for G in cases:
        G = sp.csr_matrix(G)
        G.eliminate_zeros()
        G.sort_indices()
        expected = (G != G.T).nnz == 0
        assert csr_symmetric(G.indptr, G.indices, G.data) == expected
