"""Tests for benchmarks/bench_claims.py's rules (the benchmark's numbers are
not asserted): hand-computed series -> the checkpoint each rule picks, and
the partial Spearman correlation against an independent formula."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_claims.py"
NAN = float("nan")


@pytest.fixture(scope="module")
def claims():
    spec = importlib.util.spec_from_file_location("bench_claims", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the stopping rule ----------------------------------------------------------


@pytest.mark.parametrize("values, patience, expected", [
    # best at 1; 2, 3, 4 do not improve: the third in a row stops at 4
    ([0.1, 0.3, 0.2, 0.25, 0.29, 0.5], 3, (1, 4)),
    # with patience 4 the rule reaches 5, which improves: runs to the end
    ([0.1, 0.3, 0.2, 0.25, 0.29, 0.5], 4, (5, 5)),
    # an equal value is no improvement
    ([0.5, 0.5, 0.5], 2, (0, 2)),
    # NaN never improves; a finite value improves on a NaN start
    ([NAN, 0.2, NAN, NAN], 2, (1, 3)),
    ([NAN, NAN, NAN], 2, (0, 2)),
    # patience 1 stops at the first non-improvement
    ([1.0, 2.0, 1.5, 3.0], 1, (1, 2)),
    # a single checkpoint
    ([7.0], 3, (0, 0)),
    # never saturates: the last
    ([1, 2, 3, 4], 2, (3, 3)),
])
def test_patience_pick_hand_series(claims, values, patience, expected):
    assert claims.patience_pick(values, patience) == expected


def test_patience_pick_rejects_bad_input(claims):
    with pytest.raises(ValueError, match="patience must be an integer >= 1"):
        claims.patience_pick([1.0, 2.0], 0)
    with pytest.raises(ValueError, match="patience must be an integer >= 1"):
        claims.patience_pick([1.0, 2.0], 1.5)
    with pytest.raises(ValueError, match="at least one value"):
        claims.patience_pick([], 2)


@pytest.mark.parametrize("values, expected", [
    ([0.1, 0.4, 0.4, 0.2], 1),       # first of the ties
    ([NAN, -1.0, NAN, -2.0], 1),     # NaN never picked
    ([NAN, NAN], 0),                 # all NaN: the first
    ([-3.0, -2.0, -5.0], 1),
])
def test_argmax_pick(claims, values, expected):
    assert claims.argmax_pick(values) == expected


def test_argmax_pick_rejects_empty(claims):
    with pytest.raises(ValueError, match="at least one value"):
        claims.argmax_pick([])


@pytest.mark.parametrize("coefs, max_depth, expected", [
    ([-0.2, -0.5, -0.1, NAN], 11, 2),   # most negative transition 1 -> 2 layers
    ([-0.9, -0.5, -0.1], 11, 1),        # the first transition -> 1 layer
    ([0.0, 0.0, -1.0], 2, 2),           # transition 2 ends at 3, capped at 2
    ([NAN, NAN], 5, 5),                 # undefined: the deepest
])
def test_layer_depth_pick(claims, coefs, max_depth, expected):
    assert claims.layer_depth_pick(coefs, max_depth) == expected


# -- the evaluation of one run ----------------------------------------------------


def test_evaluate_series_hand_run(claims):
    """Five checkpoints; validation accuracy peaks at 2 (the reference)."""
    val = [0.5, 0.7, 0.9, 0.8, 0.85]
    test = [0.50, 0.60, 0.95, 0.94, 0.97]
    flow = [0.0, 0.1, 0.05, 0.02, 0.03]   # argmax 1; patience 3 stops at 4 -> 1
    nuc = [0.5, 0.6, 0.7, 0.8, 0.9]       # argmax 4; patience: never stops -> 4
    rows = [{"hehl_local_mean": f, "default_flow": f, "nuclear_norm": n,
             "val_accuracy": v, "test_accuracy": t}
            for f, n, v, t in zip(flow, nuc, val, test)]
    best, s = claims.evaluate_series(rows, patience=3, tol=2)
    assert best == 2
    assert s["hehl_local_mean/argmax"]["pick"] == 1
    assert s["hehl_local_mean/patience"]["pick"] == 1
    assert s["hehl_local_mean/argmax"]["distance"] == 1
    assert s["hehl_local_mean/argmax"]["close"] is True
    assert s["hehl_local_mean/argmax"]["lost_vs_val"] == pytest.approx(0.35)
    assert s["hehl_local_mean/argmax"]["lost_vs_oracle"] == pytest.approx(0.37)
    assert s["nuclear_norm/argmax"]["pick"] == 4
    assert s["nuclear_norm/patience"]["pick"] == 4
    assert s["nuclear_norm/argmax"]["close"] is True
    assert s["nuclear_norm/argmax"]["lost_vs_val"] == pytest.approx(-0.02)
    assert s["val_accuracy/argmax"]["pick"] == 2
    assert s["val_accuracy/patience"]["pick"] == 2
    assert s["val_accuracy/argmax"]["lost_vs_oracle"] == pytest.approx(0.02)


def test_pick_summary_distance_threshold(claims):
    s = claims.pick_summary({"a": 5, "b": 6, "c": 0}, 3, np.linspace(0, 1, 8), tol=2)
    assert [s[k]["distance"] for k in "abc"] == [2, 3, 3]
    assert [s[k]["close"] for k in "abc"] == [True, False, False]


def test_rule_table_counts(claims):
    """The table's shares and losses from two hand runs."""
    runs = [(0, {"r": {"pick": 0, "distance": 0, "close": True,
                       "lost_vs_val": 0.0, "lost_vs_oracle": 0.01}}),
            (0, {"r": {"pick": 3, "distance": 3, "close": False,
                       "lost_vs_val": 0.05, "lost_vs_oracle": 0.05}}),
            (0, {"r": {"pick": 1, "distance": 1, "close": True,
                       "lost_vs_val": 0.01, "lost_vs_oracle": 0.02}}),
            (0, {"r": {"pick": 2, "distance": 2, "close": True,
                       "lost_vs_val": 0.02, "lost_vs_oracle": 0.03}})]
    line = claims.rule_table(runs, "epochs", 2).splitlines()[-1]
    cells = [c.strip() for c in line.strip("|").split("|")]
    # close: 3 of 4; within 1 pp: 0.0 and 0.01 (at the bound), not 0.02
    assert cells == ["r", "4", "0.75", "0.50", "+1.5", "+2.0", "2.5", "1.5"]


