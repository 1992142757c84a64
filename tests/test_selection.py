"""Selection: RicciFlowScorer's local statistics, scales and input layer, and
the selection benchmark (benchmarks/bench_selection.py) on a smoke run."""

import importlib.util
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.datasets import make_moons

from sk_ricci import (
    RicciFlowScorer,
    UndefinedCoefficientWarning,
    local_ricci_flow,
    ricci_flow,
)
from sk_ricci.nn import ReLUMLPClassifier, layer_activations

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_selection.py"

def HiddenScorer(*args, **kwargs):
    """RicciFlowScorer on the hidden layers only (these tests compare with
    flows of the hidden layers; the default also prepends the input)."""
    kwargs.setdefault("include_input", False)
    return RicciFlowScorer(*args, **kwargs)



@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_selection", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def data():
    return make_moons(120, noise=0.2, random_state=3)


@pytest.fixture(scope="module")
def net(data):
    X, y = data
    return ReLUMLPClassifier(hidden_layer_sizes=(12,) * 6, max_epochs=6,
                             random_state=0, validation_fraction=None).fit(X, y)


# -- RicciFlowScorer options -------------------------------------------------------


@pytest.mark.parametrize("connect", [None, "mst"])
@pytest.mark.parametrize("curvature", ["forman", "approx_ollivier"])
def test_local_statistics_equal_local_ricci_flow(net, data, connect, curvature):
    X, _ = data
    layers = layer_activations(net, X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = local_ricci_flow(layers, 15, connect=connect, curvature=curvature)
        coefs = res.coefficients[np.isfinite(res.coefficients)]
        assert coefs.size > 0
        mean = HiddenScorer(15, statistic="local_mean", connect=connect,
                               curvature=curvature)(net, X)
        share = HiddenScorer(15, statistic="local_share_negative",
                                connect=connect, curvature=curvature)(net, X)
    # independent reductions of the per-point coefficients
    assert mean == pytest.approx(-coefs.mean(), abs=1e-12)
    assert share == pytest.approx(np.mean(coefs < 0), abs=1e-12)


def test_list_of_scales_is_the_mean_of_the_statistic(net, data):
    X, _ = data
    layers = layer_activations(net, X)
    singles = [-ricci_flow(layers, k, connect="mst").coefficient for k in (8, 12, 20)]
    rho = {"statistic": "rho", "curvature": "forman"}
    scorer = HiddenScorer([8, 12, 20], connect="mst", **rho)
    assert scorer(net, X) == pytest.approx(sum(singles) / 3, abs=1e-12)
    # a float share in the list resolves per fold: round(0.1 * 120) = 12
    assert HiddenScorer([8, 0.1, 20], connect="mst", **rho)(net, X) == pytest.approx(
        sum(singles) / 3, abs=1e-12)
    results = scorer.measure(net, X)
    assert [r.n_neighbors for r in results] == [8, 12, 20]
    local = HiddenScorer((10, 20), statistic="local_share_negative",
                            connect="mst", curvature="forman")
    expected = np.mean([
        np.mean(c[np.isfinite(c)] < 0) for c in (
            local_ricci_flow(layers, k, connect="mst").coefficients
            for k in (10, 20))])
    assert local(net, X) == pytest.approx(expected, abs=1e-12)


def test_include_input_prepends_X_as_layer_zero(net, data):
    X, _ = data
    layers = layer_activations(net, X)
    expected = -ricci_flow([X] + layers, 15, connect="mst").coefficient
    without = -ricci_flow(layers, 15, connect="mst").coefficient
    rho = {"statistic": "rho", "curvature": "forman", "connect": "mst"}
    assert HiddenScorer(15, include_input=True, **rho)(net, X) == (
        pytest.approx(expected, abs=1e-12))
    assert HiddenScorer(15, **rho)(net, X) == pytest.approx(without, abs=1e-12)
    assert expected != without
    res = HiddenScorer(15, include_input=True, **rho).measure(net, X)
    assert res.n_layers == len(layers) + 1


_SCALES = (
    r"RicciFlowScorer: n_neighbors must be an int >= 1 or a float in \(0, 1\) or "
    r"a non-empty list of \(an int >= 1 or a float in \(0, 1\)\)"
)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"n_neighbors": []}, ValueError, _SCALES + r"; got list \[\]\. Pass an int"),
    ({"n_neighbors": [10, "a"]}, TypeError, _SCALES + r"; got list \[10, 'a'\]"),
    ({"n_neighbors": [10, 0]}, ValueError, _SCALES + r"; got list \[10, 0\]"),
    ({"n_neighbors": (10, 0.5)}, None, None),
    ({"include_input": "yes"}, TypeError,
     r"RicciFlowScorer: include_input must be a bool \(True or False\); got str"),
    ({"statistic": "local"}, ValueError,
     ("RicciFlowScorer: statistic must be one of 'rho', 'adjusted_paper', "
     "'adjusted_fisher', 'local_mean', 'local_share_negative', 'local_layer_mean'; got str 'local'")),
    ({"batch_size": 0}, ValueError, "RicciFlowScorer: batch_size must be an int >= 1"),
    ({"n_jobs": 0}, ValueError, "RicciFlowScorer: n_jobs must be None or a non-zero"),
    ({"random_state": "0"}, TypeError, "RicciFlowScorer: random_state must be"),
    ({"curvature": "ricci"}, ValueError, "RicciFlowScorer: curvature must be one of"),
])
def test_bad_new_options_fail_at_construction(kwargs, error, match):
    if error is None:  # a valid value, for contrast
        assert RicciFlowScorer(**kwargs).get_params()["n_neighbors"] == (10, 0.5)
        return
    with pytest.raises(error, match=match):
        RicciFlowScorer(**kwargs)


