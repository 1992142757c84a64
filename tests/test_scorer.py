"""RicciFlowScorer: equals the direct computation, works in sklearn and skorch."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_moons
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    KFold,
    cross_validate,
)
from sklearn.neural_network import MLPClassifier

from sk_ricci import (
    DisconnectedGraphError,
    DisconnectedGraphWarning,
    RicciFlowScorer,
    local_ricci_flow,
    ricci_flow,
)
from sk_ricci.nn import ReLUMLPClassifier, layer_activations

def HiddenScorer(*args, **kwargs):
    """RicciFlowScorer on the hidden layers only (these tests compare with
    flows of the hidden layers; the default also prepends the input)."""
    kwargs.setdefault("include_input", False)
    return RicciFlowScorer(*args, **kwargs)



@pytest.fixture(scope="module")
def data():
    X, y = make_moons(150, noise=0.15, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return ReLUMLPClassifier(
        hidden_layer_sizes=(12,) * 5, max_epochs=8, random_state=0,
        validation_fraction=None,
    ).fit(X, y)


def hand_activations(est, X):
    """Hidden ReLU outputs by a plain forward pass through the fitted module's
    ``Linear, ReLU, ...`` stack in float32 (what the network computes), without
    sk_ricci's hook-based capture."""
    import torch

    h = torch.as_tensor(np.asarray(X, dtype=np.float32))
    out = []
    with torch.no_grad():
        for layer in est.module_.hidden:
            h = layer(h)
            if isinstance(layer, torch.nn.ReLU):
                out.append(h.numpy().astype(np.float64))
    assert len(out) == len(est.module_.hidden_layer_sizes)
    return out


def neg_rho_by_hand(est, X, n_neighbors):
    """The score HiddenScorer(n_neighbors, statistic="rho", connect="mst",
    curvature="forman") should give:
    minus rho of the flow of the hand-captured activations."""
    k = n_neighbors if isinstance(n_neighbors, int) else round(n_neighbors * len(X))
    return -ricci_flow(hand_activations(est, X), k, connect="mst").coefficient


def small_net(**kw):
    params = {"architecture": "narrow", "depth": 5, "max_epochs": 3,
              "random_state": 0, "validation_fraction": None}
    params.update(kw)
    return ReLUMLPClassifier(**params)


@pytest.mark.parametrize("statistic,attr", [
    ("rho", "coefficient"),
    ("adjusted_paper", "adjusted_paper"),
    ("adjusted_fisher", "adjusted_fisher"),
])
@pytest.mark.parametrize("symmetrize", ["max", "sum"])
def test_scorer_equals_negated_direct_computation(fitted, data, statistic, attr,
                                                  symmetrize):
    X, _ = data
    # the paper's statistics: curvature and statistic passed explicitly
    scorer = HiddenScorer(20, statistic=statistic, symmetrize=symmetrize,
                             connect="mst", curvature="forman")
    layers = layer_activations(fitted, X)
    direct = ricci_flow(layers, 20, symmetrize=symmetrize, connect="mst")
    expected = -getattr(direct, attr)
    assert np.isfinite(expected)
    assert scorer(fitted, X) == expected
    assert scorer(fitted, X) == scorer(fitted, X)  # same network twice


def test_scorer_leaves_estimator_unchanged(fitted, data):
    X, _ = data
    before = fitted.predict_proba(X)
    HiddenScorer(15, connect="mst")(fitted, X)
    np.testing.assert_array_equal(fitted.predict_proba(X), before)


def test_float_n_neighbors_is_a_share_of_the_scored_samples(fitted, data):
    X, _ = data
    # 0.13 * 150 = 19.5 rounds to 20 (truncation would give 19); 150 samples
    assert HiddenScorer(0.13, connect="mst").measure(fitted, X).n_neighbors == 20
    expected = neg_rho_by_hand(fitted, X, 20)
    rho = {"statistic": "rho", "curvature": "forman", "connect": "mst"}
    assert HiddenScorer(0.13, **rho)(fitted, X) == pytest.approx(
        expected, abs=1e-12)
    assert HiddenScorer(0.13, **rho)(fitted, X) != pytest.approx(
        neg_rho_by_hand(fitted, X, 19), abs=1e-9)
    # a tiny share still gives k >= 1
    assert HiddenScorer(0.001, **rho).measure(fitted, X).n_neighbors == 1


