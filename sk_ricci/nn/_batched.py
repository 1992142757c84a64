"""Many independent ReLU networks trained at once with batched matrix products.

A depth-11, width-50 network on 1,000 points is far too small to keep a CPU
busy: each training step is a chain of tiny matrix products dominated by the
cost of calling them. :func:`fit_many` stacks the weights of ``n_nets``
networks into ``(n_nets, in, out)`` tensors and runs every step of all of them
as one ``torch.baddbmm`` per layer, forward and backward, and one optimizer
update over a flat ``(n_nets, n_params)`` buffer. Each network keeps everything
a lone :meth:`ReLUMLPClassifier.fit <sk_ricci.nn.ReLUMLPClassifier.fit>` would
give it: its initial weights, validation split and mini-batch order (drawn from
the same seeds in the same order), its own optimizer state and its own loss;
nothing is shared or reduced across networks, so a network's numbers depend
only on its own seed and settings.
"""

import time
from numbers import Integral

import numpy as np
import torch
from sklearn.utils.validation import validate_data
from skorch.history import History

from sk_ricci._param_validation import Interval, validate_params
from sk_ricci.nn._classifier import (
    ReLUMLPClassifier,
    _train_split,
    build_net,
    check_float32_range,
    encode_targets,
)
from sk_ricci.nn._params import _OPTIMIZERS, draw_seeds
from sk_ricci.nn._stacked import (
    StackedNets,
    _Optimizer,
    _predict,
    mean_losses,
    output_grad,
)

__all__ = ["fit_many"]

_BUILTIN_OPTIMIZERS = {cls: name for name, (cls, _) in _OPTIMIZERS.items()}


class _Spec:
    """Everything one network needs, drawn exactly as ``fit`` draws it."""

    def __init__(self, estimator, derived, X, classes):
        self.estimator = estimator
        sizes, optimizer_cls, optimizer_kwargs, fraction = derived
        self.hidden_layer_sizes = sizes
        self.optimizer_cls = optimizer_cls
        self.optimizer_kwargs = optimizer_kwargs
        self.optimizer = _BUILTIN_OPTIMIZERS.get(optimizer_cls)
        self.fraction = fraction
        self.lr = float(estimator.lr)
        self.max_epochs = int(estimator.max_epochs)
        self.batch_size = int(estimator.batch_size)
        self.device = torch.device(estimator.device)
        self.binary = len(classes) == 2
        self.n_outputs = 1 if self.binary else len(classes)
        # the same three seeds, drawn in the same order, as ReLUMLPClassifier.fit
        init_seed, split_seed, shuffle_seed = draw_seeds(estimator.random_state)
        self.module = estimator._build_module(
            X.shape[1], self.n_outputs, sizes, init_seed, {}
        )
        self.train_split = _train_split(fraction, split_seed)
        if self.train_split is None:
            self.train_idx, self.valid_idx = np.arange(X.shape[0]), None
        else:
            train, valid = self.train_split(np.arange(X.shape[0]))
            self.train_idx = np.asarray(train.indices)
            self.valid_idx = np.asarray(valid.indices)
        self.shuffle_generator = torch.Generator().manual_seed(shuffle_seed)
        self.valid_generator = torch.Generator().manual_seed(0)

    def group_key(self):
        """Networks with equal keys can share one batched training loop."""
        return (
            self.hidden_layer_sizes,
            self.n_outputs,
            self.optimizer,
            self.lr,
            self.max_epochs,
            self.batch_size,
            len(self.train_idx),
            str(self.device),
        )


def _check_estimators(estimators, max_networks):
    try:
        estimators = list(estimators)
    except TypeError:
        raise TypeError(
            "estimators must be a list of ReLUMLPClassifier; got an object of "
            f"type {type(estimators).__name__}. Pass e.g. "
            "[ReLUMLPClassifier(random_state=seed) for seed in range(8)]."
        ) from None
    if not estimators:
        raise ValueError(
            "estimators is empty; pass at least one ReLUMLPClassifier to fit."
        )
    for i, est in enumerate(estimators):
        if not isinstance(est, ReLUMLPClassifier):
            raise TypeError(
                f"estimators[{i}] is a {type(est).__name__}; fit_many trains "
                "ReLUMLPClassifier instances only. Fit other estimators with "
                "their own fit."
            )
    seen = {}
    for i, est in enumerate(estimators):
        if id(est) in seen:
            raise ValueError(
                f"estimators[{i}] is the same object as estimators[{seen[id(est)]}]; "
                "each network needs its own ReLUMLPClassifier. Pass "
                "sklearn.base.clone(estimator) for every copy."
            )
        seen[id(est)] = i
    validate_params(
        {"max_networks": max_networks},
        {"max_networks": [None, Interval(Integral, 1, None)]},
        "fit_many",
        fixes={
            "max_networks": "Pass e.g. max_networks=64, or None to train each "
            "group at once."
        },
    )
    return estimators