# -- the partial Spearman correlation ------------------------------------------------


def _partial_by_formula(x, y, z):
    """The textbook first-order partial correlation of the Spearman
    coefficients (an independent computation)."""
    rxy = spearmanr(x, y).statistic
    rxz = spearmanr(x, z).statistic
    ryz = spearmanr(y, z).statistic
    return (rxy - rxz * ryz) / math.sqrt((1 - rxz ** 2) * (1 - ryz ** 2))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_partial_spearman_matches_formula(claims, seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=20)
    x = z + rng.normal(size=20)
    y = 0.5 * z - x + rng.normal(size=20)
    x[3] = x[4]  # a tie: average ranks on both sides
    assert claims.partial_spearman(x, y, z) == pytest.approx(
        _partial_by_formula(x, y, z), abs=1e-12)


def test_partial_spearman_hand_case(claims):
    """Ranks x = (1, 2, 3, 4), y = (2, 1, 4, 3), z = (1, 1, 2, 2) -> mid-ranks
    (1.5, 1.5, 3.5, 3.5): residuals of x (-0.5, 0.5, -0.5, 0.5) and of y
    (0.5, -0.5, 0.5, -0.5): correlation -1."""
    assert claims.partial_spearman([1, 2, 3, 4], [2, 1, 4, 3], [1, 1, 2, 2]) == (
        pytest.approx(-1.0))


