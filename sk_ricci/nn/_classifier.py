"""A scikit-learn classifier that trains a :class:`ReLUMLP` with skorch."""

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNetBinaryClassifier, NeuralNetClassifier
from skorch.dataset import Dataset, ValidSplit
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
)

from sk_ricci._param_validation import ValidatedMixin
from sk_ricci.exceptions import InvalidParameterError
from sk_ricci.nn._module import ReLUMLP, resolve_hidden_layer_sizes
from sk_ricci.nn._params import (
    PARAMETER_CONSTRAINTS,
    PARAMETER_FIXES,
    check_routed,
    draw_seeds,
    held_out_fraction,
    optimizer_spec,
)


class _ArrayDataset(Dataset):
    """skorch ``Dataset`` over NumPy arrays that also takes a batch of indices.

    Indexing with a list or array of indices returns the whole mini-batch from
    one NumPy fancy-indexing call.
    """

    def __getitem__(self, i):
        if isinstance(i, (list, np.ndarray)):
            index = np.asarray(i, dtype=np.intp)
            return self.transform(
                self.X[index], None if self.y is None else self.y[index]
            )
        return super().__getitem__(i)


def _batch_loader(dataset, batch_size, shuffle=False, generator=None, **kwargs):
    """DataLoader that fetches each mini-batch with one indexing call.

    torch's default DataLoader indexes the dataset one sample at a time and
    stacks the rows, which dominates an epoch for networks as small as the
    paper's. Sampling whole batches of indices gives the same kind of batches
    (``_ArrayDataset`` and torch's ``Subset`` accept a list of indices) with a
    fraction of the Python overhead. Other keyword arguments (``num_workers``,
    ``pin_memory``, ...) go to the DataLoader.
    """
    sampler = (
        RandomSampler(dataset, generator=generator)
        if shuffle
        else SequentialSampler(dataset)
    )
    return DataLoader(
        dataset,
        batch_size=None,
        sampler=BatchSampler(sampler, batch_size, drop_last=False),
        generator=generator,
        **kwargs,
    )


def _train_split(fraction, split_seed):
    """skorch's random validation split, or None to train on everything."""
    if fraction is None:
        return None
    return ValidSplit(fraction, stratified=False, random_state=split_seed)


def _net_kwargs(optimizer_kwargs, shuffle_seed, routed):
    """The skorch net's keyword arguments besides the estimator's settings:
    the paper's settings first, then skorch's routed parameters over them."""
    net_kwargs = {
        "iterator_train__shuffle": True,
        # Local generators: DataLoader otherwise draws from (and advances)
        # torch's global random state on every pass, even without shuffling.
        "iterator_train__generator": torch.Generator().manual_seed(shuffle_seed),
        "iterator_valid__generator": torch.Generator().manual_seed(0),
        **{f"optimizer__{key}": value for key, value in optimizer_kwargs.items()},
    }
    net_kwargs.update(
        (key, value) for key, value in routed.items() if not key.startswith("module__")
    )
    return net_kwargs


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def encode_targets(y):
    """``(classes, y_encoded)`` of classification targets with at least two
    classes (what ``fit`` and :func:`~sk_ricci.nn.fit_many` train on)."""
    check_classification_targets(y)
    encoder = LabelEncoder().fit(y)
    classes = encoder.classes_
    if len(classes) < 2:
        raise ValueError(
            "ReLUMLPClassifier needs at least 2 classes in y; got 1 class: "
            f"{classes.tolist()[0]!r}. Pass training data that contains every "
            "class."
        )
    return classes, encoder.transform(y)


def check_float32_range(X, name="X"):
    """The network computes in float32: larger values would become inf."""
    if X.size:
        m = max(float(X.max()), -float(X.min()))
        if m > _FLOAT32_MAX:
            raise ValueError(
                f"{name} holds values up to {m:.4g} in magnitude, beyond the "
                f"float32 range (+-{_FLOAT32_MAX:.8g}) the network computes in; "
                "rescale the features first, e.g. with sklearn's StandardScaler"
            )
    return X


