"""local_ricci_flow vs a dense re-computation of the local Ricci coefficients
(Hehl, von Renesse and Weber, arXiv:2509.22362): all-pairs hop distances by
scipy, numpy means over neighbours, np.corrcoef."""

import json
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _settings import random_relu_layers
from numpy.testing import assert_allclose, assert_array_equal
from scipy.sparse.csgraph import shortest_path

from sk_ricci import (
    LocalRicciFlowResult,
    UndefinedCoefficientWarning,
    local_ricci_flow,
)
from sk_ricci._kernels.local import target_distances

SYMMETRIZE = ["max", "min", "sum"]


make_layers = random_relu_layers


def trained_like_layers(seed=0, n=70, n_layers=6):
    """Two classes pulled apart and compressed layer by layer, as a trained
    classifier does (with some dead units collapsing points)."""
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n)
    X = rng.normal(size=(n, 4))
    layers = []
    for l in range(n_layers):
        t = (l + 1) / n_layers
        h = (1 - t) * X + t * 3.0 * np.c_[y, 1 - y, y, -y]
        h = np.maximum(h @ rng.normal(size=(4, 6)) + 0.3, 0)
        layers.append(h)
    return layers


def dense_pearson(a, b):
    """np.corrcoef, NaN for a non-finite or exactly constant series."""
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return np.nan
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return np.nan
    return float(np.corrcoef(a, b)[0, 1])


def oracle_local(oracle, layers, k, symmetrize="max", connect=None,
                 augmented=False, edge_curvature=None):
    """Everything by dense matrices: G_l from the conftest oracle, Forman
    curvature 4 - d_i - d_j (+3 triangles) or ``edge_curvature(G)`` (a dense
    matrix), all-pairs hop distances."""
    Gs = []
    for X in layers:
        G = oracle.dense_graph(X, k, symmetrize)
        if connect == "mst":
            for i, j in oracle.kruskal_mst(X):
                if G[i, j] == 0:
                    G[i, j] = G[j, i] = 1
        Gs.append(G)
    L, n = len(layers), layers[0].shape[0]
    S = np.full((L - 1, n), np.nan)
    E = np.full((L - 1, n), np.nan)
    for l in range(L - 1):
        G = Gs[l]
        d = G.sum(axis=1)
        A = (G != 0).astype(float)
        T = A @ A
        Rl = None if edge_curvature is None else edge_curvature(G)
        D1 = shortest_path(
            (Gs[l + 1] != 0).astype(float), unweighted=True, directed=False
        )
        for x in range(n):
            nb = np.flatnonzero(G[x])
            if nb.size == 0:
                continue
            w = G[x, nb]
            R = 4 - d[x] - d[nb] + (3 * T[x, nb] if augmented else 0)
            if Rl is not None:
                R = Rl[x, nb]
            S[l, x] = np.sum(w * R) / np.sum(w)
            E[l, x] = np.sum(w * (D1[x, nb] - 1)) / np.sum(w)
    coefs = np.array([dense_pearson(S[:, x], E[:, x]) for x in range(n)])
    layer = []
    for l in range(L - 1):
        keep = np.isfinite(S[l]) & np.isfinite(E[l])
        layer.append(dense_pearson(S[l, keep], E[l, keep]))
    return S, E, coefs, np.array(layer)


def check_against_oracle(res, ref):
    S, E, coefs, layer = ref
    assert_allclose(res.scalar_curvature, S, rtol=1e-12, atol=1e-12)
    assert_allclose(res.expansion, E, rtol=1e-12, atol=1e-12)
    assert_allclose(res.coefficients, coefs, rtol=1e-9, atol=1e-12)
    assert_allclose(res.layer_coefficients, layer, rtol=1e-9, atol=1e-12)
    defined = coefs[~np.isnan(coefs)]
    assert res.mean == pytest.approx(defined.mean())
    assert res.share_negative == pytest.approx((defined < 0).mean())


