"""scikit-learn's common estimator checks, pipelines, and a light import."""

import pickle
import subprocess
import sys

import numpy as np
import pytest
from _settings import random_relu_layers
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_ricci import (
    KNNGraph,
    NuclearNormScorer,
    RankMeScorer,
    RicciCurvature,
    RicciFlow,
    RicciFlowScorer,
    knn_graph,
    node_curvature,
    ricci_flow,
)
from sk_ricci.exceptions import InvalidParameterError

# KNNGraph and RicciCurvature describe the graph of the rows they are given
# (giotto-tda style), not a map fitted on training rows and applied to new
# ones one row at a time. Checks that assume row-wise independence therefore
# differ by design:
_SUBSET = (
    "transforming a batch of 1 sample: a kNN graph needs >= 2 points, and the "
    "graph (hence every row's features) of a subset differs from the full one"
)
_ORDER = (
    "output is the n_samples x n_samples graph of the rows: permuting the rows "
    "permutes its columns too, so rows of the output are not simply reordered"
)


def _expected_failed_checks(estimator):
    if isinstance(estimator, KNNGraph):
        return {
            "check_methods_subset_invariance": _SUBSET,
            "check_methods_sample_order_invariance": _ORDER,
        }
    if isinstance(estimator, RicciCurvature):
        return {"check_methods_subset_invariance": _SUBSET}
    return {}


