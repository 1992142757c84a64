"""Hidden-layer outputs of a fitted network: the input of the Ricci flow."""

import numbers
import weakref

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from skorch import NeuralNet
from torch import nn

from sk_ricci._validation import warn
from sk_ricci.exceptions import SkRicciWarning
from sk_ricci.nn._classifier import ReLUMLPClassifier
from sk_ricci.nn._hooks import record_batches

_SUPPORTED = (
    "ReLUMLPClassifier, a fitted skorch NeuralNet, a torch.nn.Module, "
    "sklearn's MLPClassifier/MLPRegressor with activation='relu', or a Pipeline "
    "ending in one of these"
)

_LAYERS_HELP = (
    "layers must be 'hidden' or a list of int (positions among the hidden ReLU "
    "layers), a list of module names, a torch.nn.Module subclass (or a tuple of "
    "them), or a callable(name, module) -> bool"
)

# Element-wise activation modules: when the default (or a type) selection leaves
# some of them out, layer_activations says so instead of skipping them silently.
_ACTIVATION_TYPES = tuple(
    getattr(nn, name)
    for name in (
        "ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU",
        "GELU", "SiLU", "Mish", "Sigmoid", "Tanh", "Softplus", "Softsign",
        "Hardtanh", "Hardswish", "Hardsigmoid", "Threshold", "LogSigmoid",
        "Tanhshrink", "Softshrink", "Hardshrink", "GLU",
    )
    if hasattr(nn, name)
)