# ---------------------------------------------------------------------------
# dense oracle
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("symmetrize", SYMMETRIZE)
@pytest.mark.parametrize("k", [3, 6, 15])
def test_matches_dense_oracle_random_layers(oracle, symmetrize, k):
    layers = make_layers(seed=k, n=50)
    ref = oracle_local(oracle, layers, k, symmetrize)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedCoefficientWarning)
        res = local_ricci_flow(layers, k, symmetrize=symmetrize)
    check_against_oracle(res, ref)


@pytest.mark.parametrize("symmetrize", SYMMETRIZE)
def test_matches_dense_oracle_trained_like_mst(oracle, symmetrize):
    layers = trained_like_layers(seed=1)
    ref = oracle_local(oracle, layers, 5, symmetrize, connect="mst")
    res = local_ricci_flow(layers, 5, symmetrize=symmetrize, connect="mst")
    check_against_oracle(res, ref)
    # with the tree every graph is connected: every expansion is finite
    assert np.isfinite(res.expansion).all()


def test_matches_dense_oracle_augmented(oracle):
    layers = make_layers(seed=3, n=45, n_layers=6)
    ref = oracle_local(oracle, layers, 7, "max", connect="mst", augmented=True)
    res = local_ricci_flow(layers, 7, connect="mst", curvature="augmented_forman")
    check_against_oracle(res, ref)


@pytest.mark.filterwarnings("ignore::sk_ricci.UndefinedCoefficientWarning")
@pytest.mark.parametrize("curvature", ["approx_ollivier", "ollivier"])
def test_matches_dense_oracle_ollivier(oracle, curvature):
    from test_curvature import dense_approx_ollivier, lp_ollivier

    layers = make_layers(seed=8, n=20, n_layers=5, width=4)
    fn = (lambda A: lp_ollivier(A, 0.5)) if curvature == "ollivier" else (
        dense_approx_ollivier)
    for sym in ("max", "sum"):
        ref = oracle_local(oracle, layers, 3, sym, connect="mst",
                           edge_curvature=fn)
        res = local_ricci_flow(layers, 3, symmetrize=sym, connect="mst",
                               curvature=curvature)
        assert res.curvature == curvature
        assert_allclose(res.scalar_curvature, ref[0], atol=1e-9)
        assert_allclose(res.coefficients, ref[2], atol=1e-9)
        assert_allclose(res.layer_coefficients, ref[3], atol=1e-9)


@pytest.mark.filterwarnings("ignore::sk_ricci.UndefinedCoefficientWarning")
@pytest.mark.parametrize("connect", [None, "mst"])
def test_grid_of_k_equals_one_call_per_k_and_the_oracle(oracle, connect):
    # one neighbour search serves every k of the grid: the neighbours must be
    # sorted by distance for the smaller k even without the tree (connect=None)
    layers = make_layers(seed=4, n=60)
    grid = local_ricci_flow(layers, [4, 9], connect=connect)
    assert isinstance(grid, list) and [r.n_neighbors for r in grid] == [4, 9]
    for r in grid:
        one = local_ricci_flow(layers, r.n_neighbors, connect=connect)
        assert_array_equal(r.coefficients, one.coefficients)
        assert_array_equal(r.expansion, one.expansion)
        check_against_oracle(r, oracle_local(oracle, layers, r.n_neighbors,
                                             connect=connect))


@pytest.mark.filterwarnings("ignore::sk_ricci.UndefinedCoefficientWarning")
def test_n_jobs_does_not_change_result():
    layers = make_layers(seed=5, n=2100, n_layers=4, width=6)
    a = local_ricci_flow(layers, 8, connect="mst")
    b = local_ricci_flow(layers, 8, connect="mst", n_jobs=2)
    assert_array_equal(a.expansion, b.expansion)
    assert_array_equal(a.coefficients, b.coefficients)


def test_permuting_points_permutes_coefficients():
    layers = make_layers(seed=6, n=50)
    perm = np.random.RandomState(0).permutation(50)
    a = local_ricci_flow(layers, 6, connect="mst")
    b = local_ricci_flow([X[perm] for X in layers], 6, connect="mst")
    assert_allclose(b.coefficients, a.coefficients[perm], equal_nan=True)
    assert_allclose(b.layer_coefficients, a.layer_coefficients)


