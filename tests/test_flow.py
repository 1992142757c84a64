"""ricci_flow, aggregation, scale selection and RicciFlow vs a dense re-computation
of Eqs. 4-8 written here from the paper (docs/method.md, sections 1-5)."""

import pickle
import re
import warnings

import numpy as np
import pytest
from _settings import random_relu_layers, results_equal
from numpy.testing import assert_allclose, assert_array_equal
from scipy.sparse.csgraph import connected_components, shortest_path
from sklearn.base import clone

from sk_ricci import (
    DisconnectedGraphError,
    DisconnectedGraphWarning,
    RicciFlow,
    RicciFlowResult,
    UndefinedCoefficientWarning,
    aggregated_ricci_coefficient,
    ricci_flow,
    select_n_neighbors,
    smallest_connected_n_neighbors,
)

SYMMETRIZE = ["max", "min", "sum"]


make_layers = random_relu_layers


def oracle_layer(oracle, X, k, symmetrize, connect=None, augmented=False):
    """(Ric_l, g_l, n_components) of one layer, densely and by loops."""
    n = X.shape[0]
    A = oracle.directed_knn(X, k)
    G = oracle.dense_graph(X, k, symmetrize)
    # the spec's edge list: directed kNN edges for "sum", undirected otherwise
    if symmetrize == "sum":
        edges = [(i, j) for i in range(n) for j in range(n) if A[i, j]]
    else:
        edges = [(i, j) for i in range(n) for j in range(i + 1, n) if G[i, j]]
    if connect == "mst":
        # Kruskal in (squared distance, i, j) order: the unique tree when the
        # data have no ties, the documented tie-break when they do
        mst = oracle.kruskal_mst(X)
        for i, j in sorted(mst):
            if G[i, j] == 0:  # a missing MST edge is added once, weight 1
                G[i, j] = G[j, i] = 1
                edges.append((i, j))
    d = G.sum(axis=1)
    S = (G != 0).astype(float)
    T = S @ S  # common neighbours = triangles through an edge
    ric = sum(4 - d[i] - d[j] + (3 * T[i, j] if augmented else 0) for i, j in edges)
    D = shortest_path(S, unweighted=True, directed=False)
    n_comp = connected_components(S, directed=False)[0]
    return ric, D.sum(), n_comp


def oracle_flow(oracle, layers, k, symmetrize="max", connect=None, augmented=False):
    per = [oracle_layer(oracle, X, k, symmetrize, connect, augmented)
           for X in layers]
    ric = np.array([p[0] for p in per], dtype=float)
    mass = np.array([p[1] for p in per], dtype=float)
    ncomp = np.array([p[2] for p in per])
    L = len(layers)
    out = {"ric": ric, "mass": mass, "ncomp": ncomp}
    if (ncomp == 1).all():
        eta = np.diff(mass)  # eta_l = g_{l+1} - g_l, l = 1..L-1
        rho = np.corrcoef(eta, ric[:-1])[0, 1]  # Eq. 8
        out.update(eta=eta, rho=rho)
        if L > 4:
            out["paper"] = np.arctanh(rho) / np.sqrt(L - 4)  # Eq. 11 as printed
            out["fisher"] = np.arctanh(rho) * np.sqrt(L - 4)
    return out


def assert_result_matches(res, ref, k):
    assert isinstance(res, RicciFlowResult)
    assert res.n_neighbors == k
    assert_allclose(res.total_curvature, ref["ric"], rtol=1e-12)
    assert_array_equal(res.n_components, ref["ncomp"])
    assert_array_equal(res.connected, ref["ncomp"] == 1)
    if "rho" in ref:
        assert_array_equal(res.geodesic_mass, ref["mass"])
        assert_array_equal(res.eta, ref["eta"])
        assert res.coefficient == pytest.approx(ref["rho"], abs=1e-12)
        if "paper" in ref:
            assert res.adjusted_paper == pytest.approx(ref["paper"], rel=1e-10)
            assert res.adjusted_fisher == pytest.approx(ref["fisher"], rel=1e-10)
    else:
        assert np.isnan(res.coefficient)
        assert np.isinf(res.geodesic_mass[ref["ncomp"] > 1]).all()


