"""Forman-Ricci curvature: hand-computed oracles, loop oracles, bad input."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

from sk_ricci import (
    KNNGraph,
    RicciCurvature,
    degrees,
    forman_curvature,
    knn_graph,
    node_curvature,
    ricci_flow,
    total_curvature,
)


def graph(n, edges):
    """Simple undirected graph from an edge list (dense -> CSR)."""
    A = np.zeros((n, n))
    for i, j in edges:
        A[i, j] = A[j, i] = 1
    return sp.csr_matrix(A)


K4 = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
BRIDGED = K4 + [(i + 4, j + 4) for i, j in K4] + [(3, 4)]

# name -> (n, edges, degrees, {edge: R}, {edge: triangles}, node sum, node mean)
# R(i, j) = 4 - d_i - d_j; augmented adds 3 x triangles through the edge.
HAND = {
    # P4 0-1-2-3: d = 1,2,2,1; R01 = 4-1-2 = 1, R12 = 4-2-2 = 0, R23 = 1.
    # node sums: 0: R01 = 1; 1: R01+R12 = 1; 2: 1; 3: 1.
    # means: 1/1, 1/2, 1/2, 1/1.
    "P4": (
        4, [(0, 1), (1, 2), (2, 3)], [1, 2, 2, 1],
        {(0, 1): 1, (1, 2): 0, (2, 3): 1}, {},
        [1, 1, 1, 1], [1, 0.5, 0.5, 1],
    ),
    # C5: every d = 2, every R = 4-2-2 = 0, no triangles.
    "C5": (
        5, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0)], [2] * 5,
        {e: 0 for e in [(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)]}, {},
        [0] * 5, [0] * 5,
    ),
    # S4, center 0: d = 4,1,1,1,1; each R = 4-4-1 = -1.
    # node sums: center 4 x -1 = -4, leaves -1; means -4/4 = -1, -1/1 = -1.
    "S4": (
        5, [(0, 1), (0, 2), (0, 3), (0, 4)], [4, 1, 1, 1, 1],
        {(0, j): -1 for j in range(1, 5)}, {},
        [-4, -1, -1, -1, -1], [-1] * 5,
    ),
    # K5: d = 4, R = 4-4-4 = -4 on each of 10 edges, each edge in 3 triangles.
    # node sums 4 x -4 = -16, means -4.
    "K5": (
        5, [(i, j) for i in range(5) for j in range(i + 1, 5)], [4] * 5,
        {(i, j): -4 for i in range(5) for j in range(i + 1, 5)},
        {(i, j): 3 for i in range(5) for j in range(i + 1, 5)},
        [-16] * 5, [-4] * 5,
    ),
    # two K4 {0..3}, {4..7} + bridge 3-4: d = 3,3,3,4,4,3,3,3.
    # R = 4-3-3 = -2 on (0,1),(0,2),(1,2) and (5,6),(5,7),(6,7);
    # R = 4-3-4 = -3 on (0,3),(1,3),(2,3) and (4,5),(4,6),(4,7);
    # bridge R34 = 4-4-4 = -4. Clique edges lie in 2 triangles, bridge in 0.
    # node sums: 0: -2-2-3 = -7; 3: -3-3-3-4 = -13. means -7/3, -13/4.
    "two_K4_bridge": (
        8, BRIDGED, [3, 3, 3, 4, 4, 3, 3, 3],
        {
            **{e: -2 for e in [(0, 1), (0, 2), (1, 2), (5, 6), (5, 7), (6, 7)]},
            **{e: -3 for e in [(0, 3), (1, 3), (2, 3), (4, 5), (4, 6), (4, 7)]},
            (3, 4): -4,
        },
        {e: 2 for e in BRIDGED if e != (3, 4)},
        [-7, -7, -7, -13, -13, -7, -7, -7],
        [-7 / 3] * 3 + [-13 / 4] * 2 + [-7 / 3] * 3,
    ),
    # two disjoint edges 0-1, 2-3: d = 1, R = 4-1-1 = 2.
    "two_edges": (
        4, [(0, 1), (2, 3)], [1, 1, 1, 1], {(0, 1): 2, (2, 3): 2}, {},
        [2] * 4, [2] * 4,
    ),
}

# total curvature by hand and via the identity 4|E| - sum d_i^2:
# P4: 1+0+1 = 2 = 12 - (1+4+4+1); C5: 0 = 20 - 5*4; S4: -4 = 16 - (16+4);
# K5: -40 = 40 - 5*16; two K4 + bridge: 2*(3*-2 + 3*-3) - 4 = -34 = 52 - 86;
# two edges: 4 = 8 - 4.
TOTAL = {"P4": 2, "C5": 0, "S4": -4, "K5": -40, "two_K4_bridge": -34,
         "two_edges": 4}
# augmented totals: K5: -40 + 3*(10 edges * 3) = 50;
# two K4 + bridge: 2*(3*(-2+6) + 3*(-3+6)) - 4 = 38; the others have none.
TOTAL_AUGMENTED = {**TOTAL, "K5": 50, "two_K4_bridge": 38}


@pytest.mark.parametrize("name", list(HAND))
def test_hand_computed_graphs(name):
    n, edges, deg, R_expected, tri, node_sum, node_mean = HAND[name]
    G = graph(n, edges)
    assert_array_equal(degrees(G), deg)

    R = forman_curvature(G)
    assert R.nnz == G.nnz  # zero curvatures stay explicit entries
    R_dense = R.toarray()
    expected = np.zeros((n, n))
    for (i, j), r in R_expected.items():
        expected[i, j] = expected[j, i] = r
    assert_array_equal(R_dense, expected)
    assert_array_equal(R_dense != 0, expected != 0)

    Ra = forman_curvature(G, augmented=True).toarray()
    expected_a = expected.copy()
    for (i, j), t in tri.items():
        expected_a[i, j] += 3 * t
        expected_a[j, i] += 3 * t
    assert_array_equal(Ra, expected_a)

    assert_allclose(node_curvature(G, reduce="sum"), node_sum)
    assert_allclose(node_curvature(G, reduce="mean"), node_mean)
    assert_allclose(node_curvature(G), node_mean)  # mean is the default

    assert total_curvature(G) == TOTAL[name]
    d = np.array(deg, dtype=float)
    assert total_curvature(G) == 4 * len(edges) - d @ d
    assert total_curvature(G, augmented=True) == TOTAL_AUGMENTED[name]


def test_augmented_node_curvature_two_cliques():
    # augmented R: clique edges -2+6 = 4 and -3+6 = 3, bridge -4.
    # node 0: 4+4+3 = 11 (mean 11/3); node 3: 3+3+3-4 = 5 (mean 5/4)
    G = graph(8, BRIDGED)
    s = node_curvature(G, reduce="sum", augmented=True)
    assert_allclose(s, [11, 11, 11, 5, 5, 11, 11, 11])
    m = node_curvature(G, reduce="mean", augmented=True)
    assert_allclose(m, [11 / 3] * 3 + [5 / 4] * 2 + [11 / 3] * 3)


def test_sum_multigraph_by_hand():
    # points 0, 1, 3, 6 on a line, k = 1: kNN 0->1, 1->0, 2->1, 3->2.
    # "sum": G = A + A^T, G01 = 2, G12 = 1, G23 = 1
    # degrees (in + out): d0 = 2, d1 = 3, d2 = 2, d3 = 1.
    # directed edges: 0->1: 4-2-3 = -1, 1->0: -1, 2->1: 4-2-3 = -1,
    # 3->2: 4-1-2 = 1; total -2 (= 4*4 - (4+9+4+1) = 16 - 18).
    X = np.array([[0.0], [1.0], [3.0], [6.0]])
    G = knn_graph(X, 1, symmetrize="sum")
    assert_array_equal(
        G.toarray(),
        [[0, 2, 0, 0], [2, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]],
    )
    assert_array_equal(degrees(G), [2, 3, 2, 1])
    assert total_curvature(G) == -2
    R = forman_curvature(G).toarray()
    # R(1, 2) = 4-3-2 = -1, R(2, 3) = 4-2-1 = 1
    assert (R[0, 1], R[1, 2], R[2, 3]) == (-1, -1, 1)
    # node sums weighted by multiplicity: 0: 2*-1; 1: 2*-1 + -1; 2: -1 + 1;
    # 3: 1; their sum is twice the total
    assert_allclose(node_curvature(G, reduce="sum"), [-2, -3, 0, 1])
    # "max": P4, total 2; "min": only 0-1 mutual, 4-1-1 = 2.
    assert total_curvature(knn_graph(X, 1, symmetrize="max")) == 2
    assert total_curvature(knn_graph(X, 1, symmetrize="min")) == 2


@pytest.mark.parametrize("symmetrize", ["sum", "max", "min"])
@pytest.mark.parametrize("k", [1, 4, 15])
def test_total_curvature_equals_loop_over_edges(oracle, symmetrize, k):
    X = np.random.RandomState(k).normal(size=(45, 4))
    G = knn_graph(X, k, symmetrize=symmetrize)
    expected = oracle.total_curvature_loops(X, k, symmetrize)
    assert total_curvature(G) == pytest.approx(expected, abs=1e-9)


def test_total_curvature_sum_on_dead_relu_data(oracle):
    rng = np.random.RandomState(3)
    X = np.maximum(rng.normal(size=(50, 3)) - 0.8, 0)  # many zero rows
    assert (np.abs(X).sum(1) == 0).sum() > 10
    for k in (3, 12):
        G = knn_graph(X, k, symmetrize="sum")
        assert total_curvature(G) == pytest.approx(
            oracle.total_curvature_loops(X, k, "sum"), abs=1e-9
        )


@pytest.mark.parametrize("symmetrize", ["sum", "max"])
def test_augmented_against_triangle_loops(oracle, symmetrize):
    X = np.random.RandomState(7).normal(size=(35, 3))
    k = 5
    G = oracle.dense_graph(X, k, symmetrize)
    A = oracle.directed_knn(X, k)
    S = G != 0
    n = S.shape[0]
    d = G.sum(1)
    tri = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if S[i, j]:
                tri[i, j] = sum(S[i, m] and S[j, m] for m in range(n))
    R = forman_curvature(sp.csr_matrix(G), augmented=True).toarray()
    for i in range(n):
        for j in range(n):
            if S[i, j]:
                assert R[i, j] == 4 - d[i] - d[j] + 3 * tri[i, j]
            else:
                assert R[i, j] == 0
    # total over the spec's edge list (directed kNN edges for "sum")
    if symmetrize == "sum":
        expected = sum(4 - d[i] - d[j] + 3 * tri[i, j]
                       for i in range(n) for j in range(n) if A[i, j])
    else:
        expected = sum(4 - d[i] - d[j] + 3 * tri[i, j]
                       for i in range(n) for j in range(i + 1, n) if S[i, j])
    assert total_curvature(sp.csr_matrix(G), augmented=True) == pytest.approx(
        expected
    )


def test_node_curvature_against_loops(oracle):
    X = np.random.RandomState(11).normal(size=(40, 5))
    G = oracle.dense_graph(X, 6, "sum")
    n = G.shape[0]
    d = G.sum(1)
    s = np.array([sum(G[i, j] * (4 - d[i] - d[j]) for j in range(n))
                  for i in range(n)])
    assert_allclose(node_curvature(sp.csr_matrix(G), reduce="sum"), s)
    assert_allclose(node_curvature(sp.csr_matrix(G)), s / d)


def test_isolated_node():
    # node 2 isolated: degree 0, node sum 0, mean undefined (NaN)
    G = graph(3, [(0, 1)])
    assert_array_equal(degrees(G), [1, 1, 0])
    assert_array_equal(node_curvature(G, reduce="sum"), [2, 2, 0])
    m = node_curvature(G)
    assert_array_equal(m[:2], [2, 2])
    assert np.isnan(m[2])


def test_dense_input_accepted():
    A = graph(4, [(0, 1), (1, 2), (2, 3)]).toarray()
    assert total_curvature(A) == 2
    assert_array_equal(degrees(A), [1, 2, 2, 1])


# --------------------------------------------------------------------------
# RicciCurvature
# --------------------------------------------------------------------------


@pytest.mark.parametrize("symmetrize", ["max", "min", "sum"])
def test_ricci_curvature_transformer_on_points(oracle, symmetrize):
    X = np.random.RandomState(0).normal(size=(40, 3))
    k = 6
    out = RicciCurvature(n_neighbors=k, symmetrize=symmetrize).fit_transform(X)
    G = oracle.dense_graph(X, k, symmetrize)
    n = G.shape[0]
    d = G.sum(1)
    s = np.array([sum(G[i, j] * (4 - d[i] - d[j]) for j in range(n))
                  for i in range(n)])
    mean = np.where(d > 0, s / np.where(d > 0, d, 1), 0.0)
    assert out.shape == (40, 3)
    assert_allclose(out[:, 0], d)
    assert_allclose(out[:, 1], s)
    assert_allclose(out[:, 2], mean)


def test_ricci_curvature_precomputed_and_pipeline_equal():
    from sklearn.pipeline import make_pipeline

    X = np.random.RandomState(1).normal(size=(30, 4))
    direct = RicciCurvature(n_neighbors=5).fit_transform(X)
    pipe = make_pipeline(KNNGraph(n_neighbors=5), RicciCurvature())
    assert_allclose(pipe.fit_transform(X), direct)
    assert list(pipe[-1].get_feature_names_out()) == [
        "degree", "curvature_sum", "curvature_mean"
    ]


def test_ricci_curvature_augmented_on_graph():
    G = graph(5, [(i, j) for i in range(5) for j in range(i + 1, 5)])
    out = RicciCurvature(augmented=True).fit_transform(G)
    # K5 augmented: R = 5 on each edge, node sum 20, mean 5
    assert_allclose(out, np.tile([4.0, 20.0, 5.0], (5, 1)))


@pytest.mark.parametrize("connect", [None, "mst"])
def test_ricci_curvature_fit_transform_builds_the_graph_once(monkeypatch, connect):
    # regression: fit built the kNN graph only to check the input, so
    # fit_transform built it twice; fit alone builds none
    import sk_ricci._curvature_features as curvature_module

    X = np.random.RandomState(0).normal(size=(40, 3))
    est = RicciCurvature(n_neighbors=5, connect=connect)
    expected = clone(est).fit(X).transform(X)
    calls = []
    original = curvature_module.knn_graph

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(curvature_module, "knn_graph", spy)
    assert_array_equal(est.fit_transform(X), expected)
    assert len(calls) == 1
    est.fit(X)
    assert len(calls) == 1
    assert_array_equal(est.transform(X), expected)
    assert len(calls) == 2
    # fit still checks the points without building the graph
    with pytest.raises(ValueError, match="n_neighbors=40 must be smaller than "
                       "n_samples=40"):
        RicciCurvature(n_neighbors=40).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        RicciCurvature(n_neighbors=5).fit(np.r_[X, [[np.nan, 0, 0]]])
    assert len(calls) == 2


def test_ricci_curvature_rejects_non_square_input():
    with pytest.raises(ValueError, match="expects a square adjacency matrix"):
        RicciCurvature().fit(np.zeros((4, 3)))


def test_ricci_curvature_list_n_neighbors_is_rejected_cleanly():
    # regression: a list used to crash with AttributeError in transform
    X = np.random.RandomState(0).normal(size=(20, 3))
    with pytest.raises(TypeError, match=r"RicciCurvature: n_neighbors must be "
                       r"None or an int >= 1; got list \[3, 5\]\. Pass None"):
        RicciCurvature(n_neighbors=[3, 5]).fit(X)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"symmetrize": "mean"},
         ("RicciCurvature: symmetrize must be one of 'max', 'min', 'sum'; "
         "got str 'mean'")),
        ({"connect": "knn"}, "RicciCurvature: connect must be one of None, 'mst'"),
        ({"algorithm": "kd_tree"},
         "RicciCurvature: algorithm must be one of 'auto', 'brute', 'nndescent'"),
        ({"augmented": "yes"},
         r"RicciCurvature: augmented must be a bool \(True or False\)"),
    ],
)
def test_ricci_curvature_bad_params(params, match):
    X = np.random.RandomState(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match=match):
        RicciCurvature(n_neighbors=3, **params).fit(X)


# --------------------------------------------------------------------------
# bad graphs
# --------------------------------------------------------------------------

BAD_GRAPHS = [
    (np.zeros((3, 4)), "square adjacency matrix"),
    (np.zeros(4), "square adjacency matrix"),
    (np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), "not symmetric"),
    (np.array([[0, -1], [-1, 0]]), "negative entries"),
    (np.array([[1, 1], [1, 0]]), "1 self-loop"),
    (np.array([[0, np.nan], [np.nan, 0]]), "non-finite edge weights"),
    (np.array([[0, np.inf], [np.inf, 0]]), "non-finite edge weights"),
]


@pytest.mark.parametrize("func", [degrees, forman_curvature, node_curvature,
                                  total_curvature])
@pytest.mark.parametrize("G, match", BAD_GRAPHS)
def test_bad_graphs_rejected(func, G, match):
    with pytest.raises(ValueError, match=match):
        func(G)
    if G.ndim == 2:
        with pytest.raises(ValueError, match=match):
            func(sp.csr_matrix(G))


def test_node_curvature_bad_reduce():
    with pytest.raises(ValueError, match="reduce='median' is not supported"):
        node_curvature(graph(3, [(0, 1)]), reduce="median")


# ---------------------------------------------------------------------------
# Ollivier-Ricci curvature: exact (optimal transport) and Tian et al.'s
# closed-form approximation
# ---------------------------------------------------------------------------


def lp_ollivier(A, alpha):
    """Exact Ollivier-Ricci curvature of every edge of the dense adjacency A,
    by one linear program per edge over ALL n x n transport variables (no
    support trimming, no 3-hop shortcut): costs are scipy's all-pairs hop
    distances, measures m_x = alpha delta_x + (1 - alpha) A[x] / d_x."""
    from scipy.optimize import linprog
    from scipy.sparse.csgraph import shortest_path

    A = np.asarray(A, dtype=float)
    n = A.shape[0]
    D = shortest_path((A != 0).astype(float), unweighted=True, directed=False)
    C = np.where(np.isinf(D), 1e6, D).ravel()
    A_eq = np.zeros((2 * n, n * n))
    for i in range(n):
        A_eq[i, i * n:(i + 1) * n] = 1  # row sums: mass leaving i
        A_eq[n + i, i::n] = 1  # column sums: mass arriving at i
    R = np.zeros((n, n))
    for x in range(n):
        for y in range(n):
            if A[x, y] == 0:
                continue
            mx = (1 - alpha) * A[x] / A[x].sum()
            mx[x] += alpha
            my = (1 - alpha) * A[y] / A[y].sum()
            my[y] += alpha
            res = linprog(C, A_eq=A_eq, b_eq=np.r_[mx, my], bounds=(0, None),
                          method="highs")
            assert res.success
            R[x, y] = 1 - res.fun
    return R


def dense_approx_ollivier(A):
    """Tian et al. (2023), written from the formula: the mean of the upper
    bound T / max(d_x, d_y) and Jost and Liu's lower bound."""
    A = np.asarray(A, dtype=float)
    d = A.sum(axis=1)
    S = (A != 0).astype(float)
    T = S @ S
    R = np.zeros_like(A)
    for x, y in zip(*np.nonzero(A)):
        hi, lo, t = max(d[x], d[y]), min(d[x], d[y]), T[x, y]
        base = 1 - 1 / d[x] - 1 / d[y]
        lower = -max(0, base - t / lo) - max(0, base - t / hi) + t / hi
        R[x, y] = 0.5 * (t / hi + lower)
    return R


