"""layer_activations on any torch model: layers by name, type or callable,
N-D inputs and outputs, warnings for activation modules left out, layer names."""

import copy
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
    assert repr(acts) == "LayerActivations([x: (3, 2), y: (3, 4), z: (3, 3)])"
    restored = pickle.loads(pickle.dumps(acts))
    assert restored.names == acts.names and len(restored) == 3
    assert all(r is not a and np.array_equal(r, a) for r, a in zip(restored, acts))
    for twin in (copy.copy(acts), copy.deepcopy(acts), acts.copy()):
        assert isinstance(twin, LayerActivations) and twin.names == ["x", "y", "z"]
        assert len(twin) == 3 and twin.names is not acts.names
    assert LayerActivations([np.zeros(2)]).names == ["0"]
    with pytest.raises(ValueError, match="got 1 names for 2 layers"):
        LayerActivations([np.zeros(2), np.zeros(2)], ["a"])
    with pytest.raises(ValueError, match="got 2 names for 3 layers"):
        acts.names = ["a", "b"]
    assert acts.names == ["x", "y", "z"]


def _letters():
    """Five layers of widths 1..5, named a..e, and a plain copy to mirror."""
    arrays = [np.full((20, w), float(w)) for w in range(1, 6)]
    return LayerActivations(arrays, list("abcde")), list(arrays)


def _name_of(array):
    return "abcde"[array.shape[1] - 1]  # width w is layer "abcde"[w - 1]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda a: a.reverse(),
        lambda a: a.sort(key=lambda x: -x.shape[1]),
        lambda a: a.sort(key=lambda x: x.shape[1] % 2),  # stable: a c e b d
        lambda a: a.sort(key=lambda x: x.shape[1], reverse=True),
        lambda a: a.__delitem__(0),
        lambda a: a.__delitem__(-1),
        lambda a: a.__delitem__(slice(1, 4, 2)),
        lambda a: a.__delitem__(slice(None, None, -2)),
        lambda a: a.pop(),
        lambda a: a.pop(1),
        lambda a: a.remove(a[2]),
        lambda a: a.clear(),
        lambda a: a.__setitem__(slice(None, None, -1), list(a)),
        lambda a: a.__setitem__(slice(0, 5, 2), a[4::-2]),
    ],
    ids=["reverse", "sort", "sort-stable", "sort-reverse", "del0", "del-1",
         "del-slice", "del-neg-step", "pop", "pop1", "remove", "clear",
         "reverse-slice", "extended-slice-LayerActivations"],
)
def test_names_follow_moves_and_removals(mutate):
    # every layer's width says which letter it was built with: after any
    # move or removal, each name must still sit next to its own array
    acts, _ = _letters()
    mutate(acts)
    assert len(acts.names) == len(acts)
    assert acts.names == [_name_of(x) for x in acts]


def test_names_of_added_layers():
    acts, arrays = _letters()

    def fresh():
        return np.zeros((20, 7))

    first = fresh()
    acts.append(fresh())
    assert acts.names == list("abcde") + ["5"]  # its position, as names=None
    acts.append(fresh(), name="extra")
    acts.insert(0, first, name="first")
    acts.insert(-1, fresh())  # before the last: position 7 of 9
    acts.insert(100, fresh())  # clamped to the end, like list.insert
    assert acts.names == ["first", *"abcde", "5", "7", "extra", "9"]
    assert len(acts) == 10 and acts[0] is first and acts[1] is arrays[0]
    acts.extend([fresh(), fresh()], names=["p", "q"])
    acts.extend(LayerActivations([fresh()], ["r"]))
    acts.extend(iter([fresh()]))  # an iterator: its position
    acts += [fresh()]
    acts += LayerActivations([fresh()], ["s"])
    assert acts.names[10:] == ["p", "q", "r", "13", "14", "s"]
    with pytest.raises(ValueError, match="got 1 names for 2 added layers"):
        acts.extend([fresh(), fresh()], names=["t"])
    assert len(acts) == len(acts.names) == 16
    # the same array object again: its own name (a copy of that layer)
    acts.append(first)
    acts.insert(0, arrays[2])
    assert acts.names[0] == "c" and acts.names[-1] == "first"