def test_partial_spearman_undefined(claims):
    # x is a monotone function of z: nothing left once z is accounted for
    assert math.isnan(claims.partial_spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5],
                                              [10, 20, 30, 40, 50]))
    assert math.isnan(claims.partial_spearman([1, 2, 3], [1, 2, 3], [3, 1, 2]))
    assert math.isnan(claims.partial_spearman([1, NAN, 3, 4], [1, 2, 3, 4],
                                              [4, 1, 3, 2]))
    with pytest.raises(ValueError, match="three 1-D arrays of one length"):
        claims.partial_spearman([1, 2, 3, 4], [1, 2, 3], [1, 2, 3, 4])


def test_partial_spearman_interval(claims):
    rng = np.random.default_rng(5)
    z = rng.normal(size=30)
    x = rng.normal(size=30)
    y = x + 0.3 * rng.normal(size=30)
    est = claims.partial_spearman(x, y, z)
    lo, hi = claims.partial_spearman_interval(x, y, z, n_boot=150, seed=1)
    assert lo <= est <= hi and lo > 0.5
    # the same resamples, each by the textbook formula: the 2.5th and 97.5th
    # percentiles
    rng2 = np.random.default_rng(1)
    boot = []
    for _ in range(150):
        i = rng2.integers(0, 30, 30)
        boot.append(_partial_by_formula(x[i], y[i], z[i]))
    assert (lo, hi) == pytest.approx(tuple(np.percentile(boot, [2.5, 97.5])), abs=1e-9)
    # unrelated x and y: an interval that holds 0
    y2 = rng.normal(size=30)
    lo2, hi2 = claims.partial_spearman_interval(x, y2, z, n_boot=150, seed=1)
    assert lo2 < 0 < hi2


# -- the depth reading and the signals of one network --------------------------------


def test_evaluate_depth_layer_reading(claims):
    """Three depths; the deepest network's most negative transition is 1, so
    the layer reading picks 2 hidden layers (index 1)."""
    rows = [{"hehl_local_mean": h, "default_flow": h, "nuclear_norm": n,
             "val_accuracy": v, "test_accuracy": t}
            for h, n, v, t in [(0.1, 0.9, 0.80, 0.81), (0.3, 0.8, 0.85, 0.86),
                               (0.2, 0.7, 0.90, 0.88)]]
    rows[-1]["layer_coefficients"] = [-0.1, -0.6, -0.3, 0.2]
    run = {"rows": rows, "depths": [1, 2, 3]}
    best, s = claims.evaluate_depth(run)
    assert best == 2
    pick = s["hehl_layer_coefficients/most_negative"]
    assert pick["pick"] == 1 and pick["distance"] == 1
    assert pick["lost_vs_val"] == pytest.approx(0.02)
    assert s["hehl_local_mean/argmax"]["pick"] == 1
    assert s["nuclear_norm/argmax"]["pick"] == 0
    assert s["nuclear_norm/patience"]["pick"] == 0


