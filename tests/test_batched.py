"""fit_many: many ReLU networks trained at once, each as a lone fit trains it.

The oracle is :meth:`ReLUMLPClassifier.fit` (skorch, torch autograd and
torch.optim, one network at a time): a network trained inside a batch must
come out with the same weights, optimizer state, history and predictions, bit
for bit on CPU, whatever other networks share its batch.
"""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sk_ricci import RicciFlowScorer
from sk_ricci.nn import ReLUMLPClassifier, fit_many, layer_activations
from sk_ricci.nn._batched import _epoch_order
from sk_ricci.nn._classifier import _batch_loader


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 3))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    return X, y


def _params(est):
    return [p.detach().numpy() for p in est.module_.parameters()]


def _assert_same_network(lone, batched, X):
    for a, b in zip(_params(lone), _params(batched)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(lone.predict_proba(X), batched.predict_proba(X))
    np.testing.assert_array_equal(lone.predict(X), batched.predict(X))


def _history_table(est):
    return [
        {k: v for k, v in epoch.items() if k != "dur"} for epoch in est.history_
    ]


def _assert_same_optimizer_state(lone, batched):
    a = lone.net_.optimizer_.state_dict()
    b = batched.net_.optimizer_.state_dict()
    assert a["param_groups"] == b["param_groups"]
    assert a["state"].keys() == b["state"].keys()
    for index, state in a["state"].items():
        assert state.keys() == b["state"][index].keys()
        for key, value in state.items():
            torch.testing.assert_close(value, b["state"][index][key], rtol=0, atol=0)


def _assert_equal_to_lone_fits(kw, X, y, seeds=(0, 1, 2)):
    """fit_many of one network per seed against one ``fit`` per seed: weights,
    predictions, the whole history (every mini-batch's loss) and the
    optimizer state, with zero tolerance. Several networks share the batch,
    so that some of them sit at odd offsets of the batched buffers."""
    batch = fit_many([ReLUMLPClassifier(random_state=s, **kw) for s in seeds], X, y)
    for seed, batched in zip(seeds, batch):
        lone = ReLUMLPClassifier(random_state=seed, **kw).fit(X, y)
        _assert_same_network(lone, batched, X)
        assert _history_table(lone) == _history_table(batched)
        _assert_same_optimizer_state(lone, batched)


# --------------------------------------------------------------------------- #
# the same network as a lone fit
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("optimizer", ["rmsprop", "adam", "sgd"])
def test_batch_of_8_equals_lone_fits(data, optimizer):
    X, y = data
    kw = {"hidden_layer_sizes": (20, 12, 20), "max_epochs": 4, "optimizer": optimizer}
    batch = fit_many([ReLUMLPClassifier(random_state=s, **kw) for s in range(8)], X, y)
    for seed in (0, 3, 7):
        lone = ReLUMLPClassifier(random_state=seed, **kw).fit(X, y)
        _assert_same_network(lone, batch[seed], X)
        assert _history_table(lone) == _history_table(batch[seed])
        _assert_same_optimizer_state(lone, batch[seed])
        # the shuffling generators drew exactly what the lone fit drew
        for name in ("iterator_train__generator", "iterator_valid__generator"):
            assert torch.equal(
                getattr(lone.net_, name).get_state(),
                getattr(batch[seed].net_, name).get_state(),
            )


def test_paper_depth_and_many_epochs_equal_lone_fit():
    # depth 11 and 12 epochs: float32 rounding differences would grow large
    # over this many RMSprop steps, so equality here means no difference at all
    rng = np.random.RandomState(1)
    X = rng.normal(size=(200, 3))
    y = (np.sin(3 * X[:, 0]) > X[:, 1]).astype(int)
    kw = {"architecture": "bottleneck", "depth": 11, "max_epochs": 12}
    batch = fit_many([ReLUMLPClassifier(random_state=s, **kw) for s in (5, 6)], X, y)
    lone = ReLUMLPClassifier(random_state=6, **kw).fit(X, y)
    _assert_same_network(lone, batch[1], X)


def test_multiclass_string_labels_equal_lone_fit():
    rng = np.random.RandomState(2)
    X = rng.normal(size=(120, 4))
    y = np.array(["ant", "bee", "cat"])[np.argmax(X[:, :3], axis=1)]
    kw = {"hidden_layer_sizes": (16, 16), "max_epochs": 3, "optimizer": "adam"}
    batch = fit_many([ReLUMLPClassifier(random_state=s, **kw) for s in range(4)], X, y)
    lone = ReLUMLPClassifier(random_state=2, **kw).fit(X, y)
    _assert_same_network(lone, batch[2], X)
    np.testing.assert_array_equal(batch[2].classes_, ["ant", "bee", "cat"])
    np.testing.assert_array_equal(
        batch[2].net_.classes_inferred_, lone.net_.classes_inferred_
    )


def test_without_validation_equals_lone_fit(data):
    X, y = data
    kw = {"hidden_layer_sizes": (10, 10), "max_epochs": 3, "validation_fraction": None}
    batch = fit_many([ReLUMLPClassifier(random_state=s, **kw) for s in range(3)], X, y)
    lone = ReLUMLPClassifier(random_state=1, **kw).fit(X, y)
    _assert_same_network(lone, batch[1], X)
    assert _history_table(lone) == _history_table(batch[1])
    assert "valid_loss" not in batch[1].history_[-1]


@pytest.fixture(scope="module")
def edge_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 3))
    return X, (X[:, 0] * X[:, 1] > 0).astype(int), np.argmax(X, axis=1)