# ---------------------------------------------------------------------------
# the truncated BFS against scipy's all-pairs distances
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("parallel", [False, True])
def test_target_distances_against_shortest_path(parallel):
    rng = np.random.RandomState(0)
    n = 120
    # H: a sparse random graph with several components and long paths
    A = sp.random(n, n, density=0.015, random_state=rng, format="csr")
    H = ((A + A.T) > 0).astype(float)
    H.setdiag(0)
    H.eliminate_zeros()
    H = sp.csr_matrix(H)
    B = sp.random(n, n, density=0.05, random_state=rng, format="csr")
    G = ((B + B.T) > 0).astype(float)
    G.setdiag(0)
    G.eliminate_zeros()
    G = sp.csr_matrix(G)
    D = shortest_path(H, unweighted=True, directed=False)
    out = target_distances(
        G.indptr.astype(np.int64), G.indices.astype(np.int64),
        H.indptr.astype(np.int64), H.indices.astype(np.int64), parallel,
    )
    rows = np.repeat(np.arange(n), np.diff(G.indptr))
    expect = D[rows, G.indices]
    assert (expect == np.inf).any() and (expect >= 4).any()  # both cases hit
    assert_array_equal(np.where(np.isinf(expect), -1, expect), out)


# ---------------------------------------------------------------------------
# hand-computed small graphs
# ---------------------------------------------------------------------------


def test_hand_computed_points_on_a_line():
    # 1-D points, k = 1, "max": layer 1 = 0,1,2,3 (a path 0-1-2-3);
    # layer 2 moves point 3 next to point 0: 3 | 0 1 2 -> path 3-0-1-2;
    # layer 3 = layer 1, layer 4 = layer 2 (4 layers: 3 points per sample).
    # layer 1: degrees 1,2,2,1; Forman R(0,1)=1, R(1,2)=0, R(2,3)=1
    #   s_1 = [1, (1+0)/2, (0+1)/2, 1] = [1, .5, .5, 1]
    #   distances in layer 2 (path 3-0-1-2): d(0,1)=1, d(1,2)=1, d(2,3)=3
    #   eta_1 = [0, 0, (0 + 2)/2, 2] = [0, 0, 1, 2]
    # layer 2 (path 3-0-1-2): degrees 2,2,1,1 for points 0,1,2,3;
    #   R(3,0)=1, R(0,1)=0, R(1,2)=1 -> s_2 = [.5, .5, 1, 1]
    #   distances in layer 3 (path 0-1-2-3): d(3,0)=3, d(0,1)=1, d(1,2)=1
    #   eta_2 = [(2 + 0)/2, 0, 0, 2] = [1, 0, 0, 2]
    # layer 3 repeats layer 1: s_3 = s_1, eta_3 = eta_1
    l1 = np.array([[0.0], [1.0], [2.0], [3.0]])
    l2 = np.array([[1.0], [2.0], [3.0], [0.0]])
    with pytest.warns(UndefinedCoefficientWarning, match="2 of 4 .* constant"):
        res = local_ricci_flow([l1, l2, l1, l2], 1)
    assert_allclose(res.scalar_curvature,
                    [[1, .5, .5, 1], [.5, .5, 1, 1], [1, .5, .5, 1]])
    assert_allclose(res.expansion, [[0, 0, 1, 2], [1, 0, 0, 2], [0, 0, 1, 2]])
    # point 0: s = (1, .5, 1), eta = (0, 1, 0) -> -1; point 2: s = (.5, 1, .5),
    # eta = (1, 0, 1) -> -1; points 1 (s constant) and 3 (both constant): NaN
    assert_allclose(res.coefficients, [-1, np.nan, -1, np.nan])
    assert res.mean == -1 and res.share_negative == 1
    # layer 1: corr([1,.5,.5,1], [0,0,1,2]); layer 2: corr([.5,.5,1,1],[1,0,0,2])
    assert_allclose(
        res.layer_coefficients,
        [np.corrcoef([1, .5, .5, 1], [0, 0, 1, 2])[0, 1],
         np.corrcoef([.5, .5, 1, 1], [1, 0, 0, 2])[0, 1],
         np.corrcoef([1, .5, .5, 1], [0, 0, 1, 2])[0, 1]],
    )


