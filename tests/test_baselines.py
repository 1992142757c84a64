"""Label-free baselines: NuclearNormScorer and RankMeScorer against numpy by hand."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose
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

torch = pytest.importorskip("torch")

def HiddenScorer(*args, **kwargs):
    """RicciFlowScorer on the hidden layers only (these tests compare with
    flows of the hidden layers; the default also prepends the input)."""
    kwargs.setdefault("include_input", False)
    return RicciFlowScorer(*args, **kwargs)



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


@pytest.mark.parametrize("normalize", ["yes", 1, 0, None, "False"])
def test_nuclear_norm_normalize_must_be_a_bool(normalize):
    with pytest.raises(ValueError, match="nuclear_norm_score: normalize must be a "
                       r"bool \(True or False\); got .*Pass normalize=True"):
        nuclear_norm_score(np.eye(2), normalize=normalize)
    with pytest.raises(ValueError, match="NuclearNormScorer: normalize must be"):
        NuclearNormScorer(normalize=normalize)
    # NumPy's bools are bools
    assert nuclear_norm_score(np.eye(2), normalize=np.False_) == pytest.approx(2.0)


@pytest.mark.parametrize(
    "proba, match",
    [
        # negative "probabilities": singular values of -I are those of I, so the
        # old code scored it 1.0 like a perfect one-hot prediction
        (-np.eye(2), r"in \[0, 1\]; got 2 value\(s\) outside, first "
         r"proba\[0, 0\] = -1.0. Pass the output of predict_proba"),
        (np.array([[0.2, 1.5], [0.5, 0.5]]), r"first proba\[0, 1\] = 1.5"),
        (np.array([[-2.0, 3.0], [1.0, 0.0]]), "decision_function"),
        (np.array([[0.5, np.inf], [0.5, 0.5]]), "infinity"),
        (np.full(4, 0.25), r"2-D .*got shape \(4,\). For one sample pass "
         r"proba.reshape\(1, -1\)"),
        (np.full((2, 2, 2), 0.5), r"2-D .*got shape \(2, 2, 2\)\.$"),
    ],
)
def test_nuclear_norm_rejects_what_is_not_probabilities(proba, match):
    with pytest.raises(ValueError, match=match):
        nuclear_norm_score(proba)


def test_nuclear_norm_allows_float32_rounding():
    # float32 probabilities may step 1e-7 outside [0, 1]: accepted unchanged;
    # [[1, 0]] has one singular value 1, normalised by sqrt(1 x 1)
    P = np.array([[1 + 1e-7, -1e-7]])
    assert nuclear_norm_score(P) == pytest.approx(np.hypot(1 + 1e-7, 1e-7), rel=1e-12)


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


@pytest.mark.parametrize("scale", [1e308, 1e-300, 1e-310, 2.0**1000])
def test_rankme_is_exact_at_any_scale(scale):
    # I_3 times any positive number: three equal singular values, rank 3
    # (the old SVD of 1e308 I overflowed and returned 1.0000048)
    assert rankme(scale * np.eye(3), epsilon=0) == pytest.approx(3.0, rel=1e-12)
    # diag(3, 1) scaled: p = (3/4, 1/4) at every scale
    expected = np.exp(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25)))
    assert rankme(np.diag([3.0, 1.0]) * (scale / 3), epsilon=0) == pytest.approx(
        expected, rel=1e-12)


def test_rankme_bad_inputs(data, net):
    X, _ = data
    with pytest.raises(ValueError, match="rankme: epsilon must be a float >= 0 and "
                       "finite; got float -1.0. Pass e.g. epsilon=1e-7"):
        rankme(np.eye(3), epsilon=-1.0)
    for bad in (np.inf, np.nan, float("-inf"), True, "1e-7"):
        with pytest.raises(ValueError, match="epsilon must be a float >= 0 and finite"):
            rankme(np.eye(3), epsilon=bad)
        with pytest.raises(ValueError, match="RankMeScorer: epsilon must be a "
                           "float >= 0 and finite"):
            RankMeScorer(epsilon=bad)
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
    flow = HiddenScorer().set_params(n_neighbors=[10, 20], connect="mst")
    assert flow.get_params()["n_neighbors"] == [10, 20]
    assert clone(flow).n_neighbors == [10, 20]


def _hand_forward(est, X):
    """Hidden activations and class probabilities of a fitted binary
    ReLUMLPClassifier with NumPy, from its weights alone: Linear -> ReLU per
    hidden layer, a one-logit output, sigmoid."""
    h, hidden = np.asarray(X, dtype=np.float64), []
    for layer in est.module_.hidden:
        if isinstance(layer, torch.nn.Linear):
            W = layer.weight.detach().double().numpy()
            b = layer.bias.detach().double().numpy()
            h = h @ W.T + b
        else:
            assert isinstance(layer, torch.nn.ReLU)
            h = np.maximum(h, 0)
            hidden.append(h)
    out = est.module_.output
    W, b = out.weight.detach().double().numpy(), out.bias.detach().double().numpy()
    logit = h @ W.T + b
    p = 1 / (1 + np.exp(-logit[:, 0]))
    return hidden, np.column_stack([1 - p, p])


@pytest.mark.filterwarnings("ignore::sk_ricci.exceptions.UndefinedCoefficientWarning")
def test_three_scorers_in_one_multimetric_search(data):
    X, y = data
    flow = HiddenScorer(10, connect="mst")
    scoring = {
        "accuracy": "accuracy",
        "flow": flow,
        "nuclear": NuclearNormScorer(),
        "rankme": RankMeScorer(),
    }
    net = ReLUMLPClassifier(architecture="narrow", depth=5, max_epochs=2,
                            random_state=0, validation_fraction=None)
    search = GridSearchCV(net, {"depth": [5, 6]}, scoring=scoring, refit="nuclear",
                          cv=KFold(2)).fit(X, y)
    # every split's value against the same network fitted again by hand and
    # scored with NumPy from its weights: nuclear norm (eigenvalues of the
    # Gram matrix of the probabilities) and RankMe of the last hidden layer;
    # the flow from the hand-computed activations
    cv = search.cv_results_
    means = {"nuclear": [], "rankme": []}
    for c, depth in enumerate([5, 6]):
        for i, (train, test) in enumerate(KFold(2).split(X)):
            est = clone(net).set_params(depth=depth).fit(X[train], y[train])
            hidden, proba = _hand_forward(est, X[test])
            assert len(hidden) == depth
            nuclear = oracle_nuclear(proba)
            rank = oracle_rankme(hidden[-1])
            assert cv[f"split{i}_test_nuclear"][c] == pytest.approx(nuclear, rel=1e-5)
            assert cv[f"split{i}_test_rankme"][c] == pytest.approx(rank, rel=1e-4)
            assert cv[f"split{i}_test_flow"][c] == pytest.approx(
                flow.score_layers(hidden), abs=1e-6)
            accuracy = np.mean((proba[:, 1] > 0.5) == y[test])
            assert cv[f"split{i}_test_accuracy"][c] == pytest.approx(accuracy)
            means["nuclear"].append(nuclear)
            means["rankme"].append(rank)
    for name, values in means.items():
        assert_allclose(cv[f"mean_test_{name}"], np.reshape(values, (2, 2)).mean(1),
                        rtol=1e-4)
    # refit="nuclear" keeps the depth of the larger hand-computed mean
    best = int(np.argmax(np.reshape(means["nuclear"], (2, 2)).mean(1)))
    assert search.best_params_ == {"depth": [5, 6][best]}
    _, proba = _hand_forward(search.best_estimator_, X)
    assert search.score(X, y) == pytest.approx(oracle_nuclear(proba), rel=1e-5)
    # cross_validate's folds: the same hand-computed values
    res = cross_validate(net, X, y, cv=KFold(2), scoring=scoring,
                         return_estimator=True)
    for i, (train, test) in enumerate(KFold(2).split(X)):
        hidden, proba = _hand_forward(res["estimator"][i], X[test])
        assert res["test_nuclear"][i] == pytest.approx(oracle_nuclear(proba), rel=1e-5)
        assert res["test_rankme"][i] == pytest.approx(oracle_rankme(hidden[-1]),
                                                      rel=1e-4)
