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

import itertools
import numbers
import time

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data
from skorch.dataset import ValidSplit
from skorch.history import History

from sk_ricci.nn._classifier import (
    _MAX_SEED,
    _OPTIMIZERS,
    ReLUMLPClassifier,
    _build_net,
    _check_float32_range,
    _encode_targets,
)
from sk_ricci.nn._module import ReLUMLP

__all__ = ["fit_many"]

# Each network's block of the flat parameter, gradient and optimizer buffers is
# padded to a multiple of this many floats (256 bytes), so every block starts
# at the same offset modulo the SIMD width and the vectorised element-wise
# kernels treat every network's numbers alike, whatever its position in the
# batch. The padding holds zeros that stay zero (zero gradient, zero update).
_BLOCK = 64

_BUILTIN_OPTIMIZERS = {cls: name for name, (cls, _) in _OPTIMIZERS.items()}


class _Spec:
    """Everything one network needs, drawn exactly as ``fit`` draws it."""

    def __init__(self, estimator, X, y_encoded, classes, n_features):
        self.estimator = estimator
        sizes, optimizer_cls, optimizer_kwargs, fraction = estimator._check_params(
            X.shape[0]
        )
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
        rng = check_random_state(estimator.random_state)
        init_seed, split_seed, shuffle_seed = (
            int(seed) for seed in rng.randint(_MAX_SEED, size=3)
        )
        self.split_seed = split_seed
        self.module = ReLUMLP(
            n_features,
            self.n_outputs,
            sizes,
            generator=torch.Generator().manual_seed(init_seed),
        )
        n_samples = X.shape[0]
        if fraction is None:
            self.train_split = None
            self.train_idx = np.arange(n_samples)
            self.valid_idx = None
        else:
            self.train_split = ValidSplit(
                fraction, stratified=False, random_state=split_seed
            )
            train, valid = self.train_split(np.arange(n_samples))
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
    if max_networks is not None and (
        not isinstance(max_networks, numbers.Integral)
        or isinstance(max_networks, bool)
        or max_networks < 1
    ):
        raise ValueError(
            f"max_networks must be a positive int or None; got {max_networks!r}. "
            "Pass e.g. max_networks=64, or None to train each group at once."
        )
    return estimators