def on_edges(R_sparse, G):
    """Curvature values of a sparse result on the edges of G, dense."""
    R = R_sparse.toarray()
    assert R_sparse.nnz == sp.csr_matrix(G).nnz
    return R


TREE = [(0, 1), (0, 2), (0, 3), (1, 4), (1, 5), (5, 6), (5, 7), (5, 8), (8, 9)]


def tree_degrees():
    d = np.zeros(10)
    for i, j in TREE:
        d[i] += 1
        d[j] += 1
    return d


@pytest.mark.parametrize("n", [3, 5, 8])
@pytest.mark.parametrize("alpha", [0.0, 0.25, 0.5, 0.9])
def test_ollivier_complete_graph(n, alpha):
    # K_n: m_x and m_y agree except at x and y, where they differ by
    # alpha - (1 - alpha) / (n - 1); that mass moves one hop:
    # R = 1 - |alpha - (1 - alpha) / (n - 1)|  (alpha = 0: (n - 2) / (n - 1);
    # alpha = 1/2: n / (2 (n - 1)), Lin, Lu and Yau's n / (n - 1) halved)
    from sk_ricci import ollivier_curvature

    G = graph(n, [(i, j) for i in range(n) for j in range(i + 1, n)])
    R = on_edges(ollivier_curvature(G, alpha=alpha), G)
    expected = 1 - abs(alpha - (1 - alpha) / (n - 1))
    off = ~np.eye(n, dtype=bool)
    assert_allclose(R[off], expected, rtol=1e-12)