def test_disconnected_next_layer_gives_nan_with_one_warning():
    # two far clusters in layer 2: neighbours across them are unreachable
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 2))
    split = X * [1.0, 4.0]  # stretched (neighbourhoods change) ...
    split[X[:, 0] > 0] += 100.0  # ... and cut in two far halves
    layers = [X, split, X * 2, X * 3]
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        res = local_ricci_flow(layers, 5)
    msgs = [w for w in rec if issubclass(w.category, UndefinedCoefficientWarning)]
    assert len(msgs) == 1
    assert "unreachable" in str(msgs[0].message)
    bad = np.isinf(res.expansion[0])
    assert bad.any() and np.isnan(res.coefficients[bad]).all()
    n_bad = int(np.isnan(res.coefficients).sum())
    assert str(msgs[0].message).startswith(f"{n_bad} of 30 local")
    # the layer coefficient of layer 1 uses the points with finite values
    keep = ~bad
    assert res.layer_coefficients[0] == pytest.approx(
        np.corrcoef(res.scalar_curvature[0, keep], res.expansion[0, keep])[0, 1]
    )
    # connect="mst" makes them all finite
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedCoefficientWarning)
        res2 = local_ricci_flow(layers, 5, connect="mst")
    assert np.isfinite(res2.expansion).all()


def test_min_convention_isolated_point_is_nan():
    # an outlier is nobody's nearest neighbour: no mutual pair, no edge
    X = np.array([[0.0], [1.0], [2.1], [3.3], [50.0]])
    layers = [X, X * 1.5, X * 2 + 1, X * 3]
    with pytest.warns(UndefinedCoefficientWarning, match="no neighbour"):
        res = local_ricci_flow(layers, 1, symmetrize="min")
    assert np.isnan(res.scalar_curvature[:, 4]).all()
    assert np.isnan(res.coefficients[4])


# ---------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::sk_ricci.UndefinedCoefficientWarning")
def test_to_frame_and_to_dict(oracle):
    pd = pytest.importorskip("pandas")
    layers = make_layers(seed=7, n=40, n_layers=4)
    S, E, coefs, _ = oracle_local(oracle, layers, 5, connect="mst")
    res = local_ricci_flow(layers, 5, connect="mst")
    assert isinstance(res, LocalRicciFlowResult)
    frame = res.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert frame.shape == (40, 1 + 2 * 3)
    assert list(frame.columns) == [
        "coefficient", "scalar_curvature_1", "scalar_curvature_2",
        "scalar_curvature_3", "expansion_1", "expansion_2", "expansion_3",
    ]
    assert frame.index.name == "sample"
    assert_array_equal(frame.index.to_numpy(), np.arange(40))
    # every column against the dense oracle, layer l in column _l
    assert_allclose(frame["coefficient"].to_numpy(), coefs, atol=1e-9)
    for l in range(3):
        assert_allclose(frame[f"scalar_curvature_{l + 1}"].to_numpy(), S[l],
                        atol=1e-12)
        assert_allclose(frame[f"expansion_{l + 1}"].to_numpy(), E[l],
                        atol=1e-12)
    d = json.loads(json.dumps(res.to_dict()))
    assert d["n_neighbors"] == 5 and d["connect"] == "mst"
    assert d["curvature"] == "forman" and d["symmetrize"] == "max"
    assert_allclose(np.array(d["coefficients"], dtype=float), coefs, atol=1e-9)
    assert_allclose(np.array(d["scalar_curvature"], dtype=float), S, atol=1e-12)
    assert_allclose(np.array(d["expansion"], dtype=float), E, atol=1e-12)
    defined = coefs[~np.isnan(coefs)]
    assert f"mean={defined.mean():.4g}" in repr(res)


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------