def test_names_of_replaced_layers():
    acts, arrays = _letters()
    new1, new2 = np.zeros((20, 8)), np.zeros((20, 9))
    acts[1] = new1  # a new array replacing a layer keeps the position's name
    acts[-1] = new2
    assert acts.names == list("abcde") and acts[1] is new1 and acts[4] is new2
    acts[1] = arrays[1]  # b's own array comes back: its own name
    acts[4] = arrays[4]
    assert acts.names == list("abcde")
    acts[0] = acts[2]  # a copy of layer c: named c
    assert acts.names == ["c", "b", "c", "d", "e"]
    acts[0] = arrays[0]
    acts[1:3] = LayerActivations([new1, new2], ["x", "y"])
    assert acts.names == ["a", "x", "y", "d", "e"]
    acts[1:3] = [new2, new1]  # as many arrays: their own (known) names
    assert acts.names == ["a", "y", "x", "d", "e"]
    acts[1:3] = [np.ones((20, 1)), np.ones((20, 2))]  # new: positions' names
    assert acts.names == ["a", "y", "x", "d", "e"]
    acts[1:3] = [np.ones((20, 3))]  # fewer new arrays: named by position
    assert acts.names == ["a", "1", "d", "e"]
    acts[4:] = [np.ones((20, 1)), np.ones((20, 1))]  # appended by a slice
    assert acts.names == ["a", "1", "d", "e", "4", "5"]
    with pytest.raises(ValueError, match="extended slice"):
        acts[::2] = [new1]
    with pytest.raises(IndexError):
        acts[6] = new1
    assert acts.names == ["a", "1", "d", "e", "4", "5"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda a: a.__setitem__(slice(1, 3), [a[2], a[1]]),
        lambda a: a.append(a.pop(0)),
        lambda a: a.insert(0, a.pop()),
        lambda a: a.extend([a.pop(1), a.pop(1)]),
    ],
    ids=["slice-swap", "rotate-left", "rotate-right", "pop-extend"],
)
def test_moved_arrays_carry_their_names(mutate):
    acts, _ = _letters()
    mutate(acts)
    assert acts.names == [_name_of(x) for x in acts]


def test_swap_idiom_carries_names():
    acts, _ = _letters()
    acts[1], acts[3] = acts[3], acts[1]
    assert acts.names == ["a", "d", "c", "b", "e"]
    acts[0], acts[1], acts[2] = acts[1], acts[2], acts[0]  # a rotation
    assert acts.names == ["d", "c", "a", "b", "e"]
    assert acts.names == [_name_of(x) for x in acts]


def test_concatenation_and_repetition_keep_names():
    acts, arrays = _letters()
    both = acts[:2] + acts[3:]
    assert isinstance(both, LayerActivations) and both.names == ["a", "b", "d", "e"]
    assert (acts[:1] + [arrays[4]]).names == ["a", "1"]
    left = [arrays[4]] + acts[:2]
    assert isinstance(left, LayerActivations) and left.names == ["0", "a", "b"]
    assert (acts[:2] * 2).names == ["a", "b", "a", "b"] == (2 * acts[:2]).names
    twice = acts[:2]
    twice *= 2
    assert twice.names == ["a", "b", "a", "b"] and len(twice) == 4
    assert acts.names == list("abcde")  # none of this touched acts
    with pytest.raises(TypeError, match="pass key="):
        acts.sort()


def test_ricci_flow_reads_the_names_after_mutation():
    # the reproducer: reverse, then append, then del, then the flow's names
    rng = np.random.RandomState(0)
    layers = [rng.normal(size=(30, 4)) for _ in range(5)]
    acts = LayerActivations(layers, list("abcde"))
    acts.reverse()
    res = ricci_flow(acts, 5, connect="mst")
    assert res.layer_names == ("e", "d", "c", "b", "a")
    np.testing.assert_array_equal(
        res.total_curvature, ricci_flow(layers[::-1], 5, connect="mst").total_curvature
    )
    acts.append(layers[0], name="again")
    assert ricci_flow(acts, 5, connect="mst").layer_names[-1] == "again"
    del acts[0]
    assert ricci_flow(acts, 5, connect="mst").layer_names == (
        "d", "c", "b", "a", "again"
    )


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


# -- modules the forward pass does not call ---------------------------------------