class LayerActivations(list):
    """A list of per-layer activation arrays that also carries the layer names.

    Returned by :func:`layer_activations`. It is a plain ``list`` of ndarrays
    (pass it wherever a list of layers is expected, e.g. to
    :func:`sk_ricci.ricci_flow`, which copies the names into its result's
    ``layer_names``), with one extra attribute.

    **Every array keeps its name wherever it goes.** Slicing, ``copy``,
    ``+`` and ``*`` keep the names; ``reverse``, ``sort``, ``pop``,
    ``remove``, ``del`` and ``clear`` move or drop them with their arrays. A
    layer added or assigned (``append``, ``insert``, ``extend``, ``+=``,
    ``acts[i] = X``, slice assignment) is named, in this order: by the name
    passed (``append(X, name=...)``, ``insert(i, X, name=...)``,
    ``extend(arrays, names=...)``); by the names of a ``LayerActivations``
    value; by its own name if the same array object is or was in the list
    (so ``acts.append(acts.pop(0))`` and ``acts[i], acts[j] = acts[j],
    acts[i]`` carry names along); for an in-place replacement (``acts[i] =
    X``, or a slice by as many arrays) by the name of the position it
    replaces; else by its position when it is added, as ``names=None``
    numbers layers.

    Parameters
    ----------
    arrays : iterable of ndarray of shape (n_samples, width_l)
        One array per layer, in forward order.
    names : list of str, default=None
        One name per layer; None numbers them ``"0"``, ``"1"``, ...

    Attributes
    ----------
    names : list of str
        For torch models, the module's name in ``module.named_modules()``
        (``"hidden.1"``, ``"block1.act"``; ``""`` for the model itself); a
        module called more than once per forward pass gives one layer per
        call, named ``"relu#1"``, ``"relu#2"``, ... For scikit-learn's MLPs,
        ``"hidden_0"``, ``"hidden_1"``, ... Assigning a new list checks that it
        has one name per layer.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci.nn import LayerActivations
    >>> acts = LayerActivations([np.zeros((4, 2)), np.ones((4, 3))], ["a", "b"])
    >>> acts.names, len(acts), acts[1:].names
    (['a', 'b'], 2, ['b'])
    >>> acts.reverse()
    >>> acts.append(np.ones((4, 5)), name="c")
    >>> acts.names
    ['b', 'a', 'c']
    """

    #: how many removed arrays (weak references) remember their names
    _REMEMBERED = 256

    def __init__(self, arrays=(), names=None):
        super().__init__(arrays)
        self.names = names

    @property
    def names(self):
        return self._names

    @names.setter
    def names(self, names):
        if names is None:
            names = [str(i) for i in range(len(self))]
        names = [str(name) for name in names]
        if len(names) != len(self):
            raise ValueError(
                f"got {len(names)} names for {len(self)} layers; pass one name "
                "per layer"
            )
        self._names = names
        self._removed = []

    # -- names of arrays that come and go ---------------------------------------

    def _forget(self, items, names):
        """Remember the names of removed arrays (weakly: no array is kept)."""
        for item, name in zip(items, names):
            try:
                self._removed.append((weakref.ref(item), name))
            except TypeError:  # not weakly referable (a nested list, ...)
                continue
        del self._removed[: -self._REMEMBERED]

    def _known_name(self, item):
        """The name of ``item`` if it is, or was, in the list; else None."""
        for own, name in zip(self, self._names):
            if own is item:
                return name
        for ref, name in reversed(self._removed):
            if ref() is item:
                return name
        return None

    def _names_for(self, items, names, start, kept=None):
        """Names of ``items`` placed at position ``start``: ``names``, the
        names of a LayerActivations, their own, ``kept``, their positions."""
        if names is None and isinstance(items, LayerActivations):
            names = items.names
        if names is not None:
            names = [str(name) for name in names]
            if len(names) != len(items):
                raise ValueError(
                    f"got {len(names)} names for {len(items)} added layers; pass "
                    "one name per layer"
                )
            return names
        out = []
        for i, item in enumerate(items):
            name = self._known_name(item)
            if name is None:
                name = kept[i] if kept is not None else str(start + i)
            out.append(name)
        return out

    # -- reading --------------------------------------------------------------

    def __getitem__(self, index):
        item = super().__getitem__(index)
        if isinstance(index, slice):
            return LayerActivations(item, self._names[index])
        return item

    def copy(self):
        """A shallow copy, with the names."""
        return LayerActivations(self, self._names)

    def __add__(self, other):
        if not isinstance(other, list):
            return NotImplemented
        out = self.copy()
        out.extend(other)
        return out

    def __radd__(self, other):
        if not isinstance(other, list):
            return NotImplemented
        return LayerActivations(other) + self

    def __mul__(self, n):
        return LayerActivations(list(self) * n, self._names * n)

    __rmul__ = __mul__

    def __reduce__(self):
        return (type(self), (list(self), list(self._names)))

    def __repr__(self):
        shapes = ", ".join(
            f"{name or repr(name)}: {getattr(a, 'shape', '?')}"
            for name, a in zip(self._names, self)
        )
        return f"LayerActivations([{shapes}])"

    # -- adding and replacing ---------------------------------------------------

    def append(self, array, name=None):
        """Add a layer at the end, named ``name`` (see the class docstring for
        the default)."""
        (new,) = self._names_for(
            [array], None if name is None else [name], len(self)
        )
        super().append(array)
        self._names.append(new)

    def insert(self, index, array, name=None):
        """Insert a layer before ``index``, named ``name`` (see the class
        docstring for the default)."""
        n = len(self)
        position = min(max(index + n if index < 0 else index, 0), n)
        (new,) = self._names_for([array], None if name is None else [name], position)
        super().insert(index, array)
        self._names.insert(position, new)

    def extend(self, arrays, names=None):
        """Add layers at the end, named ``names`` (see the class docstring for
        the default)."""
        items = arrays if isinstance(arrays, list) else list(arrays)
        new = self._names_for(items, names, len(self))
        super().extend(list(items))
        self._names.extend(new)

    def __iadd__(self, arrays):
        self.extend(arrays)
        return self

    def __imul__(self, n):
        super().__imul__(n)
        self._names *= n
        return self

    def __setitem__(self, index, value):
        if not isinstance(index, slice):
            i = range(len(self))[index]  # IndexError as list's
            (new,) = self._names_for([value], None, i, kept=[self._names[i]])
            self._forget([self[i]], [self._names[i]])
            super().__setitem__(index, value)
            self._names[i] = new
            return
        items = value if isinstance(value, list) else list(value)
        replaced = range(len(self))[index]
        kept = [self._names[i] for i in replaced]
        new = self._names_for(
            items, None, index.indices(len(self))[0],
            kept=kept if len(items) == len(replaced) else None,
        )
        old = [super(LayerActivations, self).__getitem__(i) for i in replaced]
        super().__setitem__(index, list(items))
        self._forget(old, kept)
        self._names[index] = new

    # -- moving and removing ----------------------------------------------------

    def __delitem__(self, index):
        positions = range(len(self))[index]
        if isinstance(index, slice):
            self._forget([list.__getitem__(self, i) for i in positions],
                         [self._names[i] for i in positions])
        else:
            self._forget([list.__getitem__(self, positions)], [self._names[positions]])
        super().__delitem__(index)
        del self._names[index]

    def pop(self, index=-1):
        """Remove and return the layer at ``index`` (its name is remembered)."""
        item = super().pop(index)
        name = self._names.pop(index)
        self._forget([item], [name])
        return item

    def remove(self, array):
        """Remove the first layer that is ``array``, else the first equal to it
        (its name is remembered)."""
        for i, item in enumerate(self):
            if item is array:
                del self[i]
                return
        del self[self.index(array)]  # list's own test of equality

    def clear(self):
        self._forget(list(self), self._names)
        super().clear()
        self._names.clear()

    def reverse(self):
        super().reverse()
        self._names.reverse()

    def sort(self, *, key=None, reverse=False):
        """Sort the layers in place (stable), their names with them. Arrays
        cannot be compared, so pass ``key``, e.g. ``key=lambda a: a.shape[1]``.
        """
        items = list(self)
        try:
            order = sorted(
                range(len(items)),
                key=(lambda i: items[i]) if key is None else (lambda i: key(items[i])),
                reverse=reverse,
            )
        except (TypeError, ValueError) as exc:
            if key is not None:
                raise
            raise TypeError(
                f"the layers cannot be compared with each other ({exc}); pass "
                "key=, e.g. acts.sort(key=lambda a: a.shape[1]) to sort by width"
            ) from exc
        super().__setitem__(slice(None), [items[i] for i in order])
        self._names[:] = [self._names[i] for i in order]


