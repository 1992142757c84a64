"""Tests for sk_ricci.nn: ReLUMLP, ReLUMLPClassifier and layer_activations."""

import pickle
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
skorch = pytest.importorskip("skorch")

from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from torch import nn

from sk_ricci.nn import ReLUMLP, ReLUMLPClassifier, layer_activations

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.usefixtures("one_torch_thread"),
]

# Tiny settings that keep every fit well under a second.
FAST = {"hidden_layer_sizes": (8, 6), "max_epochs": 3, "batch_size": 16}


def _binary_data(n_samples=60, n_features=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, n_features))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


def _three_class_data(n_samples=90, seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.array(["red", "green", "blue"]), n_samples // 3)
    centers = {"red": [2, 0, 0], "green": [0, 2, 0], "blue": [0, 0, 2]}
    X = np.array([centers[label] for label in y]) + rng.normal(size=(n_samples, 3))
    return X, y


def _numpy_relu_layers(X, weights_biases):
    """Hidden-layer outputs computed by hand: ReLU(h @ W.T + b) per layer."""
    hidden, outputs = np.asarray(X, dtype=np.float64), []
    for weight, bias in weights_biases:
        hidden = np.maximum(hidden @ weight.T + bias, 0)
        outputs.append(hidden)
    return outputs


def _linear_params(linears):
    return [
        (
            lin.weight.detach().numpy().astype(np.float64),
            lin.bias.detach().numpy().astype(np.float64),
        )
        for lin in linears
    ]


def _assert_layers_close(actual, expected):
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected):
        assert got.dtype == np.float64
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def _assert_no_hooks(module):
    for submodule in module.modules():
        assert len(submodule._forward_hooks) == 0


# -- ReLUMLP -------------------------------------------------------------------


@pytest.mark.parametrize(
    "architecture, depth, expected",
    [
        ("narrow", 5, (25,) * 5),
        ("wide", 5, (50,) * 5),
        ("wide", 11, (50,) * 11),
        ("bottleneck", 5, (50, 50, 25, 50, 50)),
        ("bottleneck", 11, (50,) * 5 + (25,) + (50,) * 5),
        ("bottleneck", 1, (25,)),
    ],
)
def test_relumlp_presets(architecture, depth, expected):
    net = ReLUMLP(3, 1, architecture=architecture, depth=depth)
    assert net.hidden_layer_sizes == expected
    linears = [m for m in net.hidden if isinstance(m, nn.Linear)]
    assert tuple(lin.out_features for lin in linears) == expected
    relus = [m for m in net.hidden if isinstance(m, nn.ReLU)]
    assert len({id(relu) for relu in relus}) == depth
    assert net.output.in_features == expected[-1]
    assert net(torch.zeros(4, 3)).shape == (4, 1)


def test_relumlp_explicit_sizes_override_preset():
    net = ReLUMLP(4, 3, hidden_layer_sizes=(7, 5), architecture="narrow", depth=9)
    assert net.hidden_layer_sizes == (7, 5)
    assert net(torch.zeros(2, 4)).shape == (2, 3)


def test_relumlp_init_is_glorot_uniform_with_zero_bias():
    generator = torch.Generator().manual_seed(0)
    net = ReLUMLP(3, 1, architecture="wide", depth=3, generator=generator)
    for lin in [m for m in net.modules() if isinstance(m, nn.Linear)]:
        bound = np.sqrt(6 / (lin.in_features + lin.out_features))
        assert lin.weight.abs().max().item() <= bound
        assert lin.weight.abs().max().item() > 0.8 * bound
        assert torch.count_nonzero(lin.bias) == 0


def test_relumlp_generator_reproducible_and_global_rng_untouched():
    state = torch.get_rng_state()
    first = ReLUMLP(3, 2, depth=2, generator=torch.Generator().manual_seed(1))
    second = ReLUMLP(3, 2, depth=2, generator=torch.Generator().manual_seed(1))
    assert torch.equal(torch.get_rng_state(), state)
    for a, b in zip(first.parameters(), second.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            {"architecture": "huge"},
            "ReLUMLP: architecture must be one of 'narrow', 'wide', 'bottleneck'; "
            "got str 'huge'. Pass one of these presets",
        ),
        ({"depth": 0}, "depth must be an int >= 1; got int 0. Pass the number"),
        ({"depth": 2.5}, "depth must be an int >= 1; got float 2.5"),
        ({"hidden_layer_sizes": (10, 0)}, r"ints >= 1; got tuple \(10, 0\). Pass"),
        ({"hidden_layer_sizes": ()}, r"non-empty list of ints >= 1; got tuple \(\)"),
        ({"hidden_layer_sizes": "abc"}, "ints >= 1; got str 'abc'"),
        ({"hidden_layer_sizes": (4, True)}, r"got tuple \(4, True\)"),
        ({"input_dim": 0}, "ReLUMLP: input_dim must be an int >= 1; got int 0"),
        ({"n_outputs": -1}, "ReLUMLP: n_outputs must be an int >= 1; got int -1"),
    ],
)
def test_relumlp_bad_arguments(kwargs, match):
    args = {"input_dim": 3, "n_outputs": 1}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ReLUMLP(**args)