def build_net(estimator, binary, module, optimizer_cls, train_split, **net_kwargs):
    """The skorch net that ``ReLUMLPClassifier.fit`` trains and
    :func:`~sk_ricci.nn.fit_many` fills in: the estimator's training settings,
    the project's dataset and loaders, and ``net_kwargs`` (the loaders'
    generators, ``optimizer__*`` and skorch's routed parameters)."""
    if binary:
        net_cls, criterion = NeuralNetBinaryClassifier, torch.nn.BCEWithLogitsLoss
    else:
        net_cls, criterion = NeuralNetClassifier, torch.nn.CrossEntropyLoss
    return net_cls(
        module=module,
        criterion=criterion,
        optimizer=optimizer_cls,
        lr=estimator.lr,
        max_epochs=estimator.max_epochs,
        batch_size=estimator.batch_size,
        train_split=train_split,
        dataset=_ArrayDataset,
        iterator_train=_batch_loader,
        iterator_valid=_batch_loader,
        callbacks=estimator.callbacks,
        verbose=estimator.verbose,
        device=estimator.device,
        **net_kwargs,
    )


class ReLUMLPClassifier(ValidatedMixin, ClassifierMixin, BaseEstimator):
    """ReLU network classifier trained the way the paper trained its networks.

    A :class:`~sk_ricci.nn.ReLUMLP` (Glorot-uniform weights, zero biases) is
    trained with skorch: RMSprop with keras' defaults, ``lr=1e-3``, 50 epochs,
    mini-batches of 32 and 20% of the training data held out for validation.
    Two classes use a single logit with binary cross-entropy (as the paper
    did, through :class:`skorch.NeuralNetBinaryClassifier`); more classes use
    one logit per class with cross-entropy (:class:`skorch.NeuralNetClassifier`).
    Labels may be any values, strings included.

    Training is bit-for-bit reproducible on CPU for a fixed ``random_state``:
    the weight initialisation, the validation split and the mini-batch
    shuffling each draw from their own seeded generator, and torch's and
    NumPy's global random states are left untouched. ``torch.set_num_threads``
    is process-wide, so this estimator never changes it; set it yourself if
    you want to limit threads (joblib's loky workers already get a share of
    the cores each).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=None
        Explicit hidden widths. When given, ``architecture`` and ``depth`` are
        ignored.
    architecture : {"narrow", "wide", "bottleneck"}, default="wide"
        The paper's presets: every hidden layer 25 wide, every layer 50 wide, or
        50 wide with one 25-wide layer at index ``depth // 2``.
    depth : int, default=5
        Number of hidden layers of the preset (the paper uses 5 and 11).
    lr : float, default=1e-3
        Learning rate.
    max_epochs : int, default=50
        Number of passes over the training data.
    batch_size : int, default=32
        Mini-batch size.
    optimizer : {"rmsprop", "adam", "sgd"}, default="rmsprop"
        Optimizer. RMSprop and Adam use keras' defaults (``rho=0.9``,
        ``epsilon=1e-7``); SGD has no momentum.
    validation_fraction : float or None, default=0.2
        Fraction of the training data held out (at random) and scored after
        every epoch, as keras' ``validation_split`` does; the held-out points
        are not trained on. 0 or None trains on everything.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, validation split and shuffling. Pass an
        int for reproducible results.
    verbose : int, default=0
        0 trains silently; a positive value prints skorch's per-epoch log.
    device : str or torch.device, default="cpu"
        Device the network is trained on, e.g. ``"cuda"``.
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks (e.g. ``EpochScoring``, ``EarlyStopping``),
        passed to the skorch net as its ``callbacks``, on top of skorch's
        default ones. skorch initialises them when training starts; the
        fitted ones are ``net_.callbacks_``.
    **kwargs
        skorch's routed parameters, passed through to the skorch net:
        ``optimizer__*`` (e.g. ``optimizer__momentum=0.9`` with
        ``optimizer="sgd"``; they override the keras defaults above),
        ``criterion__*``, ``iterator_train__*`` and ``iterator_valid__*``
        (e.g. ``iterator_train__shuffle=False``; passing
        ``iterator_train__generator`` replaces the seeded shuffling) and
        ``callbacks__*`` (e.g. ``callbacks__print_log__sink=print``).
        ``module__*`` parameters go to the :class:`~sk_ricci.nn.ReLUMLP`
        constructor: ``module__hidden_layer_sizes``, ``module__architecture``
        and ``module__depth`` replace the estimator's own three (fit sets
        ``input_dim``, ``n_outputs`` and ``generator``). They take part in
        ``get_params``, ``set_params`` and ``clone`` like any parameter.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit, when X has string column names.
    net_ : skorch.NeuralNet
        The fitted skorch net.
    module_ : ReLUMLP
        The fitted torch module (``net_.module_``).
    history_ : skorch.History
        Per-epoch training log (``net_.history``): ``train_loss``,
        ``valid_loss`` and ``valid_acc`` when validating.

    See Also
    --------
    ReLUMLP : The torch module being trained.
    layer_activations : Hidden-layer outputs of a fitted network.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci.nn import ReLUMLPClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(40, 3))
    >>> y = np.where(X[:, 0] > 0, "pos", "neg")
    >>> clf = ReLUMLPClassifier(hidden_layer_sizes=(8, 8), max_epochs=2,
    ...                         random_state=0).fit(X, y)
    >>> clf.classes_
    array(['neg', 'pos'], dtype='<U3')
    >>> clf.predict_proba(X[:5]).shape
    (5, 2)

    skorch's parameters pass through, e.g. SGD with momentum and a callback:

    >>> from skorch.callbacks import EpochScoring
    >>> clf = ReLUMLPClassifier(
    ...     hidden_layer_sizes=(8, 8), max_epochs=2, optimizer="sgd",
    ...     optimizer__momentum=0.9, random_state=0,
    ...     callbacks=[EpochScoring("accuracy", name="train_acc", on_train=True)],
    ... ).fit(X, y)
    >>> clf.net_.optimizer_.defaults["momentum"], "train_acc" in clf.history_[-1]
    (0.9, True)
    """

    _parameter_constraints = PARAMETER_CONSTRAINTS
    _parameter_fixes = PARAMETER_FIXES

    def __init__(
        self,
        *,
        hidden_layer_sizes=None,
        architecture="wide",
        depth=5,
        lr=1e-3,
        max_epochs=50,
        batch_size=32,
        optimizer="rmsprop",
        validation_fraction=0.2,
        random_state=None,
        verbose=0,
        device="cpu",
        callbacks=None,
        **kwargs,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.architecture = architecture
        self.depth = depth
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.verbose = verbose
        self.device = device
        self.callbacks = callbacks
        # skorch's routed parameters, stored like the others and checked in fit
        for key, value in kwargs.items():
            setattr(self, key, value)

    # -- skorch's routed parameters (``module__*``, ``optimizer__*``, ...) -------

    def _passthrough_params(self):
        """The parameters that came through ``**kwargs`` (not fitted ones)."""
        own = set(self._get_param_names())
        return {
            key: value
            for key, value in vars(self).items()
            if key not in own
            and not key.startswith("_")
            and not (key.endswith("_") and not key.endswith("__"))  # fitted
        }

    def get_params(self, deep=True):
        """Parameters of this estimator, skorch's routed ones included.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of contained estimators.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=deep)
        params.update(sorted(self._passthrough_params().items()))
        return params

    def set_params(self, **params):
        """Set parameters, skorch's routed ones (``optimizer__momentum``,
        ``module__depth``, ...) included.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : ReLUMLPClassifier
            The estimator.
        """
        # None of this estimator's parameters is itself an estimator, so a
        # name with "__" is a routed skorch parameter, checked in fit.
        own = set(self._get_param_names())
        routed = {k: v for k, v in params.items() if k not in own}
        for key, value in routed.items():
            setattr(self, key, value)
        others = {k: v for k, v in params.items() if k in own}
        if others:
            super().set_params(**others)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = False
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags

    # -- validation -------------------------------------------------------------

    def _check_params(self):
        """Check every parameter before any computation: the declared
        constraints, then the names of skorch's routed parameters."""
        self._validate_params()
        check_routed(type(self).__name__, self._passthrough_params())

    def _derived_params(self, n_samples):
        """``(hidden_layer_sizes, optimizer_cls, optimizer_kwargs, fraction)``
        of checked parameters, for ``n_samples`` training points."""
        hidden_layer_sizes = resolve_hidden_layer_sizes(
            self.hidden_layer_sizes, self.architecture, self.depth
        )
        optimizer_cls, optimizer_kwargs = optimizer_spec(self.optimizer)
        fraction = held_out_fraction(self.validation_fraction, n_samples)
        return hidden_layer_sizes, optimizer_cls, optimizer_kwargs, fraction

    # -- fitting ----------------------------------------------------------------

    def _build_module(self, n_features, n_outputs, hidden_layer_sizes, seed, routed):
        """The :class:`ReLUMLP` to train, initialised from ``seed``; routed
        ``module__*`` parameters override ``hidden_layer_sizes``,
        ``architecture`` and ``depth``."""
        module_kwargs = {
            key[len("module__") :]: value
            for key, value in routed.items()
            if key.startswith("module__")
        }
        if module_kwargs:
            module_kwargs = {
                "hidden_layer_sizes": self.hidden_layer_sizes,
                "architecture": self.architecture,
                "depth": self.depth,
                **module_kwargs,
            }
        else:
            module_kwargs = {"hidden_layer_sizes": hidden_layer_sizes}
        generator = torch.Generator().manual_seed(seed)
        try:
            return ReLUMLP(n_features, n_outputs, generator=generator, **module_kwargs)
        except InvalidParameterError:
            raise  # a bad module__ value: ReLUMLP's own message says which
        except TypeError as exc:
            raise TypeError(
                f"a module__ parameter does not fit ReLUMLP: {exc}. module__* "
                "parameters go to ReLUMLP(hidden_layer_sizes=, architecture=, "
                "depth=)."
            ) from None

    def fit(self, X, y):
        """Train a new network on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; cast to float32 for torch.
        y : array-like of shape (n_samples,)
            Class labels, any hashable values (strings included).

        Returns
        -------
        self : ReLUMLPClassifier
            The fitted classifier.

        Raises
        ------
        ~sk_ricci.exceptions.InvalidParameterError
            A parameter has a type or value it does not accept, checked before
            anything else (a ``ValueError`` and a ``TypeError``).
        """
        self._check_params()
        X, y = validate_data(
            self, X, y, dtype=[np.float32, np.float64], y_numeric=False
        )
        check_float32_range(X)
        classes, y_encoded = encode_targets(y)
        hidden_layer_sizes, optimizer_cls, optimizer_kwargs, fraction = (
            self._derived_params(X.shape[0])
        )
        binary = len(classes) == 2
        init_seed, split_seed, shuffle_seed = draw_seeds(self.random_state)
        routed = self._passthrough_params()
        module = self._build_module(
            X.shape[1], 1 if binary else len(classes), hidden_layer_sizes,
            init_seed, routed,
        )
        net = build_net(
            self, binary, module, optimizer_cls, _train_split(fraction, split_seed),
            **_net_kwargs(optimizer_kwargs, shuffle_seed, routed),
        )
        net.fit(
            X.astype(np.float32, copy=False),
            y_encoded.astype(np.float32 if binary else np.int64),
        )
        self.classes_ = classes
        self.net_ = net
        return self

    # -- fitted views -----------------------------------------------------------

    @property
    def module_(self):
        """The fitted torch module, ``net_.module_``."""
        check_is_fitted(self, "net_")
        return self.net_.module_

    @property
    def history_(self):
        """The skorch training history, ``net_.history``."""
        check_is_fitted(self, "net_")
        return self.net_.history

    # -- prediction -------------------------------------------------------------

    def _validate_X_predict(self, X):
        check_is_fitted(self, "net_")
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        return check_float32_range(X).astype(np.float32, copy=False)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class, columns ordered as ``classes_``.
        """
        X = self._validate_X_predict(X)
        proba = self.net_.predict_proba(X)
        return np.asarray(proba, dtype=np.float64)

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The most probable class of each sample, taken from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