def layer_activations(estimator, X, *, layers="hidden", batch_size=1024):
    """Outputs of the hidden layers of a fitted network on ``X``.

    For torch models the chosen modules' outputs are recorded with forward
    hooks, one array per call in forward order (a module called twice gives
    two layers). The default, ``layers="hidden"``, reads every
    ``torch.nn.ReLU`` module, which for :class:`~sk_ricci.nn.ReLUMLP` and
    :class:`~sk_ricci.nn.ReLUMLPClassifier` is every hidden layer (the output
    layer has no ReLU). Other activation modules (``LeakyReLU``, ``ReLU6``,
    ``GELU``, ...) are not read by default, and a
    :class:`~sk_ricci.exceptions.SkRicciWarning` names each one left out;
    choose layers by name, by type or with a callable to read them.

    The forward pass runs in eval mode under ``torch.no_grad()`` in
    mini-batches on the module's device; the hooks are removed and every
    submodule's train/eval mode restored afterwards, so the model is left
    exactly as it was.

    Outputs with more than two dimensions are **flattened** to
    ``(n_samples, -1)`` in C order: a convolutional feature map of shape
    ``(n_samples, channels, height, width)`` becomes a row of
    ``channels * height * width`` numbers per sample, so the kNN graph of
    that layer uses the Euclidean distance between whole feature maps.

    For scikit-learn's ``MLPClassifier``/``MLPRegressor`` the hidden layers
    are computed from ``coefs_`` and ``intercepts_`` with NumPy.

    Parameters
    ----------
    estimator : object
        A fitted :class:`~sk_ricci.nn.ReLUMLPClassifier`, a fitted skorch
        ``NeuralNet`` (any subclass), a ``torch.nn.Module`` (a pretrained
        model, a convolutional network, ...), a fitted ``MLPClassifier`` or
        ``MLPRegressor`` with ``activation="relu"``, or a fitted ``Pipeline``
        whose last step is one of these (the earlier steps transform ``X``
        first).
    X : array-like of shape (n_samples, n_features) or (n_samples, ...)
        Points to pass through the network, e.g. the test set. Torch modules
        and skorch nets also take N-D inputs, e.g. images of shape
        ``(n_samples, channels, height, width)`` for a convolutional network.
    layers : "hidden", list of int, list of str, type or callable, \
default="hidden"
        Which layers to read:

        - ``"hidden"``: every ``torch.nn.ReLU`` module (every hidden layer of
          a scikit-learn MLP);
        - a list of int: positions among those layers (negative indices count
          from the last one);
        - a list of str: module names as given by ``module.named_modules()``,
          e.g. ``["block1.relu", "block2.relu"]`` (``"hidden_0"``, ... for a
          scikit-learn MLP); any module may be named, e.g. a whole block, and
          ``""`` is the model itself (its output), as in ``named_modules()``;
        - a ``torch.nn.Module`` subclass or a tuple of them, e.g.
          ``torch.nn.LeakyReLU``: every module of those types;
        - a callable ``layers(name, module) -> bool``: every module for which
          it returns True, called on the pairs of ``module.named_modules()``
          (the model itself with the name ``""``).

        The result is always in forward order, whatever the order of a list.
        A named module that the forward pass never calls on ``X`` is an error
        (its output cannot be read); one chosen by type, callable or default
        and never called is left out with a warning.
    batch_size : int, default=1024
        Number of samples per forward pass (torch models only).

    Returns
    -------
    activations : LayerActivations
        A list of float64 arrays of shape ``(n_samples, width_l)``, one per
        layer (``n_layers`` in all) in forward order, whose ``names``
        attribute names each layer.

    Raises
    ------
    ValueError
        When no chosen module is called on the first batch, when a module
        named in ``layers`` is never called, or when batches call different
        modules (a forward pass that depends on the number of rows: pass a
        ``batch_size`` of at least ``n_samples``).

    Warns
    -----
    SkRicciWarning
        When ``layers`` is ``"hidden"``, a list of int or a type and the
        network holds activation modules that it leaves out, and when a
        module chosen by type, callable or default is never called.

    See Also
    --------
    sk_ricci.ricci_flow : Measure the flow of the returned layers.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci.nn import ReLUMLP, layer_activations
    >>> net = ReLUMLP(3, 1, architecture="bottleneck", depth=5)
    >>> acts = layer_activations(net, np.zeros((10, 3)))
    >>> [a.shape for a in acts]
    [(10, 50), (10, 50), (10, 25), (10, 50), (10, 50)]
    >>> acts.names
    ['hidden.1', 'hidden.3', 'hidden.5', 'hidden.7', 'hidden.9']

    Layers chosen by name, by type or with a callable:

    >>> from torch import nn
    >>> cnn = nn.Sequential(nn.Conv2d(1, 4, 3), nn.LeakyReLU(), nn.Flatten(),
    ...                     nn.Linear(4 * 6 * 6, 8), nn.LeakyReLU(),
    ...                     nn.Linear(8, 2))
    >>> images = np.zeros((10, 1, 8, 8), dtype=np.float32)
    >>> acts = layer_activations(cnn, images, layers=nn.LeakyReLU)
    >>> acts.names, [a.shape for a in acts]
    (['1', '4'], [(10, 144), (10, 8)])
    >>> layer_activations(cnn, images, layers=["4"]).names
    ['4']
    >>> layer_activations(cnn, images,
    ...                   layers=lambda name, m: isinstance(m, nn.Linear)).names
    ['3', '5']
    """
    check_batch_size(batch_size)
    return route_network(
        estimator, X, _parse_layers(layers), "layer_activations",
        on_torch=lambda module, X, selection, n_features: _torch_activations(
            module, X, selection, batch_size, n_features
        ),
        on_mlp=_mlp_activations,
    )