def fit_many(estimators, X, y, *, max_networks=None):
    """Train many independent :class:`ReLUMLPClassifier` at once on ``(X, y)``.

    The networks are grouped by everything that fixes the shape of a training
    step (hidden widths, optimizer, ``max_epochs``, ``batch_size``, the size
    of the training split and the device); each group trains as one batch:
    weights stacked as ``(n_nets, in, out)`` tensors, one ``torch.baddbmm``
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
    :class:`~sk_ricci.RicciFlowScorer` work as after ``fit``.

    On CPU, each network's weights, optimizer state, history and predictions
    equal those of one ``fit`` per network exactly (the tests compare them
    with zero tolerance): the weights are stored as ``nn.Linear`` stores
    them, and the products whose batched kernels would round differently
    (the single-output layer and its gradient, the sigmoid) run one network
    at a time. Other devices are not checked for exact equality. Networks
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
    first = estimators[0]
    X_checked, y_checked = validate_data(
        first, X, y, dtype=[np.float32, np.float64], y_numeric=False
    )
    _check_float32_range(X_checked)  # the networks compute in float32, as in fit
    classes, y_encoded = _encode_targets(y_checked)
    for est in estimators[1:]:
        # sets n_features_in_ (and feature_names_in_) as fit does
        validate_data(est, X, y, dtype=[np.float32, np.float64], y_numeric=False)
    X32 = X_checked.astype(np.float32, copy=False)

    # every setting is checked before any network trains
    checked = [est._check_params(X32.shape[0]) for est in estimators]
    groups = {}
    for est, (_, optimizer_cls, _, _) in zip(estimators, checked):
        if (
            optimizer_cls not in _BUILTIN_OPTIMIZERS
            or est.callbacks
            or est._passthrough_params()
        ):
            # a custom optimizer class has no batched update, and callbacks or
            # skorch's routed parameters need skorch's own training loop
            est.fit(X, y)
            continue
        spec = _Spec(est, X32, y_encoded, classes, X32.shape[1])
        groups.setdefault(spec.group_key(), []).append(spec)
    for specs in groups.values():
        step = len(specs) if max_networks is None else int(max_networks)
        for start in range(0, len(specs), step):
            chunk = specs[start : start + step]
            _train_group(chunk, X32, y_encoded)
            for spec in chunk:
                _finish(spec, X32, y_encoded, classes)
    return estimators


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


class _Layout:
    """Offsets of every layer's weight and bias in a network's flat block."""

    def __init__(self, sizes):
        self.shapes = list(itertools.pairwise(sizes))
        self.weight_offsets, self.bias_offsets = [], []
        offset = 0
        for n_in, n_out in self.shapes:
            self.weight_offsets.append(offset)
            offset += n_in * n_out
            self.bias_offsets.append(offset)
            offset += n_out
        self.n_params = offset
        self.width = -(-offset // _BLOCK) * _BLOCK

    def views(self, flat):
        """``(n_nets, out, in)`` weight and ``(n_nets, 1, out)`` bias views.

        Weights are stored as ``torch.nn.Linear`` stores them (``out x in``,
        row-major), so every product below has the shapes and transposition
        of the one a lone network computes.
        """
        weights, biases = [], []
        for (n_in, n_out), wo, bo in zip(
            self.shapes, self.weight_offsets, self.bias_offsets
        ):
            weights.append(flat[:, wo : wo + n_in * n_out].view(-1, n_out, n_in))
            biases.append(flat[:, bo : bo + n_out].view(-1, 1, n_out))
        return weights, biases


def _modules_to_flat(modules, layout, device):
    flat = torch.zeros(len(modules), layout.width, dtype=torch.float32)
    weights, biases = layout.views(flat)
    for i, module in enumerate(modules):
        linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
        for layer, weight, bias in zip(linears, weights, biases):
            weight[i].copy_(layer.weight.detach())
            bias[i, 0].copy_(layer.bias.detach())
    return flat.to(device)


def _flat_to_modules(flat, modules, layout):
    flat = flat.cpu()
    weights, biases = layout.views(flat)
    with torch.no_grad():
        for i, module in enumerate(modules):
            linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
            for layer, weight, bias in zip(linears, weights, biases):
                layer.weight.copy_(weight[i])
                layer.bias.copy_(bias[i, 0])


def _forward(weights, biases, X, keep):
    """Logits ``(n_nets, n, n_outputs)``; ``keep`` collects each layer's input."""
    hidden = X
    last = len(weights) - 1
    for i, (weight, bias) in enumerate(zip(weights, biases)):
        if keep is not None:
            keep.append(hidden)
        if i == last and weight.shape[1] == 1:
            # A single output is a matrix-vector product, for which the
            # batched kernel rounds differently from the one torch.nn.Linear
            # calls; one addmm per network keeps the logits bit for bit.
            out = hidden.new_empty(hidden.shape[0], hidden.shape[1], 1)
            for o, b, h, w in zip(
                out.unbind(0),
                bias.unbind(0),
                hidden.unbind(0),
                weight.transpose(1, 2).unbind(0),
            ):
                torch.addmm(b, h, w, out=o)
            return out
        hidden = torch.baddbmm(bias, hidden, weight.transpose(1, 2))
        if i < last:
            hidden = hidden.relu_()
    return hidden


def _rows(logits):
    """The single logit of every network as a ``(n_nets, n)`` strided view.

    A lone network's logits are one contiguous ``(n,)`` tensor, and torch's
    element-wise kernels treat its last few elements (those that do not fill
    a SIMD vector) with scalar code, whose ``exp`` rounds differently. A row
    stride of ``n + 1`` keeps torch from fusing the rows into one long loop,
    so each network's row is split into vector and scalar parts exactly as a
    lone network's logits are.
    """
    n_nets, n = logits.shape[:2]
    rows = logits.new_empty(n_nets, n + 1)[:, :n]
    return rows.copy_(logits[..., 0])


def _losses(logits, y, binary):
    """Per-sample losses ``(n_nets, n)`` of the criterion ``fit`` uses."""
    if binary:
        return torch.nn.functional.binary_cross_entropy_with_logits(
            _rows(logits), y, reduction="none"
        )
    log_proba = torch.log_softmax(logits, dim=2)
    return -log_proba.gather(2, y.unsqueeze(2))[..., 0]