# --------------------------------------------------------------------------
# ricci_flow vs the dense oracle
# --------------------------------------------------------------------------


# 7 and 9 layers too: at 5, sqrt(L - 4) = 1 and the two adjusted forms agree
@pytest.mark.parametrize("n_layers", [5, 7, 9])
@pytest.mark.parametrize("symmetrize, k", [("max", 4), ("max", 12), ("sum", 4),
                                           ("sum", 12), ("min", 14), ("min", 20)])
def test_ricci_flow_matches_dense_oracle(oracle, symmetrize, k, n_layers):
    # seeds whose layer graphs are all connected (deep ones split at k = 4)
    seed = {(4, 7): 104, (4, 9): 204}.get((k, n_layers), k)
    layers = make_layers(seed=seed, n_layers=n_layers)
    ref = oracle_flow(oracle, layers, k, symmetrize)
    assert "rho" in ref, "test data should give connected graphs"
    res = ricci_flow(layers, k, symmetrize=symmetrize)
    assert_result_matches(res, ref, k)
    assert res.symmetrize == symmetrize and res.connect is None
    assert res.n_layers == n_layers and res.all_connected
    assert res.eta.shape == (n_layers - 1,)


def test_mutual_graph_disconnected_matches_oracle(oracle):
    layers = make_layers(seed=9)
    ref = oracle_flow(oracle, layers, 9, "min")
    assert (ref["ncomp"] > 1).any() and (ref["ncomp"] == 1).any()
    with pytest.warns(DisconnectedGraphWarning, match="disconnected in layer"):
        res = ricci_flow(layers, 9, symmetrize="min")
    assert_result_matches(res, ref, 9)
    ok = ref["ncomp"] == 1
    assert_array_equal(res.geodesic_mass[ok], ref["mass"][ok])


@pytest.mark.parametrize("n_layers", [5, 9])
@pytest.mark.parametrize("symmetrize", SYMMETRIZE)
def test_ricci_flow_mst_matches_dense_oracle(oracle, symmetrize, n_layers):
    layers = make_layers(seed=3, n_layers=n_layers)
    ref = oracle_flow(oracle, layers, 2, symmetrize, connect="mst")
    res = ricci_flow(layers, 2, symmetrize=symmetrize, connect="mst")
    assert_result_matches(res, ref, 2)
    assert np.isfinite(res.coefficient) and res.all_connected


@pytest.mark.parametrize("n_layers", [5, 7])
def test_ricci_flow_augmented_matches_oracle(oracle, n_layers):
    layers = make_layers(seed=5, n_layers=n_layers)
    for sym in ("max", "sum"):
        ref = oracle_flow(oracle, layers, 6, sym, augmented=True)
        res = ricci_flow(layers, 6, symmetrize=sym, curvature="augmented_forman")
        assert_result_matches(res, ref, 6)


def test_ricci_flow_dead_relu_layers(oracle):
    # many collapsed rows: ties everywhere, still exact and deterministic
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    layers = []
    h = X
    for _ in range(5):
        h = np.maximum(h @ rng.normal(size=(h.shape[1], 6)) - 0.3, 0)
        layers.append(h)
    assert (np.abs(layers[-1]).sum(1) == 0).sum() >= 5
    ref = oracle_flow(oracle, layers, 8, "sum", connect="mst")
    res = ricci_flow(layers, 8, symmetrize="sum", connect="mst")
    assert_result_matches(res, ref, 8)


@pytest.mark.parametrize("symmetrize", SYMMETRIZE)
def test_list_of_k_equals_scalar_calls(symmetrize):
    layers = make_layers(seed=1)
    ks = [14, 3, 8]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisconnectedGraphWarning)
        many = ricci_flow(layers, ks, symmetrize=symmetrize)
        assert isinstance(many, list) and len(many) == 3
        for k, res in zip(ks, many):
            results_equal(res, ricci_flow(layers, k, symmetrize=symmetrize))