@pytest.mark.parametrize(
    "case",
    [
        # one point per mini-batch at a large learning rate: chaotic training,
        # where a one-ulp difference in a step grows to different predictions
        "batch_of_one",
        "final_batch_of_one_point",  # 42 points: 33 to train, batches 32 + 1
        "hidden_layer_of_width_1",
        "one_feature_width_1_batch_of_one",  # 1 x 1 layer inputs
        "multiclass_batch_8",  # several held-out mini-batches, the last short
        "batch_size_7",  # batches whose matrices sit at odd offsets
        "multiclass_batch_size_7",
        "sgd",  # no optimizer state at all, as torch.optim.SGD keeps none
    ],
)
def test_edge_cases_equal_lone_fits(edge_data, case):
    X, y, y3 = edge_data
    small = {"hidden_layer_sizes": (16, 16), "max_epochs": 3}
    X, y, kw = {
        "batch_of_one": (
            X[:150], y[:150],
            {"depth": 5, "max_epochs": 2, "batch_size": 1, "lr": 0.01},
        ),
        "final_batch_of_one_point": (X[:42], y[:42], {"max_epochs": 3}),
        "hidden_layer_of_width_1": (
            X[:150], y[:150], {"hidden_layer_sizes": (10, 1, 10), "max_epochs": 3}
        ),
        "one_feature_width_1_batch_of_one": (
            X[:60, :1], y[:60],
            {"hidden_layer_sizes": (1, 25, 1), "max_epochs": 2, "batch_size": 1,
             "optimizer": "sgd", "lr": 0.1},
        ),
        "multiclass_batch_8": (X[:150], y3[:150], {**small, "batch_size": 8}),
        "batch_size_7": (X[:150], y[:150], {**small, "batch_size": 7}),
        "multiclass_batch_size_7": (X[:150], y3[:150], {**small, "batch_size": 7}),
        "sgd": (X[:150], y[:150], {**small, "optimizer": "sgd", "lr": 0.05}),
    }[case]
    _assert_equal_to_lone_fits(kw, X, y)


def test_networks_differing_only_in_lr_equal_their_lone_fits(data):
    # the learning rate is shared by a batch: networks with different lr must
    # train in different batches, whatever else they share
    X, y = data
    kw = {"hidden_layer_sizes": (12, 12), "max_epochs": 3}
    ests = [ReLUMLPClassifier(lr=lr, random_state=0, **kw) for lr in (1e-3, 1e-2)]
    fitted = fit_many([clone(e) for e in ests], X, y)
    for est, batched in zip(ests, fitted):
        lone = clone(est).fit(X, y)
        _assert_same_network(lone, batched, X)
        assert _history_table(lone) == _history_table(batched)