@pytest.mark.parametrize(
    "n, alpha, expected",
    [
        # C4, alpha = 0: m_0 = (1 + 3)/2, m_1 = (0 + 2)/2: 1 -> 0, 3 -> 2, W = 1
        (4, 0.0, 0.0),
        # C4, alpha = 1/2: surplus 1/4 at 0 and 3 moves to 1 and 2: W = 1/2
        (4, 0.5, 0.5),
        # C5, alpha = 0: 1 -> 2 and 4 -> 0, W = 1
        (5, 0.0, 0.0),
        # C5, alpha = 1/2: 1/4 from 0 to 1 (1 hop), 1/4 from 4 to 2 (2 hops)
        (5, 0.5, 0.25),
        # C_n, n >= 6: W = 1 for any alpha (Lin, Lu and Yau: curvature 0)
        (6, 0.0, 0.0),
        (6, 0.5, 0.0),
        (9, 0.5, 0.0),
    ],
)
def test_ollivier_cycles(n, alpha, expected):
    from sk_ricci import ollivier_curvature

    G = graph(n, [(i, (i + 1) % n) for i in range(n)])
    R = on_edges(ollivier_curvature(G, alpha=alpha), G)
    assert_allclose(R[G.toarray() != 0], expected, atol=1e-12)


def test_ollivier_tree():
    # Jost and Liu (2014): on a tree, alpha = 0 gives
    # R(x, y) = -2 (1 - 1/d_x - 1/d_y)_+ ; with alpha = 1/2 (>= 1/(d+1)),
    # R = (1 - alpha) (2/d_x + 2/d_y - 2) (Lin, Lu and Yau; Bourne et al.
    # 2018). By hand: edge (0, 1) has d = 3, 3: alpha = 0 moves 1 -> 4,
    # 2 -> 0 (1 hop each) and 3 -> 5 (3 hops): W = 5/3, R = -2/3; alpha = 1/2
    # gives -1/3; leaf edge (8, 9) with d = 2, 1: R = 0 and (1 + 2 - 2) / 2.
    from sk_ricci import ollivier_curvature

    G = graph(10, TREE)
    d = tree_degrees()
    R0 = on_edges(ollivier_curvature(G, alpha=0.0), G)
    R5 = on_edges(ollivier_curvature(G, alpha=0.5), G)
    assert R0[0, 1] == pytest.approx(-2 / 3) and R5[0, 1] == pytest.approx(-1 / 3)
    assert R0[8, 9] == pytest.approx(0) and R5[8, 9] == pytest.approx(0.5)
    for i, j in TREE:
        assert R0[i, j] == pytest.approx(-2 * max(0, 1 - 1 / d[i] - 1 / d[j]))
        assert R5[i, j] == pytest.approx(0.5 * (2 / d[i] + 2 / d[j] - 2))
        assert R0[j, i] == R0[i, j] and R5[j, i] == R5[i, j]