def test_list_of_k_equals_scalar_calls_mst_with_ties(oracle):
    rng = np.random.RandomState(0)
    layers = [rng.randint(0, 5, size=(40, 3)).astype(float) for _ in range(5)]
    many = ricci_flow(layers, [2, 12], connect="mst")
    one = ricci_flow(layers, 2, connect="mst")
    ref = oracle_flow(oracle, layers, 2, connect="mst")
    assert_result_matches(one, ref, 2)
    results_equal(many[0], one)


def test_n_jobs_and_repeat_identical():
    layers = make_layers(seed=2, n=150)
    a = ricci_flow(layers, [5, 40], n_jobs=1)
    b = ricci_flow(layers, [5, 40], n_jobs=2)
    c = ricci_flow(layers, [5, 40])
    for x, y, z in zip(a, b, c):
        results_equal(x, y)
        results_equal(x, z)


@pytest.mark.parametrize("connect", [None, "mst"])
@pytest.mark.parametrize("symmetrize, curvature", [
    ("max", "forman"), ("min", "forman"), ("sum", "forman"),
    ("max", "augmented_forman"),
])
@pytest.mark.parametrize("ks", [12, [3, 12, 40]])
def test_layers_in_threads_equal_serial(monkeypatch, connect, symmetrize,
                                        curvature, ks):
    # n_jobs > 1 on small layers runs whole layers in threads, each kernel
    # serial and GIL-free: the numbers must not change, and the threaded path
    # must really be taken
    import sk_ricci._flow as flow_module

    seen = []
    original = flow_module._layer_measures

    def spy(*args, serial=False, **kwargs):
        seen.append(serial)
        return original(*args, serial=serial, **kwargs)

    layers = make_layers(seed=5, n=300, n_layers=6)
    kw = {"connect": connect, "symmetrize": symmetrize, "curvature": curvature}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisconnectedGraphWarning)
        ref = ricci_flow(layers, ks, **kw)
        monkeypatch.setattr(flow_module, "_layer_measures", spy)
        par = ricci_flow(layers, ks, n_jobs=2, **kw)
    assert seen == [True] * 6
    for a, b in zip(np.atleast_1d(ref), np.atleast_1d(par)):
        results_equal(a, b)


def test_layers_in_threads_propagates_errors(monkeypatch):
    import sk_ricci._flow as flow_module

    original = flow_module._layer_measures

    def failing(X, *args, **kwargs):
        if X[0, 0] == -1.0:
            raise RuntimeError("layer failed")
        return original(X, *args, **kwargs)

    layers = make_layers(seed=1, n=80)
    layers[3] = layers[3].copy()
    layers[3][0, 0] = -1.0
    monkeypatch.setattr(flow_module, "_layer_measures", failing)
    with pytest.raises(RuntimeError, match="layer failed"):
        ricci_flow(layers, 5, n_jobs=2)


def test_permuting_samples_leaves_flow_unchanged():
    layers = make_layers(seed=4)
    perm = np.random.RandomState(0).permutation(60)
    a = ricci_flow(layers, 7, symmetrize="sum")
    b = ricci_flow([X[perm] for X in layers], 7, symmetrize="sum")
    assert_array_equal(a.total_curvature, b.total_curvature)
    assert_array_equal(a.geodesic_mass, b.geodesic_mass)
    assert a.coefficient == pytest.approx(b.coefficient, abs=1e-14)


# --------------------------------------------------------------------------
# disconnected layers
# --------------------------------------------------------------------------


def split_layer(layers, which):
    """Move half of the rows of layer ``which`` (1-based) far away."""
    out = [X.copy() for X in layers]
    out[which - 1][:30] += 1000.0
    return out


