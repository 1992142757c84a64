"""Accuracy and hidden layers of many fitted networks in stacked forward passes.

A study measures, for every trained network, its accuracy on the test and
training sets (``score``: skorch's ``predict``, one mini-batch of
``batch_size`` rows at a time) and the outputs of its hidden layers on the
test set (:func:`~sk_ricci.nn.layer_activations`, batches of 1,024 rows).
Networks of one shape do both here together: their weights are stacked as
:func:`~sk_ricci.nn.fit_many` stacks them, and each batch of rows goes
through all of them at once, with the products of
:mod:`sk_ricci.nn._stacked`, which round every network's product as the lone
``torch.nn.Linear`` rounds it. The row batches are the ones ``score`` and
:func:`~sk_ricci.nn.layer_activations` use (a product's rows can round
differently when it has more of them), so every number equals the lone
path's.
"""

import numpy as np
import torch
from torch import nn

from sk_ricci.nn._activations import LayerActivations
from sk_ricci.nn._classifier import ReLUMLPClassifier
from sk_ricci.nn._module import ReLUMLP
from sk_ricci.nn._stacked import StackedNets, _predict

__all__ = ["NotStackable", "evaluate_many"]

#: rows per forward pass of :func:`~sk_ricci.nn.layer_activations` (its default)
ACTIVATIONS_BATCH = 1024


class NotStackable(ValueError):
    """The networks cannot be evaluated together (the caller evaluates each
    one alone)."""


def _shape(est):
    """Layer widths of a fitted ReLUMLPClassifier's ReLUMLP, or None when its
    module is something else."""
    module = est.net_.module_
    if type(module) is not ReLUMLP:
        return None
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    return (linears[0].in_features, *(m.out_features for m in linears))


def _check_group(estimators):
    """The common shape, or :class:`NotStackable` with the reason."""
    if not estimators:
        raise NotStackable("no estimator to evaluate")
    keys = set()
    for est in estimators:
        if not isinstance(est, ReLUMLPClassifier) or not hasattr(est, "net_"):
            raise NotStackable("every estimator must be a fitted ReLUMLPClassifier")
        net = est.net_
        params = net.get_params(deep=False)
        if any(key.startswith("iterator_valid__batch_size") for key in params):
            raise NotStackable("a routed iterator_valid__batch_size")
        device = torch.device(net.device)
        keys.add((_shape(est), len(est.classes_), int(net.batch_size), device.type))
    if len(keys) != 1:
        raise NotStackable(f"networks of different kinds: {sorted(map(str, keys))}")
    shape, n_classes, batch_size, device = keys.pop()
    if shape is None or device != "cpu":
        raise NotStackable("only ReLUMLP modules on the CPU are stacked")
    return shape, n_classes == 2, batch_size


def _correct(nets, X, y_index, batch_size, binary):
    """Each network's number of rows of ``X`` whose predicted class index is
    its row of ``y_index`` (``(n_nets, n)``; -1: a label the network never
    saw), one stacked forward pass per ``batch_size`` rows, as skorch's
    ``predict`` batches them."""
    n_nets = len(nets.weights[0])
    correct = torch.zeros(n_nets, dtype=torch.int64)
    for start in range(0, X.shape[0], batch_size):
        xb = X[start : start + batch_size]
        logits = nets.forward(xb.unsqueeze(0).expand(n_nets, -1, -1))
        yb = y_index[:, start : start + batch_size]
        correct += (_predict(logits, binary) == yb).sum(1)
    return correct


def _hidden(nets, X, batch_size):
    """Each network's hidden ReLU outputs on ``X`` in float64, as
    :func:`~sk_ricci.nn.layer_activations` records them: ``[network][layer]``."""
    n_nets = len(nets.weights[0])
    chunks = [[] for _ in range(n_nets)]
    for start in range(0, X.shape[0], batch_size):
        xb = X[start : start + batch_size]
        inputs = []
        nets.forward(xb.unsqueeze(0).expand(n_nets, -1, -1), inputs)
        for i in range(n_nets):
            # inputs[0] is X; every later input is a hidden layer's ReLU output
            chunks[i].append([layer[i].to(torch.float64) for layer in inputs[1:]])
    return [
        [_stack_rows([chunk[layer] for chunk in network]).numpy()
         for layer in range(len(network[0]))]
        for network in chunks
    ]


def _stack_rows(parts):
    """The row batches of one layer in one tensor (no copy for one batch)."""
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def _label_index(est, y):
    """Class indices of labels ``y`` in ``est.classes_`` (-1 for unknown)."""
    y = np.asarray(y)
    classes = est.classes_
    index = np.searchsorted(classes, y)
    index = np.clip(index, 0, len(classes) - 1)
    known = classes[index] == y
    return torch.as_tensor(np.where(known, index, -1), dtype=torch.int64)


def evaluate_many(estimators, X_test, y_test, X_train, y_train):
    """Test accuracy, training accuracy and hidden test activations of every
    estimator, equal to ``est.score(X_test, y_test)``, ``est.score(X_train,
    y_train)`` and ``layer_activations(est, X_test)``.

    The estimators must be fitted :class:`ReLUMLPClassifier` of one shape
    (hidden widths, number of classes, ``batch_size``) on the CPU; otherwise
    :class:`NotStackable` is raised and nothing is computed.

    Returns
    -------
    results : list of (float, float, LayerActivations)
        One triple per estimator, in order.
    """
    shape, binary, batch_size = _check_group(estimators)
    first = estimators[0]
    modules = [est.net_.module_ for est in estimators]
    names = [name for name, m in modules[0].named_modules() if isinstance(m, nn.ReLU)]
    nets = StackedNets(modules, list(shape), torch.device("cpu"))
    results = [[] for _ in estimators]
    with torch.no_grad():
        for X, y in ((X_test, y_test), (X_train, y_train)):
            X32 = torch.as_tensor(first._validate_X_predict(X))
            y_index = torch.stack([_label_index(est, y) for est in estimators])
            correct = _correct(nets, X32, y_index, batch_size, binary)
            for result, c in zip(results, correct.tolist()):
                # sklearn's accuracy_score: the share of correct predictions
                result.append(c / X32.shape[0])
        X32 = torch.as_tensor(first._validate_X_predict(X_test))
        hidden = _hidden(nets, X32, ACTIVATIONS_BATCH)
    return [
        (accuracy, train_accuracy, LayerActivations(layers, names))
        for (accuracy, train_accuracy), layers in zip(results, hidden)
    ]