def test_approx_ollivier_hand_computed():
    from sk_ricci import approx_ollivier_curvature

    # K_n: d = n - 1, T = n - 2, both (.)_+ vanish: R = (n - 2) / (n - 1)
    for n in (3, 5, 8):
        G = graph(n, [(i, j) for i in range(n) for j in range(i + 1, n)])
        R = approx_ollivier_curvature(G).toarray()
        assert_allclose(R[~np.eye(n, dtype=bool)], (n - 2) / (n - 1))
    # cycles: d = 2, T = 0: 1 - 1/2 - 1/2 = 0, R = 0 (C3 = K3 above)
    G = graph(7, [(i, (i + 1) % 7) for i in range(7)])
    assert_allclose(approx_ollivier_curvature(G).data, 0.0)
    # trees: T = 0, R = -(1 - 1/d_x - 1/d_y)_+ (half of the exact alpha = 0)
    G = graph(10, TREE)
    d = tree_degrees()
    R = approx_ollivier_curvature(G).toarray()
    for i, j in TREE:
        assert R[i, j] == pytest.approx(-max(0, 1 - 1 / d[i] - 1 / d[j]))
    # two K4 + bridge: bridge d = 4, 4, T = 0: -(1 - 1/4 - 1/4) = -1/2;
    # clique edge (0, 1): d = 3, 3, T = 2: (.)_+ = (1/3 - 2/3)_+ = 0, so
    # R = T / max = 2/3; edge (0, 3): d = 3, 4, T = 2: 1/3 - 2/3 - 1/3 -> 0
    # and 5/12 - 1/2 -> 0: R = 2/4 = 1/2
    R = approx_ollivier_curvature(graph(8, BRIDGED)).toarray()
    assert R[3, 4] == pytest.approx(-0.5)
    assert R[0, 1] == pytest.approx(2 / 3) and R[0, 3] == pytest.approx(0.5)