def test_too_few_layers():
    X = np.random.RandomState(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="got 2 layer.*at least 3 layers"):
        local_ricci_flow([X, X], 3)


def test_layers_with_different_rows():
    X = np.random.RandomState(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="layer 3 has 19 rows, layer 1 has 20"):
        local_ricci_flow([X, X, X[:-1]], 3)


def test_nan_activations():
    X = np.random.RandomState(0).normal(size=(20, 2))
    Y = X.copy()
    Y[4, 1] = np.nan
    with pytest.raises(ValueError, match="layer 2 contains 1 non-finite"):
        local_ricci_flow([X, Y, X], 3)


def test_too_few_points_for_n_neighbors():
    X = np.random.RandomState(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="n_neighbors=10 must be smaller than "
                       "n_samples=10"):
        local_ricci_flow([X, X, X], 10)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"curvature": "ricci"},
         ("local_ricci_flow: curvature must be one of 'forman', "
         "'augmented_forman', 'approx_ollivier', 'ollivier'; got str 'ricci'")),
        ({"symmetrize": "mean"},
         "local_ricci_flow: symmetrize must be one of 'max', 'min', 'sum'"),
        ({"connect": "knn"}, "local_ricci_flow: connect must be one of None, 'mst'"),
        ({"algorithm": "kd_tree"},
         "local_ricci_flow: algorithm must be one of 'auto', 'brute', 'nndescent'"),
        ({"n_jobs": 0},
         "local_ricci_flow: n_jobs must be None or a non-zero int .*; got int 0"),
        ({"n_jobs": 1.5}, "local_ricci_flow: n_jobs must be None or a non-zero int"),
    ],
)
def test_bad_options(kw, match):
    X = np.random.RandomState(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match=match):
        local_ricci_flow([X, X, X], 3, **kw)


# ---------------------------------------------------------------------------
# plot
# ---------------------------------------------------------------------------


def test_local_display_content():
    pytest.importorskip("matplotlib")
    import io

    from sk_ricci.plotting import LocalRicciFlowDisplay

    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 2))
    split = X * [1.0, 4.0]
    split[X[:, 0] > 0] += 100.0
    layers = [X, split, X * 2, X * 3 + 1, X ** 2]
    with pytest.warns(UndefinedCoefficientWarning):
        res = local_ricci_flow(layers, 5)
    n_nan = int(np.isnan(res.coefficients).sum())
    assert 0 < n_nan < 30
    disp = LocalRicciFlowDisplay.from_result(res, X, name="net")
    ax = disp.ax_embedding_
    sizes = [len(c.get_offsets()) for c in ax.collections]
    assert sum(sizes) == 30  # every point, defined or not
    assert sorted(sizes) == sorted([n_nan, 30 - n_nan])
    # 2 features: the points themselves
    assert_array_equal(disp.embedding_, X)
    colored = [c for c in ax.collections if c.get_array() is not None]
    assert len(colored) == 1
    assert_allclose(np.asarray(colored[0].get_array()),
                    res.coefficients[~np.isnan(res.coefficients)])
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$"
    assert ax.get_title().startswith("net, ")
    assert f"k = {res.n_neighbors}" in ax.get_title()
    assert ax.get_legend().get_texts()[0].get_text() == f"undefined ({n_nan})"
    axc = disp.ax_curvature_
    assert [t.get_text() for t in axc.get_xticklabels()] == ["1", "2", "3", "4"]
    assert axc.get_xlabel() == "layer $l$"
    assert axc.get_ylabel() == "scalar curvature $s_l(x)$"
    # one median line per layer, at the median of that layer's s_l(x)
    medians = [ln for ln in axc.lines if len(ln.get_xdata()) == 2
               and ln.get_ydata()[0] == ln.get_ydata()[1]]
    med_vals = sorted({float(ln.get_ydata()[0]) for ln in medians})
    for row in res.scalar_curvature:
        assert float(np.median(row)) in med_vals
    buf = io.BytesIO()
    disp.figure_.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"