# -- layer_activations against hand-computed forward passes --------------------


def test_layer_activations_relumlp_classifier_matches_numpy():
    X, y = _binary_data()
    clf = ReLUMLPClassifier(**FAST, random_state=0).fit(X, y)
    linears = [m for m in clf.module_.hidden if isinstance(m, nn.Linear)]
    X32 = X.astype(np.float32)
    expected = _numpy_relu_layers(X32, _linear_params(linears))
    acts = layer_activations(clf, X)
    _assert_layers_close(acts, expected)
    assert [a.shape for a in acts] == [(60, 8), (60, 6)]
    _assert_no_hooks(clf.module_)


class _TwoReLUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(3, 6)
        self.act1 = nn.ReLU()
        self.second = nn.Linear(6, 4)
        self.act2 = nn.ReLU()
        self.out = nn.Linear(4, 2)

    def forward(self, X):
        return self.out(self.act2(self.second(self.act1(self.first(X)))))


def test_layer_activations_skorch_net_matches_numpy():
    X, y = _binary_data()
    X = X.astype(np.float32)
    net = skorch.NeuralNetClassifier(
        _TwoReLUNet,
        criterion=nn.CrossEntropyLoss,
        max_epochs=2,
        train_split=None,
        verbose=0,
    ).fit(X, y)
    module = net.module_
    training = module.training
    expected = _numpy_relu_layers(X, _linear_params([module.first, module.second]))
    _assert_layers_close(layer_activations(net, X), expected)
    _assert_no_hooks(module)
    assert module.training == training


def test_layer_activations_bare_module_matches_numpy_and_keeps_state():
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 1)
    )
    module.train()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    X, _ = _binary_data()
    expected = _numpy_relu_layers(
        X.astype(np.float32), _linear_params([module[0], module[2]])
    )
    _assert_layers_close(layer_activations(module, X, batch_size=7), expected)
    _assert_no_hooks(module)
    assert all(m.training for m in module.modules())
    for key, value in module.state_dict().items():
        assert torch.equal(value, before[key])


def test_layer_activations_restores_mixed_modes():
    module = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4, 1))
    module.train()
    module[2].eval()
    modes = [m.training for m in module.modules()]
    layer_activations(module, np.ones((5, 3)))
    assert [m.training for m in module.modules()] == modes


def test_layer_activations_uses_eval_mode():
    # Dropout would zero half the units in train mode; eval mode keeps them.
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(3, 50), nn.Dropout(0.5), nn.ReLU())
    module.train()
    X = np.ones((4, 3))
    (acts,) = layer_activations(module, X)
    expected = _numpy_relu_layers(X, _linear_params([module[0]]))
    _assert_layers_close([acts], expected)


class _ReusedReLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.b = nn.Linear(4, 2)
        self.relu = nn.ReLU()

    def forward(self, X):
        return self.relu(self.b(self.relu(self.a(X))))


def test_layer_activations_records_each_call_of_a_reused_relu():
    torch.manual_seed(0)
    module = _ReusedReLU()
    X, _ = _binary_data(n_samples=10)
    expected = _numpy_relu_layers(
        X.astype(np.float32), _linear_params([module.a, module.b])
    )
    _assert_layers_close(layer_activations(module, X), expected)


@pytest.mark.parametrize("estimator_cls", [MLPClassifier, MLPRegressor])
def test_layer_activations_sklearn_mlp_matches_numpy(estimator_cls):
    X, y = _binary_data()
    mlp = estimator_cls(hidden_layer_sizes=(7, 5, 4), max_iter=20, random_state=0)
    mlp.fit(X, y)
    expected = _numpy_relu_layers(
        X, [(w.T, b) for w, b in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1])]
    )
    acts = layer_activations(mlp, X)
    _assert_layers_close(acts, expected)
    assert [a.shape[1] for a in acts] == [7, 5, 4]


