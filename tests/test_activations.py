"""layer_activations on any torch model: layers by name, type or callable,
N-D inputs and outputs, warnings for activation modules left out, layer names."""

import pickle
import warnings
from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")
skorch = pytest.importorskip("skorch")

from sklearn.neural_network import MLPClassifier  # noqa: E402
from torch import nn  # noqa: E402

from sk_ricci import ricci_flow  # noqa: E402
from sk_ricci.exceptions import SkRicciWarning  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)

from sk_ricci.nn import (  # noqa: E402
    LayerActivations,
    ReLUMLP,
    ReLUMLPClassifier,
    layer_activations,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _cnn():
    """A small named CNN for 8x8 one-channel images."""
    torch.manual_seed(0)
    return nn.Sequential(OrderedDict([
        ("block1", nn.Sequential(OrderedDict([
            ("conv", nn.Conv2d(1, 4, 3, padding=1)),
            ("act", nn.LeakyReLU(0.1)),
        ]))),
        ("block2", nn.Sequential(OrderedDict([
            ("conv", nn.Conv2d(4, 6, 3, padding=1)),
            ("act", nn.ReLU()),
            ("pool", nn.MaxPool2d(2)),
        ]))),
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(6 * 4 * 4, 10)),
        ("gelu", nn.GELU()),
        ("out", nn.Linear(10, 3)),
    ]))


def _images(n=12, seed=0):
    return np.random.RandomState(seed).normal(size=(n, 1, 8, 8)).astype(np.float32)


def _reference(cnn, images):
    """Every intermediate output by hand: no hooks, modules called one by one."""
    x = torch.as_tensor(images)
    out = {}
    with torch.no_grad():
        for name, block in cnn.named_children():
            if isinstance(block, nn.Sequential):
                for sub, module in block.named_children():
                    x = module(x)
                    out[f"{name}.{sub}"] = x.reshape(len(images), -1).double().numpy()
            else:
                x = block(x)
                out[name] = x.reshape(len(images), -1).double().numpy()
    return out


def _close(actual, expected):
    assert actual.dtype == np.float64 and actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)


# -- choosing layers -------------------------------------------------------------


def test_layers_by_name_on_images_are_flattened_in_forward_order():
    cnn, images = _cnn(), _images()
    ref = _reference(cnn, images)
    # listed out of order: the result follows the forward pass
    acts = layer_activations(cnn, images, layers=["gelu", "block1.act", "block2.pool"])
    assert isinstance(acts, LayerActivations) and isinstance(acts, list)
    assert acts.names == ["block1.act", "block2.pool", "gelu"]
    assert [a.shape for a in acts] == [(12, 4 * 8 * 8), (12, 6 * 4 * 4), (12, 10)]
    for name, got in zip(acts.names, acts):
        _close(got, ref[name])
    # C-order flattening of a (n, C, H, W) map: channel, then row, then column
    conv = torch.as_tensor(images)
    with torch.no_grad():
        first = cnn.block1.act(cnn.block1.conv(conv)).double().numpy()
    _close(acts[0], first.reshape(12, -1))
    assert acts[0][3, 1 * 64 + 2 * 8 + 5] == pytest.approx(first[3, 1, 2, 5])


def test_layers_by_type_tuple_and_callable():
    cnn, images = _cnn(), _images()
    ref = _reference(cnn, images)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkRicciWarning)
        leaky = layer_activations(cnn, images, layers=nn.LeakyReLU)
    assert leaky.names == ["block1.act"]
    _close(leaky[0], ref["block1.act"])

    every = layer_activations(cnn, images, layers=(nn.LeakyReLU, nn.ReLU, nn.GELU))
    assert every.names == ["block1.act", "block2.act", "gelu"]
    for name, got in zip(every.names, every):
        _close(got, ref[name])

    convs = layer_activations(
        cnn, images, layers=lambda name, module: isinstance(module, nn.Conv2d)
    )
    assert convs.names == ["block1.conv", "block2.conv"]
    _close(convs[1], ref["block2.conv"])

    # a whole block is a module too
    block = layer_activations(cnn, images, layers=["block2"])
    _close(block[0], ref["block2.pool"])