def check_batch_size(batch_size):
    """Refuse a ``batch_size`` that is not a positive int."""
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, numbers.Integral)
        or batch_size < 1
    ):
        raise ValueError(
            f"batch_size must be a positive int; got {batch_size!r}. Pass e.g. "
            "batch_size=1024."
        )


def route_network(estimator, X, selection, owner, *, on_torch, on_mlp):
    """Send a fitted network and its input to the code that reads its layers.

    A Pipeline's last step gets ``X`` through the other steps' transforms; a
    ``ReLUMLPClassifier``, skorch net or torch module goes to
    ``on_torch(module, X, selection, n_features)`` (``n_features`` None when
    the input width is checked already or cannot be known), scikit-learn's
    MLPs to ``on_mlp(mlp, X, selection)``. ``owner`` names the caller in
    errors. Shared by :func:`layer_activations` and
    ``stream_layer_activations``.
    """
    if isinstance(estimator, Pipeline):
        final = estimator.steps[-1][1]
        if final is None or final == "passthrough":
            raise TypeError(
                f"The last step of the Pipeline is 'passthrough'; {owner} "
                f"needs it to be a network: {_SUPPORTED}."
            )
        check_is_fitted(estimator)
        if len(estimator.steps) > 1:
            X = estimator[:-1].transform(X)
        return route_network(
            final, X, selection, owner, on_torch=on_torch, on_mlp=on_mlp
        )
    if isinstance(estimator, ReLUMLPClassifier):
        check_is_fitted(estimator, "net_")
        X = estimator._validate_X_predict(X)
        return on_torch(estimator.module_, X, selection, None)
    if isinstance(estimator, (MLPClassifier, MLPRegressor)):
        return on_mlp(estimator, X, selection)
    module = _torch_module(estimator)
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    X = check_array(X, dtype=[np.float64, np.float32], allow_nd=True)
    n_features = _expected_n_features(module) if X.ndim == 2 else None
    return on_torch(module, X, selection, n_features)


