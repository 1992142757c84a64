"""Reductions of wide layers before their kNN graphs (opt-in).

- **Global average pooling** of a convolutional feature map ``(n, C, H, W)``
  gives ``(n, C)``: each channel's mean over the spatial positions. It keeps
  what each channel detects, not where: two images whose maps are shifted
  copies of each other pool to the same point. It is the usual reduction in
  representation-geometry work on convolutional networks, and the distances
  between pooled points are not those between whole maps, so the flow of a
  pooled network is a different (coarser) measurement than the flow of its
  flattened maps.
- **Gaussian random projection** to ``m`` dimensions: ``X @ R / sqrt(m)``
  with ``R`` standard normal. For ``n`` points it keeps every pairwise
  squared distance within a factor ``1 +- eps`` with probability at least
  ``1 - 1/n`` (Johnson-Lindenstrauss; Achlioptas, "Database-friendly random
  projections", 2003, Theorem 1 with beta = 1) when
  ``m >= 6 ln(n) / (eps**2 / 2 - eps**3 / 3)``; :func:`jl_distortion` gives
  that ``eps`` for a chosen ``m``. A kNN graph is unchanged when, at every
  point, the (k+1)-th nearest distance exceeds the k-th by more than that
  factor; where neighbours are nearly tied, projection may swap them.
"""

import math
import numbers

import numpy as np
import torch
from scipy.optimize import brentq
from sklearn.utils import check_random_state

__all__ = ["global_average_pool", "jl_distortion"]

#: ``reduce=`` values of :func:`~sk_ricci.nn.stream_layer_activations`
POOLING_OPTIONS = (None, "mean")


def jl_distortion(n_samples, n_components):
    """Distortion ``eps`` that a Gaussian random projection guarantees.

    A Gaussian random projection of ``n_samples`` points to ``n_components``
    dimensions keeps every pairwise squared distance within
    ``[(1 - eps), (1 + eps)]`` times the original, with probability at least
    ``1 - 1 / n_samples``, for the ``eps`` in (0, 1) that solves
    ``n_components = 6 ln(n_samples) / (eps**2 / 2 - eps**3 / 3)``
    (the Johnson-Lindenstrauss lemma in the form of Achlioptas, 2003,
    Theorem 1 with beta = 1; scikit-learn's
    ``johnson_lindenstrauss_min_dim`` states the same bound with 4 instead
    of 6, which guarantees only a positive probability). Distances
    themselves then stay within ``[sqrt(1 - eps), sqrt(1 + eps)]``.

    Parameters
    ----------
    n_samples : int
        Number of points (at least 2).
    n_components : int
        Dimension of the projection (at least 1).

    Returns
    -------
    eps : float
        The guaranteed distortion, or ``inf`` when ``n_components`` is below
        ``36 ln(n_samples)`` and no ``eps < 1`` is guaranteed.

    Examples
    --------
    >>> from sk_ricci.nn import jl_distortion
    >>> round(jl_distortion(5000, 1024), 3)
    0.363
    >>> jl_distortion(5000, 256)  # below 36 ln(5000) = 307: no guarantee
    inf
    """
    for name, value, low in (("n_samples", n_samples, 2), ("n_components", n_components, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(
                f"{name} must be an int >= {low}; got {value!r}. Pass e.g. "
                f"{name}={max(low, 100)}."
            )
    target = 6.0 * math.log(n_samples) / n_components
    if target >= 1.0 / 6.0:  # eps**2/2 - eps**3/3 reaches only 1/6 at eps = 1
        return math.inf
    return brentq(lambda e: e * e / 2 - e ** 3 / 3 - target, 0.0, 1.0, xtol=1e-14)


def global_average_pool(X):
    """Global average pooling: ``(n, C, H, W)`` (or any ``(n, C, ...)``) to
    ``(n, C)``, each channel's mean over its other axes; a 2-D array is
    returned as it is.

    Parameters
    ----------
    X : ndarray or torch.Tensor of shape (n_samples, channels, ...)

    Returns
    -------
    pooled : same type, shape (n_samples, channels)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci.nn import global_average_pool
    >>> global_average_pool(np.arange(8.0).reshape(1, 2, 2, 2))
    array([[1.5, 5.5]])
    """
    if X.ndim <= 2:
        return X
    axes = tuple(range(2, X.ndim))
    if isinstance(X, torch.Tensor):
        return X.mean(dim=axes)
    return np.asarray(X).mean(axis=axes)


def pooled_float64(output):
    """Global average pooling of one hooked output, as a float64 CPU tensor.

    The same numbers as ``global_average_pool(output.to(torch.float64))`` (a
    float64 sum of each channel's values), without the float64 copy of the
    whole map, which costs more than the pooling: a CPU tensor of float32 or
    float64 is summed by numpy in float64 straight from its values (5 times
    faster on a ResNet block's map); other dtypes and devices are converted
    first. A ``channels_last`` map is averaged in its own memory order."""
    if output.ndim <= 2:
        return output.to(device="cpu", dtype=torch.float64)
    if output.device.type != "cpu" or output.dtype not in (torch.float32, torch.float64):
        return global_average_pool(output.to(dtype=torch.float64)).to("cpu")
    n, c = output.shape[:2]
    if output.ndim == 4 and not output.is_contiguous() and output.is_contiguous(
        memory_format=torch.channels_last
    ):
        # (n, H, W, C) in memory: average over the middle axis, no copy
        positions = output.permute(0, 2, 3, 1).numpy().reshape(n, -1, c)
        return torch.from_numpy(positions.mean(axis=1, dtype=np.float64))
    rows = output.contiguous().numpy().reshape(n * c, -1)
    return torch.from_numpy(rows.mean(axis=1, dtype=np.float64).reshape(n, c))


def projection_matrices(widths, n_components, random_state):
    """One ``(width, n_components)`` Gaussian matrix scaled by
    ``1/sqrt(n_components)`` per layer, drawn in layer order from one
    generator; None for a layer no wider than ``n_components`` (kept as it
    is)."""
    rng = check_random_state(random_state)
    out = []
    for width in widths:
        if n_components is None or width <= n_components:
            out.append(None)
            continue
        out.append(rng.standard_normal((width, n_components)) / math.sqrt(n_components))
    return out