def test_disconnected_layer_nan_and_warning(oracle):
    layers = split_layer(make_layers(seed=0), 3)
    with pytest.warns(DisconnectedGraphWarning,
                      match=r"n_neighbors=5 is disconnected in layer\(s\) \[3\]") as w:
        res = ricci_flow(layers, 5)
    assert "2 components" in str(w[0].message)
    assert "connect='mst'" in str(w[0].message)
    ref = oracle_flow(oracle, layers, 5)
    assert_array_equal(ref["ncomp"], [1, 1, 2, 1, 1])
    assert_result_matches(res, ref, 5)
    assert np.isnan(res.coefficient)
    assert np.isnan(res.adjusted_paper) and np.isnan(res.adjusted_fisher)
    assert_array_equal(res.connected, [True, True, False, True, True])
    assert not res.all_connected
    # eta_2 = g_3 - g_2 and eta_3 = g_4 - g_3 are undefined, never dropped
    assert_array_equal(np.isnan(res.eta), [False, True, True, False])
    assert res.eta[0] == ref["mass"][1] - ref["mass"][0]
    assert res.eta[3] == ref["mass"][4] - ref["mass"][3]


def test_disconnected_layer_warning_stacklevel_points_to_caller():
    layers = split_layer(make_layers(seed=0), 2)
    with pytest.warns(DisconnectedGraphWarning, match=r"layer\(s\) \[2\]") as w:
        ricci_flow(layers, 5)
    assert w[0].filename == __file__


def test_disconnected_layer_raise():
    layers = split_layer(make_layers(seed=0), 4)
    with pytest.raises(DisconnectedGraphError, match=r"layer\(s\) \[4\]"):
        ricci_flow(layers, 5, on_disconnected="raise")
    assert issubclass(DisconnectedGraphError, ValueError)