def _torch_module(estimator):
    """The torch module of a fitted skorch net, or the module itself."""
    if isinstance(estimator, NeuralNet):
        if not getattr(estimator, "initialized_", False):
            raise NotFittedError(
                f"This {type(estimator).__name__} is not initialized yet; call "
                "fit (or initialize) before layer_activations."
            )
        return estimator.module_
    if isinstance(estimator, nn.Module):
        return estimator
    raise TypeError(
        f"layer_activations expects {_SUPPORTED}; got an object of type "
        f"{type(estimator).__name__}. Pass the fitted network itself."
    )


def _is_module_type(value):
    return isinstance(value, type) and issubclass(value, nn.Module)


def _parse_layers(layers):
    """``layers`` -> (kind, value), kind in hidden/positions/names/types/callable."""
    if isinstance(layers, str):
        if layers == "hidden":
            return "hidden", None
        raise ValueError(
            f"{_LAYERS_HELP}; got {layers!r}. Pass layers='hidden' for every "
            f"hidden layer, or layers=[{layers!r}] for the module of that name."
        )
    if isinstance(layers, nn.Module):
        raise TypeError(
            f"{_LAYERS_HELP}; got the module instance {layers!r}. Pass its class "
            f"(layers={type(layers).__name__}) or its name in a list."
        )
    if isinstance(layers, type):
        if _is_module_type(layers):
            return "types", (layers,)
        raise TypeError(
            f"{_LAYERS_HELP}; got the class {layers.__name__}, which is not a "
            "torch.nn.Module subclass. Pass e.g. layers=torch.nn.LeakyReLU."
        )
    if isinstance(layers, tuple) and layers and all(map(_is_module_type, layers)):
        return "types", layers
    if callable(layers):
        return "callable", layers
    try:
        items = list(layers)
    except TypeError:
        raise ValueError(
            f"{_LAYERS_HELP}; got {layers!r}. Pass e.g. layers=[0, -1] for the "
            "first and last hidden layers."
        ) from None
    if not items:
        raise ValueError(
            f"{_LAYERS_HELP}; got an empty list. Pass at least one layer, or "
            "layers='hidden' for every hidden layer."
        )
    if all(isinstance(item, str) for item in items):
        repeated = sorted({name for name in items if items.count(name) > 1})
        if repeated:
            raise ValueError(
                f"layers names {repeated} more than once; pass each module name "
                "once (a module called several times gives one layer per call)."
            )
        return "names", items
    for index in items:
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(
                f"{_LAYERS_HELP}; got {layers!r}, which holds {index!r}. Pass "
                "integer layer positions or module names, not a mix."
            )
    return "positions", [int(index) for index in items]


