"""The feed-forward ReLU network studied in the paper, as a ``torch.nn.Module``."""

from numbers import Integral

import torch
from torch import nn
from torch.nn.utils import skip_init

from sk_ricci._param_validation import (
    Constraint,
    Interval,
    IntList,
    validate_params,
)

# Widths of the paper's three architectures (docs/networks.md).
_NARROW_WIDTH = 25
_WIDE_WIDTH = 50
_ARCHITECTURES = ("narrow", "wide", "bottleneck")


class _Names(Constraint):
    """One of a few names: any ``str`` (``numpy.str_`` too), compared
    case-insensitively when ``ignore_case``."""

    def __init__(self, names, *, ignore_case=False):
        self.names, self.ignore_case = tuple(names), ignore_case

    def is_satisfied_by(self, value):
        if not isinstance(value, str):
            return False
        return (value.lower() if self.ignore_case else value) in self.names

    def __str__(self):
        text = "one of " + ", ".join(repr(name) for name in self.names)
        return text + " (in any case)" if self.ignore_case else text


POSITIVE_INT = Interval(Integral, 1, None)

# What the width arguments accept, declared once for ReLUMLP and
# ReLUMLPClassifier, and how to fix a bad value. architecture and depth are
# checked even when hidden_layer_sizes makes them unused, so that a typo never
# passes silently.
WIDTH_CONSTRAINTS = {
    "hidden_layer_sizes": [None, POSITIVE_INT, IntList(1)],
    "architecture": [_Names(_ARCHITECTURES)],
    "depth": [POSITIVE_INT],
}
WIDTH_FIXES = {
    "hidden_layer_sizes": (
        "Pass e.g. hidden_layer_sizes=(50, 25, 50), or hidden_layer_sizes=None "
        "to use the architecture preset."
    ),
    "architecture": (
        "Pass one of these presets, or give explicit widths with "
        "hidden_layer_sizes=(...)."
    ),
    "depth": (
        "Pass the number of hidden layers, e.g. depth=5 or depth=11 as in the "
        "paper."
    ),
}


def resolve_hidden_layer_sizes(hidden_layer_sizes, architecture, depth):
    """The hidden widths, as a tuple of ints, of valid arguments (see
    ``WIDTH_CONSTRAINTS``): ``hidden_layer_sizes`` when given (one int is one
    layer), otherwise the preset ``architecture`` with ``depth`` layers."""
    if hidden_layer_sizes is not None:
        if isinstance(hidden_layer_sizes, Integral):
            return (int(hidden_layer_sizes),)
        return tuple(int(width) for width in hidden_layer_sizes)
    if architecture == "narrow":
        return (_NARROW_WIDTH,) * depth
    sizes = [_WIDE_WIDTH] * depth
    if architecture == "bottleneck":
        sizes[depth // 2] = _NARROW_WIDTH
    return tuple(sizes)


class ReLUMLP(nn.Module):
    """Feed-forward network of ``Linear -> ReLU`` hidden layers and a linear output.

    The hidden widths come either from ``hidden_layer_sizes`` or from one of the
    paper's presets: ``"narrow"`` (every hidden layer 25 wide), ``"wide"`` (every
    layer 50 wide) or ``"bottleneck"`` (50 wide, except a 25-wide layer at index
    ``depth // 2``). Weights are Glorot-uniform and biases zero, as keras does by
    default. The forward pass returns raw logits of shape ``(n_samples,
    n_outputs)``; use one output for a binary problem (sigmoid / binary
    cross-entropy) and ``n_classes`` outputs otherwise (softmax / cross-entropy).

    Every hidden layer has its own ``torch.nn.ReLU`` instance, so
    :func:`~sk_ricci.nn.layer_activations` (or any forward hook) can read each
    layer's output.

    Parameters
    ----------
    input_dim : int
        Number of input features, ``n_features``.
    n_outputs : int
        Number of output logits.
    hidden_layer_sizes : tuple of int, default=None
        Explicit hidden widths. When given, ``architecture`` and ``depth`` are
        ignored (but still validated).
    architecture : {"narrow", "wide", "bottleneck"}, default="wide"
        Preset used when ``hidden_layer_sizes`` is None.
    depth : int, default=5
        Number of hidden layers of the preset. The paper uses 5 and 11.
    generator : torch.Generator, default=None
        Source of the initial weights. None uses torch's global generator, as
        torch's own layers do; a seeded ``torch.Generator`` gives reproducible
        weights and leaves the global random state untouched.

    Attributes
    ----------
    hidden_layer_sizes : tuple of int
        The resolved hidden widths, one per hidden layer.
    hidden : torch.nn.Sequential
        ``Linear, ReLU, Linear, ReLU, ...``: the hidden layers.
    output : torch.nn.Linear
        The output layer (no activation).

    Examples
    --------
    >>> import torch
    >>> from sk_ricci.nn import ReLUMLP
    >>> net = ReLUMLP(3, 1, architecture="bottleneck", depth=5)
    >>> net.hidden_layer_sizes
    (50, 50, 25, 50, 50)
    >>> net(torch.zeros(4, 3)).shape
    torch.Size([4, 1])
    """

    def __init__(
        self,
        input_dim,
        n_outputs,
        hidden_layer_sizes=None,
        architecture="wide",
        depth=5,
        *,
        generator=None,
    ):
        super().__init__()
        validate_params(
            {
                "input_dim": input_dim,
                "n_outputs": n_outputs,
                "architecture": architecture,
                "depth": depth,
                "hidden_layer_sizes": hidden_layer_sizes,
            },
            {
                "input_dim": [POSITIVE_INT],
                "n_outputs": [POSITIVE_INT],
                **WIDTH_CONSTRAINTS,
            },
            "ReLUMLP",
            fixes=WIDTH_FIXES,
        )
        self.input_dim = int(input_dim)
        self.n_outputs = int(n_outputs)
        self.hidden_layer_sizes = resolve_hidden_layer_sizes(
            hidden_layer_sizes, architecture, depth
        )
        layers = []
        in_features = self.input_dim
        for width in self.hidden_layer_sizes:
            # skip_init: allocate without drawing torch's default init (which would
            # consume the global random state); reset_parameters fills them.
            layers.append(skip_init(nn.Linear, in_features, width))
            layers.append(nn.ReLU())
            in_features = width
        self.hidden = nn.Sequential(*layers)
        self.output = skip_init(nn.Linear, in_features, self.n_outputs)
        self.reset_parameters(generator=generator)

    def reset_parameters(self, generator=None):
        """Draw Glorot-uniform weights and set every bias to zero.

        Parameters
        ----------
        generator : torch.Generator, default=None
            Source of randomness. None uses torch's global generator; pass a
            seeded ``torch.Generator`` for reproducible weights that leave the
            global random state untouched.

        Returns
        -------
        self : ReLUMLP
            The module, re-initialised in place.
        """
        with torch.no_grad():
            for layer in self.modules():
                if isinstance(layer, nn.Linear):
                    nn.init.xavier_uniform_(layer.weight, generator=generator)
                    nn.init.zeros_(layer.bias)
        return self

    def forward(self, X):
        """Return the output logits, shape ``(n_samples, n_outputs)``."""
        return self.output(self.hidden(X))