@pytest.mark.parametrize("symmetrize", ["max", "sum"])
@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_ollivier_against_linprog_oracle(oracle, symmetrize, alpha):
    from sk_ricci import ollivier_curvature

    X = np.random.RandomState(1).normal(size=(16, 2))
    A = oracle.dense_graph(X, 3, symmetrize)
    R = on_edges(ollivier_curvature(sp.csr_matrix(A), alpha=alpha), A)
    assert_allclose(R, lp_ollivier(A, alpha), atol=1e-9)


@pytest.mark.parametrize("symmetrize", ["max", "min", "sum"])
def test_approx_ollivier_against_dense_formula(oracle, symmetrize):
    from sk_ricci import approx_ollivier_curvature

    X = np.random.RandomState(2).normal(size=(40, 3))
    A = oracle.dense_graph(X, 6, symmetrize)
    R = on_edges(approx_ollivier_curvature(sp.csr_matrix(A)), A)
    assert_allclose(R, dense_approx_ollivier(A), atol=1e-12)


def test_ollivier_linprog_fallback_without_pot(monkeypatch, oracle):
    # without POT the transport problems go to scipy's linprog; both paths are
    # checked against lp_ollivier, which builds its own costs (all-pairs
    # shortest paths) and its own n x n linear program per edge
    import sys

    from sk_ricci import ollivier_curvature

    X = np.random.RandomState(3).normal(size=(14, 2))
    A = oracle.dense_graph(X, 3, "max")
    G = sp.csr_matrix(A)
    expected = lp_ollivier(A, 0.5)
    assert_allclose(on_edges(ollivier_curvature(G), A), expected, atol=1e-9)
    monkeypatch.setitem(sys.modules, "ot", None)  # import ot -> ImportError
    from sk_ricci._curvature import _emd2_linprog, _transport_solver

    assert _transport_solver() is _emd2_linprog
    assert_allclose(on_edges(ollivier_curvature(G), A), expected, atol=1e-9)
    # a multigraph ("sum": mutual pairs weigh 2) and alpha = 0 as well
    A = oracle.dense_graph(X, 3, "sum")
    R = on_edges(ollivier_curvature(sp.csr_matrix(A), alpha=0), A)
    assert_allclose(R, lp_ollivier(A, 0.0), atol=1e-9)