def test_layer_activations_pipeline_transforms_first():
    X, y = _binary_data()
    X = X * 10 + 3
    pipe = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(6, 4), max_iter=500, random_state=0),
    ).fit(X, y)
    scaled = pipe[0].transform(X)
    mlp = pipe[-1]
    expected = _numpy_relu_layers(
        scaled, [(w.T, b) for w, b in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1])]
    )
    _assert_layers_close(layer_activations(pipe, X), expected)


def test_layer_activations_pipeline_with_relumlp_classifier():
    X, y = _binary_data()
    pipe = make_pipeline(StandardScaler(), ReLUMLPClassifier(**FAST, random_state=0))
    pipe.fit(X, y)
    direct = layer_activations(pipe[-1], pipe[0].transform(X))
    _assert_layers_close(layer_activations(pipe, X), direct)


def test_layer_activations_layer_selection_and_batches():
    torch.manual_seed(0)
    module = ReLUMLP(3, 1, hidden_layer_sizes=(4, 5, 6))
    X = np.random.RandomState(0).normal(size=(25, 3))
    every = layer_activations(module, X, batch_size=1024)
    _assert_layers_close(layer_activations(module, X, batch_size=4), every)
    picked = layer_activations(module, X, layers=[0, -1])
    _assert_layers_close(picked, [every[0], every[2]])
    with pytest.raises(ValueError, match="layer index 3 is out of range .* 3 hidden"):
        layer_activations(module, X, layers=[3])
    with pytest.raises(ValueError, match="layers must be 'hidden' or a list of int"):
        layer_activations(module, X, layers="all")
    with pytest.raises(ValueError, match="batch_size must be a positive int; got 0"):
        layer_activations(module, X, batch_size=0)


# -- layer_activations errors --------------------------------------------------


def test_layer_activations_rejects_non_relu_mlp():
    X, y = _binary_data()
    mlp = MLPClassifier(hidden_layer_sizes=(4,), activation="tanh", max_iter=500)
    mlp.fit(X, y)
    with pytest.raises(ValueError, match="activation='tanh'.*activation='relu'"):
        layer_activations(mlp, X)


def test_layer_activations_rejects_model_without_relu():
    module = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    with pytest.raises(ValueError, match="contains no torch.nn.ReLU"):
        layer_activations(module, np.ones((2, 3)))
    _assert_no_hooks(module)


class _UnusedReLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)
        self.relu = nn.ReLU()

    def forward(self, X):
        return torch.relu(self.lin(X))


def test_layer_activations_rejects_relu_never_called():
    module = _UnusedReLU()
    with pytest.raises(ValueError, match="was called in its forward pass"):
        layer_activations(module, np.ones((2, 3)))
    _assert_no_hooks(module)


@pytest.mark.parametrize(
    "estimator",
    [
        ReLUMLPClassifier(),
        MLPClassifier(),
        skorch.NeuralNetClassifier(_TwoReLUNet),
        make_pipeline(StandardScaler(), MLPClassifier()),
    ],
    ids=["ReLUMLPClassifier", "MLPClassifier", "skorch", "Pipeline"],
)
def test_layer_activations_unfitted(estimator):
    with pytest.raises(NotFittedError):
        layer_activations(estimator, np.ones((2, 3)))