# --------------------------------------------------------------------------- #
# one training step against autograd
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("n_features", "hidden", "n_outputs", "n_rows"),
    [
        (3, (50, 50), 1, 32),
        (3, (50, 50), 1, 7),  # matrices at odd offsets of the batch
        (3, (50, 50), 1, 1),  # every product a row vector times a matrix
        (3, (10, 10), 3, 5),  # products under the batched kernels' size limit
        (4, (20, 19), 4, 1),  # around that limit: 20 * 19 and 19 * 20 rows
        (3, (10, 1, 10), 1, 9),  # a matrix-vector product in the middle
        (1, (1, 25, 1), 1, 1),  # 1 x 1 inputs of a layer
        (2, (13, 1), 3, 3),
    ],
)
def test_stacked_step_equals_autograd(n_features, hidden, n_outputs, n_rows):
    """The stacked forward and backward pass of three networks against
    ``torch.nn.Linear`` layers differentiated by autograd with the criterion
    ``fit`` uses, one network at a time: logits, losses and every gradient
    equal, whatever the network's position in the batch."""
    from sk_ricci.nn import ReLUMLP
    from sk_ricci.nn._stacked import StackedNets, mean_losses, output_grad

    gen = torch.Generator().manual_seed(n_rows + 10 * n_outputs)
    modules = [
        ReLUMLP(n_features, n_outputs, hidden_layer_sizes=hidden, generator=gen)
        for _ in range(3)
    ]
    with torch.no_grad():  # non-zero biases
        for module in modules:
            for p in module.parameters():
                p.add_(0.1 * torch.randn(p.shape, generator=gen))
    X = torch.randn(3, n_rows, n_features, generator=gen)
    binary = n_outputs == 1
    if binary:
        y = (torch.rand(3, n_rows, generator=gen) > 0.5).float()
        criterion = torch.nn.BCEWithLogitsLoss()
    else:
        y = torch.randint(0, n_outputs, (3, n_rows), generator=gen)
        criterion = torch.nn.CrossEntropyLoss()
    nets = StackedNets(modules, [n_features, *hidden, n_outputs], torch.device("cpu"))
    with torch.no_grad():
        inputs = []
        logits = nets.forward(X, inputs)
        losses = mean_losses(logits, y, binary)
        nets.backward(inputs, output_grad(logits, y, binary))
    for i, module in enumerate(modules):
        # the lone network, as skorch trains it
        out = module(X[i].clone())
        out = out.reshape(-1) if binary else out
        loss = criterion(out, y[i])
        loss.backward()
        torch.testing.assert_close(
            logits[i].reshape(out.shape), out.detach(), rtol=0, atol=0
        )
        torch.testing.assert_close(losses[i], loss.detach(), rtol=0, atol=0)
        grads = []
        for weight, bias in zip(nets.grad_weights, nets.grad_biases):
            grads += [weight[i], bias[i, 0]]
        for grad, p in zip(grads, module.parameters(), strict=True):
            torch.testing.assert_close(grad, p.grad, rtol=0, atol=0)


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize(
    "shape", [(1, 19, 21), (1, 20, 20), (3, 7, 19), (3, 7, 20), (2, 50, 1), (7, 9, 3)]
)
def test_matmul_rounds_each_product_as_mm(shape, transposed):
    # rows x inner x cols around the size under which torch's batched kernels
    # sum in their own order; the oracle is torch.mm / torch.addmm on fresh
    # tensors, one network at a time, as nn.Linear and autograd call them.
    # The operands are aligned as the stacked networks keep them; b is either
    # row-major (delta @ W) or a transposed view (x @ W^T)
    from sk_ricci.nn._stacked import _aligned, _matmul

    rows, inner, cols = shape
    gen = torch.Generator().manual_seed(sum(shape))
    a = _aligned(torch.randn(5, rows, inner, generator=gen))
    if transposed:
        b = _aligned(torch.randn(5, cols, inner, generator=gen)).transpose(1, 2)
    else:
        b = _aligned(torch.randn(5, inner, cols, generator=gen))
    bias = torch.randn(5, 1, cols, generator=gen)
    product, affine = _matmul(a, b), _matmul(a, b, bias)
    for i in range(5):
        torch.testing.assert_close(
            product[i], torch.mm(a[i].clone(), b[i].clone()), rtol=0, atol=0
        )
        torch.testing.assert_close(
            affine[i], torch.addmm(bias[i, 0].clone(), a[i].clone(), b[i].clone()),
            rtol=0, atol=0,
        )


# --------------------------------------------------------------------------- #
# independent of the batch
# --------------------------------------------------------------------------- #
# --------------------------------------------------------------------------- #
# the optimiser step: torch's sqrt only where it is fast, same numbers
# --------------------------------------------------------------------------- #
def _second_moments():
    """Float32 values an RMSprop/Adam second moment takes: +0, every 97th
    subnormal (the smallest and the largest included), the smallest normals,
    and normal values across the range."""
    subnormal = torch.arange(1, 1 << 23, 97, dtype=torch.int32)
    edges = torch.tensor([1, (1 << 23) - 1, 1 << 23, (1 << 23) + 1], dtype=torch.int32)
    normal = torch.rand(20_000, generator=torch.Generator().manual_seed(0))
    return torch.cat([
        torch.zeros(3), subnormal.view(torch.float32), edges.view(torch.float32),
        normal * 1e-30, normal * 1e-10, normal, normal * 1e10,
    ])