def test_set_params_is_validated_at_call(net, data):
    X, _ = data
    scorer = RicciFlowScorer(10).set_params(statistic="nope")
    with pytest.raises(ValueError, match="statistic must be one of .*; got str 'nope'"):
        scorer(net, X)


def test_clone_keeps_list_of_scales_and_new_options():
    scorer = RicciFlowScorer([10, 30], statistic="local_share_negative",
                             connect=None, include_input=True)
    twin = clone(scorer)
    assert twin.get_params() == scorer.get_params()
    assert " ".join(repr(twin).split()) == (  # scikit-learn wraps long reprs
        "RicciFlowScorer(connect=None, n_neighbors=[10, 30], "
        "statistic='local_share_negative')")


# -- the benchmark -----------------------------------------------------------------


def test_analyse_cell_against_hand_values(bench):
    # NaN ranks last: scores (3, 1, 2, NaN) -> ranks (4, 2, 3, 1)
    acc = np.array([0.9, 0.5, 0.7, 0.6])
    res = bench.analyse_cell(np.array([3.0, 1.0, 2.0, np.nan]), acc, 200, seed=0)
    assert res["spearman"] == pytest.approx(
        spearmanr([4, 2, 3, 1], [4, 1, 3, 2]).statistic)
    assert res["picked"] == 0.9 and res["best"] == 0.9 and res["n_nan"] == 1
    assert res["median"] == pytest.approx(0.65)
    assert -1 <= res["lo"] <= res["spearman"] <= res["hi"] <= 1
    # ties at the top: the expected test accuracy of a random pick among them
    res = bench.analyse_cell(np.array([1.0, 1.0, 0.0]), np.array([0.8, 0.6, 0.5]),
                             50, seed=0)
    assert res["picked"] == pytest.approx(0.7)
    # a constant statistic has no ranking
    assert np.isnan(bench.analyse_cell(np.ones(4), acc, 50, seed=0)["spearman"])