@pytest.mark.parametrize("bad, match", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_layer_activations_non_finite(bad, match):
    X, y = _binary_data()
    X_bad = X.copy()
    X_bad[3, 1] = bad
    clf = ReLUMLPClassifier(**{**FAST, "max_epochs": 1}, random_state=0).fit(X, y)
    mlp = MLPClassifier(hidden_layer_sizes=(4,), max_iter=300).fit(X, y)
    for estimator in [clf, mlp, clf.module_]:
        with pytest.raises(ValueError, match=match):
            layer_activations(estimator, X_bad)


def test_layer_activations_wrong_n_features():
    X, y = _binary_data()
    X_wide = np.hstack([X, X])
    clf = ReLUMLPClassifier(**{**FAST, "max_epochs": 1}, random_state=0).fit(X, y)
    mlp = MLPClassifier(hidden_layer_sizes=(4,), max_iter=300).fit(X, y)
    with pytest.raises(ValueError, match="X has 6 features, but ReLUMLPClassifier"):
        layer_activations(clf, X_wide)
    with pytest.raises(ValueError, match="X has 6 features, but MLPClassifier"):
        layer_activations(mlp, X_wide)
    with pytest.raises(ValueError, match="X has 6 features, but the network expects 3"):
        layer_activations(clf.module_, X_wide)
    _assert_no_hooks(clf.module_)


def test_layer_activations_forward_failure_cleans_up():
    # A module whose first layer is not Linear: the width check cannot run and the
    # forward pass itself fails; hooks must still be removed.
    module = nn.Sequential(nn.LayerNorm(3), nn.Linear(3, 2), nn.ReLU())
    module.train()
    with pytest.raises(ValueError, match="forward pass of Sequential failed"):
        layer_activations(module, np.ones((2, 5)))
    _assert_no_hooks(module)
    assert module.training


@pytest.mark.parametrize("estimator", [LogisticRegression(), "model", None])
def test_layer_activations_unsupported_type(estimator):
    with pytest.raises(TypeError, match="layer_activations expects ReLUMLPClassifier"):
        layer_activations(estimator, np.ones((2, 3)))


# -- ReLUMLPClassifier ---------------------------------------------------------


def test_classifier_reproducible_and_seed_dependent():
    X, y = _binary_data()
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    first = ReLUMLPClassifier(**FAST, random_state=3).fit(X, y)
    second = ReLUMLPClassifier(**FAST, random_state=3).fit(X, y)
    other = ReLUMLPClassifier(**FAST, random_state=4).fit(X, y)
    # Neither torch's nor NumPy's global random state is touched.
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state)

    for a, b in zip(first.module_.parameters(), second.module_.parameters()):
        assert torch.equal(a, b)
    assert np.array_equal(first.predict_proba(X), second.predict_proba(X))
    assert not np.array_equal(first.predict_proba(X), other.predict_proba(X))
    assert not all(
        torch.equal(a, b)
        for a, b in zip(first.module_.parameters(), other.module_.parameters())
    )


def test_classifier_binary_defaults_and_attributes():
    X, y = _binary_data()
    clf = ReLUMLPClassifier(max_epochs=2, random_state=0).fit(X, y)
    assert clf.module_.hidden_layer_sizes == (50,) * 5  # "wide", depth 5
    assert clf.module_.n_outputs == 1  # single logit, binary cross-entropy
    assert isinstance(clf.net_, skorch.NeuralNetBinaryClassifier)
    assert clf.net_.module_ is clf.module_
    assert clf.n_features_in_ == 3
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert len(clf.history_) == 2
    assert "valid_acc" in clf.history_[-1]  # 20% validation split by default
    proba = clf.predict_proba(X)
    assert proba.shape == (60, 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])
    assert 0 <= clf.score(X, y) <= 1


def test_classifier_validation_fraction_none_trains_on_everything():
    X, y = _binary_data()
    clf = ReLUMLPClassifier(**FAST, validation_fraction=None, random_state=0)
    clf.fit(X, y)
    assert "valid_acc" not in clf.history_[-1]
    assert clf.history_[-1, "train_batch_count"] == 4  # ceil(60 / 16)
    clf.set_params(validation_fraction=0.25).fit(X, y)
    assert clf.history_[-1, "train_batch_count"] == 3  # ceil(45 / 16)


def test_classifier_three_string_classes():
    X, y = _three_class_data()
    clf = ReLUMLPClassifier(
        hidden_layer_sizes=(16,), max_epochs=20, lr=1e-2, random_state=0
    ).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, ["blue", "green", "red"])
    assert isinstance(clf.net_, skorch.NeuralNetClassifier)
    assert clf.module_.n_outputs == 3
    proba = clf.predict_proba(X)
    assert proba.shape == (90, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert set(clf.predict(X)) <= {"red", "green", "blue"}
    assert clf.score(X, y) > 0.8


def test_classifier_binary_string_labels():
    X, y = _binary_data()
    labels = np.where(y == 1, "yes", "no")
    clf = ReLUMLPClassifier(**FAST, random_state=0).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])
    assert set(clf.predict(X)) <= {"no", "yes"}


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32])
def test_classifier_input_dtypes(dtype):
    X, y = _binary_data()
    X = (X * 3).astype(dtype)
    clf = ReLUMLPClassifier(**FAST, random_state=0).fit(X, y)
    assert clf.predict(X).shape == (60,)
    assert clf.predict_proba(X.tolist()).shape == (60, 2)