def fit_many(estimators, X, y, *, max_networks=None):
    """Train many independent :class:`ReLUMLPClassifier` at once on ``(X, y)``.

    The networks are grouped by everything a batched training step shares
    (hidden widths, optimizer, learning rate, ``max_epochs``, ``batch_size``,
    the size of the training split and the device); each group trains as one
    batch: weights stacked as ``(n_nets, in, out)`` tensors, one ``torch.baddbmm``
    per layer for all the networks, the gradients computed layer by layer
    with batched products and one optimizer update for the whole group. Each
    network still draws its initial weights, its validation split and its
    mini-batch order from its own ``random_state`` exactly as
    :meth:`ReLUMLPClassifier.fit` does, keeps its own RMSprop/Adam state and
    learning rate, and is scored on its own held-out points after each epoch.
    Nothing is summed or compared across networks, so a network that diverges
    (non-finite loss) leaves the others untouched, and a network's numbers
    do not depend on which or how many networks share its batch.

    Afterwards every estimator is an ordinary fitted
    :class:`ReLUMLPClassifier`: ``net_`` is a skorch net built with the
    parameters ``fit`` uses, holding the trained module, the optimizer state
    and the per-epoch ``history_``; ``predict``, ``predict_proba``,
    :func:`~sk_ricci.nn.layer_activations` and
    :class:`~sk_ricci.RicciFlowScorer` work as after ``fit``. Every
    network's parameters are checked as ``fit`` checks them, all before any
    network trains.

    On CPU, each network's weights, optimizer state, history and predictions
    equal those of one ``fit`` per network bit for bit, at any batch size
    (one point included), hidden width (one included) and number of classes
    (the tests compare them with zero tolerance). Every product rounds as
    the one ``torch.nn.Linear`` and autograd compute for a lone network: the
    weights are stored as ``nn.Linear`` stores them, each network's matrices
    start on 64-byte boundaries as fresh tensors do, and the products that
    torch's batched kernels would sum in another order (those under 400
    multiply-adds, and matrix-vector products) run one network at a time.
    Each network's losses come from the criterion ``fit`` uses, and its
    held-out points are scored in the same mini-batches as skorch scores
    them. Other devices are not checked for exact equality. Networks
    whose ``optimizer`` is a custom ``torch.optim.Optimizer`` subclass, or
    that have ``callbacks`` or skorch's routed parameters (``module__*``,
    ``optimizer__*``, ...), are fitted one by one with ``fit``.
    ``verbose`` is ignored (no per-epoch log is printed), and each epoch's
    ``dur`` in ``history_`` is the group's epoch time divided by its number of
    networks.

    Parameters
    ----------
    estimators : list of ReLUMLPClassifier
        The networks to train, each with its own settings (usually the same
        ones and different ``random_state``). They are fitted in place.
    X : array-like of shape (n_samples, n_features)
        Training data, shared by every network.
    y : array-like of shape (n_samples,)
        Class labels.
    max_networks : int, default=None
        Most networks trained together in one batch (memory grows with it);
        None trains each group at once. The results do not depend on it.

    Returns
    -------
    estimators : list of ReLUMLPClassifier
        The same estimators, fitted, in the order given.

    See Also
    --------
    ReLUMLPClassifier : One network, fitted with skorch.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci.nn import ReLUMLPClassifier, fit_many
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 3))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> nets = [ReLUMLPClassifier(hidden_layer_sizes=(8, 8), max_epochs=2,
    ...                           random_state=seed) for seed in range(4)]
    >>> nets = fit_many(nets, X, y)
    >>> nets[3].predict_proba(X[:5]).shape
    (5, 2)
    >>> len(nets[0].history_)
    2
    """
    estimators = _check_estimators(estimators, max_networks)
    for est in estimators:  # every setting is checked before any computation
        est._check_params()
    X32, y_encoded, classes = _check_data(estimators, X, y)
    derived = [est._derived_params(X32.shape[0]) for est in estimators]
    groups = {}
    for est, params in zip(estimators, derived):
        _, optimizer_cls, _, _ = params
        if (
            optimizer_cls not in _BUILTIN_OPTIMIZERS
            or est.callbacks
            or est._passthrough_params()
        ):
            # a custom optimizer class has no batched update, and callbacks or
            # skorch's routed parameters need skorch's own training loop
            est.fit(X, y)
            continue
        spec = _Spec(est, params, X32, classes)
        groups.setdefault(spec.group_key(), []).append(spec)
    for specs in groups.values():
        step = len(specs) if max_networks is None else int(max_networks)
        for start in range(0, len(specs), step):
            chunk = specs[start : start + step]
            _train_group(chunk, X32, y_encoded)
            for spec in chunk:
                _finish(spec, X32, y_encoded, classes)
    return estimators