@pytest.mark.parametrize("eps", [1e-7, 1e-8, 1e-11, 1e-12, 1e-30, 0.0])
@pytest.mark.parametrize("divisor", [None, 0.001**0.5, 0.3])
def test_optimizer_root_plus_eps_equals_torch_sqrt_plus_eps(eps, divisor):
    """The oracle is what torch.optim computes, ``sqrt(v)`` (divided by
    Adam's bias correction) plus eps; zeros and subnormals included. A tiny
    eps (1e-30, 0) cannot absorb the root of a subnormal: the raw values
    must be used there; 1e-11 absorbs ``sqrt(_FLT_MIN)`` but not that divided
    by Adam's first bias correction."""
    from sk_ricci.nn._stacked import _Optimizer

    v = _second_moments()
    flat = torch.zeros(1, v.numel())
    opt = _Optimizer("rmsprop", {"alpha": 0.9, "eps": eps}, 1e-3, flat)
    got = opt._root(v.reshape(1, -1), divisor).add_(eps).reshape(-1)
    expected = torch.sqrt(v)
    if divisor is not None:
        expected = expected.div_(divisor)
    expected = expected.add_(eps)
    assert torch.equal(got.view(torch.int32), expected.view(torch.int32))


def test_optimizer_root_gives_torch_sqrt_no_tiny_value(monkeypatch):
    """torch's CPU sqrt is 10-40x slower per element on zeros and subnormals
    than on normal values: with keras' eps the step never hands it one."""
    from sk_ricci.nn import _stacked

    seen = []
    real_sqrt = torch.sqrt

    def spy(x, *args, **kwargs):
        seen.append(float(x.min()))
        return real_sqrt(x, *args, **kwargs)

    v = _second_moments().reshape(1, -1)
    opt = _stacked._Optimizer("rmsprop", {"alpha": 0.9, "eps": 1e-7}, 1e-3, v)
    monkeypatch.setattr(_stacked.torch, "sqrt", spy)
    opt._root(v)
    opt._root(v, 0.5)
    monkeypatch.undo()
    assert len(seen) >= 2
    assert min(seen[-2:]) >= torch.finfo(torch.float32).tiny


@pytest.mark.parametrize("name", ["rmsprop", "adam"])
def test_optimizer_steps_through_subnormal_moments_as_torch_optim(name):
    """Steps of the flat optimiser against torch.optim's single-tensor RMSprop
    and Adam on two parameter tensors: gradients of about 1e-20 (squares below
    the normal range) and 0 mixed with ordinary ones, so that the second
    moments hold zeros and subnormals; parameters and state equal bit for
    bit after every step."""
    from sk_ricci.nn._stacked import _Optimizer

    gen = torch.Generator().manual_seed(3)
    shapes = [(7, 5), (5,)]
    params = [torch.randn(s, generator=gen) for s in shapes]
    kwargs = {"alpha": 0.9, "eps": 1e-7} if name == "rmsprop" else {
        "betas": (0.9, 0.999), "eps": 1e-7}
    cls = torch.optim.RMSprop if name == "rmsprop" else torch.optim.Adam
    lone = [p.clone().requires_grad_() for p in params]
    reference = cls(lone, lr=1e-3, foreach=False, **kwargs)
    flat = torch.cat([p.reshape(-1) for p in params]).reshape(1, -1)
    grad = torch.zeros_like(flat)
    opt = _Optimizer(name, kwargs, 1e-3, flat)
    key = "square_avg" if name == "rmsprop" else "exp_avg_sq"
    kind = torch.randint(0, 3, flat.shape, generator=gen)
    for step in range(40):
        g = torch.randn(flat.shape, generator=gen)
        g = torch.where(kind == 0, g * 1e-20, torch.where(kind == 1, 0.0, g))
        if step > 20:
            g[:, ::2] = 0.0  # units that die: their moments decay
        grad.copy_(g)
        offset = 0
        for p in lone:
            p.grad = g[0, offset : offset + p.numel()].reshape(p.shape).clone()
            offset += p.numel()
        reference.step()
        with torch.no_grad():
            opt.update(flat, grad)
        expected = torch.cat([p.detach().reshape(-1) for p in lone])
        assert torch.equal(flat[0], expected), step
        state = torch.cat([reference.state[p][key].reshape(-1) for p in lone])
        assert torch.equal(opt.state[key][0], state), step
    moments = opt.state[key]
    assert bool(((moments > 0) & (moments < torch.finfo(torch.float32).tiny)).any())
    assert bool((moments == 0).any())


