"""Label-free baselines: NuclearNormScorer and RankMeScorer against numpy by hand."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_moons
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.svm import SVC

from sk_ricci import (
    NuclearNormScorer,
    RankMeScorer,
    RicciFlowScorer,
    nuclear_norm_score,
    rankme,
)
from sk_ricci.nn import ReLUMLPClassifier, layer_activations


def singular_values(A):
    """Square roots of the eigenvalues of the smaller Gram matrix; eigenvalues
    at rounding level (a rank-deficient Gram matrix) are exact zeros."""
    A = np.asarray(A, dtype=np.float64)
    gram = A.T @ A if A.shape[0] >= A.shape[1] else A @ A.T
    ev = np.linalg.eigvalsh(gram)
    ev[ev < 1e-12 * max(ev.max(), 1e-300)] = 0.0
    return np.sqrt(ev)


def oracle_nuclear(P, normalize=True):
    """Sum of singular values, from the eigenvalues of the Gram matrix."""
    P = np.asarray(P, dtype=np.float64)
    value = singular_values(P).sum()
    if normalize:
        n, c = P.shape
        value /= np.sqrt(n * min(n, c))
    return value


def oracle_rankme(Z, eps=1e-7):
    s = singular_values(Z)
    p = s / s.sum() + eps
    return float(np.exp(-sum(pk * np.log(pk) for pk in p if pk > 0)))


@pytest.fixture(scope="module")
def data():
    return make_moons(120, noise=0.2, random_state=0)


@pytest.fixture(scope="module")
def net(data):
    X, y = data
    return ReLUMLPClassifier(hidden_layer_sizes=(10,) * 5, max_epochs=5,
                             random_state=0, validation_fraction=None).fit(X, y)


# -- nuclear norm --------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_nuclear_norm_hand_values(n_classes):
    n = 6 * n_classes
    # confident and balanced: one-hot rows, each class n/C times -> the bound, 1
    onehot = np.eye(n_classes)[np.arange(n) % n_classes]
    assert nuclear_norm_score(onehot) == pytest.approx(1.0, abs=1e-12)
    # uniform rows: rank one, singular value sqrt(n / C), normalised 1 / C
    uniform = np.full((n, n_classes), 1.0 / n_classes)
    assert nuclear_norm_score(uniform) == pytest.approx(1.0 / n_classes, abs=1e-12)
    # confident but all one class: rank one, singular value sqrt(n)
    collapsed = np.eye(n_classes)[np.zeros(n, dtype=int)]
    assert nuclear_norm_score(collapsed) == pytest.approx(
        np.sqrt(n) / np.sqrt(n * n_classes), abs=1e-12)
    assert nuclear_norm_score(collapsed, normalize=False) == pytest.approx(np.sqrt(n))


def test_nuclear_norm_equals_eigenvalue_oracle():
    rng = np.random.RandomState(0)
    for n, c in [(50, 2), (40, 4), (3, 7)]:
        P = rng.dirichlet(np.ones(c), size=n)
        for normalize in (True, False):
            assert nuclear_norm_score(P, normalize=normalize) == pytest.approx(
                oracle_nuclear(P, normalize), rel=1e-10)
        assert 0 < nuclear_norm_score(P) <= 1 + 1e-12


def test_nuclear_norm_scorer_equals_function(data, net):
    X, _ = data
    lr = LogisticRegression().fit(*data)
    for est in (net, lr):
        expected = oracle_nuclear(est.predict_proba(X))
        assert NuclearNormScorer()(est, X) == pytest.approx(expected, rel=1e-10)
    assert NuclearNormScorer(normalize=False)(lr, X) == pytest.approx(
        oracle_nuclear(lr.predict_proba(X), False), rel=1e-10)


def test_nuclear_norm_bad_inputs(data):
    X, y = data
    with pytest.raises(TypeError, match="needs an estimator with predict_proba"):
        NuclearNormScorer()(SVC().fit(X, y), X)
    with pytest.raises(ValueError, match="NaN"):
        nuclear_norm_score(np.array([[0.5, np.nan], [0.2, 0.8]]))


# -- RankMe -----------------------------------------------------------------


def test_rankme_hand_values():
    # singular values 3 and 1: p = (3/4, 1/4) (+1e-7)
    expected = np.exp(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25)))
    assert rankme(np.diag([3.0, 1.0]), epsilon=0) == pytest.approx(expected, rel=1e-12)
    assert rankme(np.diag([3.0, 1.0])) == pytest.approx(expected, rel=1e-5)
    # d equal singular values -> effective rank d
    assert rankme(np.eye(5), epsilon=0) == pytest.approx(5.0, rel=1e-12)
    # rank one -> 1
    assert rankme(np.outer(np.arange(1.0, 7.0), [1.0, -2.0, 0.5]),
                  epsilon=0) == pytest.approx(1.0, abs=1e-6)
    # every unit dead -> 0
    assert rankme(np.zeros((10, 4))) == 0.0


def test_rankme_equals_eigenvalue_oracle():
    rng = np.random.RandomState(1)
    for shape in [(60, 8), (5, 20), (30, 30)]:
        Z = np.maximum(rng.normal(size=shape), 0)
        assert rankme(Z) == pytest.approx(oracle_rankme(Z), rel=1e-8)


def test_rankme_scorer_equals_function(data, net):
    X, _ = data
    layers = layer_activations(net, X)
    assert RankMeScorer()(net, X) == pytest.approx(oracle_rankme(layers[-1]), rel=1e-8)
    assert RankMeScorer(layer=1)(net, X) == pytest.approx(
        oracle_rankme(layers[1]), rel=1e-8)
    assert RankMeScorer(epsilon=0.0)(net, X) == pytest.approx(
        oracle_rankme(layers[-1], eps=0.0), rel=1e-8)


def test_rankme_bad_inputs(data, net):
    X, _ = data
    with pytest.raises(ValueError, match="epsilon must be a float >= 0"):
        rankme(np.eye(3), epsilon=-1.0)
    with pytest.raises(ValueError, match="NaN"):
        rankme(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(TypeError, match="layer must be an int"):
        RankMeScorer(layer="last")(net, X)
    with pytest.raises(ValueError, match="out of range"):
        RankMeScorer(layer=7)(net, X)


# -- scikit-learn protocol ----------------------------------------------------


@pytest.mark.parametrize("scorer,text", [
    (NuclearNormScorer(), "NuclearNormScorer()"),
    (NuclearNormScorer(normalize=False), "NuclearNormScorer(normalize=False)"),
    (RankMeScorer(), "RankMeScorer()"),
    (RankMeScorer(layer=2, epsilon=0.0), "RankMeScorer(epsilon=0.0, layer=2)"),
    (RicciFlowScorer(10), "RicciFlowScorer(n_neighbors=10)"),
])
def test_clone_repr_pickle(scorer, text):
    assert repr(scorer) == text
    twin = clone(scorer)
    assert twin is not scorer and repr(twin) == text
    assert twin.get_params() == scorer.get_params()
    assert repr(pickle.loads(pickle.dumps(scorer))) == text


def test_set_params_round_trip():
    scorer = RankMeScorer().set_params(layer=0)
    assert scorer.layer == 0 and repr(scorer) == "RankMeScorer(layer=0)"
    flow = RicciFlowScorer().set_params(n_neighbors=[10, 20], connect="mst")
    assert flow.get_params()["n_neighbors"] == [10, 20]
    assert clone(flow).n_neighbors == [10, 20]


def test_three_scorers_in_one_multimetric_search(data):
    X, y = data
    scoring = {
        "accuracy": "accuracy",
        "flow": RicciFlowScorer(10, connect="mst"),
        "nuclear": NuclearNormScorer(),
        "rankme": RankMeScorer(),
    }
    net = ReLUMLPClassifier(architecture="narrow", depth=5, max_epochs=2,
                            random_state=0, validation_fraction=None)
    search = GridSearchCV(net, {"depth": [5, 6]}, scoring=scoring, refit="nuclear",
                          cv=KFold(2)).fit(X, y)
    for name in ("flow", "nuclear", "rankme"):
        assert np.isfinite(search.cv_results_[f"mean_test_{name}"]).all()
    # each fold's value is the scorer applied by hand to that fold
    res = cross_validate(net, X, y, cv=KFold(2), scoring=scoring)
    for i, (train, test) in enumerate(KFold(2).split(X)):
        est = clone(net).fit(X[train], y[train])
        assert res["test_nuclear"][i] == NuclearNormScorer()(est, X[test])
        assert res["test_rankme"][i] == RankMeScorer()(est, X[test])
