"""Hidden-layer outputs of a fitted ReLU network: the input of the Ricci flow."""

import numbers

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from skorch import NeuralNet
from torch import nn

from sk_ricci.nn._classifier import ReLUMLPClassifier

_SUPPORTED = (
    "ReLUMLPClassifier, a fitted skorch NeuralNet, a torch.nn.Module, "
    "sklearn's MLPClassifier/MLPRegressor with activation='relu', or a Pipeline "
    "ending in one of these"
)


def layer_activations(estimator, X, *, layers="hidden", batch_size=1024):
    """Output of every hidden ReLU layer of a fitted network on ``X``.

    For torch models the output of every ``torch.nn.ReLU`` module is recorded
    with forward hooks, one array per call in forward order (a ReLU module
    called twice gives two layers; the output layer has no ReLU and is left
    out). The forward pass runs in eval mode under ``torch.no_grad()`` in
    mini-batches on the module's device; the hooks are removed and every
    submodule's train/eval mode restored afterwards, so the model is left
    exactly as it was. Outputs with more than two dimensions (e.g. a ReLU after
    a convolution) are flattened to ``(n_samples, -1)``. For scikit-learn's
    ``MLPClassifier``/``MLPRegressor`` the hidden layers are computed from
    ``coefs_`` and ``intercepts_`` with NumPy.

    Parameters
    ----------
    estimator : object
        A fitted :class:`~sk_ricci.nn.ReLUMLPClassifier`, a fitted skorch
        ``NeuralNet`` (any subclass) whose module contains ``torch.nn.ReLU``
        modules, a ``torch.nn.Module`` containing them, a fitted
        ``MLPClassifier`` or ``MLPRegressor`` with ``activation="relu"``, or a
        fitted ``Pipeline`` whose last step is one of these (the earlier steps
        transform ``X`` first).
    X : array-like of shape (n_samples, n_features)
        Points to pass through the network, e.g. the test set.
    layers : "hidden" or list of int, default="hidden"
        ``"hidden"`` returns every hidden layer; a list of ints selects hidden
        layers by position (negative indices count from the last one).
    batch_size : int, default=1024
        Number of samples per forward pass (torch models only).

    Returns
    -------
    activations : list of ndarray of shape (n_samples, width_l)
        One float64 array per hidden layer, ``n_layers`` in all, in forward
        order.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci.nn import ReLUMLP, layer_activations
    >>> net = ReLUMLP(3, 1, architecture="bottleneck", depth=5)
    >>> acts = layer_activations(net, np.zeros((10, 3)))
    >>> [a.shape for a in acts]
    [(10, 50), (10, 50), (10, 25), (10, 50), (10, 50)]
    """
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, numbers.Integral)
        or batch_size < 1
    ):
        raise ValueError(
            f"batch_size must be a positive int; got {batch_size!r}. Pass e.g. "
            "batch_size=1024."
        )
    if isinstance(estimator, Pipeline):
        return _pipeline_activations(estimator, X, layers, batch_size)
    if isinstance(estimator, ReLUMLPClassifier):
        check_is_fitted(estimator, "net_")
        X = estimator._validate_X_predict(X)
        return _torch_activations(
            estimator.module_, X, layers, batch_size, n_features=None
        )
    if isinstance(estimator, (MLPClassifier, MLPRegressor)):
        return _mlp_activations(estimator, X, layers)
    if isinstance(estimator, NeuralNet):
        if not getattr(estimator, "initialized_", False):
            raise NotFittedError(
                f"This {type(estimator).__name__} is not initialized yet; call "
                "fit (or initialize) before layer_activations."
            )
        module = estimator.module_
    elif isinstance(estimator, nn.Module):
        module = estimator
    else:
        raise TypeError(
            f"layer_activations expects {_SUPPORTED}; got an object of type "
            f"{type(estimator).__name__}. Pass the fitted network itself."
        )
    X = check_array(X, dtype=[np.float64, np.float32])
    return _torch_activations(
        module, X, layers, batch_size, n_features=_expected_n_features(module)
    )


def _pipeline_activations(pipeline, X, layers, batch_size):
    final = pipeline.steps[-1][1]
    if final is None or final == "passthrough":
        raise TypeError(
            "The last step of the Pipeline is 'passthrough'; layer_activations "
            f"needs it to be a network: {_SUPPORTED}."
        )
    check_is_fitted(pipeline)
    if len(pipeline.steps) > 1:
        X = pipeline[:-1].transform(X)
    return layer_activations(final, X, layers=layers, batch_size=batch_size)