def test_result_does_not_depend_on_the_batch(data):
    X, y = data
    kw = {"hidden_layer_sizes": (24, 24, 24), "max_epochs": 3}
    eight = fit_many([ReLUMLPClassifier(random_state=s, **kw) for s in range(8)], X, y)
    # seed 5 with two other networks, in another position
    three = fit_many(
        [ReLUMLPClassifier(random_state=s, **kw) for s in (5, 0, 2)], X, y
    )
    chunked = fit_many(
        [ReLUMLPClassifier(random_state=s, **kw) for s in range(8)], X, y,
        max_networks=3,
    )
    _assert_same_network(eight[5], three[0], X)
    for a, b in zip(eight, chunked):
        _assert_same_network(a, b, X)


def test_mixed_settings_are_grouped(data):
    X, y = data
    ests = [
        ReLUMLPClassifier(hidden_layer_sizes=(8, 8), max_epochs=2, random_state=0),
        ReLUMLPClassifier(architecture="narrow", depth=3, max_epochs=2, random_state=1),
        ReLUMLPClassifier(
            hidden_layer_sizes=(8, 8), max_epochs=3, lr=1e-2, random_state=2
        ),
        # a custom optimizer class has no batched update: fitted alone
        ReLUMLPClassifier(
            hidden_layer_sizes=(8, 8), max_epochs=2, optimizer=torch.optim.Adagrad,
            random_state=3,
        ),
    ]
    fitted = fit_many([clone(e) for e in ests], X, y)
    for est, batched in zip(ests, fitted):
        _assert_same_network(clone(est).fit(X, y), batched, X)


def test_diverged_network_does_not_poison_its_batch():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] > 0).astype(int)
    # plain SGD at lr=30: seeds 3 and 6 blow up to non-finite losses
    kw = {"hidden_layer_sizes": (16, 16, 16), "optimizer": "sgd", "lr": 30.0,
          "max_epochs": 3}
    batch = fit_many([ReLUMLPClassifier(random_state=s, **kw) for s in range(8)], X, y)
    finite = [bool(np.isfinite(e.history_[-1, "train_loss"])) for e in batch]
    assert not all(finite) and any(finite)
    for seed in range(8):
        lone = ReLUMLPClassifier(random_state=seed, **kw).fit(X, y)
        assert bool(np.isfinite(lone.history_[-1, "train_loss"])) == finite[seed]
        for a, b in zip(_params(lone), _params(batch[seed])):
            np.testing.assert_array_equal(a, b)  # NaN where the lone fit has NaN


# --------------------------------------------------------------------------- #
# a normal fitted classifier
# --------------------------------------------------------------------------- #
def test_fitted_estimators_work_everywhere(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    kw = {"architecture": "narrow", "depth": 5, "max_epochs": 3}
    batch = fit_many([ReLUMLPClassifier(random_state=s, **kw) for s in range(3)],
                     frame, y)
    lone = ReLUMLPClassifier(random_state=1, **kw).fit(frame, y)
    est = batch[1]
    assert est.n_features_in_ == 3
    np.testing.assert_array_equal(est.feature_names_in_, ["a", "b", "c"])
    np.testing.assert_array_equal(est.classes_, [0, 1])
    assert len(est.history_) == 3
    assert est.module_.training == lone.module_.training
    assert est.score(frame, y) == lone.score(frame, y)
    for a, b in zip(layer_activations(lone, frame), layer_activations(est, frame)):
        np.testing.assert_array_equal(a, b)
    scorer = RicciFlowScorer(n_neighbors=10, connect="mst")
    assert scorer(est, frame) == scorer(lone, frame)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(frame), est.predict_proba(frame))
    # the skorch net continues training from the batched optimizer state, as
    # the lone fit's net does
    more = pickle.loads(pickle.dumps(lone))
    Xf = X.astype(np.float32)
    est.net_.partial_fit(Xf, y.astype(np.float32))
    more.net_.partial_fit(Xf, y.astype(np.float32))
    for a, b in zip(_params(more), _params(est)):
        np.testing.assert_array_equal(a, b)


