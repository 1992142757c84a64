"""Torch and skorch side of sk_ricci: ReLU networks and their hidden layers.

This subpackage is the only part of sk_ricci that imports torch and skorch;
``import sk_ricci`` alone never does.
"""

try:
    import skorch  # noqa: F401
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"sk_ricci.nn needs torch and skorch, which could not be imported ({exc}). "
        "Install them with `pip install torch skorch` (a plain `pip install "
        "sk-ricci` brings both)."
    ) from exc

from sk_ricci.nn._activations import LayerActivations, layer_activations
from sk_ricci.nn._batched import fit_many
from sk_ricci.nn._classifier import ReLUMLPClassifier
from sk_ricci.nn._module import ReLUMLP
from sk_ricci.nn._reduce import global_average_pool, jl_distortion
from sk_ricci.nn._stream import stream_layer_activations

__all__ = [
    "LayerActivations",
    "ReLUMLP",
    "ReLUMLPClassifier",
    "fit_many",
    "global_average_pool",
    "jl_distortion",
    "layer_activations",
    "stream_layer_activations",
]