def test_local_display_pca_and_bad_rows():
    pytest.importorskip("matplotlib")
    from sk_ricci.plotting import LocalRicciFlowDisplay

    layers = make_layers(seed=9, n=40, n_layers=4)
    X = np.random.RandomState(9).normal(size=(40, 5))
    res = local_ricci_flow(layers, 6, connect="mst")
    disp = LocalRicciFlowDisplay.from_result(res, X)
    # the first two principal components, by an SVD of the centred data
    Xc = X - X.mean(axis=0)
    U, s, _ = np.linalg.svd(Xc, full_matrices=False)
    ref = U[:, :2] * s[:2]
    for j in range(2):  # components are defined up to sign
        sign = np.sign(ref[:, j] @ disp.embedding_[:, j])
        assert_allclose(disp.embedding_[:, j], sign * ref[:, j], atol=1e-9)
    assert disp.ax_embedding_.get_xlabel() == "PC 1"
    with pytest.raises(ValueError, match="X has 39 rows, coefficients 40"):
        LocalRicciFlowDisplay.from_result(res, X[:-1])


@pytest.mark.parametrize("curvature", ["forman", "augmented_forman",
                                       "approx_ollivier"])
@pytest.mark.parametrize("symmetrize", SYMMETRIZE)
def test_scalar_curvature_sums_to_total_curvature(oracle, curvature, symmetrize):
    # sum_x d_x s_l(x) = sum_x sum_y G_xy R(x, y) = 2 Ric_l of ricci_flow
    from sk_ricci import ricci_flow

    layers = make_layers(seed=10, n=50, n_layers=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedCoefficientWarning)
        loc = local_ricci_flow(layers, 5, symmetrize=symmetrize,
                               curvature=curvature, connect="mst")
        glob = ricci_flow(layers, 5, symmetrize=symmetrize, curvature=curvature,
                          connect="mst")
    for l in range(4):
        G = oracle.dense_graph(layers[l], 5, symmetrize)
        for i, j in oracle.kruskal_mst(layers[l]):
            if G[i, j] == 0:
                G[i, j] = G[j, i] = 1
        d = G.sum(axis=1)
        assert np.sum(d * loc.scalar_curvature[l]) == pytest.approx(
            2 * glob.total_curvature[l]
        )


def test_three_layers_give_nan_coefficients_with_a_warning(oracle):
    # 3 layers give 2 points (s_l(x), eta_l(x)) per sample: a correlation over
    # 2 points is +-1 whatever the data, so the per-point coefficients (and
    # their mean and share) are NaN with a warning; the per-layer
    # coefficients, correlations over the samples, stay defined
    layers = make_layers(seed=11, n=40, n_layers=3)
    S, E, coefs, layer = oracle_local(oracle, layers, 5, connect="mst")
    assert np.all(np.abs(coefs[~np.isnan(coefs)]) == pytest.approx(1.0))
    with pytest.warns(UndefinedCoefficientWarning,
                      match=r"3 layers give 2 points.*at least 4 layers"):
        res = local_ricci_flow(layers, 5, connect="mst")
    assert np.isnan(res.coefficients).all()
    assert np.isnan(res.mean) and np.isnan(res.share_negative)
    assert_allclose(res.scalar_curvature, S, atol=1e-12)
    assert_allclose(res.expansion, E, atol=1e-12)
    assert_allclose(res.layer_coefficients, layer, atol=1e-9)
    assert np.isfinite(res.layer_coefficients).all()


def test_dead_units_and_duplicate_points_match_oracle(oracle):
    # ReLU collapses points: a layer where most rows are identical (ties
    # broken by index, as in the oracle) and a fully dead (all-zero) layer
    layers = make_layers(seed=12, n=40, n_layers=5, bias=-0.6)
    layers[2] = np.zeros_like(layers[2])
    assert len(np.unique(layers[1], axis=0)) < 40
    ref = oracle_local(oracle, layers, 4, "max", connect="mst")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedCoefficientWarning)
        res = local_ricci_flow(layers, 4, connect="mst")
    check_against_oracle(res, ref)