def _select_positions(activations, positions):
    n_layers = len(activations)
    for index in positions:
        if not -n_layers <= index < n_layers:
            raise ValueError(
                f"layer index {index} is out of range for a network with "
                f"{n_layers} hidden layers; pass indices in [{-n_layers}, "
                f"{n_layers - 1}]."
            )
    return LayerActivations(
        [activations[i] for i in positions], [activations.names[i] for i in positions]
    )


def _mlp_activations(mlp, X, selection, validate=True):
    check_is_fitted(mlp, "coefs_")
    if mlp.activation != "relu":
        raise ValueError(
            f"{type(mlp).__name__} has activation={mlp.activation!r}; "
            "layer_activations needs activation='relu'. Refit with "
            "activation='relu'."
        )
    kind, value = selection
    if kind in ("types", "callable"):
        raise TypeError(
            f"layers={value!r} selects torch modules, but {type(mlp).__name__} "
            "has none; pass 'hidden', a list of int or names such as "
            "['hidden_0', 'hidden_1']."
        )
    if validate:
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
    activations = LayerActivations(
        activations, [f"hidden_{i}" for i in range(len(activations))]
    )
    if kind == "positions":
        return _select_positions(activations, value)
    if kind == "names":
        missing = [name for name in value if name not in activations.names]
        if missing:
            raise ValueError(
                f"{type(mlp).__name__} has no hidden layer named {missing}; its "
                f"hidden layers are {activations.names}."
            )
        keep = [i for i, name in enumerate(activations.names) if name in value]
        return _select_positions(activations, keep)
    return activations


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


def _describe(named, limit=8):
    text = ", ".join(f"{type(m).__name__} {name!r}" for name, m in named[:limit])
    if len(named) > limit:
        text += f" and {len(named) - limit} more"
    return text


def _torch_targets(module, kind, value):
    """The (name, module) pairs to hook, and the activation modules left out."""
    named = list(module.named_modules())  # the root module's name is ""
    activations = [(name, m) for name, m in named if isinstance(m, _ACTIVATION_TYPES)]
    if kind in ("hidden", "positions"):
        targets = [(name, m) for name, m in named if isinstance(m, nn.ReLU)]
        if not targets:
            hint = ""
            if activations:
                kinds = sorted({type(m).__name__ for _, m in activations})
                hint = (
                    f" It has other activation modules ({_describe(activations)}):"
                    f" pass layers=torch.nn.{kinds[0]} or a list of their names "
                    "to read them."
                )
            raise ValueError(
                f"The network ({type(module).__name__}) contains no torch.nn.ReLU "
                "module, so there is no hidden ReLU layer to read by default."
                f"{hint} Build the model with torch.nn.ReLU modules (not "
                "torch.relu / F.relu calls), or choose layers by name, type or "
                "callable."
            )
    elif kind == "types":
        targets = [(name, m) for name, m in named if isinstance(m, value)]
    elif kind == "callable":
        targets = [(name, m) for name, m in named if value(name, m)]
    else:
        lookup = dict(named)
        missing = [name for name in value if name not in lookup]
        if missing:
            known = [name for name, _ in named]
            shown = ", ".join(repr(n) for n in known[:30])
            if len(known) > 30:
                shown += f", ... ({len(known)} in all)"
            raise ValueError(
                f"{type(module).__name__} has no module named {missing}; pass "
                f"names from module.named_modules(): {shown}."
            )
        targets = [(name, lookup[name]) for name in value]
    if not targets:
        raise ValueError(
            f"layers={value!r} selects no module of {type(module).__name__}; its "
            f"modules are {_describe(named)}."
        )
    ignored = []
    if kind != "names" and kind != "callable":
        chosen = {id(m) for _, m in targets}
        ignored = [(name, m) for name, m in activations if id(m) not in chosen]
    return targets, ignored