@pytest.mark.parametrize("scales", [(8, 20), [8, 20]])
def test_measure_with_a_list_or_tuple_of_scales_returns_one_result_each(
        fitted, data, scales):
    X, _ = data
    rho = {"statistic": "rho", "curvature": "forman", "connect": "mst"}
    results = HiddenScorer(scales, **rho).measure(fitted, X)
    assert isinstance(results, list) and len(results) == 2
    assert [r.n_neighbors for r in results] == [8, 20]
    for r, k in zip(results, (8, 20)):
        assert -r.coefficient == pytest.approx(neg_rho_by_hand(fitted, X, k),
                                               abs=1e-12)


def test_mean_over_scales_is_nan_if_one_scale_is_nan():
    # two far clusters of 30 points: at k = 5 the paper's graphs are
    # disconnected (NaN), at k = 35 every point reaches the other cluster; the
    # mean over [5, 35] is NaN, as documented (not the mean of the finite one)
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(size=(30, 3)), 100 + rng.normal(size=(30, 3))]
    layers = [np.maximum(X @ rng.normal(size=(3, 6)) + 0.5, 0) + 0.1 * l
              * rng.normal(size=(60, 6)) for l in range(6)]
    rho = {"statistic": "rho", "curvature": "forman", "connect": None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(HiddenScorer(5, **rho).score_layers(layers))
        wide = HiddenScorer(35, **rho).score_layers(layers)
        assert wide == pytest.approx(-ricci_flow(layers, 35).coefficient)
        assert np.isfinite(wide)
        assert np.isnan(HiddenScorer([5, 35], **rho).score_layers(layers))


def test_repr_shows_non_default_options():
    # scikit-learn's estimator repr: only the parameters that differ from the
    # defaults, in alphabetical order
    assert repr(RicciFlowScorer(30)) == "RicciFlowScorer()"
    assert repr(RicciFlowScorer(50)) == "RicciFlowScorer(n_neighbors=50)"
    assert repr(
        RicciFlowScorer(10, statistic="adjusted_fisher", connect=None)
    ) == ("RicciFlowScorer(connect=None, n_neighbors=10, "
          "statistic='adjusted_fisher')")


def test_pickle_round_trip(fitted, data):
    X, _ = data
    scorer = HiddenScorer(12, connect="mst", symmetrize="sum")
    clone = pickle.loads(pickle.dumps(scorer))
    assert repr(clone) == repr(scorer)
    assert clone(fitted, X) == scorer(fitted, X)


def test_disconnected_gives_nan_with_layer_and_fix_in_warning():
    # two far-apart clusters: every layer graph at small k is disconnected
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(size=(40, 2)), 100 + rng.normal(size=(40, 2))]
    y = np.r_[np.zeros(40), np.ones(40)]
    clf = MLPClassifier((8,) * 5, max_iter=50, random_state=0).fit(X, y)
    # the paper's statistic and graphs, passed explicitly
    paper = {"statistic": "rho", "connect": None, "curvature": "forman"}
    with pytest.warns(DisconnectedGraphWarning,
                      match=r"disconnected in layer\(s\) \[1.*connect='mst'"):
        score = HiddenScorer(3, **paper)(clf, X)
    assert np.isnan(score)
    with pytest.raises(DisconnectedGraphError, match="layer"):
        HiddenScorer(3, on_disconnected="raise", **paper)(clf, X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DisconnectedGraphWarning)
        assert np.isfinite(HiddenScorer(3, statistic="rho", connect="mst",
                                           curvature="forman")(clf, X))
        # and the default scorer (connect="mst") is defined too
        assert np.isfinite(HiddenScorer(3)(clf, X))


def test_n_neighbors_larger_than_the_fold(fitted, data):
    X, _ = data
    with pytest.raises(ValueError, match=r"needs more than 50 scored samples, "
                                         r"got 40 .*held-out fold"):
        HiddenScorer(50)(fitted, X[:40])