def _check_data(estimators, X, y):
    """``(X as float32, y_encoded, classes)``, checked as ``fit`` checks them;
    sets every estimator's ``n_features_in_`` (and ``feature_names_in_``)."""
    X_checked, y_checked = validate_data(
        estimators[0], X, y, dtype=[np.float32, np.float64], y_numeric=False
    )
    check_float32_range(X_checked)  # the networks compute in float32, as in fit
    classes, y_encoded = encode_targets(y_checked)
    for est in estimators[1:]:
        validate_data(est, X, y, dtype=[np.float32, np.float64], y_numeric=False)
    return X_checked.astype(np.float32, copy=False), y_encoded, classes


# --------------------------------------------------------------------------- #
# The batched training loop
# --------------------------------------------------------------------------- #
def _epoch_order(generator, n):
    """Mini-batch order of one epoch, drawn as ``_batch_loader`` draws it.

    Each pass over torch's ``DataLoader`` draws a base seed from the loader's
    generator, then ``RandomSampler`` draws ``randperm(n)`` and, when the
    loader exhausts it, one more (empty) ``randperm(n)``. Replaying the same
    draws gives the order of a lone ``fit`` without building a loader per
    network and epoch; ``tests/test_batched.py`` checks it against the loader.
    """
    torch.empty((), dtype=torch.int64).random_(generator=generator)
    order = torch.randperm(n, generator=generator)
    torch.randperm(n, generator=generator)
    return order


class _GroupData:
    """A group's settings and training data on its device, with each
    network's training and held-out rows."""

    def __init__(self, specs, X, y_encoded):
        spec0 = specs[0]
        self.binary, self.batch_size = spec0.binary, spec0.batch_size
        self.device = device = spec0.device
        self.X = torch.as_tensor(X, device=device)
        self.y = torch.as_tensor(
            y_encoded.astype(np.float32 if self.binary else np.int64), device=device
        )
        self.train_idx = torch.as_tensor(np.stack([s.train_idx for s in specs]))
        self.train_sizes = _batch_sizes(self.train_idx.shape[1], self.batch_size)
        self.validate = spec0.valid_idx is not None
        if self.validate:
            valid_idx = torch.as_tensor(
                np.stack([s.valid_idx for s in specs]), device=device
            )
            self.X_valid, self.y_valid = self.X[valid_idx], self.y[valid_idx]
            self.valid_sizes = _batch_sizes(valid_idx.shape[1], self.batch_size)


def _batch_sizes(n, batch_size):
    """Sizes of the mini-batches of ``n`` points, in order."""
    return [min(batch_size, n - start) for start in range(0, n, batch_size)]


def _train_group(specs, X, y_encoded):
    """Train the networks of ``specs`` (one shape) together, in place."""
    spec0 = specs[0]
    data = _GroupData(specs, X, y_encoded)
    sizes = [X.shape[1], *spec0.hidden_layer_sizes, spec0.n_outputs]
    nets = StackedNets([s.module for s in specs], sizes, data.device)
    optimizer = _Optimizer(spec0.optimizer, spec0.optimizer_kwargs, spec0.lr, nets.flat)
    records = [[] for _ in specs]
    with torch.no_grad():
        for epoch in range(1, spec0.max_epochs + 1):
            t0 = time.perf_counter()
            train_losses = _train_epoch(specs, data, nets, optimizer)
            valid = _validate_epoch(specs, data, nets) if data.validate else None
            dur = (time.perf_counter() - t0) / len(specs)
            for i, network_records in enumerate(records):
                network_records.append(
                    _epoch_record(
                        data, epoch, dur, train_losses[i],
                        None if valid is None else (valid[0][i], valid[1][i]),
                    )
                )
    nets.to_modules([s.module for s in specs])
    for i, spec in enumerate(specs):
        spec.records = _mark_best(records[i])
        spec.optimizer_state = lambda groups, i=i: optimizer.state_dict(
            i, nets.layout, groups
        )