def test_disconnected_layer_connect_mst_is_finite(oracle):
    layers = split_layer(make_layers(seed=0), 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning at all
        res = ricci_flow(layers, 5, connect="mst")
    assert res.all_connected and np.isfinite(res.coefficient)
    assert_result_matches(res, oracle_flow(oracle, layers, 5, connect="mst"), 5)


# --------------------------------------------------------------------------
# number of layers
# --------------------------------------------------------------------------


@pytest.mark.parametrize("L", [3, 4])
def test_few_layers_adjusted_undefined(oracle, L):
    layers = make_layers(seed=6, n_layers=L)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = ricci_flow(layers, 6)
    # rho warns only where it is undefined (L = 3); the adjusted forms are
    # NaN for L <= 4 as documented, without a warning of their own
    assert [str(w.message)[:47] for w in caught] == (
        ["the Ricci coefficient at n_neighbors=6 is undef"] if L == 3 else [])
    ref = oracle_flow(oracle, layers, 6)
    if L == 3:  # a correlation over 2 points is undefined (always +-1)
        assert np.isnan(res.coefficient)
        np.testing.assert_allclose(res.eta, ref["eta"], atol=1e-9)
    else:
        assert res.coefficient == pytest.approx(ref["rho"], abs=1e-12)
    assert np.isnan(res.adjusted_paper) and np.isnan(res.adjusted_fisher)
    assert res.eta.shape == (L - 1,)


def test_two_layers_rejected():
    with pytest.raises(ValueError, match=r"got 2 layer\(s\).*at least 3 layers"):
        ricci_flow(make_layers(n_layers=2), 5)
    with pytest.raises(ValueError, match="at least 3"):
        ricci_flow(make_layers(n_layers=1), 5)


def test_five_layers_adjusted_is_arctanh():
    # L = 5: sqrt(L - 4) = 1, so both adjusted forms equal arctanh(rho)
    layers = make_layers(seed=8, n_layers=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = ricci_flow(layers, 6)
    assert np.isfinite(res.adjusted_paper) and np.isfinite(res.adjusted_fisher)
    assert res.adjusted_paper == pytest.approx(np.arctanh(res.coefficient))
    assert res.adjusted_fisher == pytest.approx(np.arctanh(res.coefficient))


def test_seven_layers_adjusted_forms(oracle):
    layers = make_layers(seed=9, n_layers=7)
    res = ricci_flow(layers, 6)
    ref = oracle_flow(oracle, layers, 6)
    z = np.arctanh(ref["rho"])
    # paper: z / sqrt(3), Fisher: z * sqrt(3)
    assert res.adjusted_paper == pytest.approx(z / np.sqrt(3), rel=1e-10)
    assert res.adjusted_fisher == pytest.approx(z * np.sqrt(3), rel=1e-10)
    assert res.adjusted_fisher == pytest.approx(3 * res.adjusted_paper)


@pytest.mark.parametrize("n_layers, root", [(8, 2.0), (9, np.sqrt(5)), (13, 3.0)])
def test_adjusted_forms_by_hand(oracle, n_layers, root):
    # sqrt(L - 4) written out: Eq. 11 as printed divides, Fisher multiplies
    layers = make_layers(seed=10 + n_layers, n_layers=n_layers)
    ref = oracle_flow(oracle, layers, 6)
    assert "rho" in ref and abs(ref["rho"]) < 1
    res = ricci_flow(layers, 6)
    z = 0.5 * np.log((1 + ref["rho"]) / (1 - ref["rho"]))  # arctanh by hand
    assert res.coefficient == pytest.approx(ref["rho"], abs=1e-12)
    assert res.adjusted_paper == pytest.approx(z / root, rel=1e-9)
    assert res.adjusted_fisher == pytest.approx(z * root, rel=1e-9)


def test_constant_layers_undefined_coefficient():
    X = make_layers(seed=0)[0]
    with pytest.warns(UndefinedCoefficientWarning, match="constant"):
        res = ricci_flow([X, X, X, X, X], 5)
    assert_array_equal(res.eta, 0)
    assert np.isnan(res.coefficient) and np.isnan(res.adjusted_paper)


# --------------------------------------------------------------------------
# aggregated coefficient
# --------------------------------------------------------------------------


def test_aggregated_is_pooled_pearson():
    nets = [make_layers(seed=s) for s in range(3)]
    res = [ricci_flow(layers, 6) for layers in nets]
    agg = aggregated_ricci_coefficient(res)
    eta = np.concatenate([r.eta for r in res])
    ric = np.concatenate([r.total_curvature[:-1] for r in res])
    assert agg.coefficient == pytest.approx(np.corrcoef(eta, ric)[0, 1], abs=1e-12)
    assert float(agg) == agg.coefficient
    assert (agg.n_networks, agg.n_skipped, agg.n_points) == (3, 0, 12)


def test_aggregated_by_hand():
    # pairs (eta, Ric): net 1 (-1, -1), (-2, -2); net 2 (-2, -3), (0, 0).
    # eta = [-1, -2, -2, 0], mean -1.25; ric = [-1, -2, -3, 0], mean -1.5
    # dx = [0.25, -0.75, -0.75, 1.25], dy = [0.5, -0.5, -1.5, 1.5]
    # sxy = 0.125 + 0.375 + 1.125 + 1.875 = 3.5
    # sxx = 0.0625 + 0.5625 + 0.5625 + 1.5625 = 2.75; syy = 5
    # rho = 3.5 / sqrt(13.75)
    def net(ric, mass):
        ric, mass = np.array(ric, float), np.array(mass, float)
        return RicciFlowResult(5, ric, mass, np.diff(mass), np.nan, np.nan,
                               np.nan, np.ones(3, bool), np.ones(3, int))

    agg = aggregated_ricci_coefficient([net([-1, -2, 0], [10, 9, 7]),
                                        net([-3, 0, 0], [20, 18, 18])])
    assert agg.coefficient == pytest.approx(3.5 / np.sqrt(13.75))


def test_aggregated_skips_disconnected_networks():
    nets = [make_layers(seed=s) for s in range(4)]
    nets[1] = split_layer(nets[1], 2)
    nets[3] = split_layer(nets[3], 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisconnectedGraphWarning)
        res = [ricci_flow(layers, 5) for layers in nets]
    with pytest.warns(DisconnectedGraphWarning,
                      match=r"2 of 4 network\(s\) .* n_neighbors=5 .* skipped"):
        agg = aggregated_ricci_coefficient(res)
    kept = [res[0], res[2]]
    eta = np.concatenate([r.eta for r in kept])
    ric = np.concatenate([r.total_curvature[:-1] for r in kept])
    assert agg.coefficient == pytest.approx(np.corrcoef(eta, ric)[0, 1], abs=1e-12)
    assert (agg.n_networks, agg.n_skipped, agg.n_points) == (2, 2, 8)
    with pytest.warns(DisconnectedGraphWarning, match="1 of 1"):
        none = aggregated_ricci_coefficient([res[1]])
    assert np.isnan(none.coefficient) and none.n_networks == 0


def test_aggregated_bad_input():
    layers = make_layers(seed=0)
    a, b = ricci_flow(layers, [5, 6])
    with pytest.raises(ValueError, match=r"mix several n_neighbors \[5, 6\]"):
        aggregated_ricci_coefficient([a, b])
    with pytest.raises(ValueError, match="results is empty"):
        aggregated_ricci_coefficient([])


# --------------------------------------------------------------------------
# scale selection
# --------------------------------------------------------------------------


def blobs(seed=0, n=60, sep=6.0):
    rng = np.random.RandomState(seed)
    centers = np.array([[0, 0, 0], [sep, 0, 0], [0, sep, 0]], float)
    return centers[np.arange(n) % 3] + rng.normal(size=(n, 3))


def test_smallest_connected_n_neighbors_brute_force(oracle):
    for seed in range(3):
        X = blobs(seed)
        for sym in ("max", "min"):
            expected = next(
                (k for k in range(1, 60)
                 if oracle.n_components(oracle.dense_graph(X, k, sym)) == 1),
                None,
            )
            assert smallest_connected_n_neighbors(X, symmetrize=sym) == expected
    far = np.r_[np.zeros((5, 1)), 1 + np.zeros((5, 1))] + np.arange(10)[:, None] * 1e-3
    assert smallest_connected_n_neighbors(far, max_n_neighbors=4) is None


def test_select_with_explicit_grid():
    X = blobs(0)
    nets = [make_layers(seed=s, X=X) for s in range(3)]
    grid = [2, 5, 9, 15]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisconnectedGraphWarning)
        sel = select_n_neighbors(nets, grid)
        direct = [[ricci_flow(layers, k) for k in grid] for layers in nets]
    assert_array_equal(sel.n_neighbors_grid, grid)
    assert sel.coefficients.shape == (4,) and sel.n_networks.shape == (4,)
    assert len(sel.results) == 3 and all(len(r) == 4 for r in sel.results)
    for i in range(3):
        for j in range(4):
            results_equal(sel.results[i][j], direct[i][j])
    for j in range(4):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DisconnectedGraphWarning)
            agg = aggregated_ricci_coefficient([d[j] for d in direct])
        c = sel.coefficients[j]
        assert (np.isnan(c) and np.isnan(agg.coefficient)) or c == agg.coefficient
        assert sel.n_networks[j] == agg.n_networks
    assert np.isfinite(sel.coefficients).any()
    best = int(np.nanargmin(sel.coefficients))
    assert sel.best_n_neighbors == grid[best]
    assert sel.best_coefficient == sel.coefficients[best]
    assert sel.min_connected_n_neighbors is None