@pytest.mark.parametrize("optimizer", ["rmsprop", "adam", "sgd", "Adam"])
def test_classifier_optimizers(optimizer):
    X, y = _binary_data()
    clf = ReLUMLPClassifier(**FAST, optimizer=optimizer, random_state=0).fit(X, y)
    assert clf.predict(X).shape == (60,)


def test_classifier_set_params_changes_fitted_model():
    X, y = _binary_data()
    clf = ReLUMLPClassifier(max_epochs=1, depth=2, random_state=0).fit(X, y)
    assert clf.module_.hidden_layer_sizes == (50, 50)
    clf.set_params(depth=3, architecture="bottleneck").fit(X, y)
    assert clf.module_.hidden_layer_sizes == (50, 25, 50)
    assert [a.shape[1] for a in layer_activations(clf, X)] == [50, 25, 50]
    clf.set_params(hidden_layer_sizes=(4,)).fit(X, y)
    assert clf.module_.hidden_layer_sizes == (4,)


def test_classifier_clone_and_pickle():
    X, y = _binary_data()
    unfitted = ReLUMLPClassifier(**FAST, random_state=0)
    assert clone(unfitted).get_params() == unfitted.get_params()
    restored = pickle.loads(pickle.dumps(unfitted))
    assert restored.get_params() == unfitted.get_params()

    fitted = clone(unfitted).fit(X, y)
    fresh = clone(fitted)
    assert fresh.get_params() == unfitted.get_params()
    with pytest.raises(NotFittedError):
        fresh.predict(X)

    restored = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(restored.classes_, fitted.classes_)
    assert restored.module_ is restored.net_.module_
    _assert_layers_close(layer_activations(restored, X), layer_activations(fitted, X))