def test_ollivier_default_alpha_is_one_half():
    # K5 with alpha = 1/2 left at its default: m_0 keeps 1/2 at 0 and puts
    # 1/8 on each of 1..4; m_1 keeps 1/2 at 1 and puts 1/8 on 0, 2, 3, 4.
    # They agree on 2, 3, 4; the surplus 1/2 - 1/8 = 3/8 at 0 moves one hop to
    # 1: W = 3/8, R = 1 - 3/8 = 5/8 (alpha = 0 would give 1 - 1/4 = 3/4).
    from sk_ricci import ollivier_curvature

    G = graph(5, [(i, j) for i in range(5) for j in range(i + 1, 5)])
    assert ollivier_curvature(G)[0, 1] == pytest.approx(5 / 8, abs=1e-12)
    assert ollivier_curvature(G, alpha=0)[0, 1] == pytest.approx(3 / 4, abs=1e-12)


def test_ollivier_memory_is_quadratic_in_the_degree():
    # K_200: node 0 has 199 neighbours of degree 199. All its cost matrices at
    # once take 199 x 200 x 200 x 8 bytes = 64 MB (cubic in the degree); one
    # at a time, 200 x 200 x 8 = 0.32 MB. Traced peak over node 0's edges
    # (numba's arrays are traced too), with a solver that stops after them.
    import tracemalloc

    from sk_ricci._curvature import _csr_arrays, _ollivier_edges

    n = 200
    indptr, indices, data = _csr_arrays(
        sp.csr_matrix(np.ones((n, n)) - np.eye(n))
    )
    seen = []

    class Done(Exception):
        pass

    def solver(a, b, C):
        seen.append(C.shape)
        if len(seen) == n - 1:  # every edge (0, y)
            raise Done
        return 0.0

    _ollivier_edges(*_csr_arrays(graph(3, [(0, 1), (1, 2)])), 0.5,
                    solver=lambda a, b, C: 0.0)  # load the kernels first
    tracemalloc.start()
    try:
        with pytest.raises(Done):
            _ollivier_edges(indptr, indices, data, 0.5, solver=solver)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == [(n, n)] * (n - 1)
    assert peak < 4 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_ollivier_linprog_solver_matches_pot_on_a_hub():
    # the sparse-constraint linprog and POT's network simplex on the transport
    # problems of a graph with a hub of degree 30 and neighbours of degree 2..4
    from sk_ricci._curvature import _csr_arrays, _emd2_linprog, _ollivier_edges

    ot = pytest.importorskip("ot")
    edges = [(0, j) for j in range(1, 31)] + [(j, j + 1) for j in range(1, 30)]
    edges += [(j, j + 2) for j in range(1, 29, 3)]
    A = graph(31, edges).toarray()
    arrays = _csr_arrays(sp.csr_matrix(A))
    lp = _ollivier_edges(*arrays, 0.5, solver=_emd2_linprog)
    pot = _ollivier_edges(*arrays, 0.5, solver=lambda a, b, C: ot.emd2(a, b, C))
    assert_allclose(lp, pot, atol=1e-9)
    R = sp.csr_matrix((lp, arrays[1], arrays[0]), shape=A.shape).toarray()
    assert_allclose(R, lp_ollivier(A, 0.5), atol=1e-9)


