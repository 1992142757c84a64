"""Parameters of :class:`~sk_ricci.nn.ReLUMLPClassifier`: what each accepts,
how to fix a bad value, and the values ``fit`` and :func:`~sk_ricci.nn.fit_many`
derive from them (hidden widths, optimizer, validation split, seeds).

The constraints are declared once, in :data:`PARAMETER_CONSTRAINTS`, and
checked by :mod:`sk_ricci._param_validation` before any computation.
"""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state

from sk_ricci._param_validation import (
    Constraint,
    Interval,
    Options,
    RandomState,
)
from sk_ricci.nn._module import (
    POSITIVE_INT,
    WIDTH_CONSTRAINTS,
    WIDTH_FIXES,
    _Names,
)

# Optimizer name -> (class, keyword arguments). RMSprop and Adam use keras'
# defaults (rho=0.9, epsilon=1e-7), which is what the paper trained with; torch's
# own defaults (alpha=0.99, eps=1e-8) give slightly different trajectories.
_OPTIMIZERS = {
    "rmsprop": (torch.optim.RMSprop, {"alpha": 0.9, "eps": 1e-7}),
    "adam": (torch.optim.Adam, {"eps": 1e-7}),
    "sgd": (torch.optim.SGD, {}),
}

_MAX_SEED = np.iinfo(np.int32).max

# skorch's routed parameters (``prefix__name``) that ReLUMLPClassifier passes
# through to the skorch net it builds; ``module__*`` goes to ReLUMLP itself.
_PASSTHROUGH_PREFIXES = (
    "module__",
    "optimizer__",
    "criterion__",
    "iterator_train__",
    "iterator_valid__",
    "callbacks__",
)
# ReLUMLP arguments that fit sets from the data and the seed.
_MODULE_ARGS_FROM_FIT = ("input_dim", "n_outputs", "generator")


def _check_passthrough(owner, params):
    for key in params:
        prefix, sep, name = key.partition("__")
        if not sep or not name or f"{prefix}__" not in _PASSTHROUGH_PREFIXES:
            raise ValueError(
                f"{owner} got an unexpected parameter {key!r}; besides its own "
                "parameters it takes skorch's routed ones, whose names start "
                f"with {', '.join(_PASSTHROUGH_PREFIXES)} (e.g. "
                "optimizer__momentum=0.9). Check the spelling."
            )


def check_routed(owner, routed):
    """skorch's routed parameters: known prefixes, and no ``module__*`` that
    fit sets itself."""
    _check_passthrough(owner, routed)
    fixed = sorted(
        {key[len("module__") :] for key in routed if key.startswith("module__")}
        & set(_MODULE_ARGS_FROM_FIT)
    )
    if fixed:
        raise ValueError(
            f"module__{fixed[0]} cannot be set: fit sets ReLUMLP's "
            f"{', '.join(_MODULE_ARGS_FROM_FIT)} from the data and "
            "random_state. Remove it."
        )


class _InstanceOf(Constraint):
    """An instance of one of ``types``, described by ``label``."""

    def __init__(self, types, label):
        self.types, self.label = types, label

    def is_satisfied_by(self, value):
        return isinstance(value, self.types)

    def __str__(self):
        return self.label


class _SubclassOf(Constraint):
    """A class derived from ``base``, described by ``label``."""

    def __init__(self, base, label):
        self.base, self.label = base, label

    def is_satisfied_by(self, value):
        return isinstance(value, type) and issubclass(value, self.base)

    def __str__(self):
        return self.label


#: the largest float32: a larger learning rate overflows in torch
_FLOAT32_MAX = float(np.finfo(np.float32).max)


class _FiniteInterval(Interval):
    """An :class:`Interval` of finite numbers."""

    def is_satisfied_by(self, value):
        return super().is_satisfied_by(value) and math.isfinite(value)

    def __str__(self):
        return "a finite " + super().__str__().removeprefix("a ")


def optimizer_spec(optimizer):
    """``(class, keyword arguments)`` of a valid ``optimizer``: a name of
    ``_OPTIMIZERS`` (in any case) or a ``torch.optim.Optimizer`` subclass."""
    if isinstance(optimizer, str):
        return _OPTIMIZERS[optimizer.lower()]
    return optimizer, {}


def held_out_fraction(fraction, n_samples):
    """The validation fraction to hold out of ``n_samples`` (None: train on
    everything), refused when it would leave nothing to train on."""
    if fraction is None or fraction == 0:
        return None
    n_valid = math.ceil(fraction * n_samples)
    if n_samples - n_valid < 1:
        raise ValueError(
            f"validation_fraction={fraction} holds out {n_valid} of "
            f"n_samples={n_samples} samples, leaving none to train on; "
            "pass more samples, a smaller validation_fraction, or "
            "validation_fraction=None."
        )
    return fraction


def draw_seeds(random_state):
    """``(init_seed, split_seed, shuffle_seed)``: independent seeds for the
    initial weights, the validation split and the mini-batch shuffling, so
    that e.g. changing validation_fraction does not change the weights."""
    rng = check_random_state(random_state)
    return tuple(int(seed) for seed in rng.randint(_MAX_SEED, size=3))


# What each parameter accepts (checked first thing in fit and fit_many) and how
# to fix a bad value.
PARAMETER_CONSTRAINTS = {
    **WIDTH_CONSTRAINTS,
    # inf trains NaNs; above float32's largest value torch cannot hold it
    "lr": [_FiniteInterval(Real, 0, _FLOAT32_MAX, closed="right")],
    "max_epochs": [POSITIVE_INT],
    "batch_size": [POSITIVE_INT],
    "optimizer": [
        _Names(_OPTIMIZERS, ignore_case=True),
        _SubclassOf(torch.optim.Optimizer, "a torch.optim.Optimizer subclass"),
    ],
    "validation_fraction": [Interval(Real, 0, 1, closed="left"), None],
    "random_state": [None, RandomState()],
    "verbose": [Interval(Integral, 0, None)],
    "device": [
        _InstanceOf((str, torch.device), "a device name or torch.device"),
        Interval(Integral, 0, None),
        None,
    ],
    "callbacks": [
        None,
        _InstanceOf((list, tuple), "a list of skorch callbacks"),
        Options(("disable",)),
    ],
}
PARAMETER_FIXES = {
    **WIDTH_FIXES,
    "lr": "Pass a positive learning rate such as lr=1e-3 (the networks train "
    "in float32, whose largest value is about 3.4e38).",
    "max_epochs": "Pass e.g. max_epochs=50.",
    "batch_size": "Pass e.g. batch_size=32.",
    "optimizer": "Pass e.g. optimizer='rmsprop' (the paper's choice).",
    "validation_fraction": (
        "Pass e.g. validation_fraction=0.2, or None to train on all the data."
    ),
    "random_state": "Pass an int seed such as random_state=0, or None.",
    "verbose": "Pass verbose=0 for silent training or verbose=1 for a log.",
    "device": "Pass e.g. device='cpu' or device='cuda'.",
    "callbacks": (
        "Pass a list of skorch callbacks, e.g. [EpochScoring('accuracy')], or "
        "None."
    ),
}