def _scorer_value(bench, spec, X, hidden, output):
    """A flow statistic computed the user's way: RicciFlowScorer on the
    layers it reads (NaN where it refuses too few layers); the new
    local_layer_mean from local_ricci_flow's own layer coefficients."""
    inp, out = spec["include_input"], spec["include_output"]
    layers = ([X] if inp else []) + list(hidden) + ([output] if out else [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if spec["statistic"] == "local_layer_mean":
            if len(layers) < 3:
                return np.nan
            ks = spec["n_neighbors"]
            ks = list(ks) if isinstance(ks, (list, tuple)) else [ks]
            ks = [k if isinstance(k, int) else max(1, round(k * len(X))) for k in ks]
            vals = []
            for k in ks:
                c = local_ricci_flow(layers, k, connect="mst",
                                     curvature=spec["curvature"]).layer_coefficients
                c = c[np.isfinite(c)]
                vals.append(-c.mean() if c.size else np.nan)
            return float(np.mean(vals))
        return RicciFlowScorer(**bench.scorer_params(spec)).score_layers(layers)


@pytest.mark.parametrize("depth", [1, 2, 6])
def test_benchmark_statistic_is_the_scorer_on_the_same_layers(bench, depth):
    rng = np.random.RandomState(depth)
    X = rng.normal(size=(70, 3))
    hidden, h = [], X
    for i in range(depth):
        h = np.maximum(h @ rng.normal(size=(h.shape[1], 9)) + 0.1, 0) + 0.01 * i
        hidden.append(h)
    output = h @ rng.normal(size=(9, 1))
    stats = bench.statistic_table(quick=True)
    flows = [(n, s) for n, fam, s in stats
             if fam == "flow" and not s.get("by_predicted_class")]
    memo = bench._Memo(hidden, X, output, bench.make_plan(stats, len(X)))
    assert {s["statistic"] for _, s in flows} == set(bench.FACTORIAL_STATISTICS)
    assert {s["curvature"] for _, s in flows} == set(bench.CURVATURES)
    assert {(s["include_input"], s["include_output"]) for _, s in flows} == {
        (False, False), (False, True), (True, False), (True, True)}
    n_finite = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, spec in flows:
            expected = _scorer_value(bench, spec, X, hidden, output)
            got = memo.value(spec)
            assert got == pytest.approx(expected, abs=1e-12, nan_ok=True), name
            n_finite += np.isfinite(got)
            assert memo.cost(spec) > 0 or not np.isfinite(got)
    assert n_finite > 0


def test_full_statistic_table_is_the_factorial(bench):
    stats = bench.statistic_table()
    flows = [s for _, fam, s in stats if fam == "flow" and not s.get("by_predicted_class")]
    # 4 statistics x 3 curvatures x input x output x 8 scales, MST-connected
    assert len(flows) == 4 * 3 * 2 * 2 * 8
    assert all(s["connect"] == "mst" for s in flows)
    names = [n for n, _, _ in stats]
    assert len(names) == len(set(names))
    for ref in bench.REFERENCE_STATISTICS:
        assert ref in names
    assert set(bench.STAGES["stage1_problems"]) | set(bench.STAGES["stage2_problems"]) == (
        set(bench.PROBLEMS))
    assert not set(bench.STAGES["stage1_problems"]) & set(bench.STAGES["stage2_problems"])


def test_batched_training_gives_the_lone_fits_records(bench, monkeypatch):
    import sk_ricci.nn

    calls = []
    fit_many = sk_ricci.nn.fit_many

    def spy(estimators, X, y, **kwargs):
        calls.append((len(estimators), np.asarray(X).shape[0], np.asarray(y).copy()))
        return fit_many(estimators, X, y, **kwargs)

    monkeypatch.setattr(sk_ricci.nn, "fit_many", spy)
    data = bench.load_problem("A", True, None)
    specs = bench.pool_specs("relu_mlp", True)
    assert {p for s in specs for p in s["pools"]} == {
        "under_training", "label_noise", "architecture", "training_size",
        "regularisation", "well_trained", "control"}
    batched = bench.train_many(specs, data, 0)
    # one fit_many call per training set: the clean split, each noisy label
    # variant and each smaller share of the split
    noisy = [s for s in specs if s["noise"] > 0]
    fractions = {s["fraction"] for s in specs} - {1.0}
    assert len(calls) == 1 + len(noisy) + len(fractions)
    clean = [c for c in calls if c[1] == len(data[1]) and (c[2] == data[1]).all()]
    assert len(clean) == 1
    assert clean[0][0] == len(specs) - len(noisy) - sum(
        s["fraction"] < 1 for s in specs)
    for spec, got in zip(specs, batched):
        lone = bench.train_one(spec, data, 0)  # ReLUMLPClassifier.fit, alone
        assert got.keys() == lone.keys()
        assert len(got["layers"]) == len(lone["layers"]) == len(spec["hidden"])
        for a, b in zip(got["layers"], lone["layers"]):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(got["output"], lone["output"])
        np.testing.assert_array_equal(got["proba"], lone["proba"])
        assert got["val_accuracy"] == lone["val_accuracy"]
        assert got["test_accuracy"] == lone["test_accuracy"]
    # the output is the network's logit: its sigmoid is predict_proba's
    # positive column (independent of network_output's code)
    for got in batched:
        z = got["output"].astype(np.float64).ravel()
        np.testing.assert_allclose(1 / (1 + np.exp(-z)), got["proba"][:, 1], atol=1e-5)
    # the untrained controls stay untrained: near chance, unlike the trained
    accuracy = {s["pools"][0]: r["test_accuracy"] for s, r in zip(specs, batched)}
    assert accuracy["architecture"] > accuracy["control"]


def test_training_subsets_are_shared_and_stratified(bench):
    X = np.arange(200, dtype=float).reshape(100, 2)
    y = np.r_[np.zeros(60, int), np.ones(40, int)]
    spec = {"fraction": 0.25, "noise": 0.0}
    Xa, ya = bench._training_set(spec, X, y, seed=1)
    Xb, yb = bench._training_set(spec, X, y, seed=2)
    # the same subset for every network of one size, whatever its seed
    np.testing.assert_array_equal(Xa, Xb)
    np.testing.assert_array_equal(ya, yb)
    assert len(ya) == 25 and ya.sum() == 10  # stratified: 15 zeros, 10 ones
    np.testing.assert_array_equal(ya, y[(Xa[:, 0] // 2).astype(int)])
    # the whole split is returned as is; noise flips labels by the seed
    Xf, yf = bench._training_set({"fraction": 1.0, "noise": 0.0}, X, y, seed=1)
    assert Xf is X and (yf == y).all()
    _, yn = bench._training_set({"fraction": 1.0, "noise": 0.4}, X, y, seed=1)
    assert 20 <= (yn != y).sum() <= 60


def test_sklearn_family_records(bench):
    data = bench.load_problem("A", True, None)
    specs = bench.pool_specs("sk_mlp", True)
    control = next(s for s in specs if not s["trained"])
    trained = next(s for s in specs if s["trained"] and len(s["hidden"]) > 1)
    for spec in (control, trained):
        rec = bench.train_one(spec, data, 0)
        assert len(rec["layers"]) == len(spec["hidden"])
        z = rec["output"].astype(np.float64).ravel()
        np.testing.assert_allclose(1 / (1 + np.exp(-z)), rec["proba"][:, 1], atol=1e-5)
    # a control's weights are fresh Glorot-uniform draws, not the fitted ones
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(tuple(control["hidden"]), max_iter=1).fit(data[0], data[1])
    before = [w.copy() for w in clf.coefs_]
    bench._reinitialise(clf, 3)
    for w0, w in zip(before, clf.coefs_):
        bound = np.sqrt(6.0 / sum(w.shape))  # Glorot uniform for ReLU
        assert not np.array_equal(w0, w) and np.abs(w).max() <= bound
        if w.size >= 30:  # uniform on [-bound, bound]: the draws reach near it
            assert np.abs(w).max() > 0.7 * bound


def test_batched_run_caches_what_one_at_a_time_caches(bench, tmp_path):
    args = ["--quick", "--problems", "A", "--n-boot", "20", "--families", "relu_mlp"]
    cells, _ = bench.main(args + ["--out", str(tmp_path / "batched")])
    lone, _ = bench.main(args + ["--out", str(tmp_path / "lone"), "--one-at-a-time"])
    sub = Path("cache") / "A" / "relu_mlp"
    files = sorted(p.name for p in (tmp_path / "lone" / sub).iterdir())
    assert len(files) == 2 * len(bench.pool_specs("relu_mlp", True))  # npz + json
    assert files == sorted(p.name for p in (tmp_path / "batched" / sub).iterdir())
    for name in files:
        a, b = (tmp_path / d / sub / name for d in ("batched", "lone"))
        if name.endswith(".npz"):
            with np.load(a) as da, np.load(b) as db:
                assert da.files == db.files
                for key in da.files:
                    np.testing.assert_array_equal(da[key], db[key])
        else:  # definitions and values equal; costs are timings
            ja, jb = (json.loads(f.read_text()) for f in (a, b))
            assert {k: v[:2] for k, v in ja.items()} == {k: v[:2] for k, v in jb.items()}
    assert (tmp_path / "batched" / "networks.csv").read_text() == (
        tmp_path / "lone" / "networks.csv").read_text()
    assert len(cells) == len(lone)


def test_quick_benchmark_table(bench, tmp_path):
    import csv

    cells, summary = bench.main(["--quick", "--problems", "A", "--n-boot", "50",
                                 "--out", str(tmp_path)])
    stats = [name for name, _, _ in bench.statistic_table(quick=True)]
    assert set(stats) | set(bench.COMBINATIONS) == set(summary)
    cell_keys = {(c["model"], c["pool"], c["statistic"]) for c in cells}
    for model in bench.FAMILIES:
        for pool in bench.DESIGNED_POOLS[:-1]:  # well_trained may hold < 3
            assert all((model, pool, s) in cell_keys for s in stats), (model, pool)
    for c in cells:
        assert np.isnan(c["spearman"]) or -1 <= c["spearman"] <= 1
        assert c["lo"] <= c["hi"] or np.isnan(c["lo"])
        assert np.isnan(c["picked"]) or 0 <= c["picked"] <= c["best"] <= 1
        assert c["median"] <= c["best"]
    text = (tmp_path / "selection_table.md").read_text()
    assert "- benchmark source: " in text
    for name in stats:  # one summary row per statistic
        assert re.search(rf"^\| {name} \| (flow|baseline|labelled) \|", text,
                         re.MULTILINE)
    # an independent recomputation from the per-network values in networks.csv:
    # scipy's Spearman of the nuclear norm and of the old default with test
    # accuracy, over the label_noise pool (the networks trained on noisy labels)
    with open(tmp_path / "networks.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["model"] == "relu_mlp"
                and r["pools"] == "label_noise"]
    assert len(rows) == 3
    acc = [float(r["test_accuracy"]) for r in rows]
    for name in ("nuclear_norm", "local_mean_aollivier_k50"):
        values = [float(r[name]) for r in rows]
        cell = next(c for c in cells if c["model"] == "relu_mlp"
                    and c["pool"] == "label_noise" and c["statistic"] == name)
        expected = spearmanr(values, acc).statistic
        assert cell["spearman"] == pytest.approx(expected, abs=1e-12, nan_ok=True)
        assert cell["best"] == max(acc)
        assert cell["picked"] == acc[int(np.argmax(values))]
    # the combination is the mean of the two within-pool ranks
    combo = next(c for c in cells if c["model"] == "relu_mlp"
                 and c["pool"] == "label_noise"
                 and c["statistic"] == "combo_default_nuclear")
    ranks = np.mean([np.argsort(np.argsort([float(r[n]) for r in rows]))
                     for n in ("local_mean_aollivier_k50", "nuclear_norm")], axis=0)
    assert combo["spearman"] == pytest.approx(spearmanr(ranks, acc).statistic,
                                              abs=1e-12, nan_ok=True)
    # recomputing from the cache trains nothing and gives the same numbers
    cells2, _ = bench.main(["--quick", "--problems", "A", "--n-boot", "50",
                            "--out", str(tmp_path), "--recompute"])
    assert "trained this run: 0" in (tmp_path / "selection_table.md").read_text()
    assert len(cells) == len(cells2)
    for a, b in zip(cells, cells2):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == b[key] or (
                isinstance(a[key], float) and np.isnan(a[key]) and np.isnan(b[key]))


def test_two_stages(bench, tmp_path):
    cells, summary = bench.main([
        "--quick", "--stage1-problems", "A", "--stage2-problems", "digits_1_7",
        "--families", "sk_mlp", "--n-boot", "20", "--out", str(tmp_path)])
    survivors = json.loads((tmp_path / "stage2_statistics.json").read_text())
    flows = [n for n, fam, _ in bench.statistic_table(quick=True) if fam == "flow"]
    # the stage-1 ranking by the criterion, recomputed from stage 1's cells
    stage1 = [c for c in cells if c["problem"] == "A"]
    factorial = [n for n in flows if n != "class_local_mean"]
    top = bench.rank_flow(stage1, factorial)[:bench.STAGES["stage2_top"]]
    assert survivors[:len(top)] == top
    assert set(bench.REFERENCE_STATISTICS) | {"class_local_mean"} <= set(survivors)
    stage2 = {c["statistic"] for c in cells if c["problem"] == "digits_1_7"}
    assert {n for n in stage2 if n in flows} == set(survivors)
    assert {"nuclear_norm", "val_accuracy"} <= stage2
    assert summary[survivors[0]]["stage"] == "1+2"
    dropped = next(n for n in factorial if n not in survivors)
    assert summary[dropped]["stage"] == "1"
    winner = json.loads((tmp_path / "summary.json").read_text())["winner"]
    assert winner == bench.choose(cells, survivors)[0]


def test_well_trained_pool_filters_on_validation_accuracy(bench):
    specs = [{"pools": ["architecture", "well_trained"], "trained": True},
             {"pools": ["well_trained"], "trained": True},
             {"pools": ["well_trained"], "trained": True},
             {"pools": ["under_training"], "trained": True},
             {"pools": ["control"], "trained": False}]
    rows = [{"val_accuracy": (v, 0.0)} for v in (0.90, 0.86, 0.84, 0.99, 0.5)]
    # best of the grid 0.90 (the under-trained network is not in the grid);
    # within 0.05: 0.90 and 0.86
    assert bench.pool_members("well_trained", specs, rows) == [0, 1]
    assert bench.pool_members("architecture", specs, rows) == [0]
    assert bench.pool_members("under_training+controls", specs, rows) == [3, 4]
    assert bench.pool_members("all_trained", specs, rows) == [0, 1, 2, 3]


def test_combination_is_the_mean_rank(bench):
    rows = [{"f": (v, 0.0), "g": (w, 0.0), "h": (np.nan, 0.0)}
            for v, w in ((0.3, 5.0), (np.nan, 7.0), (0.1, 6.0), (0.2, 4.0))]
    # f ranks (NaN last): 4, 1, 2, 3; g: 2, 4, 3, 1
    np.testing.assert_array_equal(
        bench.combination_values(rows, [0, 1, 2, 3], ("f", "g")), [3, 2.5, 2.5, 2])
    # a statistic NaN on every network ties them all: the other's ranks + 2.5
    np.testing.assert_array_equal(
        bench.combination_values(rows, [0, 1, 2, 3], ("h", "g")), [2.25, 3.25, 2.75, 1.75])


def test_criterion_median_then_minimum(bench):
    def cell(stat, problem, rho):
        return {"statistic": stat, "problem": problem, "model": "m",
                "pool": "architecture", "spearman": rho}

    cells = [cell("a", "p", 0.5), cell("a", "q", 0.1), cell("a", "r", 0.6),
             cell("b", "p", 0.5), cell("b", "q", 0.3), cell("b", "r", 0.5),
             cell("c", "p", 0.9), cell("c", "q", -0.9), cell("c", "r", np.nan)]
    # medians: a 0.5 (min 0.1), b 0.5 (min 0.3), c 0.0: b wins the tie by its min
    assert bench.choose(cells, ["a", "b", "c"]) == ("b", (0.5, 0.3))
    assert bench.rank_flow(cells, ["c", "a", "b"]) == ["b", "a", "c"]
    # leave problem q out: a and b tie at median 0.55 / 0.5 -> a
    assert bench.choose(cells, ["a", "b"], problems=["p", "r"])[0] == "a"


def test_default_is_the_statistic_the_benchmark_chose(net, data):
    # RicciFlowScorer() = the negated mean over the layer transitions of the
    # per-layer local coefficients, approximate Ollivier curvature,
    # MST-connected graphs, k = 30, the input prepended (docs/selection.md);
    # recomputed from the flow's per-layer values with np.corrcoef
    X, _ = data
    layers = [np.asarray(X, dtype=float)] + layer_activations(net, X)
    score = RicciFlowScorer()(net, X)
    params = RicciFlowScorer().get_params()
    assert (params["n_neighbors"], params["statistic"], params["connect"],
            params["curvature"], params["include_input"],
            params["include_output"]) == (
        30, "local_layer_mean", "mst", "approx_ollivier", True, False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = local_ricci_flow(layers, 30, connect="mst", curvature="approx_ollivier")
    per_layer = res.layer_coefficients[np.isfinite(res.layer_coefficients)]
    assert score == pytest.approx(-per_layer.mean(), abs=1e-12)
    # each per-layer coefficient is the correlation over the points of s_l
    # and eta_l, as np.corrcoef computes it
    for l, c in enumerate(res.layer_coefficients):
        assert c == pytest.approx(np.corrcoef(res.scalar_curvature[l],
                                              res.expansion[l])[0, 1], abs=1e-12)


def test_default_scores_a_two_hidden_layer_network_and_names_the_fix_for_one(data):
    from sklearn.neural_network import MLPClassifier

    X, y = data
    two = MLPClassifier((8, 8), max_iter=200, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: 3 layers are enough
        assert np.isfinite(RicciFlowScorer()(two, X))
    one = MLPClassifier((8,), max_iter=200, random_state=0).fit(X, y)
    with pytest.warns(UndefinedCoefficientWarning,
                      match=r"needs at least 3 layers .* got 2.*include_output=True"):
        assert np.isnan(RicciFlowScorer()(one, X))
    assert np.isfinite(RicciFlowScorer(include_output=True)(one, X))


def torch_logits(est, X):
    """The output logits by a plain forward pass through the fitted module."""
    import torch

    with torch.no_grad():
        return est.module_(torch.as_tensor(np.asarray(X, np.float32))).numpy()


def numpy_mlp_logits(mlp, X):
    """scikit-learn MLP logits by hand: ReLU hidden layers, linear output."""
    h = np.asarray(X, dtype=np.float64)
    for W, b in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1]):
        h = np.maximum(h @ W + b, 0)
    return h @ mlp.coefs_[-1] + mlp.intercepts_[-1]


@pytest.mark.parametrize("statistic", ["rho", "local_mean", "local_share_negative"])
def test_too_few_layers_is_nan_with_a_warning_that_says_what_to_pass(
        data, statistic):
    X, y = data
    shallow = ReLUMLPClassifier(hidden_layer_sizes=(8, 8), max_epochs=1,
                                random_state=0, validation_fraction=None).fit(X, y)
    with pytest.warns(UndefinedCoefficientWarning,
                      match=r"needs at least 4 layers .* got 2.*pass "
                            r"include_input=True and include_output=True"):
        assert np.isnan(HiddenScorer(10, statistic=statistic)(shallow, X))
    with pytest.warns(UndefinedCoefficientWarning,
                      match=r"got 3.*pass include_output=True \("):
        assert np.isnan(HiddenScorer(10, statistic=statistic,
                                        include_input=True)(shallow, X))
    # input + 2 hidden + output = 4 layers: defined, and equal to the flow of
    # independently built layers
    layers = [X] + layer_activations(shallow, X) + [torch_logits(shallow, X)]
    scorer = HiddenScorer(10, statistic=statistic, include_input=True,
                             include_output=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedCoefficientWarning)
        value = scorer(shallow, X)
        if statistic == "rho":
            expected = -ricci_flow(layers, 10, connect="mst",
                                   curvature="approx_ollivier").coefficient
        else:
            c = local_ricci_flow(layers, 10, connect="mst",
                                 curvature="approx_ollivier").coefficients
            c = c[np.isfinite(c)]
            expected = -c.mean() if statistic == "local_mean" else np.mean(c < 0)
    assert np.isfinite(value)
    assert value == pytest.approx(expected, abs=1e-12)


def test_network_output_is_the_logits():
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sk_ricci._scorer import network_output

    X, y = make_moons(80, noise=0.2, random_state=0)
    X3 = np.c_[X, X[:, 0] * X[:, 1]]
    y3 = (X3[:, 0] > 0.5).astype(int) + y  # three classes
    for yy in (y, y3):
        mlp = MLPClassifier((6, 5), max_iter=30, random_state=0).fit(X3, yy)
        assert_allclose(network_output(mlp, X3), numpy_mlp_logits(mlp, X3),
                        rtol=1e-12, atol=1e-12)
        net = ReLUMLPClassifier(hidden_layer_sizes=(6, 5), max_epochs=2,
                                random_state=0, validation_fraction=None).fit(X3, yy)
        out = network_output(net, X3)
        assert out.dtype == np.float64
        assert out.shape == (80, 1 if yy is y else 3)
        assert_allclose(out, torch_logits(net, X3), rtol=0, atol=0)
    pipe = make_pipeline(StandardScaler(), MLPClassifier((6,), max_iter=30,
                                                         random_state=0)).fit(X3, y)
    Z = StandardScaler().fit(X3).transform(X3)
    assert_allclose(network_output(pipe, X3), numpy_mlp_logits(pipe[-1], Z),
                    rtol=1e-12, atol=1e-12)
    with pytest.raises(TypeError, match="include_output=True reads the "
                                        "network's output.*got an object of type"):
        network_output(StandardScaler().fit(X3), X3)


def test_include_input_flattens_images_and_rejects_strings():
    import torch
    from torch import nn

    rng = np.random.RandomState(0)
    images = rng.normal(size=(40, 1, 4, 4)).astype(np.float32)
    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(),
                        nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 5), nn.ReLU(),
                        nn.Linear(5, 2))
    layers = [images.reshape(40, -1).astype(np.float64)] + layer_activations(
        cnn, images)
    rho = {"statistic": "rho", "curvature": "forman", "connect": "mst"}
    assert RicciFlowScorer(5, include_input=True, **rho)(cnn, images) == (
        pytest.approx(-ricci_flow(layers, 5, connect="mst").coefficient,
                      abs=1e-12))
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": rng.normal(size=40), "b": ["x"] * 40})
    with pytest.raises(ValueError, match=r"needs numbers, but X has non-numeric "
                                         r"column\(s\) \['b'\]"):
        from sk_ricci._scorer import _input_layer

        _input_layer(frame)
    with pytest.raises(ValueError, match="needs numbers; got an array of dtype"):
        _input_layer(np.array([["x", "y"]] * 5))
    cube = rng.normal(size=(5, 3, 4)).astype(np.float32)  # 3-D, e.g. sequences
    flat = _input_layer(cube)
    assert flat.dtype == np.float64 and flat.shape == (5, 12)
    assert_allclose(flat[2], [float(v) for v in cube[2].ravel()], rtol=0)


def test_nan_inputs_are_rejected(net, data):
    X, _ = data
    X = X.copy()
    X[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        RicciFlowScorer(10)(net, X)


def test_local_statistics_on_disconnected_graphs_use_the_defined_points():
    # two far-apart clusters: without the MST, the layer graphs at small k are
    # disconnected; local coefficients stay defined within each cluster
    from sklearn.neural_network import MLPClassifier

    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(size=(40, 2)), 100 + rng.normal(size=(40, 2))]
    y = np.r_[np.zeros(40), np.ones(40)]
    clf = MLPClassifier((8,) * 5, max_iter=50, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = local_ricci_flow(layer_activations(clf, X), 5, connect=None)
        score = HiddenScorer(5, statistic="local_mean", connect=None,
                                curvature="forman")(clf, X)
    coefs = res.coefficients[np.isfinite(res.coefficients)]
    assert coefs.size > 0  # defined within each cluster
    assert score == pytest.approx(-coefs.mean(), abs=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the global coefficient is undefined on the same graphs
        assert np.isnan(HiddenScorer(5, statistic="rho", connect=None,
                                        curvature="forman")(clf, X))


def test_bench_scorer_default_vs_rho(capsys):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_scorer.py"
    spec = importlib.util.spec_from_file_location("bench_scorer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    X, y = make_moons(160, noise=0.2, random_state=0)
    clf = ReLUMLPClassifier(hidden_layer_sizes=(10,) * 5, max_epochs=2,
                            random_state=0, validation_fraction=None).fit(X, y)
    med = module.default_vs_rho(clf, X[:80], 3)
    out = capsys.readouterr().out
    assert set(med) == {"RicciFlowScorer()", 'RicciFlowScorer(statistic="rho")',
                        ("paper: RicciFlowScorer(30, statistic='rho', connect=None, "
                         "curvature='forman')")}
    assert all(t > 0 for t in med.values())
    ratio = med["RicciFlowScorer()"] / med['RicciFlowScorer(statistic="rho")']
    assert f"default / statistic='rho': {ratio:.2f}x" in out
    # the value column is each scorer's own score on the same points
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = RicciFlowScorer(statistic="rho")(clf, X[:80])
    rho = 'RicciFlowScorer(statistic="rho")'
    assert f"| {rho} | {med[rho]:.3f} | 1.00x | {expected:+.3f} |" in out


def test_held_out_table(bench):
    def cell(stat, problem, rho):
        return {"statistic": stat, "problem": problem, "model": "m",
                "pool": "label_noise", "spearman": rho}

    cells = []
    for problem, (a, b, nuc, combo) in {"p": (0.5, 0.1, 0.9, 0.7),
                                         "q": (0.2, 0.4, 0.8, 0.6),
                                         "r": (0.3, 0.0, 0.7, 0.5)}.items():
        cells += [cell("a", problem, a), cell("b", problem, b),
                  cell("nuclear_norm", problem, nuc), cell("val_accuracy", problem, 1.0),
                  cell(f"heldout_combo:{problem}", problem, combo)]
    _, rows = bench.held_out_table(cells, ["a", "b"], "problem")
    # without p: a median 0.25, b 0.2 -> a; without q: a 0.4, b 0.05 -> a;
    # without r: a 0.35, b 0.25 -> a
    assert [r["chosen"] for r in rows] == ["a", "a", "a"]
    assert [r["held"][0] for r in rows] == [0.5, 0.2, 0.3]
    assert [r["nuclear"][0] for r in rows] == [0.9, 0.8, 0.7]
    assert [r["combo"][0] for r in rows] == [0.7, 0.6, 0.5]
    # combo=False leaves the combination out of every row, not only the first
    _, rows = bench.held_out_table(cells, ["a", "b"], "problem", combo=False)
    assert all(np.isnan(r["combo"][0]) for r in rows)


def test_source_state_flags_an_edited_file(bench, monkeypatch):
    import subprocess

    committed = subprocess.run(
        ["git", "-C", str(BENCH.parents[1]), "show", "HEAD:benchmarks/bench_selection.py"],
        capture_output=True, check=True).stdout
    monkeypatch.setattr(bench, "_SOURCE", committed)
    assert bench._source_state() == "the committed file"
    # a single-point edit (a sign flipped), as the mutant that once ran had
    edited = committed.replace(b"values.append(flow_statistic(",
                               b"values.append(-flow_statistic(", 1)
    assert edited != committed
    monkeypatch.setattr(bench, "_SOURCE", edited)
    assert bench._source_state().startswith("NOT the committed file")


def test_load_problem_takes_the_registry_pair_in_order(bench):
    # digits 1 vs 7: class 1 is the second digit of the pair, 7, checked
    # against scikit-learn's own digits, and the three splits are disjoint
    from sklearn.datasets import load_digits

    digits = load_digits()
    seven = {tuple(r) for r in digits.data[digits.target == 7] / 16.0}
    one = {tuple(r) for r in digits.data[digits.target == 1] / 16.0}
    Xtr, ytr, Xva, yva, Xte, yte = bench.load_problem("digits_1_7", True, "", "")
    for X, y in ((Xtr, ytr), (Xva, yva), (Xte, yte)):
        assert all(tuple(r) in seven for r in X[y == 1])
        assert all(tuple(r) in one for r in X[y == 0])
    assert len(ytr) + len(yva) + len(yte) == len(seven) + len(one)
    X, y = bench.load_problem("A", True, "", "")[:2]
    assert X.shape == (160, 3) and set(np.unique(y)) == {0, 1}