@pytest.mark.parametrize(
    "alpha, expected",
    [(np.int64(0), 3 / 4), (0, 3 / 4), (np.float32(0.5), 5 / 8), (0.25, 15 / 16)],
)
def test_ollivier_numpy_and_python_numbers_alike(alpha, expected):
    # K5: R = 1 - |alpha - (1 - alpha) / 4|
    from sk_ricci import ollivier_curvature

    G = graph(5, [(i, j) for i in range(5) for j in range(i + 1, 5)])
    assert ollivier_curvature(G, alpha=alpha)[0, 1] == pytest.approx(expected)


@pytest.mark.parametrize(
    "alpha, got",
    [
        (-0.1, "float -0.1"), (1.0, "float 1.0"), (1, "int 1"),
        ("0.5", "str '0.5'"), (None, "NoneType None"), (np.nan, "float nan"),
        (True, "a bool"), (False, "a bool"), (np.False_, "a bool"),
    ],
)
def test_ollivier_bad_alpha(alpha, got):
    from sk_ricci import ollivier_curvature

    with pytest.raises(ValueError, match=r"alpha must be a number in \[0, 1\).*"
                       f"got {got}.*Pass e.g. alpha=0.5"):
        ollivier_curvature(graph(3, [(0, 1), (1, 2)]), alpha=alpha)