def test_classifier_verbose(capsys):
    X, y = _binary_data()
    ReLUMLPClassifier(**FAST, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""
    ReLUMLPClassifier(**FAST, random_state=0, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "train_loss" in out and "valid_acc" in out


def test_classifier_grid_search_serial_equals_parallel():
    X, y = _binary_data(n_samples=48)
    grid = {"depth": [1, 2], "architecture": ["narrow", "bottleneck"]}
    base = ReLUMLPClassifier(max_epochs=2, batch_size=16, random_state=0)
    scores = []
    for n_jobs in (1, 2):
        search = GridSearchCV(clone(base), grid, cv=2, n_jobs=n_jobs).fit(X, y)
        scores.append(search.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(scores[0], scores[1])
    assert search.best_estimator_.module_.hidden_layer_sizes[0] == 25


def test_classifier_unfitted_and_wrong_features():
    X, y = _binary_data()
    clf = ReLUMLPClassifier(**FAST, random_state=0)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    with pytest.raises(NotFittedError):
        _ = clf.module_
    clf.fit(X, y)
    with pytest.raises(ValueError, match="X has 4 features, but ReLUMLPClassifier"):
        clf.predict(X[:, [0, 1, 2, 0]])


def test_classifier_one_class():
    X, _ = _binary_data()
    with pytest.raises(ValueError, match="at least 2 classes in y; got 1 class: 'a'"):
        ReLUMLPClassifier(**FAST).fit(X, np.full(60, "a"))


@pytest.mark.parametrize(
    "params, match",
    [
        (
            {"architecture": "deep"},
            "ReLUMLPClassifier: architecture must be one of 'narrow', 'wide', "
            "'bottleneck'; got str 'deep'. Pass one of these presets",
        ),
        ({"depth": -1}, "depth must be an int >= 1; got int -1. Pass the number"),
        (
            {"hidden_layer_sizes": (4, -2)},
            r"hidden_layer_sizes must be None or an int >= 1 or a non-empty list "
            r"of ints >= 1; got tuple \(4, -2\). Pass e.g.",
        ),
        ({"hidden_layer_sizes": ()}, r"non-empty list of ints >= 1; got tuple \(\)"),
        (
            {"optimizer": "lbfgs"},
            r"optimizer must be one of 'rmsprop', 'adam', 'sgd' \(in any case\) "
            "or a torch.optim.Optimizer subclass; got str 'lbfgs'. Pass e.g. "
            "optimizer='rmsprop'",
        ),
        ({"optimizer": torch.nn.Linear}, "Optimizer subclass; got type"),
        (
            {"validation_fraction": 1.5},
            r"validation_fraction must be a float in \[0, 1\) or None; got float "
            "1.5. Pass e.g. validation_fraction=0.2",
        ),
        ({"validation_fraction": 0.99}, "leaving none to train on"),
        ({"lr": -1.0}, r"lr must be a finite float in \(0, 3.40282\d+e\+38\]; got "
                       "float -1.0. Pass a"),
        ({"lr": np.inf}, r"lr must be a finite float in \(0, 3.4\d+e\+38\]; got float inf"),
        ({"lr": np.nan}, r"lr must be a finite float in \(0, 3.4\d+e\+38\]; got float nan"),
        # torch holds the learning rate in float32: 1e39 would overflow there
        ({"lr": 1e39}, r"lr must be a finite float in \(0, 3.4\d+e\+38\]; got float "
                       r"1e\+39. .*float32"),
        ({"max_epochs": 0}, "max_epochs must be an int >= 1; got int 0. Pass e.g."),
        ({"batch_size": 2.5}, "batch_size must be an int >= 1; got float 2.5"),
        ({"verbose": -1}, "verbose must be an int >= 0; got int -1. Pass verbose=0"),
        ({"verbose": True}, "verbose must be an int >= 0; got bool True"),
        ({"random_state": -1}, r"random_state must be None or an int in \[0, 2\*\*32"),
        ({"device": 1.5}, "device must be a device name or torch.device or an int"),
        ({"callbacks": "all"}, "callbacks must be None or a list of skorch callbacks"),
    ],
)
def test_classifier_bad_params(params, match):
    from sk_ricci.exceptions import InvalidParameterError

    X, y = _binary_data()
    with pytest.raises(ValueError, match=match) as info:
        ReLUMLPClassifier(max_epochs=1).set_params(**params).fit(X, y)
    # the declared constraints raise scikit-learn's kind of error (a ValueError
    # and a TypeError); only the check that needs n_samples is a plain one
    assert isinstance(info.value, InvalidParameterError) == (
        params != {"validation_fraction": 0.99}
    )


def test_classifier_params_checked_before_the_data():
    # a bad parameter is reported even when the data are unusable too
    with pytest.raises(ValueError, match="lr must be a finite float in \\(0, 3.4"):
        ReLUMLPClassifier(lr=0).fit(np.full((5, 2), np.nan), np.zeros(5))
    with pytest.raises(ValueError, match="unexpected parameter 'lrr'"):
        ReLUMLPClassifier(lrr=0.1).fit(np.full((5, 2), np.nan), np.zeros(5))


def test_classifier_constraints_cover_every_parameter():
    own = set(ReLUMLPClassifier().get_params(deep=False))
    assert set(ReLUMLPClassifier._parameter_constraints) == own


def test_classifier_accepts_what_it_accepted():
    # names in any case and numpy strings, widths as one int or an array,
    # an optimizer class and numpy numbers: all as before the declared checks
    X, y = _binary_data()
    base = {"max_epochs": 1, "random_state": 0}
    for params in [
        {"optimizer": "Adam"},
        {"optimizer": torch.optim.Adagrad},
        {"architecture": np.str_("narrow"), "depth": np.int64(2)},
        {"hidden_layer_sizes": np.array([4, 3])},
        {"hidden_layer_sizes": 5, "lr": np.float32(0.01), "validation_fraction": 0},
        {"random_state": np.random.RandomState(0), "device": torch.device("cpu")},
    ]:
        clf = ReLUMLPClassifier(**{**base, **params}).fit(X, y)
        assert clf.predict(X).shape == (60,)
    clf = ReLUMLPClassifier(**base, optimizer="Adam").fit(X, y)
    assert isinstance(clf.net_.optimizer_, torch.optim.Adam)
    assert clf.net_.optimizer_.defaults["eps"] == 1e-7  # keras' default
    widths = ReLUMLPClassifier(**base, hidden_layer_sizes=5).fit(X, y)
    assert widths.module_.hidden_layer_sizes == (5,)


# -- skorch's routed parameters ------------------------------------------------


def test_classifier_epoch_scoring_with_ricci_flow_scorer_callback():
    from skorch.callbacks import EpochScoring

    from sk_ricci import RicciFlowScorer

    X, y = _binary_data()
    scorer = RicciFlowScorer(n_neighbors=8, connect="mst")
    clf = ReLUMLPClassifier(
        hidden_layer_sizes=(8,) * 5, max_epochs=3, batch_size=16,
        validation_fraction=None, random_state=0,
        callbacks=[EpochScoring(scorer, name="flow", on_train=True,
                                lower_is_better=False)],
    ).fit(X, y)
    flow = clf.history_[:, "flow"]
    assert len(flow) == 3 and np.isfinite(flow).all()
    # on_train scores the training data (all of X) with the final weights at the
    # last epoch: the scorer called by hand after fit gives the same number
    assert flow[-1] == pytest.approx(scorer(clf.net_, X.astype(np.float32)))
    assert flow[-1] == pytest.approx(scorer(clf, X))
    # the validating default callbacks are still there
    assert "train_loss" in clf.history_[-1]


def test_classifier_module_routing_changes_the_module():
    X, y = _binary_data()
    base = {"max_epochs": 1, "random_state": 0}
    clf = ReLUMLPClassifier(**base, module__hidden_layer_sizes=(4, 3)).fit(X, y)
    assert clf.module_.hidden_layer_sizes == (4, 3)
    assert [a.shape[1] for a in layer_activations(clf, X)] == [4, 3]
    clf = ReLUMLPClassifier(**base, architecture="narrow", module__depth=2).fit(X, y)
    assert clf.module_.hidden_layer_sizes == (25, 25)
    # set_params routes too, and the next fit builds the new module
    clf.set_params(module__depth=3, module__architecture="bottleneck").fit(X, y)
    assert clf.module_.hidden_layer_sizes == (50, 25, 50)
    with pytest.raises(ValueError, match="module__input_dim cannot be set"):
        ReLUMLPClassifier(**base, module__input_dim=5).fit(X, y)
    with pytest.raises(TypeError, match="a module__ parameter does not fit ReLUMLP"):
        ReLUMLPClassifier(**base, module__dropout=0.5).fit(X, y)
    with pytest.raises(ValueError, match="ReLUMLP: depth must be an int >= 1; got int 0"):
        ReLUMLPClassifier(**base, module__depth=0).fit(X, y)


def test_classifier_optimizer_routing_reaches_the_optimizer():
    X, y = _binary_data()
    sgd = ReLUMLPClassifier(
        **FAST, optimizer="sgd", optimizer__momentum=0.9, optimizer__nesterov=True,
        random_state=0,
    ).fit(X, y)
    group = sgd.net_.optimizer_.param_groups[0]
    assert isinstance(sgd.net_.optimizer_, torch.optim.SGD)
    assert group["momentum"] == 0.9 and group["nesterov"] is True
    plain = ReLUMLPClassifier(**FAST, optimizer="sgd", random_state=0).fit(X, y)
    assert plain.net_.optimizer_.param_groups[0]["momentum"] == 0
    # momentum changes the trajectory
    assert not np.allclose(sgd.predict_proba(X), plain.predict_proba(X))

    # the paper's RMSprop defaults stay unless overridden
    rms = ReLUMLPClassifier(**FAST, optimizer__weight_decay=1e-3, random_state=0)
    group = rms.fit(X, y).net_.optimizer_.param_groups[0]
    assert (group["alpha"], group["eps"], group["weight_decay"]) == (0.9, 1e-7, 1e-3)
    rms.set_params(optimizer__alpha=0.99).fit(X, y)
    assert rms.net_.optimizer_.param_groups[0]["alpha"] == 0.99


class _FirstBatches(skorch.callbacks.Callback):
    def initialize(self):
        self.batches = []
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.batches.append(np.asarray(batch[0]))


def test_classifier_iterator_train_routing():
    X, y = _binary_data()
    X32 = X.astype(np.float32)
    seen = []
    for shuffle in (False, True):
        recorder = _FirstBatches()
        ReLUMLPClassifier(
            **{**FAST, "max_epochs": 1}, validation_fraction=None, random_state=0,
            callbacks=[recorder], iterator_train__shuffle=shuffle,
        ).fit(X, y)
        seen.append(recorder.batches)
    unshuffled, shuffled = seen
    # without shuffling the batches are X in order, 16 rows at a time
    np.testing.assert_array_equal(np.concatenate(unshuffled), X32)
    assert [len(b) for b in unshuffled] == [16, 16, 16, 12]
    assert not np.array_equal(np.concatenate(shuffled), X32)
    np.testing.assert_array_equal(
        np.sort(np.concatenate(shuffled), axis=0), np.sort(X32, axis=0)
    )


def test_classifier_criterion_routing():
    X, y = _binary_data()
    clf = ReLUMLPClassifier(
        **FAST, criterion__pos_weight=torch.tensor([3.0]), random_state=0
    ).fit(X, y)
    assert torch.equal(clf.net_.criterion_.pos_weight, torch.tensor([3.0]))


def test_classifier_routed_params_get_set_clone_pickle():
    from skorch.callbacks import EarlyStopping

    stop = EarlyStopping(patience=2)
    clf = ReLUMLPClassifier(
        **FAST, optimizer="sgd", optimizer__momentum=0.5, module__depth=2,
        callbacks=[stop], iterator_valid__pin_memory=False,
    )
    params = clf.get_params()
    assert params["optimizer__momentum"] == 0.5
    assert params["module__depth"] == 2
    assert params["iterator_valid__pin_memory"] is False
    assert params["callbacks"] == [stop]
    assert clf.get_params(deep=False).items() <= params.items()
    assert "optimizer__momentum=0.5" in repr(clf)

    clf.set_params(optimizer__momentum=0.8, lr=1e-2)
    assert clf.optimizer__momentum == 0.8 and clf.lr == 1e-2
    cloned = clone(clf)
    assert cloned.optimizer__momentum == 0.8 and cloned.module__depth == 2
    assert isinstance(cloned.callbacks[0], EarlyStopping)
    assert cloned.callbacks[0] is not stop  # deep-copied by clone, as in sklearn
    restored = pickle.loads(pickle.dumps(clf))
    assert restored.get_params().keys() == params.keys()

    X, y = _binary_data(n_samples=48)
    search = GridSearchCV(
        ReLUMLPClassifier(max_epochs=2, batch_size=16, optimizer="sgd",
                          hidden_layer_sizes=(8,), random_state=0),
        {"optimizer__momentum": [0.0, 0.9]}, cv=2,
    ).fit(X, y)
    best = search.best_estimator_.net_.optimizer_.param_groups[0]["momentum"]
    assert best == search.best_params_["optimizer__momentum"]
    assert [p["optimizer__momentum"] for p in search.cv_results_["params"]] == [
        0.0, 0.9
    ]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lrr": 0.1}, "unexpected parameter 'lrr'"),
        ({"module_depth": 2}, "unexpected parameter 'module_depth'"),
        ({"module__": 2}, "unexpected parameter 'module__'"),
        ({"train_split__cv": 2}, "names start with module__, optimizer__"),
    ],
)
def test_classifier_unknown_routed_parameter(kwargs, match):
    X, y = _binary_data()
    # like every parameter, checked in fit (init and set_params only store)
    clf = ReLUMLPClassifier(max_epochs=1, **kwargs)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    clf = ReLUMLPClassifier(max_epochs=1).set_params(**kwargs)
    assert clf.get_params()[next(iter(kwargs))] == next(iter(kwargs.values()))
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


def test_import_sk_ricci_does_not_import_torch():
    code = (
        "import sys, sk_ricci; "
        "bad = [m for m in ('torch', 'skorch') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


_BLOCK_TORCH = """
import importlib.abc, sys

class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("torch", "skorch"):
            raise ImportError(f"No module named {name!r}")

sys.meta_path.insert(0, _Block())
try:
    import sk_ricci.nn
except ImportError as exc:
    assert "pip install torch skorch" in str(exc), exc
else:
    raise AssertionError("importing sk_ricci.nn without torch did not fail")
"""


def test_missing_torch_gives_install_hint():
    subprocess.run([sys.executable, "-c", _BLOCK_TORCH], check=True)


# -- scikit-learn's common checks ----------------------------------------------


def _expected_failed_checks(estimator):
    if "optimizer__momentum" in estimator.get_params():
        # skorch's routed parameters are keyword arguments (**kwargs) stored as
        # attributes, as skorch's own NeuralNet does; this check only knows
        # the explicit signature. get_params/set_params/clone handle them.
        return {
            "check_no_attributes_set_in_init": (
                "routed optimizer__* parameters come through **kwargs"
            )
        }
    return {}


@parametrize_with_checks(
    [
        ReLUMLPClassifier(
            hidden_layer_sizes=(16,),
            max_epochs=5,
            batch_size=32,
            lr=1e-2,
            validation_fraction=None,
            random_state=0,
        ),
        ReLUMLPClassifier(
            hidden_layer_sizes=(16,),
            max_epochs=5,
            batch_size=32,
            lr=1e-2,
            optimizer="sgd",
            optimizer__momentum=0.9,
            validation_fraction=None,
            random_state=0,
        ),
    ],
    # Every check passes for the plain estimator; the checks that need pandas or
    # array-API support are skipped by scikit-learn itself when those are not
    # installed.
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