def test_epoch_order_replays_the_loader():
    # the batched loop replays the random draws of the DataLoader that
    # ReLUMLPClassifier uses; the loader itself is the oracle
    for n, batch_size, seed in ((800, 32, 0), (37, 5, 11), (10, 32, 3)):
        dataset = np.arange(n)
        loader_gen = torch.Generator().manual_seed(seed)
        replay_gen = torch.Generator().manual_seed(seed)
        for _epoch in range(3):
            loader = _batch_loader(dataset, batch_size, True, loader_gen)
            expected = np.concatenate([np.asarray(b) for b in loader])
            np.testing.assert_array_equal(
                _epoch_order(replay_gen, n).numpy(), expected
            )
        assert torch.equal(loader_gen.get_state(), replay_gen.get_state())


# --------------------------------------------------------------------------- #
# bad input
# --------------------------------------------------------------------------- #
def test_bad_input_is_a_clear_error(data):
    X, y = data
    est = ReLUMLPClassifier(max_epochs=1)
    with pytest.raises(ValueError, match="estimators is empty"):
        fit_many([], X, y)
    with pytest.raises(TypeError, match=r"estimators\[1\] is a LogisticRegression"):
        from sklearn.linear_model import LogisticRegression

        fit_many([est, LogisticRegression()], X, y)
    with pytest.raises(TypeError, match="must be a list of ReLUMLPClassifier"):
        fit_many(3, X, y)
    with pytest.raises(ValueError, match=r"estimators\[1\] is the same object"):
        fit_many([est, est], X, y)
    with pytest.raises(
        ValueError, match="fit_many: max_networks must be None or an int >= 1; got int 0"
    ):
        fit_many([est], X, y, max_networks=0)
    with pytest.raises(ValueError, match="at least 2 classes"):
        fit_many([est], X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="beyond the float32 range"):
        fit_many([est], X * 1e39, y)  # as fit rejects it
    with pytest.raises(ValueError, match=r"lr must be a finite float in \(0, 3.4"):
        fit_many([est, ReLUMLPClassifier(lr=-1.0)], X, y)
    assert not hasattr(est, "net_")  # checked before anything trains
    # every network's parameters, routed ones included, are checked before any
    # network trains (one with routed parameters trains alone, with fit)
    routed = ReLUMLPClassifier(max_epochs=1, optimizer__momentum=0.5, optimizer="sgd")
    with pytest.raises(ValueError, match="unexpected parameter 'optimizer_momentum'"):
        fit_many([routed, ReLUMLPClassifier(optimizer_momentum=0.5)], X, y)
    with pytest.raises(ValueError, match="module__n_outputs cannot be set"):
        fit_many([routed, ReLUMLPClassifier(module__n_outputs=3)], X, y)
    assert not hasattr(routed, "n_features_in_")  # before the data, too
    with pytest.raises(ValueError, match="leaving none to train on"):
        fit_many([routed, ReLUMLPClassifier(validation_fraction=0.999)], X, y)
    assert not hasattr(routed, "net_")


# --------------------------------------------------------------------------- #
# the study
# --------------------------------------------------------------------------- #
def test_study_batch_rows_equal_one_at_a_time_rows():
    from sk_ricci.study import StudyConfig, load_problem
    from sk_ricci.study._run import _options, _run_batch, _run_network

    config = StudyConfig(
        problems=["A"], architectures=["bottleneck"], depths=[5], repeats=3,
        n_train=120, n_test=100, max_epochs=2, n_neighbors=[8, 20],
    )
    nets = config.networks()
    data = load_problem("A", config)
    grid = config.n_neighbors_grid("A", 100)
    rows = _run_batch(nets, data, grid, _options(config))
    for net, row in zip(nets, rows):
        expected = _run_network(net, data, grid, _options(config))
        for r in (row, expected):
            del r["fit_time_s"], r["flow_time_s"]
        assert row == expected