@parametrize_with_checks(
    [
        KNNGraph(n_neighbors=3),
        RicciCurvature(n_neighbors=3),
        RicciCurvature(n_neighbors=3, connect="mst"),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# RicciFlow's fit takes a list of (n_samples, n_features_l) layer arrays, one
# per hidden layer, not one (n_samples, n_features) array: every check that
# generates an X (and y) and fits on it (check_fit2d_*, check_estimators_*,
# check_dont_overwrite_parameters, check_n_features_in, pickling after fit,
# ...) would only test that a single array is refused. The checks below need
# no data; what those data checks assert (fit changes no parameter and adds
# only attributes ending in "_", pickling keeps the fit, clone keeps the
# parameters) is checked on real layers in test_ricci_flow_fit_* below.
_RICCI_FLOW_CHECKS = [
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_estimator_tags_renamed",
]


@pytest.mark.parametrize("estimator", [
    RicciFlow(),
    RicciFlow(n_neighbors=4, connect="mst", curvature="approx_ollivier", n_jobs=-2),
], ids=repr)
@pytest.mark.parametrize("check", _RICCI_FLOW_CHECKS)
def test_ricci_flow_common_checks(estimator, check):
    getattr(estimator_checks, check)(type(estimator).__name__, estimator)


def _layers(seed=0, n=40, n_layers=5):
    return random_relu_layers(seed=seed, n=n, n_layers=n_layers, width=6)


def test_ricci_flow_fit_changes_no_parameter_and_survives_pickle_and_clone():
    est = RicciFlow(n_neighbors=6, connect="mst", random_state=3)
    before = dict(est.__dict__)
    est.fit(_layers())
    added = set(est.__dict__) - set(before)
    assert added and all(k.endswith("_") for k in added), added
    assert all(est.__dict__[k] is v for k, v in before.items())
    twin = pickle.loads(pickle.dumps(est))
    assert twin.get_params() == est.get_params()
    assert_array_equal(twin.eta_, est.eta_)
    assert twin.coefficient_ == est.coefficient_
    c = clone(est)
    assert c.get_params() == est.get_params() and not hasattr(c, "result_")
    assert repr(c) == "RicciFlow(connect='mst', n_neighbors=6, random_state=3)"
    # and the fitted values are ricci_flow's
    ref = ricci_flow(_layers(), 6, connect="mst", random_state=3)
    assert_array_equal(est.total_curvature_, ref.total_curvature)
    assert est.coefficient_ == ref.coefficient


# every parameter of every estimator and scorer is declared once, and the
# declaration is checked before any work (a bad value never reaches the data)
_DECLARED = [KNNGraph, RicciCurvature, RicciFlow, RicciFlowScorer,
             NuclearNormScorer, RankMeScorer]


@pytest.mark.parametrize("Estimator", _DECLARED, ids=lambda c: c.__name__)
def test_every_parameter_is_declared(Estimator):
    assert set(Estimator._parameter_constraints) == set(Estimator().get_params())
    for name, value in Estimator().get_params().items():
        assert any(
            c.is_satisfied_by(value) if hasattr(c, "is_satisfied_by") else (
                value is None if c is None else isinstance(value, c))
            for c in Estimator._parameter_constraints[name]
        ), (name, value)


@pytest.mark.parametrize("est, method, match", [
    (KNNGraph(n_neighbors=0), "fit", "KNNGraph: n_neighbors must be an int >= 1"),
    (RicciCurvature(n_neighbors=2.5), "fit", "RicciCurvature: n_neighbors must be"),
    (RicciCurvature(n_neighbors=3, augmented=1), "fit",
     r"augmented must be a bool \(True or False\); got int 1"),
    (RicciFlow(n_neighbors=[3]), "fit", "RicciFlow: n_neighbors must be an int"),
    (RicciFlow(symmetrize="avg"), "score", "RicciFlow: symmetrize must be one of"),
])
def test_parameters_are_checked_before_the_data(est, method, match):
    # the data is unusable: the parameter error must come first
    with pytest.raises(InvalidParameterError, match=match):
        getattr(est, method)("not data")


@pytest.mark.parametrize("Scorer, kwargs, match", [
    (RicciFlowScorer, {"n_neighbors": 0}, "RicciFlowScorer: n_neighbors must be"),
    (RicciFlowScorer, {"batch_size": 0}, "RicciFlowScorer: batch_size must be"),
    (NuclearNormScorer, {"normalize": "yes"},
     r"NuclearNormScorer: normalize must be a bool \(True or False\)"),
    (RankMeScorer, {"layer": 1.0}, "RankMeScorer: layer must be an int; got float"),
    (RankMeScorer, {"epsilon": -1.0}, "RankMeScorer: epsilon must be a float >= 0"),
    (RankMeScorer, {"batch_size": 0}, "RankMeScorer: batch_size must be an int >= 1"),
])
def test_scorers_check_at_construction_and_at_call(Scorer, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        Scorer(**kwargs)
    scorer = Scorer().set_params(**kwargs)  # set_params does not check ...
    with pytest.raises(InvalidParameterError, match=match):
        scorer(None, "not data")  # ... the call does, before touching anything


def test_n_jobs_minus_two_is_accepted_everywhere():
    # n_jobs=-2 (all cores but one, scikit-learn's convention) is valid
    # wherever n_jobs is, and changes no result
    from sk_ricci import local_ricci_flow, select_n_neighbors

    layers = _layers(n=50)
    X = np.random.RandomState(1).normal(size=(30, 3))
    for n_jobs in (-2, -1, 2):
        assert_array_equal(KNNGraph(4, n_jobs=n_jobs).fit_transform(X).toarray(),
                           KNNGraph(4).fit_transform(X).toarray())
        a = RicciFlow(6, connect="mst", n_jobs=n_jobs).fit(layers)
        b = RicciFlow(6, connect="mst").fit(layers)
        assert_array_equal(a.geodesic_mass_, b.geodesic_mass_)
        assert ricci_flow(layers, [5, 6], n_jobs=n_jobs)[1].coefficient == (
            ricci_flow(layers, [5, 6])[1].coefficient)
        assert_array_equal(
            local_ricci_flow(layers, 6, connect="mst", n_jobs=n_jobs).coefficients,
            local_ricci_flow(layers, 6, connect="mst").coefficients)
        sel = select_n_neighbors([layers, layers], [5, 8], connect="mst",
                                 n_jobs=n_jobs)
        assert_array_equal(sel.coefficients, select_n_neighbors(
            [layers, layers], [5, 8], connect="mst").coefficients)
        for statistic in ("rho", "local_mean"):
            scorer = RicciFlowScorer(6, statistic=statistic, n_jobs=n_jobs)
            assert scorer.score_layers(layers) == RicciFlowScorer(
                6, statistic=statistic).score_layers(layers)


def test_knngraph_ricci_curvature_pipeline():
    X = np.random.RandomState(0).normal(size=(50, 4))
    pipe = Pipeline([("graph", KNNGraph(n_neighbors=6, symmetrize="sum")),
                     ("curv", RicciCurvature())])
    out = pipe.fit_transform(X)
    G = knn_graph(X, 6, symmetrize="sum")
    deg = np.asarray(G.sum(axis=1)).ravel()
    assert out.shape == (50, 3)
    assert_array_equal(out[:, 0], deg)
    assert_allclose(out[:, 1], node_curvature(G, reduce="sum"))
    assert_allclose(out[:, 2], node_curvature(G, reduce="mean"))
    # set_params through the pipeline reaches the graph step
    pipe.set_params(graph__n_neighbors=3)
    assert_array_equal(pipe.fit_transform(X)[:, 0],
                       np.asarray(knn_graph(X, 3, symmetrize="sum").sum(1)).ravel())
    assert list(pipe[-1].get_feature_names_out()) == [
        "degree", "curvature_sum", "curvature_mean"
    ]


def test_pipeline_feature_names_out():
    # regression: KNNGraph lacked get_feature_names_out, so this raised
    X = np.random.RandomState(0).normal(size=(20, 3))
    pipe = Pipeline([("graph", KNNGraph(n_neighbors=3)),
                     ("curv", RicciCurvature())]).fit(X)
    assert list(pipe.get_feature_names_out()) == [
        "degree", "curvature_sum", "curvature_mean"
    ]


def test_import_is_light():
    code = (
        "import sys, sk_ricci\n"
        "heavy = ('torch', 'skorch', 'pynndescent', 'matplotlib')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.parametrize("name", ["knn_graph", "forman_curvature", "ricci_flow",
                                  "geodesic_mass", "RicciFlow", "KNNGraph"])
def test_public_api_exported(name):
    import sk_ricci

    assert name in sk_ricci.__all__
    assert hasattr(sk_ricci, name)