def test_select_curve_with_nan_uses_nanargmin():
    # blobs of 20 points far apart: the layer graphs stay disconnected for
    # k < 20, so the curve is NaN there and k* comes from the finite part
    X = blobs(1, sep=30.0)
    nets = [make_layers(seed=s, X=X) for s in range(2)]
    grid = [1, 5, 10, 25, 30]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisconnectedGraphWarning)
        sel = select_n_neighbors(nets, grid)
    assert np.isnan(sel.coefficients[:3]).all()
    assert_array_equal(sel.n_networks, [0, 0, 0, 2, 2])
    assert np.isfinite(sel.coefficients[3:]).all()
    best = int(np.nanargmin(sel.coefficients))
    assert best >= 3
    assert sel.best_n_neighbors == grid[best]
    assert sel.best_coefficient == np.nanmin(sel.coefficients)


def test_select_all_disconnected_warns():
    X = blobs(1, sep=200.0)
    nets = [[X + 0.01 * i * np.arange(3) for i in range(5)]]
    with pytest.warns(DisconnectedGraphWarning) as rec:
        sel = select_n_neighbors(nets, [1, 2])
    msgs = [str(w.message) for w in rec]
    assert any("no scale in the grid" in m for m in msgs)
    # the per-network warnings are not swallowed either
    assert any("n_neighbors=1 is disconnected in layer(s) [1, 2, 3, 4, 5]" in m
               for m in msgs)
    assert sel.best_n_neighbors is None and np.isnan(sel.best_coefficient)