def _output_grad(logits, y, binary):
    """Gradient of the mean loss of each network w.r.t. its logits.

    The same expressions as torch's backward formulas: ``(sigmoid(z) - y) / n``
    for binary cross-entropy with logits, and log-softmax's backward of the
    negative log-likelihood's ``-1 / n`` at the target for cross-entropy.
    """
    n = logits.shape[1]
    if binary:
        return (_rows(logits).sigmoid() - y).div_(n).unsqueeze(2)
    log_proba = torch.log_softmax(logits, dim=2)
    grad = torch.zeros_like(log_proba).scatter_(2, y.unsqueeze(2), -(1.0 / n))
    return torch._log_softmax_backward_data(grad, log_proba, 2, log_proba.dtype)


def _backward(weights, grad_weights, grad_biases, inputs, delta):
    """Write every layer's weight and bias gradient into the flat views."""
    for i in range(len(weights) - 1, -1, -1):
        if delta.shape[2] == 1:
            # a row vector times a matrix: per network, as for the logits
            for d, a, g in zip(
                delta.transpose(1, 2).unbind(0),
                inputs[i].unbind(0),
                grad_weights[i].unbind(0),
            ):
                torch.mm(d, a, out=g)
        else:
            torch.bmm(delta.transpose(1, 2), inputs[i], out=grad_weights[i])
        torch.sum(delta, dim=1, keepdim=True, out=grad_biases[i])
        if i:
            delta = torch.bmm(delta, weights[i])
            # ReLU's backward, as autograd computes it from the layer's output
            delta = torch.ops.aten.threshold_backward(delta, inputs[i], 0)


class _Optimizer:
    """RMSprop, Adam or SGD over the flat ``(n_nets, n_params)`` buffer.

    The same in-place operations, with the same scalars, as torch.optim's
    single-tensor code paths (the ones used on CPU), applied to every
    network's parameters at once. The learning rate is shared by the group.
    """

    def __init__(self, name, kwargs, lr, flat):
        self.name = name
        self.lr = lr
        self.step = 0
        self.state = {}
        # scratch buffer: a fresh multi-megabyte tensor per step costs more
        # (page faults) than the arithmetic
        self.denom = torch.empty_like(flat)
        if name == "rmsprop":
            self.alpha = float(kwargs.get("alpha", 0.99))
            self.eps = float(kwargs.get("eps", 1e-8))
            self.state["square_avg"] = torch.zeros_like(flat)
        elif name == "adam":
            self.beta1, self.beta2 = kwargs.get("betas", (0.9, 0.999))
            self.eps = float(kwargs.get("eps", 1e-8))
            self.state["exp_avg"] = torch.zeros_like(flat)
            self.state["exp_avg_sq"] = torch.zeros_like(flat)

    def update(self, flat, grad):
        self.step += 1
        if self.name == "rmsprop":
            square_avg = self.state["square_avg"]
            square_avg.mul_(self.alpha).addcmul_(grad, grad, value=1 - self.alpha)
            avg = torch.sqrt(square_avg, out=self.denom).add_(self.eps)
            flat.addcdiv_(grad, avg, value=-self.lr)
        elif self.name == "adam":
            exp_avg, exp_avg_sq = self.state["exp_avg"], self.state["exp_avg_sq"]
            exp_avg.lerp_(grad, 1 - self.beta1)
            exp_avg_sq.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
            bias_correction1 = 1 - self.beta1**self.step
            bias_correction2 = 1 - self.beta2**self.step
            step_size = self.lr / bias_correction1
            denom = torch.sqrt(exp_avg_sq, out=self.denom)
            denom = denom.div_(bias_correction2**0.5).add_(self.eps)
            flat.addcdiv_(exp_avg, denom, value=-step_size)
        else:
            flat.add_(grad, alpha=-self.lr)

    def state_dict(self, i, layout, param_groups):
        """The ``torch.optim`` state dict of network ``i``."""
        state = {}
        buffers = {key: value.cpu() for key, value in self.state.items()}
        views = {key: layout.views(value) for key, value in buffers.items()}
        index = 0
        for layer in range(len(layout.shapes)):
            for kind in (0, 1):  # weight, then bias, as module.parameters()
                entry = {}
                if self.name != "sgd":
                    entry["step"] = torch.tensor(float(self.step))
                for key, (weights, biases) in views.items():
                    tensor = weights[layer][i] if kind == 0 else biases[layer][i, 0]
                    entry[key] = tensor.contiguous().clone()
                if self.name == "sgd":
                    entry["momentum_buffer"] = None
                state[index] = entry
                index += 1
        return {"state": state, "param_groups": param_groups}