def _torch_selection(module, X, selection, n_features):
    """``(kind, value, targets, what)`` of a selection of ``module``'s
    layers, after checking ``X``'s width and warning about ignored modules
    (shared by :func:`layer_activations` and ``stream_layer_activations``)."""
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but the network expects {n_features} "
            f"features as input; pass X with {n_features} columns."
        )
    kind, value = selection
    targets, ignored = _torch_targets(module, kind, value)
    if ignored:
        _warn_ignored(module, kind, value, ignored)
    what = "selected modules" if kind in ("names", "types", "callable") else (
        "torch.nn.ReLU modules"
    )
    return kind, value, targets, what


def _torch_activations(module, X, selection, batch_size, n_features):
    kind, value, targets, what = _torch_selection(module, X, selection, n_features)
    batches = record_batches(module, X, targets, batch_size, what)
    _check_all_called(module, kind, value, targets, batches, X.shape[0], batch_size)
    activations = _assemble(batches)
    if kind == "positions":
        return _select_positions(activations, value)
    return activations


def _check_all_called(module, kind, value, targets, batches, n_samples, batch_size):
    """Named modules that the forward pass never called are an error; modules
    of a type, callable or default selection never called, a warning."""
    called = {name for name, _ in batches[0]}
    missing = [(name, m) for name, m in targets if name not in called]
    if not missing:
        return
    where = (
        f"on X ({n_samples} rows, in batches of up to {batch_size})"
        if n_samples > batch_size
        else f"on X ({n_samples} rows, one batch)"
    )
    why = (
        "forward may skip them, call their weights directly, or call them only "
        "for some inputs or batch sizes"
    )
    if kind == "names":
        names = [name for name, _ in missing]
        raise ValueError(
            f"layers names {names}, but the forward pass of "
            f"{type(module).__name__} never called {_describe(missing)} {where}, "
            f"so there is nothing to read ({why}). It called "
            f"{sorted(called)}. Pass layers without {names}, or X and a "
            "batch_size for which forward calls them."
        )
    warn(
        f"layer_activations leaves out {len(missing)} selected module(s) of "
        f"{type(module).__name__} that the forward pass never called {where}: "
        f"{_describe(missing)} ({why}). To silence this, choose layers by "
        "name or with a callable that leaves them out.",
        SkRicciWarning,
    )


def _warn_ignored(module, kind, value, ignored):
    if kind == "types":
        what = f"the {', '.join(t.__name__ for t in value)} modules chosen"
    else:
        what = "torch.nn.ReLU modules"
    warn(
        f"layer_activations reads only {what}, so {len(ignored)} activation "
        f"module(s) of {type(module).__name__} are left out: "
        f"{_describe(ignored)}. To read them, pass layers= a type such as "
        f"torch.nn.{type(ignored[0][1]).__name__}, a tuple of types, a list "
        "of module names or a callable(name, module).",
        SkRicciWarning,
    )


def _numbered_names(call_names):
    """Layer names of a forward pass's calls: a module called ``k`` times
    gives ``name#1`` ... ``name#k``."""
    names, seen = [], {}
    for name in call_names:
        seen[name] = seen.get(name, 0) + 1
        names.append(f"{name}#{seen[name]}" if call_names.count(name) > 1 else name)
    return names


def _assemble(batches):
    """One array per call, the batches stacked; a module called ``k`` times
    gives layers ``name#1`` ... ``name#k``."""
    call_names = [name for name, _ in batches[0]]
    names = _numbered_names(call_names)
    return LayerActivations(
        [
            torch.cat([batch[i][1] for batch in batches]).numpy()
            for i in range(len(call_names))
        ],
        names,
    )