def test_select_default_grid_starts_at_smallest_connected_k(oracle):
    X = blobs(2, sep=5.5)
    nets = [make_layers(seed=s, X=X) for s in range(2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisconnectedGraphWarning)
        sel = select_n_neighbors(nets, X=X, connect="mst")
    kmin = sel.min_connected_n_neighbors
    assert kmin > 1, "test data should need k > 1 to be connected"
    assert oracle.n_components(oracle.dense_graph(X, kmin, "max")) == 1
    assert oracle.n_components(oracle.dense_graph(X, kmin - 1, "max")) > 1
    grid = sel.n_neighbors_grid
    assert grid[0] == kmin
    assert grid[-1] == int(0.25 * 60)  # max_fraction * n_samples
    assert np.all(np.diff(grid) > 0) and len(grid) <= 12
    assert sel.coefficients.shape == grid.shape
    assert sel.best_n_neighbors == grid[int(np.nanargmin(sel.coefficients))]
    # without X, the first layer of the first network is the reference
    sel2 = select_n_neighbors(nets, connect="mst", n_grid=4)
    k2 = smallest_connected_n_neighbors(nets[0][0])
    assert sel2.n_neighbors_grid[0] == k2 and len(sel2.n_neighbors_grid) <= 4


def test_select_bad_input():
    nets = [make_layers(seed=0), make_layers(seed=1, n=50)]
    with pytest.raises(ValueError, match="network 2 has 50 samples, network 1 has 60"):
        select_n_neighbors(nets, [5])
    with pytest.raises(ValueError, match="networks is empty"):
        select_n_neighbors([], [5])
    with pytest.raises(ValueError, match=r"max_fraction must be a float in \(0, 1\); got float 1.5"):
        select_n_neighbors(nets[:1], max_fraction=1.5)
    with pytest.raises(ValueError, match="X has 10 samples, the layers have 60"):
        select_n_neighbors(nets[:1], X=np.zeros((10, 2)))


# --------------------------------------------------------------------------
# RicciFlow estimator
# --------------------------------------------------------------------------


def test_ricci_flow_estimator_attributes():
    layers = make_layers(seed=3)
    est = RicciFlow(n_neighbors=6, symmetrize="sum").fit(layers)
    res = ricci_flow(layers, 6, symmetrize="sum")
    results_equal(est.result_, res)
    assert est.coefficient_ == res.coefficient
    assert est.adjusted_paper_ == res.adjusted_paper
    assert est.adjusted_fisher_ == res.adjusted_fisher
    assert_array_equal(est.total_curvature_, res.total_curvature)
    assert_array_equal(est.geodesic_mass_, res.geodesic_mass)
    assert_array_equal(est.eta_, res.eta)
    assert_array_equal(est.connected_, res.connected)
    assert est.n_layers_ == 5
    assert est.score(layers) == -res.coefficient


def test_ricci_flow_estimator_clone_and_pickle():
    layers = make_layers(seed=3)
    est = RicciFlow(n_neighbors=7, connect="mst", curvature="augmented_forman")
    c = clone(est)
    assert c.get_params() == est.get_params()
    assert not hasattr(c, "result_")
    est.fit(layers)
    est2 = pickle.loads(pickle.dumps(est))
    results_equal(est2.result_, est.result_)
    assert est2.get_params() == est.get_params()
    results_equal(clone(est).fit(layers).result_, est.result_)


def test_ricci_flow_estimator_rejects_list_before_computing(monkeypatch):
    # regression: fit measured the whole flow at every k of the list, then
    # refused the list of results
    import sk_ricci._flow as flow_module

    calls = []
    original = flow_module._measure_layers

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(flow_module, "_measure_layers", spy)
    layers = make_layers(seed=0)
    with pytest.raises(TypeError, match=r"RicciFlow: n_neighbors must be an int "
                       r">= 1; got list \[5, 6\]\. Pass one int"):
        RicciFlow(n_neighbors=[5, 6]).fit(layers)
    assert calls == []
    RicciFlow(n_neighbors=5).fit(layers)  # the spy does see a valid fit
    assert calls == [1]


def test_ricci_flow_estimator_on_disconnected_raise():
    layers = split_layer(make_layers(seed=0), 3)
    with pytest.raises(DisconnectedGraphError, match=r"\[3\]"):
        RicciFlow(n_neighbors=5, on_disconnected="raise").fit(layers)


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------


def with_layer(i, value, n_layers=5):
    layers = make_layers(seed=0, n_layers=n_layers)
    layers[i - 1] = value
    return layers


def _nan_in(i):
    layers = make_layers(seed=0)
    layers[i - 1] = layers[i - 1].copy()
    layers[i - 1][7, 1] = np.nan
    return layers


def _inf_in(i):
    layers = make_layers(seed=0)
    layers[i - 1] = layers[i - 1].copy()
    layers[i - 1][3, 0] = np.inf
    return layers


@pytest.mark.parametrize(
    "layers, exc, match",
    [
        (_nan_in(2), ValueError,
         (r"layer 2 contains 1 non-finite value\(s\) \(NaN\) in 1 row\(s\), "
          "first at row 7")),
        (_inf_in(4), ValueError, r"layer 4 contains 1 non-finite value\(s\) \(inf\)"),
        (with_layer(3, np.zeros((59, 8))), ValueError,
         "layer 3 has 59 rows, layer 1 has 60"),
        (with_layer(2, np.zeros(60)), ValueError, "layer 2 must be 2-D"),
        (with_layer(1, np.full((60, 2), "x")), TypeError,
         "layer 1 must hold numbers"),
        (with_layer(5, np.zeros((60, 2), dtype=object)), TypeError,
         "layer 5 must hold numbers, got dtype object"),
        ([], ValueError, "layers is an empty list"),
        (np.zeros((60, 3)), TypeError, "wrap it in a list"),
        (None, TypeError, "layers must be a list"),
        (5, TypeError, "layers must be a list"),
    ],
)
def test_bad_layers(layers, exc, match):
    with pytest.raises(exc, match=match):
        ricci_flow(layers, 5)


@pytest.mark.parametrize(
    "n_neighbors, exc, match",
    [
        (0, ValueError, "n_neighbors=0 must be >= 1"),
        (60, ValueError, "n_neighbors=60 must be smaller than n_samples=60"),
        (5.0, TypeError, "got float 5.0"),
        ([], ValueError, "empty list"),
        ([5, 5.5], TypeError, "must contain ints, got float 5.5"),
    ],
)
def test_bad_n_neighbors(n_neighbors, exc, match):
    with pytest.raises(exc, match=match):
        ricci_flow(make_layers(seed=0), n_neighbors)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"symmetrize": "or"},
         "ricci_flow: symmetrize must be one of 'max', 'min', 'sum'; got str 'or'"),
        ({"curvature": "wasserstein"},
         ("curvature must be one of 'forman', 'augmented_forman', "
         "'approx_ollivier', 'ollivier'; got str 'wasserstein'")),
        ({"connect": "knn"}, ("connect must be one of None, 'mst'; got str 'knn'. "
         "Pass connect=\"mst\"")),
        ({"on_disconnected": "drop"},
         "on_disconnected must be one of 'nan', 'raise'; got str 'drop'"),
        ({"algorithm": "kd_tree"},
         "algorithm must be one of 'auto', 'brute', 'nndescent'; got str 'kd_tree'"),
        ({"n_jobs": 0}, "n_jobs must be None or a non-zero int"),
        ({"random_state": -1}, "random_state must be None or an int in [0, 2**32"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        ricci_flow(make_layers(seed=0), 5, **kwargs)