def _train_group(specs, X, y_encoded):
    """Train the networks of ``specs`` (one shape) together, in place."""
    spec0 = specs[0]
    device, binary = spec0.device, spec0.binary
    n_nets = len(specs)
    sizes = [X.shape[1], *spec0.hidden_layer_sizes, spec0.n_outputs]
    layout = _Layout(sizes)
    batch_size, n_epochs = spec0.batch_size, spec0.max_epochs
    n_train = len(spec0.train_idx)
    validate = spec0.valid_idx is not None

    X_all = torch.as_tensor(X, device=device)
    y_all = torch.as_tensor(
        y_encoded.astype(np.float32 if binary else np.int64), device=device
    )
    train_idx = torch.as_tensor(np.stack([s.train_idx for s in specs]))
    if validate:
        valid_idx = torch.as_tensor(
            np.stack([s.valid_idx for s in specs]), device=device
        )
        X_valid, y_valid = X_all[valid_idx], y_all[valid_idx]
        n_valid = valid_idx.shape[1]

    flat = _modules_to_flat([s.module for s in specs], layout, device)
    grad = torch.zeros_like(flat)
    weights, biases = layout.views(flat)
    grad_weights, grad_biases = layout.views(grad)
    optimizer = _Optimizer(spec0.optimizer, spec0.optimizer_kwargs, spec0.lr, flat)
    starts = list(range(0, n_train, batch_size))
    sizes_train = [min(batch_size, n_train - s) for s in starts]
    records = [[] for _ in specs]

    with torch.no_grad():
        for epoch in range(1, n_epochs + 1):
            t0 = time.perf_counter()
            orders = torch.stack(
                [_epoch_order(s.shuffle_generator, n_train) for s in specs]
            )
            rows = torch.gather(train_idx, 1, orders).to(device)
            batch_losses = []
            for start in starts:
                batch = rows[:, start : start + batch_size]
                xb, yb = X_all[batch], y_all[batch]
                inputs = []
                logits = _forward(weights, biases, xb, inputs)
                batch_losses.append(_losses(logits, yb, binary).mean(1))
                _backward(
                    weights, grad_weights, grad_biases, inputs,
                    _output_grad(logits, yb, binary),
                )
                optimizer.update(flat, grad)
            train_losses = torch.stack(batch_losses, 1).cpu().numpy()
            if validate:
                # skorch scores the held-out points in mini-batches too
                for spec in specs:
                    torch.empty((), dtype=torch.int64).random_(
                        generator=spec.valid_generator
                    )
                logits = _forward(weights, biases, X_valid, None)
                losses = _losses(logits, y_valid, binary)
                valid_starts = list(range(0, n_valid, batch_size))
                valid_sizes = [min(batch_size, n_valid - s) for s in valid_starts]
                valid_losses = torch.stack(
                    [losses[:, s : s + batch_size].mean(1) for s in valid_starts], 1
                ).cpu().numpy()
                if binary:
                    predicted = (logits[..., 0].sigmoid() > 0.5).to(y_valid.dtype)
                else:
                    predicted = logits.softmax(dim=2).argmax(dim=2)
                valid_acc = (predicted == y_valid).double().mean(1).cpu().numpy()
            dur = (time.perf_counter() - t0) / n_nets
            for i in range(n_nets):
                entry = {
                    "batches": [
                        {"train_loss": float(loss), "train_batch_size": size}
                        for loss, size in zip(train_losses[i], sizes_train)
                    ],
                    "epoch": epoch,
                    "train_batch_count": len(starts),
                }
                if validate:
                    entry["batches"] += [
                        {"valid_loss": float(loss), "valid_batch_size": size}
                        for loss, size in zip(valid_losses[i], valid_sizes)
                    ]
                    entry["valid_batch_count"] = len(valid_starts)
                entry["dur"] = dur
                entry["train_loss"] = np.average(
                    [float(v) for v in train_losses[i]], weights=sizes_train
                )
                if validate:
                    entry["valid_loss"] = np.average(
                        [float(v) for v in valid_losses[i]], weights=valid_sizes
                    )
                    entry["valid_acc"] = float(valid_acc[i])
                records[i].append(entry)

    _flat_to_modules(flat, [s.module for s in specs], layout)
    for i, spec in enumerate(specs):
        spec.records = _mark_best(records[i])
        spec.optimizer_state = lambda groups, i=i: optimizer.state_dict(
            i, layout, groups
        )


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
    net = _build_net(
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
