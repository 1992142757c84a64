"""kNN graphs against dense constructions; invariances; ties; MST; bad input."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.sparse.csgraph import minimum_spanning_tree
from sklearn.base import clone

from sk_ricci import KNNGraph, graph_from_neighbors, kneighbors, knn_graph
from sk_ricci._kernels import euclidean_mst

SYMMETRIZE = ["max", "min", "sum"]


def dead_relu_points(seed=0, n_zero=40, n_rand=20, d=5, shuffle=True):
    """40 identical zero rows (dead ReLU units) + 20 random rows."""
    rng = np.random.RandomState(seed)
    X = np.r_[np.zeros((n_zero, d)), np.abs(rng.normal(size=(n_rand, d)))]
    if shuffle:
        X = X[rng.permutation(len(X))]
    return X


def assert_graph_equal(G, dense):
    assert sp.issparse(G)
    assert_array_equal(G.toarray(), dense)


def check_graph_basics(G, n):
    assert G.shape == (n, n)
    assert G.dtype == np.float64
    assert (abs(G - G.T) > 0).nnz == 0  # symmetric
    assert not G.diagonal().any()  # no self-loops


# --------------------------------------------------------------------------
# the three conventions vs a dense construction
# --------------------------------------------------------------------------


@pytest.mark.parametrize("symmetrize", SYMMETRIZE)
@pytest.mark.parametrize("k", [1, 3, 8, 20])
def test_conventions_match_dense_oracle(oracle, symmetrize, k):
    X = np.random.RandomState(k).normal(size=(57, 4))
    G = knn_graph(X, k, symmetrize=symmetrize)
    check_graph_basics(G, 57)
    assert_graph_equal(G, oracle.dense_graph(X, k, symmetrize))


def test_sum_degrees_are_in_plus_out(oracle):
    X = np.random.RandomState(0).normal(size=(50, 3))
    k = 6
    A = oracle.directed_knn(X, k)
    G = knn_graph(X, k, symmetrize="sum")
    deg = np.asarray(G.sum(axis=1)).ravel()
    assert_array_equal(deg, A.sum(axis=1) + A.sum(axis=0))
    assert_array_equal(A.sum(axis=1), k)  # out-degree k
    # "max" degrees count distinct neighbours, mutual pairs have weight 2 in "sum"
    Gmax = knn_graph(X, k, symmetrize="max")
    assert_array_equal(np.asarray(Gmax.sum(axis=1)).ravel(), ((A | A.T) != 0).sum(1))
    assert set(np.unique(G.data)) <= {1.0, 2.0}
    assert_array_equal(G.toarray() == 2, (A & A.T) == 1)


def test_hand_computed_line():
    # points 0, 1, 3, 6: kNN(k=1) 0->1, 1->0, 2->1, 3->2
    X = np.array([[0.0], [1.0], [3.0], [6.0]])
    assert_array_equal(knn_graph(X, 1, symmetrize="min").toarray(),
                       [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    assert_array_equal(knn_graph(X, 1, symmetrize="max").toarray(),
                       [[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]])


def test_exact_ties_broken_by_index():
    # integer points on a line: point i has i-1 and i+1 at distance 1 and
    # the lower index must win, then i+1, then i-2 before i+2, ...
    X = np.arange(10.0).reshape(-1, 1)
    idx, dist = kneighbors(X, 4)
    assert_array_equal(idx[0], [1, 2, 3, 4])
    assert_array_equal(idx[5], [4, 6, 3, 7])
    assert_array_equal(idx[9], [8, 7, 6, 5])
    assert_array_equal(dist[5], [1, 1, 2, 2])
    idx1, _ = kneighbors(X, 1)
    assert_array_equal(idx1.ravel(), [1, 0, 1, 2, 3, 4, 5, 6, 7, 8])


def test_lattice_ties_match_oracle(oracle):
    # 6 x 6 integer grid: every interior point has 4 neighbours at distance 1
    # and 4 more at sqrt(2): many exact ties
    g = np.arange(6.0)
    X = np.array([(a, b) for a in g for b in g])
    for k in (1, 3, 4, 6, 9):
        idx, dist = kneighbors(X, k)
        ref_idx, ref_dist = oracle.dense_knn(X, k)
        assert_array_equal(idx, ref_idx)
        assert_allclose(dist, ref_dist)
        for sym in SYMMETRIZE:
            assert_graph_equal(knn_graph(X, k, symmetrize=sym),
                               oracle.dense_graph(X, k, sym))


@pytest.mark.parametrize("k", [1, 5, 39, 45])
@pytest.mark.parametrize("symmetrize", SYMMETRIZE)
def test_dead_relu_duplicates(oracle, k, symmetrize):
    X = dead_relu_points()
    G = knn_graph(X, k, symmetrize=symmetrize)
    check_graph_basics(G, 60)
    assert_graph_equal(G, oracle.dense_graph(X, k, symmetrize))
    G2 = knn_graph(X, k, symmetrize=symmetrize)
    assert_array_equal(G.toarray(), G2.toarray())


def test_dead_relu_neighbours_by_hand():
    # unshuffled: rows 0..39 are zero. A zero row's nearest neighbours are
    # the other zero rows (distance 0), lowest indices first.
    X = dead_relu_points(shuffle=False)
    idx, dist = kneighbors(X, 5)
    assert_array_equal(idx[0], [1, 2, 3, 4, 5])
    assert_array_equal(idx[3], [0, 1, 2, 4, 5])
    assert_array_equal(idx[39], [0, 1, 2, 3, 4])
    assert_array_equal(dist[:40], 0)
    # k = 41: all 39 other zero rows, then the random rows closest to 0
    idx, dist = kneighbors(X, 41)
    norms = np.linalg.norm(X[40:], axis=1)
    nearest = 40 + np.argsort(norms)[:2]
    assert_array_equal(idx[0], list(range(1, 40)) + list(nearest))
    assert_allclose(dist[0, 39:], np.sort(norms)[:2])


@pytest.mark.parametrize("k", [1, 31, 32, 33, 127, 250, 439])
def test_kneighbors_both_selection_paths_with_duplicates(oracle, k):
    # n = 440 rows, k from 1 to almost n (with and without the sampled
    # threshold): the selection must
    # agree with the dense oracle, ties included
    rng = np.random.RandomState(k)
    X = np.r_[np.zeros((150, 5)), rng.normal(size=(250, 5)),
              np.ones((40, 5))]
    idx, dist = kneighbors(X, k)
    ref_idx, ref_dist = oracle.dense_knn(X, k)
    assert_array_equal(idx, ref_idx)
    assert_allclose(dist, ref_dist, rtol=1e-12, atol=0)


@pytest.mark.parametrize("k", [33, 100, 400])
def test_kneighbors_sampled_selection_with_duplicates(oracle, k):
    # n >= 512 exercises the sampled threshold of the quickselect path, with a
    # block of identical rows (dead ReLUs) and a cluster far away
    rng = np.random.RandomState(k)
    X = np.r_[rng.normal(size=(700, 4)), np.zeros((300, 4)),
              50 + rng.normal(size=(200, 4))]
    idx, dist = kneighbors(X, k)
    ref_idx, ref_dist = oracle.dense_knn(X, k)
    assert_array_equal(idx, ref_idx)
    assert_allclose(dist, ref_dist, rtol=1e-12, atol=0)


def _sample_defeating_points(seed=0):
    """512 points whose strided sample (every 8th row) is a tight cluster:
    the sampled threshold then keeps too few candidates for large k, and the
    selection must fall back to the whole row."""
    rng = np.random.RandomState(seed)
    X = 10 + 3 * rng.normal(size=(512, 3))
    X[::8] = 1e-3 * rng.normal(size=(64, 3))
    return X


@pytest.mark.parametrize("k", [5, 40, 100, 300])
def test_kneighbors_sample_fallback_matches_oracle(oracle, k):
    X = _sample_defeating_points()
    idx, dist = kneighbors(X, k)
    ref_idx, ref_dist = oracle.dense_knn(X, k)
    assert_array_equal(idx, ref_idx)
    assert_allclose(dist, ref_dist, rtol=1e-12, atol=0)


@pytest.mark.parametrize("make", ["gauss", "dead_relu", "fallback", "lattice"])
@pytest.mark.parametrize("k", [1, 9, 33, 150])
def test_unsorted_neighbour_sets_match_oracle(oracle, make, k):
    # the single-k fast path (sort=False) returns each row's neighbour *set*
    # in index order, with exact sorting only where a near-tie needs it
    from sk_ricci._graph import _kneighbors_sq

    rng = np.random.RandomState(k)
    X = {
        "gauss": lambda: rng.normal(size=(600, 5)),
        "dead_relu": lambda: np.r_[np.zeros((200, 4)),
                                   np.abs(rng.normal(size=(400, 4)))],
        "fallback": _sample_defeating_points,
        "lattice": lambda: np.indices((10, 10, 6)).reshape(3, -1).T * 1.0,
    }[make]()
    idx, sqd = _kneighbors_sq(X, k, "brute", "euclidean", None, None, sort=False)
    ref_idx, _ = oracle.dense_knn(X, k)
    assert_array_equal(np.sort(idx, axis=1), np.sort(ref_idx, axis=1))
    # the distances belong to the listed neighbours
    exact = ((X[:, None, :] - X[idx]) ** 2).sum(-1)
    assert_allclose(sqd, exact, rtol=1e-9, atol=1e-9 * (X**2).sum(1).max())


@pytest.mark.parametrize("k", [1, 7, 30])
def test_kneighbors_matches_oracle(oracle, k):
    X = np.random.RandomState(k).normal(size=(70, 6))
    idx, dist = kneighbors(X, k)
    ref_idx, ref_dist = oracle.dense_knn(X, k)
    assert idx.shape == dist.shape == (70, k)
    assert_array_equal(idx, ref_idx)
    assert_allclose(dist, ref_dist, rtol=1e-12)
    assert np.all(np.diff(dist, axis=1) >= 0)


@pytest.mark.parametrize("offset", [1e3, 1e6, 1e8])
def test_kneighbors_far_from_origin(oracle, offset):
    # large offset: ||x||^2 - 2 x.y + ||y||^2 cancels badly (at 1e8 its
    # rounding error exceeds the squared distances themselves); the result
    # must still be the exact kNN of the direct differences
    X = np.random.RandomState(0).normal(size=(60, 3)) + offset
    idx, dist = kneighbors(X, 5)
    ref_idx, ref_dist = oracle.dense_knn(X, 5)
    assert_array_equal(idx, ref_idx)
    assert_allclose(dist, ref_dist, rtol=1e-12)


def test_symmetric_ties_off_origin_broken_by_index():
    # x_c - v and x_c + v are exactly as far from x_c (the direct differences
    # are exact here), but the expansion rounds them differently: the lower
    # index must still come first
    c = np.full(3, 12345.678)
    v = np.array([0.5, 0.25, 0.125])
    X = np.array([c + v, c, c - v, c + 4 * v])
    idx, dist = kneighbors(X, 2)
    assert_array_equal(idx[1], [0, 2])
    assert dist[1, 0] == dist[1, 1]


def test_grid_of_k_equals_separate_calls():
    X = np.random.RandomState(0).normal(size=(80, 5))
    ks = [12, 2, 5, 30]
    for sym in SYMMETRIZE:
        graphs = knn_graph(X, ks, symmetrize=sym)
        assert isinstance(graphs, list) and len(graphs) == len(ks)
        for k, G in zip(ks, graphs):
            assert_array_equal(G.toarray(), knn_graph(X, k, symmetrize=sym).toarray())
    for k, G in zip(ks, knn_graph(X, ks, connect="mst")):
        assert_array_equal(G.toarray(), knn_graph(X, k, connect="mst").toarray())
    # and the dead-ReLU case with ties
    Xd = dead_relu_points()
    for k, G in zip([3, 41], knn_graph(Xd, [3, 41], symmetrize="sum")):
        assert_array_equal(G.toarray(), knn_graph(Xd, k, symmetrize="sum").toarray())


def test_graph_from_neighbors_prefix():
    X = np.random.RandomState(1).normal(size=(40, 3))
    idx, _ = kneighbors(X, 10)
    for sym in SYMMETRIZE:
        for k in (1, 4, 10):
            assert_array_equal(
                graph_from_neighbors(idx, k, symmetrize=sym).toarray(),
                knn_graph(X, k, symmetrize=sym).toarray(),
            )
        assert_array_equal(graph_from_neighbors(idx, symmetrize=sym).toarray(),
                           knn_graph(X, 10, symmetrize=sym).toarray())


# --------------------------------------------------------------------------
# invariances
# --------------------------------------------------------------------------


@pytest.mark.parametrize("symmetrize", SYMMETRIZE)
def test_isometry_invariance(symmetrize):
    rng = np.random.RandomState(42)
    X = rng.uniform(size=(80, 5)) * 10
    Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    Y = X @ Q + rng.normal(size=5) * 7
    for k in (3, 10):
        assert_array_equal(knn_graph(X, k, symmetrize=symmetrize).toarray(),
                           knn_graph(Y, k, symmetrize=symmetrize).toarray())


@pytest.mark.parametrize("symmetrize", SYMMETRIZE)
def test_permutation_equivariance(symmetrize):
    rng = np.random.RandomState(7)
    X = rng.normal(size=(90, 4))
    perm = rng.permutation(90)
    for k in (2, 9):
        G = knn_graph(X, k, symmetrize=symmetrize)
        Gp = knn_graph(X[perm], k, symmetrize=symmetrize)
        assert_array_equal(Gp.toarray(), G[perm][:, perm].toarray())
    G = knn_graph(X, 1, connect="mst")
    Gp = knn_graph(X[perm], 1, connect="mst")
    assert_array_equal(Gp.toarray(), G[perm][:, perm].toarray())


# --------------------------------------------------------------------------
# approximate search
# --------------------------------------------------------------------------


def test_nndescent_recall_and_determinism(oracle):
    X = np.random.RandomState(0).normal(size=(600, 10))
    k = 10
    idx, dist = kneighbors(X, k, algorithm="nndescent", random_state=0)
    ref, _ = oracle.dense_knn(X, k)
    recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(idx, ref)])
    assert recall >= 0.95
    assert not np.any(idx == np.arange(600)[:, None])  # no self
    # returned distances are exact for the returned pairs and sorted
    D = np.sqrt(oracle.dense_sqdist(X))
    assert_allclose(dist, D[np.arange(600)[:, None], idx], rtol=1e-12)
    assert np.all(np.diff(dist, axis=1) >= 0)
    idx2, _ = kneighbors(X, k, algorithm="nndescent", random_state=0)
    assert_array_equal(idx, idx2)
    G = knn_graph(X, k, algorithm="nndescent", random_state=0, symmetrize="sum")
    check_graph_basics(G, 600)
    assert_array_equal(G.toarray(),
                       knn_graph(X, k, algorithm="nndescent", random_state=0,
                                 symmetrize="sum").toarray())


def integer_lattice(m):
    """The m x m integer grid, row-major: every distance comes in exact ties
    (an interior point has 4 points at 1, 4 at sqrt 2, 4 at 2, 8 at sqrt 5)."""
    g = np.arange(float(m))
    return np.array([(a, b) for a in g for b in g])


def test_nndescent_lattice_ties_in_documented_order(oracle):
    # kneighbors documents the order (distance, index) for every algorithm;
    # Gaussian data never ties, so only a lattice can tell index ascending
    # from any other order within a tie
    X = integer_lattice(25)
    n, kmax, ks = X.shape[0], 20, [1, 4, 6, 12, 20]
    idx, dist = kneighbors(X, kmax, algorithm="nndescent", random_state=0)
    rows = np.arange(n)[:, None]
    sq = oracle.dense_sqdist(X)[rows, idx]  # exact integers
    assert not np.any(idx == rows)
    assert_array_equal(dist, np.sqrt(sq))
    # every row strictly increasing in (distance, index)
    dsq, didx = np.diff(sq, axis=1), np.diff(idx, axis=1)
    assert np.all((dsq > 0) | ((dsq == 0) & (didx > 0)))
    assert np.any((dsq == 0) & (didx > 0))  # the data really have ties
    # the search finds the exact distances (a small, easy lattice) ...
    ref_idx, _ = oracle.dense_knn(X, kmax + 1)
    ref_sq = oracle.dense_sqdist(X)[rows, ref_idx]
    assert_array_equal(sq, ref_sq[:, :kmax])
    # ... so wherever the tie group at position k lies wholly inside the
    # found lists (its distance below the last one, or the last group
    # complete), the first k neighbours are exactly the oracle's
    last = ref_sq[:, kmax - 1]
    whole = ref_sq[:, kmax] > last
    brute_idx, _ = kneighbors(X, kmax, algorithm="brute")
    assert_array_equal(brute_idx, ref_idx[:, :kmax])  # brute, for contrast
    for k in ks:
        ok = (ref_sq[:, k - 1] < last) | whole
        assert ok.sum() > n // 2
        assert_array_equal(idx[ok, :k], ref_idx[ok, :k])
        assert_array_equal(idx[ok, :k], brute_idx[ok, :k])
    # a grid of k is one search: each graph is built from a prefix of the
    # same lists (and brute's grid from the oracle's lists)
    graphs = knn_graph(X, ks, algorithm="nndescent", random_state=0)
    brute_graphs = knn_graph(X, ks, algorithm="brute")
    for k, G, B in zip(ks, graphs, brute_graphs):
        assert_array_equal(G.toarray(), graph_from_neighbors(idx, k).toarray())
        assert_graph_equal(B, oracle.dense_graph(X, k, "max"))
    for sym in ("min", "sum"):
        for k, G in zip(ks, knn_graph(X, ks, symmetrize=sym,
                                      algorithm="nndescent", random_state=0)):
            assert_array_equal(
                G.toarray(),
                graph_from_neighbors(idx, k, symmetrize=sym).toarray(),
            )


# --------------------------------------------------------------------------
# connect="mst"
# --------------------------------------------------------------------------


def scipy_mst_edges(X, oracle):
    T = minimum_spanning_tree(np.sqrt(oracle.dense_sqdist(X)))
    return oracle.edge_set(T)


def two_blobs(seed=0, n=40):
    rng = np.random.RandomState(seed)
    return np.r_[rng.normal(size=(n, 3)), rng.normal(size=(n, 3)) + 40.0]


@pytest.mark.parametrize("symmetrize", SYMMETRIZE)
@pytest.mark.parametrize("k", [1, 3, 10])
def test_mst_connects_two_blobs(oracle, symmetrize, k):
    X = two_blobs()
    Gk = knn_graph(X, k, symmetrize=symmetrize)
    assert oracle.n_components(Gk) >= 2  # the blobs are apart at these k
    G = knn_graph(X, k, symmetrize=symmetrize, connect="mst")
    check_graph_basics(G, 80)
    assert oracle.n_components(G) == 1
    mst = scipy_mst_edges(X, oracle)
    # union = kNN edges OR MST edges
    assert oracle.edge_set(G) == oracle.edge_set(Gk) | mst
    # added edges are exactly the MST edges the kNN graph lacks, weight 1,
    # and existing multiplicities ("sum") are kept
    added = oracle.edge_set(G) - oracle.edge_set(Gk)
    assert added == mst - oracle.edge_set(Gk)
    assert any(i < 40 <= j for i, j in added)  # the bridge between the blobs
    D = G.toarray()
    for i, j in added:
        assert D[i, j] == 1
    Dk = Gk.toarray()
    keep = Dk != 0
    assert_array_equal(D[keep], Dk[keep])


@pytest.mark.parametrize("seed, n_blobs, k", [(0, 2, 1), (1, 5, 2), (2, 5, 6),
                                              (3, 1, 1)])
def test_euclidean_mst_kernel_against_scipy(oracle, seed, n_blobs, k):
    rng = np.random.RandomState(seed)
    X = np.concatenate([rng.normal(size=(30, 4)) + 25 * rng.normal(size=4)
                        for _ in range(n_blobs)])
    idx, dist = kneighbors(X, k)
    edges = euclidean_mst(X, idx, dist**2)
    assert edges.shape == (len(X) - 1, 2)
    got = {(int(min(a, b)), int(max(a, b))) for a, b in edges}
    assert got == scipy_mst_edges(X, oracle)
    ref, _ = oracle.prim_mst(X)
    assert got == ref


def test_mst_with_duplicate_points(oracle):
    # dead-ReLU data: the MST is not unique, its length is. Compare with a
    # plain Prim (scipy's MST reads the zero distances as missing edges).
    X = dead_relu_points()
    G = knn_graph(X, 2, connect="mst")
    assert oracle.n_components(G) == 1
    idx, dist = kneighbors(X, 2)
    edges = euclidean_mst(X, idx, dist**2)
    assert len({(min(a, b), max(a, b)) for a, b in edges}) == 59
    length = np.linalg.norm(X[edges[:, 0]] - X[edges[:, 1]], axis=1).sum()
    assert length == pytest.approx(oracle.prim_mst(X)[1], rel=1e-12)
    # deterministic
    assert_array_equal(G.toarray(), knn_graph(X, 2, connect="mst").toarray())


# integer points: exact squared distances, many exact ties.
# squared distances: 3-4: 1; 0-4: 4; 1-2: 4; 0-1, 0-2, 0-3, 1-4: 5; 1-3: 10;
# 2-4: 13; 2-3: 18. Kruskal in (d, i, j) order: (3,4), (0,4), (1,2), then the
# first d=5 edge joining {0,3,4} and {1,2} is (0,1). The kNN graph (k=2,
# "max") is 0-1, 0-2, 0-3, 0-4, 1-2, 3-4: it already holds that tree.
TIED = np.array([[1.0, 1.0], [2.0, 3.0], [0.0, 3.0], [3.0, 0.0], [3.0, 1.0]])
TIED_MST = {(3, 4), (0, 4), (1, 2), (0, 1)}


def test_tied_example_by_hand(oracle):
    assert oracle.kruskal_mst(TIED) == TIED_MST
    assert oracle.edge_set(knn_graph(TIED, 2)) == {
        (0, 1), (0, 2), (0, 3), (0, 4), (1, 2), (3, 4)
    }


def test_euclidean_mst_kernel_tie_order_with_exact_distances(oracle):
    # the kernel itself orders edges by (squared distance, indices) when it
    # is given exact squared distances
    rng = np.random.RandomState(0)
    for _ in range(30):
        X = rng.randint(0, 4, size=(25, 2)).astype(float)
        D = oracle.dense_sqdist(X)
        for k in (1, 3, 8):
            idx, _ = kneighbors(X, k)
            sq = D[np.arange(25)[:, None], idx]
            got = {(int(a), int(b)) for a, b in euclidean_mst(X, idx, sq)}
            assert got == oracle.kruskal_mst(X)


def test_mst_exact_ties_broken_by_index(oracle):
    G = knn_graph(TIED, 2, connect="mst")
    # expected: kNN edges | TIED_MST = the kNN graph itself; got an extra (1, 4)
    assert oracle.edge_set(G) == oracle.edge_set(knn_graph(TIED, 2)) | TIED_MST


def test_mst_grid_equals_separate_calls_with_ties(oracle):
    rng = np.random.RandomState(0)
    for _ in range(10):
        X = rng.randint(0, 4, size=(30, 2)).astype(float) @ [[1, 1], [1, -1]]
        for k, G in zip([1, 2, 5], knn_graph(X, [1, 2, 5], connect="mst")):
            assert_array_equal(G.toarray(),
                               knn_graph(X, k, connect="mst").toarray())
            knn = oracle.edge_set(oracle.dense_graph(X, k, "max"))
            assert oracle.edge_set(G) == knn | oracle.kruskal_mst(X)


# --------------------------------------------------------------------------
# KNNGraph
# --------------------------------------------------------------------------


def test_knngraph_transformer_equals_function():
    X = np.random.RandomState(0).normal(size=(30, 3))
    for sym in SYMMETRIZE:
        est = KNNGraph(n_neighbors=4, symmetrize=sym, connect="mst")
        G = est.fit_transform(X)
        assert est.n_features_in_ == 3
        assert_array_equal(
            G.toarray(), knn_graph(X, 4, symmetrize=sym, connect="mst").toarray()
        )
    est2 = pickle.loads(pickle.dumps(est))
    assert_array_equal(est2.transform(X).toarray(), est.transform(X).toarray())
    assert clone(est).get_params() == est.get_params()


def test_knngraph_transform_checks_features():
    X = np.random.RandomState(0).normal(size=(30, 3))
    est = KNNGraph(n_neighbors=4).fit(X)
    with pytest.raises(ValueError, match="features"):
        est.transform(X[:, :2])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_neighbors": 0}, "KNNGraph: n_neighbors must be an int >= 1; got int 0"),
        ({"n_neighbors": 30}, "must be smaller than n_samples=30"),
        ({"symmetrize": "avg"},
         "KNNGraph: symmetrize must be one of 'max', 'min', 'sum'; got str 'avg'"),
        ({"connect": "full"}, "KNNGraph: connect must be one of None, 'mst'"),
        ({"algorithm": "ball_tree"},
         ("KNNGraph: algorithm must be one of 'auto', 'brute', 'nndescent'; "
         "got str 'ball_tree'")),
        ({"n_jobs": 0}, "KNNGraph: n_jobs must be None or a non-zero int"),
        ({"random_state": 1.5}, "KNNGraph: random_state must be None or an int"),
    ],
)
def test_knngraph_validates_in_fit(params, match):
    X = np.random.RandomState(0).normal(size=(30, 3))
    est = KNNGraph(**{"n_neighbors": 3, **params})
    with pytest.raises(ValueError, match=match):
        est.fit(X)


def test_knngraph_rejects_list_n_neighbors():
    # regression: a list used to be accepted and transform returned a list
    X = np.random.RandomState(0).normal(size=(30, 3))
    with pytest.raises(TypeError, match=r"KNNGraph: n_neighbors must be an int "
                       r">= 1; got list \[3, 5\]\. Pass one int such as "
                       r"n_neighbors=10; for a grid of k .*knn_graph"):
        KNNGraph(n_neighbors=[3, 5]).fit(X)


def test_knngraph_feature_names_out():
    X = np.random.RandomState(0).normal(size=(6, 3))
    est = KNNGraph(n_neighbors=2).fit(X)
    assert list(est.get_feature_names_out()) == [f"knngraph{i}" for i in range(6)]


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------

X_OK = np.random.RandomState(0).normal(size=(10, 2))


@pytest.mark.parametrize(
    "X, exc, match",
    [
        (np.r_[X_OK, [[np.nan, 0.0]]], ValueError,
         r"1 non-finite value\(s\) \(NaN\) in 1 row\(s\), first at row 10"),
        (np.r_[X_OK, [[0.0, np.inf]]], ValueError, r"non-finite value\(s\) \(inf\)"),
        (np.r_[X_OK, [[0.0, -np.inf]]], ValueError, r"\(inf\)"),
        (np.arange(10.0), ValueError, "must be 2-D"),
        (np.zeros((4, 2, 2)), ValueError, "must be 2-D"),
        (np.array([["a", "b"], ["c", "d"], ["e", "f"]]), TypeError,
         "must hold numbers, got dtype <U1"),
        (np.array([[1, "b"], [2, None], [3, 4]], dtype=object), TypeError,
         "must hold numbers, got dtype object"),
        (X_OK[:1], ValueError, "at least 2 are needed"),
        (np.zeros((5, 0)), ValueError, "0 features"),
        (sp.csr_matrix(X_OK), TypeError, "dense array of points"),
        (X_OK.astype(complex), TypeError, "real-valued"),
    ],
)
def test_bad_points(X, exc, match):
    with pytest.raises(exc, match=match):
        knn_graph(X, 1)
    with pytest.raises(exc, match=match):
        kneighbors(X, 1)


@pytest.mark.parametrize(
    "n_neighbors, exc, match",
    [
        (0, ValueError, "n_neighbors=0 must be >= 1"),
        (-3, ValueError, "n_neighbors=-3 must be >= 1"),
        (10, ValueError, "n_neighbors=10 must be smaller than n_samples=10"),
        (11, ValueError, "must be smaller than n_samples"),
        (2.0, TypeError, "must be an int or a list of ints, got float 2.0"),
        (np.float64(2), TypeError, "must be an int or a list of ints, got float"),
        (True, TypeError, "got bool True"),
        ([3, 2.5], TypeError, "must contain ints, got float 2.5"),
        ("3", TypeError, "must be an int or a list of ints, got str '3'"),
        (None, TypeError, "must be an int or a list of ints"),
        ([], ValueError, "empty list"),
        ([3, 0], ValueError, "n_neighbors=0 must be >= 1"),
        ([3, 12], ValueError, "must be smaller than n_samples=10"),
    ],
)
def test_bad_n_neighbors(n_neighbors, exc, match):
    with pytest.raises(exc, match=match):
        knn_graph(X_OK, n_neighbors)


def test_numpy_int_n_neighbors_accepted():
    assert_array_equal(knn_graph(X_OK, np.int64(3)).toarray(),
                       knn_graph(X_OK, 3).toarray())
    assert len(knn_graph(X_OK, np.array([2, 3]))) == 2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"symmetrize": "union"}, "symmetrize='union' is not supported; expected"),
        ({"connect": "tree"}, "connect='tree' is not supported"),
        ({"algorithm": "kd_tree"}, "algorithm='kd_tree' is not supported"),
        ({"metric": "manhattan", "algorithm": "brute"}, "metric='manhattan'"),
        ({"metric": "cosine"}, "metric='cosine'"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        knn_graph(X_OK, 2, **kwargs)


@pytest.mark.parametrize("algorithm", ["brute", "nndescent", "auto"])
def test_metric_error_is_consistent(algorithm):
    # regression: brute used to advise algorithm='nndescent', which then
    # rejected the metric too
    with pytest.raises(ValueError, match="metric='manhattan' is not supported") as e:
        kneighbors(X_OK, 2, metric="manhattan", algorithm=algorithm)
    assert "nndescent" not in str(e.value)
    with pytest.raises(ValueError, match="KNNGraph: metric must be one of "
                       "'euclidean'; got str 'cosine'. sk_ricci builds Euclidean"):
        KNNGraph(n_neighbors=2, metric="cosine").fit(X_OK)


def test_graph_from_neighbors_bad_k():
    idx, _ = kneighbors(X_OK, 3)
    with pytest.raises(ValueError, match="between 1 and the 3 neighbours"):
        graph_from_neighbors(idx, 4)
    with pytest.raises(ValueError, match="between 1 and the 3"):
        graph_from_neighbors(idx, 0)
    with pytest.raises(ValueError, match="symmetrize='both' is not supported"):
        graph_from_neighbors(idx, 2, symmetrize="both")


@pytest.mark.parametrize(
    "indices, match",
    [
        (np.array([[1], [2], [5]]), r"in \[0, 2\].*from 1 to 5"),
        (np.array([[1], [-1], [0]]), r"in \[0, 2\].*from -1 to 1"),
        (np.array([[1.0], [0.0], [1.0]]), "2-D integer array"),
        (np.array([1, 0, 1]), "2-D integer array"),
        (np.empty((3, 0), dtype=int), "2-D integer array"),
    ],
)
def test_graph_from_neighbors_bad_indices(indices, match):
    with pytest.raises(ValueError, match=match):
        graph_from_neighbors(indices)


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("n, k", [(50, 1), (300, 1), (300, 4), (700, 2), (700, 40)])
def test_symmetric_csr_bitmap_and_scatter_agree_with_dense(mode, n, k):
    # the two constructions of symmetric_knn_csr against a dense A, A + A^T
    from sk_ricci._kernels.csr import (
        _symmetric_knn_csr_bitmap,
        _symmetric_knn_csr_scatter,
    )

    idx = kneighbors(np.random.RandomState(n + k).normal(size=(n, 3)), k)[0]
    A = np.zeros((n, n))
    A[np.repeat(np.arange(n), k), idx.ravel()] = 1
    dense = [np.maximum(A, A.T), np.minimum(A, A.T), A + A.T][mode]
    for build in (_symmetric_knn_csr_bitmap, _symmetric_knn_csr_scatter):
        indptr, cols, data = build(idx, k, mode)
        G = sp.csr_matrix((data, cols, indptr), shape=(n, n))
        assert_array_equal(G.toarray(), dense)
        # no duplicate entries within a row
        assert all(len(set(r)) == len(r) for r in np.split(cols, indptr[1:-1]))


@pytest.mark.parametrize("sort", [True, False])
def test_constant_features_dropped_exactly(oracle, sort):
    # dead ReLU units are constant columns: dropping them must change neither
    # the neighbours nor the exact distances
    from sk_ricci._graph import _kneighbors_sq

    rng = np.random.RandomState(3)
    X = rng.normal(size=(400, 6))
    X[:, [1, 4]] = 0.0
    X[:, 5] = 7.5
    idx, sqd = _kneighbors_sq(X, 25, "brute", "euclidean", None, None, sort=sort)
    ref_idx, _ = oracle.dense_knn(X, 25)
    if sort:
        assert_array_equal(idx, ref_idx)
        assert_array_equal(sqd, ((X[:, None, :] - X[idx]) ** 2).sum(-1))
    else:
        assert_array_equal(np.sort(idx, axis=1), np.sort(ref_idx, axis=1))


def test_all_points_identical():
    # every feature constant: all distances tie at 0, broken by index
    X = np.full((30, 4), 2.0)
    idx, dist = kneighbors(X, 3)
    expected = [[j for j in range(30) if j != i][:3] for i in range(30)]
    assert_array_equal(idx, expected)
    assert not dist.any()


@pytest.mark.parametrize("m", [1, 2, 64, 65, 300])
def test_radix_order_is_a_stable_sort(m):
    # the candidate sort of the exact search: ascending, ties by position
    from sk_ricci._kernels.knn import _radix_order

    rng = np.random.RandomState(m)
    vals = rng.choice([0.0, 1e-300, 0.25, 3.0, 3.0 + 2**-50, 7e12, np.inf], m)
    vals[: m // 2] = rng.rand(m // 2) * 4.0  # plus many distinct values
    idx = rng.permutation(10 * m)[:m].astype(np.int64)
    kv, tv = np.empty(m), np.empty(m)
    ki, ti = np.empty(m, np.int64), np.empty(m, np.int64)
    _radix_order(vals, idx, m, kv, ki, tv, ti, np.empty(256, np.int64))
    order = np.lexsort((np.arange(m), vals))  # by value, then position
    assert_array_equal(kv, vals[order])
    assert_array_equal(ki, idx[order])


@pytest.mark.parametrize("k", [3, 40, 200])
def test_parallel_search_and_mst_equal_serial(oracle, k):
    # n_jobs=2 splits the rows of the search and of the MST scans over
    # numba's threads; the split must not change anything, ties included
    X = np.r_[np.random.RandomState(k).normal(size=(600, 4)), np.zeros((100, 4)),
              40 + np.random.RandomState(0).normal(size=(50, 4))]
    idx1, d1 = kneighbors(X, k)
    idx2, d2 = kneighbors(X, k, n_jobs=2)
    assert_array_equal(idx1, idx2)
    assert_array_equal(d1, d2)
    assert_array_equal(idx1, oracle.dense_knn(X, k)[0])
    G1 = knn_graph(X, k, connect="mst")
    G2 = knn_graph(X, k, connect="mst", n_jobs=2)
    assert (G1 != G2).nnz == 0


def _hidden_layer_points(seed, n=1000):
    """Points like a study's hidden layer: ReLU of a random 50-unit layer of
    3-D inputs (non-negative, several units dead for most points)."""
    rng = np.random.RandomState(seed)
    return np.maximum(rng.normal(size=(n, 3)) @ rng.normal(size=(3, 50))
                      + rng.normal(size=50), 0.0)


@pytest.mark.parametrize("k", [1, 10, 50, 200])
def test_kneighbors_matches_sklearn_brute_on_a_study_sized_layer(k):
    # an independent implementation: scikit-learn's brute-force search, on
    # n = 1,000 (the sampled-threshold path), where no two distances tie
    from sklearn.neighbors import NearestNeighbors

    X = _hidden_layer_points(k)
    idx, dist = kneighbors(X, k)
    ref_dist, ref_idx = NearestNeighbors(
        n_neighbors=k, algorithm="brute"
    ).fit(X).kneighbors()  # no query: each point's own row is left out
    assert_array_equal(idx, ref_idx)
    assert_allclose(dist, ref_dist, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("k", [4, 10, 60])
def test_kneighbors_ties_of_a_large_grid_with_duplicates(oracle, k):
    # 1,024 points (sampled threshold): a 16 x 16 integer grid, each point
    # four times (two of them 0.5 apart on a diagonal): exact ties everywhere,
    # broken by index as the dense oracle breaks them; scikit-learn's brute
    # search finds the same distances in another tie order
    from sklearn.neighbors import NearestNeighbors

    g = np.indices((16, 16)).reshape(2, -1).T * 1.0
    X = np.r_[g, g, g + 0.5, g]
    X = X[np.random.RandomState(k).permutation(len(X))]
    idx, dist = kneighbors(X, k)
    ref_idx, ref_dist = oracle.dense_knn(X, k)
    assert_array_equal(idx, ref_idx)
    assert_allclose(dist, ref_dist, rtol=1e-12, atol=0)
    sk_dist, _ = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(X).kneighbors()
    assert_allclose(dist, sk_dist, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_euclidean_mst_gram_scan_is_the_exact_scan(oracle, monkeypatch, n_jobs):
    # large layers scan Boruvka's unresolved points through BLAS Gram blocks
    # with an exact recheck of near ties; forced here on small data, it must
    # give the exact tree: blobs against scipy, integer points with many
    # exact ties against Kruskal in (distance, indices) order, duplicated
    # points (dead ReLUs) by length, wide layers against the loop scan
    import sk_ricci._kernels.mst as mst

    calls = []
    kernel = mst._gram_outside
    monkeypatch.setattr(mst, "_gram_outside",
                        lambda *a: calls.append(1) or kernel(*a))

    def both(X, idx, sq):
        monkeypatch.setattr(mst, "GRAM_MIN_SAMPLES", 0)
        before = len(calls)
        gram = mst.euclidean_mst(X, idx, sq, n_jobs=n_jobs)
        assert len(calls) > before  # the Gram scan did run
        monkeypatch.setattr(mst, "GRAM_MIN_SAMPLES", 10**9)
        loop = mst.euclidean_mst(X, idx, sq, n_jobs=n_jobs)
        return {(int(min(a, b)), int(max(a, b))) for a, b in gram}, loop

    rng = np.random.RandomState(0)
    for n_blobs, k in [(2, 1), (5, 2), (5, 6)]:
        X = np.concatenate([rng.normal(size=(30, 4)) + 25 * rng.normal(size=4)
                            for _ in range(n_blobs)])
        idx, dist = kneighbors(X, k)
        got, _ = both(X, idx, dist**2)
        assert got == scipy_mst_edges(X, oracle)
    for _ in range(10):
        X = rng.randint(0, 4, size=(25, 2)).astype(float)
        D = oracle.dense_sqdist(X)
        for k in (1, 3):
            idx, _ = kneighbors(X, k)
            got, _ = both(X, idx, D[np.arange(25)[:, None], idx])
            assert got == oracle.kruskal_mst(X)
    X = dead_relu_points()
    idx, dist = kneighbors(X, 2)
    got, loop = both(X, idx, dist**2)
    length = lambda E: np.linalg.norm(X[E[:, 0]] - X[E[:, 1]], axis=1).sum()
    assert length(np.array(sorted(got))) == pytest.approx(
        oracle.prim_mst(X)[1], rel=1e-12)
    assert got == {(int(min(a, b)), int(max(a, b))) for a, b in loop}
    X = np.maximum(rng.normal(size=(300, 64)) + 3 * rng.normal(size=(4, 64))[
        rng.randint(0, 4, 300)], 0)
    idx, dist = kneighbors(X, 3)
    got, loop = both(X, idx, dist**2)
    assert got == {(int(min(a, b)), int(max(a, b))) for a, b in loop}
    assert got == scipy_mst_edges(X, oracle)


@pytest.mark.parametrize("data", ["centred", "offset", "integer", "far_integer"])
def test_gram_scan_kernel_finds_each_points_nearest_outside_exactly(data):
    # the kernel alone, against the loop scan and a dense oracle: every
    # point's nearest point with another label, ties to the smaller index.
    # "far_integer": integer points far from the origin, so the Gram
    # products round by several units while the exact distances are small
    # integers with many ties: only the recheck margin finds the right one
    from sk_ricci._kernels.mst import (
        _brute_outside_rows,
        _gram_outside,
        gram_tolerance,
    )

    rng = np.random.RandomState(1)
    X = {"centred": rng.normal(size=(150, 8)),
         "offset": rng.normal(size=(150, 8)) + 40,
         "integer": rng.randint(-2, 3, size=(150, 3)).astype(float),
         "far_integer": 1e8 + rng.randint(-2, 3, size=(150, 3)).astype(float),
         }[data]
    label = rng.randint(0, 5, size=150).astype(np.int64)
    pts = np.arange(150, dtype=np.int64)
    sq = np.einsum("ij,ij->i", X, X)
    tol = gram_tolerance(X, sq, pts)
    outs = []
    for gram in (True, False):
        # no component has a best edge yet
        best_d, best_u, best_v = (np.full(150, np.inf), np.full(150, -1),
                                  np.full(150, -1))
        d, j = np.full(150, np.inf), np.full(150, -1)
        if gram:
            _gram_outside(X, sq, label, pts, X @ X.T, tol, best_d, best_u,
                          best_v, d, j)
        else:
            _brute_outside_rows(X, label, pts, best_d, best_u, best_v, d, j, 0,
                                150)
        outs.append((d, j))
    assert_array_equal(outs[0][0], outs[1][0])
    assert_array_equal(outs[0][1], outs[1][1])
    D = np.zeros((150, 150))
    for f in range(X.shape[1]):  # summed feature by feature, as the kernels
        D += (X[:, None, f] - X[None, :, f]) ** 2
    D[label[:, None] == label[None, :]] = np.inf
    assert_array_equal(outs[0][1], D.argmin(axis=1))  # argmin: first of ties
    assert_array_equal(outs[0][0], D.min(axis=1))