# --------------------------------------------------------------------------- #
# accuracy and hidden layers of many networks in stacked forward passes
# --------------------------------------------------------------------------- #
def _assert_evaluated_as_alone(clfs, X_test, y_test, X_train, y_train):
    """evaluate_many against each network's own score and layer_activations
    (skorch's predict and forward hooks), with zero tolerance."""
    from sk_ricci.nn._evaluate import evaluate_many

    results = evaluate_many(clfs, X_test, y_test, X_train, y_train)
    assert len(results) == len(clfs)
    for clf, (accuracy, train_accuracy, layers) in zip(clfs, results):
        assert accuracy == clf.score(X_test, y_test)
        assert train_accuracy == clf.score(X_train, y_train)
        expected = layer_activations(clf, X_test)
        assert layers.names == expected.names
        assert len(layers) == len(expected)
        for got, want in zip(layers, expected, strict=True):
            assert got.dtype == want.dtype == np.float64
            assert got.shape == want.shape
            np.testing.assert_array_equal(got, want)
    return results


@pytest.mark.parametrize(
    ("n_test", "kw"),
    [
        # one batch of activations; 1,000 % 32 = 8 rows in the last predict batch
        (1000, {"architecture": "wide", "depth": 11}),
        # two batches of activations (1,024 + 276) and a last predict batch of 20
        (1300, {"architecture": "bottleneck", "depth": 5}),
        # one row per predict batch: every product a row vector times a matrix
        (37, {"hidden_layer_sizes": (9, 1, 9), "batch_size": 1}),
    ],
)
def test_evaluate_many_equals_score_and_layer_activations(n_test, kw):
    rng = np.random.RandomState(4)
    X = rng.normal(size=(300 + n_test, 3))
    y = (np.sin(2 * X[:, 0]) > X[:, 1] * X[:, 2]).astype(int)
    X_train, y_train, X_test, y_test = X[:300], y[:300], X[300:], y[300:]
    clfs = fit_many(
        [ReLUMLPClassifier(random_state=s, max_epochs=3, **kw) for s in range(5)],
        X_train, y_train,
    )
    results = _assert_evaluated_as_alone(clfs, X_test, y_test, X_train, y_train)
    # the networks differ (each one's own weights, not the first one's)
    assert len({r[0] for r in results}) > 1