def test_default_reads_relu_only_and_warns_about_the_others():
    cnn, images = _cnn(), _images()
    ref = _reference(cnn, images)
    with pytest.warns(SkRicciWarning, match=r"2 activation module\(s\)") as record:
        acts = layer_activations(cnn, images)
    message = str(record[0].message)
    assert "LeakyReLU 'block1.act'" in message and "GELU 'gelu'" in message
    assert "layers=" in message
    assert acts.names == ["block2.act"]
    _close(acts[0], ref["block2.act"])
    # a type selection that leaves activations out warns too
    with pytest.warns(SkRicciWarning, match="ReLU 'block2.act'"):
        layer_activations(cnn, images, layers=nn.LeakyReLU)
    # explicit names or a callable are a deliberate choice: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer_activations(cnn, images, layers=["block1.act"])
        layer_activations(cnn, images, layers=lambda n, m: n == "gelu")


@pytest.mark.parametrize(
    "extra", [nn.LeakyReLU(), nn.ReLU6(), nn.GELU(), nn.SiLU(), nn.Tanh(), nn.ELU()]
)
def test_each_ignored_activation_type_warns(extra):
    module = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), extra,
                           nn.Linear(4, 1))
    with pytest.warns(SkRicciWarning, match=f"{type(extra).__name__} '3'"):
        acts = layer_activations(module, np.ones((5, 3)))
    assert acts.names == ["1"]