@pytest.mark.parametrize("kwargs,match", [
    ({"n_neighbors": 0}, (r"n_neighbors must be an int >= 1 or a float in \(0, 1\) "
     r".*; got int 0\. Pass an int such as 30, a float share")),
    ({"n_neighbors": 1.5}, (r"n_neighbors must be an int >= 1 or a float in \(0, 1\) "
     r".*; got float 1\.5")),
    ({"n_neighbors": "10"}, r"n_neighbors must be an int .*; got str '10'"),
    ({"n_neighbors": True}, r"n_neighbors must be an int .*; got bool True"),
    ({"n_neighbors": 5, "statistic": "z"},
     "RicciFlowScorer: statistic must be one of 'rho', .*; got str 'z'"),
    ({"n_neighbors": 5, "connect": "knn"},
     "RicciFlowScorer: connect must be one of None, 'mst'; got str 'knn'"),
    ({"n_neighbors": 5, "on_disconnected": "drop"},
     "on_disconnected must be one of 'nan', 'raise'; got str 'drop'"),
])
def test_bad_parameters_fail_at_construction(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        HiddenScorer(**kwargs)


def test_unfitted_estimator_is_a_clear_error(data):
    from sklearn.exceptions import NotFittedError

    X, _ = data
    with pytest.raises(NotFittedError):
        HiddenScorer(10)(small_net(), X)


def _search(n_jobs, refit):
    X, y = make_moons(120, noise=0.2, random_state=1)
    grid = {"depth": [5, 6], "architecture": ["narrow", "bottleneck"]}
    scoring = {"accuracy": "accuracy",
               "flow": HiddenScorer(10, connect="mst")}
    search = GridSearchCV(small_net(), grid, scoring=scoring, refit=refit,
                          cv=KFold(3), n_jobs=n_jobs)
    return search.fit(X, y)


def test_grid_search_multimetric_is_reproducible_and_parallel_safe():
    a = _search(1, "accuracy")
    b = _search(1, "accuracy")
    c = _search(2, "flow")
    for key in ("mean_test_accuracy", "mean_test_flow", "split0_test_flow",
                "split2_test_flow", "rank_test_flow"):
        np.testing.assert_array_equal(a.cv_results_[key], b.cv_results_[key])
        np.testing.assert_array_equal(a.cv_results_[key], c.cv_results_[key])
    assert np.isfinite(a.cv_results_["mean_test_flow"]).all()
    assert a.best_params_ == a.cv_results_["params"][
        int(np.argmin(a.cv_results_["rank_test_accuracy"]))]
    assert c.best_params_ == c.cv_results_["params"][
        int(np.argmin(c.cv_results_["rank_test_flow"]))]
    # the refit estimator is scored by the scorer like any other
    X, _ = make_moons(60, noise=0.2, random_state=2)
    assert np.isfinite(HiddenScorer(10, connect="mst")(c.best_estimator_, X))


def test_single_metric_grid_search_and_cross_validate(data):
    X, y = data
    scorer = HiddenScorer(10, statistic="rho", connect="mst", curvature="forman")
    search = GridSearchCV(small_net(), {"depth": [5, 6]}, scoring=scorer,
                          cv=KFold(3)).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # every split's score is minus rho of that candidate refit by hand on the
    # fold (same seed), its activations captured by hand
    results = search.cv_results_
    for c, params in enumerate(results["params"]):
        expected = [
            neg_rho_by_hand(small_net(**params).fit(X[train], y[train]),
                            X[test], 10)
            for train, test in KFold(3).split(X)
        ]
        assert np.isfinite(expected).all() and len(set(expected)) == 3
        for i, value in enumerate(expected):
            assert results[f"split{i}_test_score"][c] == value
        assert results["mean_test_score"][c] == pytest.approx(np.mean(expected))
    assert search.best_params_ == results["params"][
        int(np.argmax(results["mean_test_score"]))]
    res = cross_validate(small_net(), X, y, cv=KFold(3),
                         scoring={"flow": scorer, "accuracy": "accuracy"})
    assert res["test_flow"].shape == (3,)
    # each fold's score is minus rho of the network refit by hand on that
    # fold, its activations captured by hand
    for i, (train, test) in enumerate(KFold(3).split(X)):
        est = small_net().fit(X[train], y[train])
        assert res["test_flow"][i] == neg_rho_by_hand(est, X[test], 10)


def test_halving_grid_search(data):
    X, y = data
    search = HalvingGridSearchCV(
        small_net(), {"depth": [5, 6], "architecture": ["narrow", "wide"]},
        scoring=HiddenScorer(0.1, statistic="rho", connect="mst",
                                curvature="forman"), cv=KFold(3), factor=2,
        min_resources=60, random_state=0,
    ).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # the same search scored by a hand-assembled scorer: activations captured
    # by hand, k = round(0.1 * fold size), minus rho
    sizes = []

    def by_hand(est, X_fold, y_fold=None):
        sizes.append(len(X_fold))
        return neg_rho_by_hand(est, X_fold, 0.1)

    reference = HalvingGridSearchCV(
        small_net(), {"depth": [5, 6], "architecture": ["narrow", "wide"]},
        scoring=by_hand, cv=KFold(3), factor=2, min_resources=60,
        random_state=0,
    ).fit(X, y)
    # 60 then 120 samples in 3 folds: test folds of 20 and 40 (k = 2, 4) and,
    # scored too (return_train_score), training folds of 40 and 80
    assert set(sizes) == {20, 40, 80}
    for key in ("iter", "n_resources", "params"):
        assert list(search.cv_results_[key]) == list(reference.cv_results_[key])
    for key in ("split0_test_score", "split1_test_score", "split2_test_score",
                "mean_test_score", "mean_train_score"):
        np.testing.assert_array_equal(search.cv_results_[key],
                                      reference.cv_results_[key])
    assert search.best_params_ == reference.best_params_


def test_skorch_epoch_scoring_tracks_flow_per_epoch(data):
    import torch
    from skorch import NeuralNetClassifier
    from skorch.callbacks import Callback, EpochScoring
    from skorch.dataset import ValidSplit

    X, y = data
    X = X.astype(np.float32)
    torch.manual_seed(0)
    hidden = [torch.nn.Linear(2, 10), torch.nn.ReLU()]
    for _ in range(4):
        hidden += [torch.nn.Linear(10, 10), torch.nn.ReLU()]
    module = torch.nn.Sequential(*hidden, torch.nn.Linear(10, 2))
    scorer = HiddenScorer(8, connect="mst", statistic="local_mean")

    class ByHand(Callback):
        """Each epoch's expected value: minus the mean local coefficient of
        the validation fold's activations, captured by a plain forward pass.
        skorch's unstratified ValidSplit(5) holds out the first 20% (30)."""

        def on_epoch_end(self, net, **kwargs):
            h = torch.as_tensor(X[:30])
            layers = []
            with torch.no_grad():
                for layer in net.module_[:-1]:
                    h = layer(h)
                    if isinstance(layer, torch.nn.ReLU):
                        layers.append(h.numpy().astype(np.float64))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                c = local_ricci_flow(layers, 8, connect="mst",
                                     curvature="approx_ollivier").coefficients
            net.history.record("by_hand", float(-c[np.isfinite(c)].mean()))

    net = NeuralNetClassifier(
        module, criterion=torch.nn.CrossEntropyLoss, max_epochs=3, lr=0.05,
        train_split=ValidSplit(5, stratified=False), verbose=0,
        callbacks=[EpochScoring(scorer, lower_is_better=False, name="flow"),
                   ByHand()],
    ).fit(X, y)
    flows = net.history[:, "flow"]
    assert len(flows) == 3 and np.isfinite(flows).all()
    assert net.history[:, "by_hand"] == pytest.approx(flows, abs=1e-12)
    assert len(set(flows)) > 1  # the network changes between epochs


def test_flow_leaves_torch_thread_count_alone(fitted, data):
    # numba's OpenMP layer shares omp_set_num_threads with torch; a scorer
    # call must not change the thread count of the user's torch session
    import torch

    X, _ = data
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        HiddenScorer(10, connect="mst", n_jobs=2)(fitted, X)
        ricci_flow(layer_activations(fitted, X), 10, n_jobs=-1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