def test_signals_of_a_network(claims):
    """Every signal against the library's own scorers called on the network
    (the Hehl statistic through ``measure`` and through ``__call__``)."""
    import warnings

    from sklearn.datasets import make_moons
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from sk_ricci import NuclearNormScorer, RicciFlowScorer

    X, y = make_moons(240, noise=0.2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((8, 8, 8), max_iter=30, random_state=0).fit(X[:120], y[:120])
    X_val, y_val, X_te, y_te = X[120:180], y[120:180], X[180:], y[180:]
    a = claims.signals(clf, X_val, y_val, X_te, y_te, with_layers=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hehl = RicciFlowScorer(**claims.HEHL_SCORER)(clf, X_val)
        default = RicciFlowScorer()(clf, X_val)
    assert a["hehl_local_mean"] == pytest.approx(hehl, abs=1e-12)
    assert len(a["layer_coefficients"]) == 4  # X, 3 hidden, output
    assert a["default_flow"] == pytest.approx(default, abs=1e-12)
    assert a["nuclear_norm"] == pytest.approx(NuclearNormScorer()(clf, X_val))
    assert a["val_accuracy"] == clf.score(X_val, y_val)
    assert a["test_accuracy"] == clf.score(X_te, y_te)
    assert claims.HEHL_SCORER["connect"] is None
    assert claims.HEHL_SCORER["n_neighbors"] == 50


def test_partial_spearman_interval_too_few(claims):
    assert all(math.isnan(v) for v in claims.partial_spearman_interval(
        [1.0, 2.0, 3.0], [1.0, 3.0, 2.0], [2.0, 1.0, 3.0]))
    assert all(math.isnan(v) for v in claims.partial_spearman_interval([], [], []))


def test_nan_last(claims):
    v = claims.nan_last([0.2, NAN, -0.5, NAN])
    assert v[0] == 0.2 and v[2] == -0.5
    assert v[1] == v[3] == pytest.approx(-1.5)
    assert np.isnan(claims.nan_last([NAN, NAN])).all()


def test_well_trained_table_hand_pool(claims):
    """One pool with a NaN flow score: ranked last in one column, dropped in
    the other; both against partial_spearman on the hand-made inputs."""
    flow = [0.1, 0.4, NAN, 0.3, 0.2, 0.5]
    nuc = [0.5, 0.9, 0.1, 0.7, 0.6, 0.8]
    acc = [0.90, 0.97, 0.80, 0.93, 0.95, 0.96]
    pools = [{"problem": "P", "family": "f", "n": 6, "flow": flow,
              "nuclear": nuc, "test_accuracy": acc}]
    text, summary = claims.well_trained_table(pools, n_boot=50)
    p = pools[0]
    assert p["n_nan"] == 1
    last = [0.1, 0.4, -0.9, 0.3, 0.2, 0.5]
    assert p["partial"] == pytest.approx(_partial_by_formula(last, acc, nuc))
    keep = [0, 1, 3, 4, 5]
    assert p["partial_finite"] == pytest.approx(_partial_by_formula(
        [flow[i] for i in keep], [acc[i] for i in keep], [nuc[i] for i in keep]))
    assert summary["nan_last"] == pytest.approx(p["partial"])
    assert "| P | f | 6 (1) |" in text


def test_constant_depth_table(claims):
    runs = [{"depths": [1, 2, 3, 4], "best_val_depth": 4,
             "rows": [{"test_accuracy": a} for a in (0.80, 0.90, 0.905, 0.91)]},
            {"depths": [1, 2, 3, 4], "best_val_depth": 1,
             "rows": [{"test_accuracy": a} for a in (0.95, 0.90, 0.94, 0.93)]}]
    lines = claims.constant_depth_table(runs, constants=(1, 3)).splitlines()
    # depth 1: distances 3 and 0; accuracy lost 0.11 and 0
    assert lines[2] == "| 1 | 2 | 0.50 | 0.50 |"
    # depth 3: distances 1 and 2; lost 0.005 and 0.01 (at the bound)
    assert lines[3] == "| 3 | 2 | 1.00 | 1.00 |"


def test_tracking_table(claims):
    """Spearman over one run's checkpoints of each signal with test accuracy
    (ranks 1, 2, 3 against 1, 3, 2: 0.5), the median over runs."""
    rows = [{"hehl_local_mean": h, "default_flow": -h, "nuclear_norm": h,
             "val_accuracy": h, "test_accuracy": t}
            for h, t in [(1.0, 0.1), (2.0, 0.3), (3.0, 0.2)]]
    runs = [{"problem": "P", "rows": rows}, {"problem": "P", "rows": rows}]
    line = claims.tracking_table(runs).splitlines()[-1]
    assert line == "| P | 2 | +0.50 | -0.50 | +0.50 | +0.50 |"