def test_paper_networks_do_not_warn_and_keep_their_layers():
    X = np.random.RandomState(0).normal(size=(30, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = ReLUMLPClassifier(hidden_layer_sizes=(6, 5), max_epochs=1,
                            random_state=0).fit(X, y)
    mlp = MLPClassifier(hidden_layer_sizes=(4, 3), max_iter=50,
                        random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkRicciWarning)
        warnings.simplefilter("ignore", UserWarning)
        acts = layer_activations(clf, X)
        assert acts.names == ["hidden.1", "hidden.3"]
        assert [a.shape[1] for a in acts] == [6, 5]
        net = ReLUMLP(3, 1, hidden_layer_sizes=(4, 5, 6))
        assert layer_activations(net, X).names == ["hidden.1", "hidden.3", "hidden.5"]
        assert layer_activations(net, X, layers=[-1, 0]).names == [
            "hidden.5", "hidden.1"
        ]
        mlp_acts = layer_activations(mlp, X)
    assert mlp_acts.names == ["hidden_0", "hidden_1"]
    picked = layer_activations(mlp, X, layers=["hidden_1"])
    assert picked.names == ["hidden_1"]
    np.testing.assert_array_equal(picked[0], mlp_acts[1])


def test_reused_module_gives_one_named_layer_per_call():
    class Reused(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.relu = nn.Linear(3, 4), nn.Linear(4, 2), nn.ReLU()

        def forward(self, X):
            return self.relu(self.b(self.relu(self.a(X))))

    torch.manual_seed(0)
    module = Reused()
    X = np.random.RandomState(0).normal(size=(6, 3)).astype(np.float32)
    acts = layer_activations(module, X)
    assert acts.names == ["relu#1", "relu#2"]
    with torch.no_grad():
        h = torch.relu(module.a(torch.as_tensor(X)))
        expected = [h, torch.relu(module.b(h))]
    for got, want in zip(acts, expected):
        _close(got, want.double().numpy())


def test_skorch_net_on_images_and_torch_tensor_input():
    images = _images(24)
    y = np.arange(24) % 3
    net = skorch.NeuralNetClassifier(
        _cnn(), criterion=nn.CrossEntropyLoss, max_epochs=1, train_split=None,
        verbose=0,
    ).fit(images, y)
    ref = _reference(net.module_, images)
    acts = layer_activations(net, images, layers=["block1.act", "fc"], batch_size=5)
    for name, got in zip(acts.names, acts):
        _close(got, ref[name])
    from_tensor = layer_activations(net.module_, torch.as_tensor(images),
                                    layers=["fc"])
    _close(from_tensor[0], ref["fc"])


# -- names travel to the flow ------------------------------------------------------


def test_layer_names_reach_ricci_flow_result():
    torch.manual_seed(0)
    module = ReLUMLP(3, 1, hidden_layer_sizes=(8,) * 5)
    X = np.random.RandomState(0).normal(size=(40, 3))
    acts = layer_activations(module, X)
    res = ricci_flow(acts, 6, connect="mst")
    assert res.layer_names == tuple(acts.names)
    plain = ricci_flow(list(acts), 6, connect="mst")
    assert plain.layer_names is None
    np.testing.assert_array_equal(plain.total_curvature, res.total_curvature)
    named = ricci_flow(list(acts), 6, connect="mst", layer_names="abcde")
    assert named.layer_names == ("a", "b", "c", "d", "e")
    with pytest.raises(ValueError, match="layer_names has 2 names for 5 layers"):
        ricci_flow(acts, 6, layer_names=["a", "b"])


def test_layer_activations_list_behaviour_and_pickle():
    acts = LayerActivations([np.zeros((3, 2)), np.ones((3, 4)), np.eye(3)],
                            ["x", "y", "z"])
    assert acts[1:].names == ["y", "z"]
    assert isinstance(acts[0], np.ndarray)
    assert "y: (3, 4)" in repr(acts)
    restored = pickle.loads(pickle.dumps(acts))
    assert restored.names == acts.names and len(restored) == 3
    assert LayerActivations([np.zeros(2)]).names == ["0"]
    with pytest.raises(ValueError, match="got 1 names for 2 layers"):
        LayerActivations([np.zeros(2), np.zeros(2)], ["a"])


# -- errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layers, error, match",
    [
        (["nope"], ValueError, r"has no module named \['nope'\].*'block1.act'"),
        (["gelu", "gelu"], ValueError, r"names \['gelu'\] more than once"),
        (nn.GELU(), TypeError, "Pass its class .layers=GELU."),
        (int, TypeError, "class int, which is not a torch.nn.Module subclass"),
        ([], ValueError, "got an empty list"),
        ([0, "gelu"], TypeError, "not a mix"),
        ("gelu", ValueError, r"layers=\['gelu'\] for the module of that name"),
        (nn.Tanh, ValueError, "selects no module of Sequential"),
        (lambda name, module: False, ValueError, "selects no module"),
    ],
)
def test_bad_layers(layers, error, match):
    cnn = _cnn()
    with pytest.raises(error, match=match):
        layer_activations(cnn, _images(), layers=layers)
    for module in cnn.modules():
        assert not module._forward_hooks


def test_model_without_relu_names_its_activations():
    module = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(), nn.Linear(4, 1))
    with pytest.raises(ValueError, match=r"no torch.nn.ReLU.*LeakyReLU '1'.*"
                       r"layers=torch.nn.LeakyReLU"):
        layer_activations(module, np.ones((2, 3)))
    assert layer_activations(module, np.ones((2, 3)), layers=nn.LeakyReLU).names == [
        "1"
    ]


def test_module_output_that_is_not_one_tensor():
    class WithLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 4, batch_first=True)
            self.relu = nn.ReLU()

        def forward(self, X):
            out, _ = self.lstm(X)
            return self.relu(out)

    module = WithLSTM()
    X = np.ones((5, 2, 3), dtype=np.float32)  # (batch, time, features)
    acts = layer_activations(module, X)
    assert acts.names == ["relu"] and acts[0].shape == (5, 2 * 4)
    with pytest.raises(ValueError, match="module 'lstm' .LSTM. returned a tuple"):
        layer_activations(module, X, layers=["lstm"])
    assert not module.lstm._forward_hooks


def test_torch_only_selections_on_sklearn_mlp():
    X = np.random.RandomState(0).normal(size=(20, 3))
    mlp = MLPClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp.fit(X, (X[:, 0] > 0).astype(int))
    with pytest.raises(TypeError, match="selects torch modules, but MLPClassifier"):
        layer_activations(mlp, X, layers=nn.ReLU)
    with pytest.raises(ValueError, match=r"no hidden layer named \['relu'\]"):
        layer_activations(mlp, X, layers=["relu"])


def test_wrong_image_shape_is_a_clear_error():
    with pytest.raises(ValueError, match="forward pass of Sequential failed"):
        layer_activations(_cnn(), np.ones((4, 3, 8, 8), dtype=np.float32),
                          layers=["fc"])