@pytest.mark.parametrize("curvature", ["approx_ollivier", "ollivier"])
@pytest.mark.parametrize("symmetrize", ["max", "sum"])
def test_ricci_flow_ollivier_totals_match_oracle(oracle, curvature, symmetrize):
    # Ric_l = 1/2 sum_ij G_ij R_ij (each edge once per multiplicity), with R
    # from the dense oracles above; geodesic masses are unchanged
    from sk_ricci import ricci_flow

    rng = np.random.RandomState(4)
    X = rng.normal(size=(18, 3))
    layers = [np.maximum(X @ rng.normal(size=(3, 5)) + 0.5, 0) for _ in range(5)]
    res = ricci_flow(layers, 4, symmetrize=symmetrize, curvature=curvature,
                     connect="mst")
    ref = ricci_flow(layers, 4, symmetrize=symmetrize, connect="mst")
    totals = []
    for Xl in layers:
        A = oracle.dense_graph(Xl, 4, symmetrize)
        for i, j in oracle.kruskal_mst(Xl):
            if A[i, j] == 0:
                A[i, j] = A[j, i] = 1
        R = lp_ollivier(A, 0.5) if curvature == "ollivier" else (
            dense_approx_ollivier(A))
        totals.append(0.5 * (A * R).sum())
    assert_allclose(res.total_curvature, totals, atol=1e-9)
    assert_array_equal(res.geodesic_mass, ref.geodesic_mass)
    rho = np.corrcoef(res.eta, res.total_curvature[:-1])[0, 1]
    assert res.coefficient == pytest.approx(rho)


def test_ricci_flow_rejects_unknown_curvature():
    from sk_ricci import ricci_flow

    X = np.random.RandomState(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="ricci_flow: curvature must be one of "
                       "'forman', 'augmented_forman', 'approx_ollivier', "
                       "'ollivier'; got str 'wasserstein'"):
        ricci_flow([X, X, X], 3, curvature="wasserstein")


# ---------------------------------------------------------------------------
# the one curvature registry
# ---------------------------------------------------------------------------


def test_every_option_list_is_the_registry():
    from sk_ricci import RicciFlowScorer
    from sk_ricci._curvature import CURVATURE_KINDS, CURVATURES
    from sk_ricci._options import FLOW_CONSTRAINTS

    assert CURVATURE_KINDS == tuple(CURVATURES) == (
        "forman", "augmented_forman", "approx_ollivier", "ollivier")
    (options,) = FLOW_CONSTRAINTS["curvature"]
    assert options.options == CURVATURE_KINDS
    (options,) = RicciFlowScorer._parameter_constraints["curvature"]
    assert options.options == CURVATURE_KINDS
    for name, entry in CURVATURES.items():  # each documented in ricci_flow
        assert f'"{name}" is {entry.doc[:30]}' in " ".join(
            ricci_flow.__doc__.split())


@pytest.mark.parametrize("symmetrize", ["max", "sum"])
def test_registry_totals_equal_half_the_weighted_edge_sum(symmetrize):
    # a kind's fast total (where it has one) is 1/2 sum_ij G_ij R_ij of its
    # own edge curvatures, and equals the public total_curvature
    from sk_ricci._curvature import CURVATURES, total_edge_curvature
    from sk_ricci._graph import csr_graph, layer_graphs
    from sk_ricci._options import FlowOptions

    X = np.random.RandomState(5).normal(size=(60, 3))
    (graph,) = layer_graphs(X, [6], FlowOptions(symmetrize=symmetrize))
    G = csr_graph(graph)
    for name, entry in CURVATURES.items():
        R = entry.edges(*graph)
        assert R.shape == graph[2].shape
        expected = 0.5 * float(np.dot(graph[2], R))
        assert total_edge_curvature(graph, name) == pytest.approx(expected,
                                                                   rel=1e-12)
    assert total_edge_curvature(graph, "forman") == total_curvature(G)
    assert total_edge_curvature(graph, "augmented_forman") == total_curvature(
        G, augmented=True)
    with pytest.raises(ValueError, match="curvature='nope' is not supported"):
        total_edge_curvature(graph, "nope")