class _TwoReLUsOneUsed(nn.Module):
    """r2 exists but forward never calls it."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.lin, self.r1, self.r2 = nn.Linear(3, 4), nn.ReLU(), nn.ReLU()

    def forward(self, X):
        return self.r1(self.lin(X))


def test_named_module_never_called_is_an_error():
    module, X = _TwoReLUsOneUsed(), np.ones((6, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=r"layers names \['r2'\], but the forward "
                       r"pass of _TwoReLUsOneUsed never called ReLU 'r2' on X "
                       r"\(6 rows, one batch\).*It called \['r1'\]. Pass layers "
                       r"without \['r2'\]"):
        layer_activations(module, X, layers=["r1", "r2"])
    assert not module.r1._forward_hooks and not module.r2._forward_hooks
    assert layer_activations(module, X, layers=["r1"]).names == ["r1"]


def test_selected_module_never_called_warns():
    # by default (every ReLU), by type or by callable: r2 is left out, said so
    module, X = _TwoReLUsOneUsed(), np.ones((6, 3), dtype=np.float32)
    for layers in ("hidden", nn.ReLU, lambda name, m: isinstance(m, nn.ReLU), [0]):
        with pytest.warns(SkRicciWarning, match=r"leaves out 1 selected module\(s\) "
                          "of _TwoReLUsOneUsed that the forward pass never called "
                          r"on X \(6 rows, one batch\): ReLU 'r2'"):
            acts = layer_activations(module, X, layers=layers)
        assert acts.names == ["r1"]


class _ReLUAboveTenRows(nn.Module):
    """Calls its ReLU only on batches of more than 10 rows."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.lin, self.relu = nn.Linear(3, 4), nn.ReLU()

    def forward(self, X):
        h = self.lin(X)
        return self.relu(h) if X.shape[0] > 10 else h


def test_module_called_only_on_large_batches():
    module = _ReLUAboveTenRows()
    X = np.random.RandomState(0).normal(size=(25, 3)).astype(np.float32)
    # batches of 10: the first batch already skips it; the message names the
    # batch and how to read X in one batch
    with pytest.raises(ValueError, match=r"was called in its forward pass on the "
                       r"first batch of X \(10 of 25 rows, batch_size=10\).*only "
                       r"for some inputs or batch sizes.*batch_size=25 reads all "
                       "of X in one batch"):
        layer_activations(module, X, batch_size=10)
    # batches of 20 and 5: called on the first, not on the second
    with pytest.raises(ValueError, match=r"called \['relu'\] on batch 1 of X \(20 "
                       r"rows\) but \[\] on batch 2 \(5 rows, batch_size=20\).*"
                       "pass batch_size=25"):
        layer_activations(module, X, batch_size=20)
    # five rows in all: the first batch is all of X, no batch_size hint
    with pytest.raises(ValueError, match=r"first batch of X \(5 of 5 rows, "
                       r"batch_size=1024\).*for which it does\.$"):
        layer_activations(module, X[:5])
    acts = layer_activations(module, X, batch_size=25)
    with torch.no_grad():
        expected = torch.relu(module.lin(torch.as_tensor(X))).double().numpy()
    _close(acts[0], expected)
    assert not module.relu._forward_hooks


def test_root_module_is_named_the_empty_string():
    # named_modules() yields ("", model): a callable sees that pair, and the
    # name "" selects the model's own output
    module, X = _TwoReLUsOneUsed(), np.ones((6, 3), dtype=np.float32)
    seen = []
    acts = layer_activations(
        module, X, layers=lambda name, m: seen.append((name, m)) or m is module
    )
    assert seen == list(module.named_modules())
    assert acts.names == [""]
    by_name = layer_activations(module, X, layers=["", "lin"])
    assert by_name.names == ["lin", ""]  # forward order: lin runs first
    with torch.no_grad():
        lin = module.lin(torch.as_tensor(X))
        _close(by_name[0], lin.double().numpy())
        _close(by_name[1], torch.relu(lin).double().numpy())
    np.testing.assert_array_equal(acts[0], by_name[1])
    assert repr(by_name) == "LayerActivations([lin: (6, 4), '': (6, 4)])"
    with pytest.raises(ValueError, match=r"no module named \['nope'\]; pass names "
                       r"from module.named_modules\(\): '', 'lin', 'r1', 'r2'"):
        layer_activations(module, X, layers=["nope"])