def test_evaluate_many_multiclass_labels_and_nan_networks():
    """String labels of three classes (softmax), a test label no network saw
    (never correct), and a network whose weights are NaN (NaN activations,
    as a diverged one has)."""
    rng = np.random.RandomState(5)
    X = rng.normal(size=(240, 4))
    y = np.array(["ant", "bee", "cat"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]
    clfs = fit_many(
        [ReLUMLPClassifier(random_state=s, max_epochs=4, hidden_layer_sizes=(12, 8))
         for s in range(3)],
        X[:160], y[:160],
    )
    with torch.no_grad():
        next(clfs[2].module_.parameters()).fill_(float("nan"))
    y_test = y[160:].copy()
    y_test[:7] = "dog"
    results = _assert_evaluated_as_alone(clfs, X[160:], y_test, X[:160], y[:160])
    assert np.isnan(results[2][2][0]).all()


def test_evaluate_many_refuses_networks_it_cannot_stack(data):
    from sk_ricci.nn._evaluate import NotStackable, evaluate_many

    X, y = data
    a, b = fit_many(
        [ReLUMLPClassifier(hidden_layer_sizes=(5,), max_epochs=1),
         ReLUMLPClassifier(hidden_layer_sizes=(6,), max_epochs=1)], X, y,
    )
    with pytest.raises(NotStackable, match="different kinds"):
        evaluate_many([a, b], X, y, X, y)
    c, d = fit_many(
        [ReLUMLPClassifier(hidden_layer_sizes=(5,), max_epochs=1, batch_size=16),
         ReLUMLPClassifier(hidden_layer_sizes=(5,), max_epochs=1)], X, y,
    )
    with pytest.raises(NotStackable, match="different kinds"):
        evaluate_many([c, d], X, y, X, y)
    with pytest.raises(NotStackable, match="fitted ReLUMLPClassifier"):
        evaluate_many([a, ReLUMLPClassifier()], X, y, X, y)
    with pytest.raises(NotStackable, match="no estimator"):
        evaluate_many([], X, y, X, y)


def test_study_batch_evaluates_networks_together(monkeypatch):
    """_run_batch scores its networks and reads their hidden layers in
    stacked passes: neither skorch's predict nor layer_activations runs."""
    from sk_ricci.nn import _activations
    from sk_ricci.study import StudyConfig, load_problem
    from sk_ricci.study._run import _options, _run_batch

    def forbidden(*args, **kwargs):
        raise AssertionError("a network was evaluated alone")

    config = StudyConfig(
        problems=["A"], architectures=["narrow"], depths=[5], repeats=3,
        n_train=120, n_test=100, max_epochs=1, n_neighbors=[8],
    )
    monkeypatch.setattr(ReLUMLPClassifier, "predict_proba", forbidden)
    monkeypatch.setattr(_activations, "record_batches", forbidden)
    rows = _run_batch(
        config.networks(), load_problem("A", config), [8], _options(config)
    )
    assert [type(r) for r in rows] == [dict] * 3


def test_study_batch_falls_back_to_lone_evaluation(monkeypatch):
    """Networks that cannot be stacked (or a stacked pass that fails) are
    evaluated one by one, with the same rows; stacked in groups of 2, the
    third network is its group's first."""
    from sk_ricci.nn import _evaluate
    from sk_ricci.study import StudyConfig, _run, load_problem
    from sk_ricci.study._run import _options, _run_batch

    config = StudyConfig(
        problems=["A"], architectures=["narrow"], depths=[5], repeats=3,
        n_train=120, n_test=100, max_epochs=1, n_neighbors=[8],
    )
    data = load_problem("A", config)
    monkeypatch.setattr(_run, "_EVALUATE_GROUP", 2)
    stacked = _run_batch(config.networks(), data, [8], _options(config))

    def refuse(*args, **kwargs):
        raise _evaluate.NotStackable("test")

    monkeypatch.setattr(_evaluate, "evaluate_many", refuse)
    alone = _run_batch(config.networks(), data, [8], _options(config))
    # the oracle of the third network: trained and evaluated alone
    third = _run._run_network(config.networks()[2], data, [8], _options(config))
    for a, b in zip(stacked, alone, strict=True):
        for r in (a, b):
            del r["fit_time_s"], r["flow_time_s"]
        assert a == b
    del third["fit_time_s"], third["flow_time_s"]
    assert stacked[2] == third


def test_study_writes_the_other_rows_of_a_batch_before_an_error():
    from sk_ricci.study._run import _batch_rows

    error = RuntimeError("network r1 failed")
    written = []
    with pytest.raises(RuntimeError, match="network r1 failed"):
        written.extend(_batch_rows([[{"id": 0}, error, {"id": 2}], [{"id": 3}]]))
    assert written == [{"id": 0}, {"id": 2}]


def test_study_batches_cover_every_network_once():
    from sk_ricci.study import StudyConfig
    from sk_ricci.study._run import _batches

    nets = StudyConfig(problems=["A", "B"], repeats=5).networks()
    for n_workers in (1, 2, 7):
        batches = _batches(nets, n_workers)
        flat = [net for batch in batches for net in batch]
        assert sorted(flat, key=nets.index) == nets and len(flat) == len(nets)
        for batch in batches:
            keys = {(n.problem, n.architecture, n.depth) for n in batch}
            assert len(keys) == 1
    assert len(_batches(nets, 1)) == 12  # one per (problem, architecture, depth)


def test_callbacks_and_routed_parameters_are_not_dropped(data):
    """Networks with callbacks or skorch's routed parameters train through
    skorch's own loop: the callbacks run and the routed parameters take
    effect, exactly as in a lone fit."""
    from skorch.callbacks import Callback

    X, y = data
    kw = {"hidden_layer_sizes": (12, 12, 12), "max_epochs": 3}

    class CountEpochs(Callback):
        def initialize(self):
            self.epochs = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1

    counter = CountEpochs()
    ests = [
        ReLUMLPClassifier(random_state=0, **kw),
        ReLUMLPClassifier(random_state=1, callbacks=[counter], **kw),
        ReLUMLPClassifier(random_state=2, optimizer="sgd",
                          optimizer__momentum=0.9, **kw),
    ]
    fit_many(ests, X, y)
    ran = [cb for _, cb in ests[1].net_.callbacks_ if isinstance(cb, CountEpochs)]
    assert len(ran) == 1 and ran[0].epochs == 3
    assert ests[2].net_.optimizer_.param_groups[0]["momentum"] == 0.9
    lone = ReLUMLPClassifier(random_state=2, optimizer="sgd",
                             optimizer__momentum=0.9, **kw).fit(X, y)
    _assert_same_network(lone, ests[2], X)
    _assert_same_network(ReLUMLPClassifier(random_state=0, **kw).fit(X, y), ests[0], X)