def _train_epoch(specs, data, nets, optimizer):
    """One pass over every network's training rows, in its own shuffled
    order; returns each mini-batch's mean loss, ``(n_nets, n_batches)``."""
    n_train, batch_size = data.train_idx.shape[1], data.batch_size
    orders = torch.stack([_epoch_order(s.shuffle_generator, n_train) for s in specs])
    rows = torch.gather(data.train_idx, 1, orders).to(data.device)
    batch_losses = []
    for start in range(0, n_train, batch_size):
        batch = rows[:, start : start + batch_size]
        xb, yb = data.X[batch], data.y[batch]
        inputs = []
        logits = nets.forward(xb, inputs)
        batch_losses.append(mean_losses(logits, yb, data.binary))
        nets.backward(inputs, output_grad(logits, yb, data.binary))
        optimizer.update(nets.flat, nets.grad)
    return torch.stack(batch_losses, 1).cpu().numpy()


def _validate_epoch(specs, data, nets):
    """Score every network on its held-out rows, as skorch does after each
    epoch: ``(mean loss of each mini-batch, accuracy)`` per network."""
    # skorch scores the held-out points in mini-batches, each pass over its
    # loader drawing one seed from the loader's generator
    for spec in specs:
        torch.empty((), dtype=torch.int64).random_(generator=spec.valid_generator)
    # one forward pass per mini-batch, as skorch's: a product's rows round
    # differently when it has more of them
    n_valid, batch_size = data.X_valid.shape[1], data.batch_size
    losses, correct = [], 0
    for start in range(0, n_valid, batch_size):
        yb = data.y_valid[:, start : start + batch_size]
        logits = nets.forward(data.X_valid[:, start : start + batch_size])
        losses.append(mean_losses(logits, yb, data.binary))
        correct = correct + (_predict(logits, data.binary) == yb).sum(1)
    valid_losses = torch.stack(losses, 1).cpu().numpy()
    # sklearn's accuracy_score: the share of correct predictions, in float64
    valid_acc = [int(c) / n_valid for c in correct.cpu()]
    return valid_losses, valid_acc


def _epoch_record(data, epoch, dur, train_losses, valid):
    """One network's skorch ``History`` row of an epoch (without the
    ``*_best`` flags); ``valid`` is ``(batch losses, accuracy)`` or None."""
    entry = {
        "batches": [
            {"train_loss": float(loss), "train_batch_size": size}
            for loss, size in zip(train_losses, data.train_sizes)
        ],
        "epoch": epoch,
        "train_batch_count": len(data.train_sizes),
    }
    if valid is not None:
        entry["batches"] += [
            {"valid_loss": float(loss), "valid_batch_size": size}
            for loss, size in zip(valid[0], data.valid_sizes)
        ]
        entry["valid_batch_count"] = len(data.valid_sizes)
    entry["dur"] = dur
    entry["train_loss"] = np.average(
        [float(v) for v in train_losses], weights=data.train_sizes
    )
    if valid is not None:
        entry["valid_loss"] = np.average(
            [float(v) for v in valid[0]], weights=data.valid_sizes
        )
        entry["valid_acc"] = float(valid[1])
    return entry


def _mark_best(records):
    """Add skorch's ``*_best`` flags (strictly better than every epoch before)."""
    best = {"train_loss": np.inf, "valid_loss": np.inf, "valid_acc": -np.inf}
    ordered = []
    for entry in records:
        out = {}
        for key, value in entry.items():
            out[key] = value
            if key in best:
                lower = key != "valid_acc"
                is_best = value < best[key] if lower else value > best[key]
                if is_best:
                    best[key] = value
                out[key + "_best"] = bool(is_best)
        ordered.append(out)
    return ordered


def _finish(spec, X, y_encoded, classes):
    """Turn a trained spec into a fitted ReLUMLPClassifier (as ``fit`` leaves it)."""
    est = spec.estimator
    net = build_net(
        est, spec.binary, spec.module, spec.optimizer_cls, spec.train_split,
        iterator_train__shuffle=True,
        iterator_train__generator=spec.shuffle_generator,
        iterator_valid__generator=spec.valid_generator,
        **{f"optimizer__{key}": value for key, value in spec.optimizer_kwargs.items()},
    )
    net.initialize()
    groups = net.optimizer_.state_dict()["param_groups"]
    net.optimizer_.load_state_dict(spec.optimizer_state(groups))
    net.history = History(spec.records)
    if not spec.binary:
        net.classes_inferred_ = np.unique(y_encoded)
    # skorch leaves the module in eval mode after a final validation pass
    net.module_.train(spec.valid_idx is None)
    est.classes_ = classes
    est.net_ = net
    del spec.optimizer_state
    return est