def _select_layers(activations, layers):
    n_layers = len(activations)
    if isinstance(layers, str):
        if layers == "hidden":
            return activations
        raise ValueError(
            f"layers must be 'hidden' or a list of int; got {layers!r}. Pass "
            "layers='hidden' for every hidden layer."
        )
    try:
        indices = list(layers)
    except TypeError:
        raise ValueError(
            f"layers must be 'hidden' or a list of int; got {layers!r}. Pass e.g. "
            "layers=[0, -1] for the first and last hidden layers."
        ) from None
    selected = []
    for index in indices:
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(
                f"layers must be 'hidden' or a list of int; got {layers!r}, which "
                f"holds {index!r}. Pass integer layer positions."
            )
        if not -n_layers <= index < n_layers:
            raise ValueError(
                f"layer index {index} is out of range for a network with "
                f"{n_layers} hidden layers; pass indices in [{-n_layers}, "
                f"{n_layers - 1}]."
            )
        selected.append(activations[index])
    return selected


def _mlp_activations(mlp, X, layers):
    check_is_fitted(mlp, "coefs_")
    if mlp.activation != "relu":
        raise ValueError(
            f"{type(mlp).__name__} has activation={mlp.activation!r}; "
            "layer_activations needs activation='relu'. Refit with "
            "activation='relu'."
        )
    X = validate_data(mlp, X, reset=False, dtype=[np.float64, np.float32])
    # The last coefficient matrix is the output layer: hidden layers only.
    if len(mlp.coefs_) < 2:
        raise ValueError(
            f"{type(mlp).__name__} has no hidden layer, hence no ReLU output; "
            "refit with hidden_layer_sizes holding at least one width."
        )
    activations = []
    hidden = X.astype(mlp.coefs_[0].dtype, copy=False)
    for coef, intercept in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1]):
        hidden = np.maximum(hidden @ coef + intercept, 0)
        activations.append(hidden.astype(np.float64))
    return _select_layers(activations, layers)


def _expected_n_features(module):
    """Input width of a module whose first parameterised layer is Linear."""
    if hasattr(module, "input_dim") and isinstance(module.input_dim, int):
        return module.input_dim
    for submodule in module.modules():
        if isinstance(submodule, nn.Linear):
            return submodule.in_features
        if any(True for _ in submodule.parameters(recurse=False)):
            return None
    return None


def _torch_activations(module, X, layers, batch_size, n_features):
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but the network expects {n_features} "
            f"features as input; pass X with {n_features} columns."
        )
    relus = [m for m in module.modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise ValueError(
            f"The network ({type(module).__name__}) contains no torch.nn.ReLU "
            "module, so there is no hidden ReLU layer to read. Build the model "
            "with torch.nn.ReLU modules (not torch.relu / F.relu calls)."
        )
    parameter = next(module.parameters(), None)
    if parameter is None:
        device, dtype = torch.device("cpu"), torch.float32
    else:
        device = parameter.device
        dtype = parameter.dtype if parameter.is_floating_point() else torch.float32

    calls = []

    def record(_module, _input, output):
        calls.append(
            output.detach()
            .reshape(output.shape[0], -1)
            .to(device="cpu", dtype=torch.float64, copy=True)
        )

    modes = [(m, m.training) for m in module.modules()]
    handles = []
    batches = []
    try:
        for relu in relus:
            handles.append(relu.register_forward_hook(record))
        module.eval()
        with torch.no_grad():
            for start in range(0, X.shape[0], batch_size):
                batch = torch.as_tensor(
                    X[start : start + batch_size], dtype=dtype, device=device
                )
                calls.clear()
                try:
                    module(batch)
                except RuntimeError as exc:
                    raise ValueError(
                        f"The forward pass of {type(module).__name__} failed on X "
                        f"of shape {X.shape}: {exc}. Check that X has the number "
                        "of features the network was built for."
                    ) from exc
                if not calls:
                    raise ValueError(
                        f"None of the {len(relus)} torch.nn.ReLU modules of "
                        f"{type(module).__name__} was called in its forward pass, "
                        "so there is no hidden ReLU layer to read. Use the ReLU "
                        "modules in forward (not torch.relu / F.relu calls)."
                    )
                if batches and len(calls) != len(batches[0]):
                    raise ValueError(
                        f"The ReLU modules were called {len(calls)} times on one "
                        f"batch and {len(batches[0])} times on another; "
                        "layer_activations needs a fixed forward structure."
                    )
                batches.append(list(calls))
    finally:
        for handle in handles:
            handle.remove()
        for submodule, training in modes:
            submodule.training = training
    activations = [
        torch.cat([batch[i] for batch in batches]).numpy()
        for i in range(len(batches[0]))
    ]
    return _select_layers(activations, layers)
