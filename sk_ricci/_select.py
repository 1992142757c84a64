"""Choosing the scale k: the curve of aggregated coefficients over a grid.

docs/method.md, section 5. :func:`select_n_neighbors` measures a group of
networks at every k of a grid (by default starting at the smallest k whose
kNN graph of the test set is connected, :func:`smallest_connected_n_neighbors`)
and picks the k where the pooled Ricci coefficient is most negative.
"""

import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._aggregate import aggregated_ricci_coefficient
from ._flow import _ricci_flow, import_pandas
from ._graph import graph_from_neighbors, kneighbors
from ._options import FlowOptions
from ._param_validation import Interval, validate_params
from ._validation import check_layers, check_n_neighbors, check_points, warn
from .exceptions import DisconnectedGraphWarning

__all__ = [
    "ScaleSelection",
    "select_n_neighbors",
    "smallest_connected_n_neighbors",
]


@dataclass(frozen=True)
class ScaleSelection:
    """Result of :func:`select_n_neighbors`.

    Attributes
    ----------
    n_neighbors_grid : ndarray of int
        The scales tried.
    coefficients : ndarray of float
        Aggregated coefficient at each scale (NaN where no network was
        connected).
    n_networks : ndarray of int
        Networks pooled at each scale.
    best_n_neighbors : int or None
        k* = argmin of the aggregated coefficient (None if all NaN).
    best_coefficient : float
        The aggregated coefficient at k*.
    results : list of list of RicciFlowResult
        ``results[i][j]``: network i at scale ``n_neighbors_grid[j]``.
    min_connected_n_neighbors : int or None
        Smallest k with a connected input graph, when ``X`` was given.

    Examples
    --------
    See :func:`select_n_neighbors`, which returns it.
    """

    n_neighbors_grid: np.ndarray
    coefficients: np.ndarray
    n_networks: np.ndarray
    best_n_neighbors: object
    best_coefficient: float
    results: list = field(repr=False)
    min_connected_n_neighbors: object = None

    def to_dict(self, *, include_results=False):
        """The curve and k* as plain Python values.

        Parameters
        ----------
        include_results : bool, default=False
            Also return ``results``, as a list (networks) of lists (scales) of
            :meth:`RicciFlowResult.to_dict` dicts.

        Returns
        -------
        selection : dict
            ``n_neighbors_grid``, ``coefficients`` and ``n_networks`` (lists),
            ``best_n_neighbors``, ``best_coefficient``,
            ``min_connected_n_neighbors`` (and ``results`` when asked).

        Examples
        --------
        >>> import numpy as np
        >>> from sk_ricci import ScaleSelection
        >>> sel = ScaleSelection(np.array([5, 10]), np.array([-0.2, -0.6]),
        ...                      np.array([3, 3]), 10, -0.6, [])
        >>> sel.to_dict()["coefficients"], sel.to_dict()["best_n_neighbors"]
        ([-0.2, -0.6], 10)
        """
        out = {
            "n_neighbors_grid": [int(k) for k in self.n_neighbors_grid],
            "coefficients": [float(c) for c in self.coefficients],
            "n_networks": [int(n) for n in self.n_networks],
            "best_n_neighbors": (
                None if self.best_n_neighbors is None else int(self.best_n_neighbors)
            ),
            "best_coefficient": float(self.best_coefficient),
            "min_connected_n_neighbors": (
                None
                if self.min_connected_n_neighbors is None
                else int(self.min_connected_n_neighbors)
            ),
        }
        if include_results:
            out["results"] = [[r.to_dict() for r in net] for net in self.results]
        return out

    def to_frame(self):
        """One row per scale k as a pandas DataFrame (pandas imported lazily).

        Columns: ``n_neighbors``, ``coefficient`` (the aggregated coefficient),
        ``n_networks`` (networks pooled) and ``best`` (True at k*).

        Examples
        --------
        >>> import numpy as np
        >>> from sk_ricci import ScaleSelection
        >>> ScaleSelection(np.array([5, 10]), np.array([-0.2, -0.6]),
        ...                np.array([3, 3]), 10, -0.6, []).to_frame()
           n_neighbors  coefficient  n_networks   best
        0            5         -0.2           3  False
        1           10         -0.6           3   True
        """
        return import_pandas().DataFrame({
            "n_neighbors": np.asarray(self.n_neighbors_grid, dtype=int),
            "coefficient": np.asarray(self.coefficients, dtype=float),
            "n_networks": np.asarray(self.n_networks, dtype=int),
            "best": np.asarray(self.n_neighbors_grid) == self.best_n_neighbors,
        })


def smallest_connected_n_neighbors(X, *, max_n_neighbors=None, symmetrize="max"):
    """Smallest k whose kNN graph of ``X`` is connected (None if none up to
    ``max_n_neighbors``), from one neighbour search and a bisection.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci import smallest_connected_n_neighbors
    >>> X = np.r_[np.arange(5.0), 100 + np.arange(5.0)].reshape(-1, 1)
    >>> smallest_connected_n_neighbors(X)
    5
    """
    from scipy.sparse.csgraph import connected_components

    X = check_points(X)
    validate_params(
        {"max_n_neighbors": max_n_neighbors},
        {"max_n_neighbors": [None, Interval(numbers.Integral, 1, None)]},
        "smallest_connected_n_neighbors",
        fixes={"max_n_neighbors": "Pass e.g. max_n_neighbors=50, or None for n - 1."},
    )
    n = X.shape[0]
    kmax = n - 1 if max_n_neighbors is None else int(max_n_neighbors)
    check_n_neighbors(kmax, n, name="max_n_neighbors")
    idx, _ = kneighbors(X, kmax, validate=False)

    def connected(k):
        G = graph_from_neighbors(idx, k, symmetrize=symmetrize)
        return connected_components(G, directed=False, return_labels=False) == 1

    if not connected(kmax):
        return None
    lo, hi = 1, kmax
    while lo < hi:
        mid = (lo + hi) // 2
        if connected(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def select_n_neighbors(
    networks,
    n_neighbors=None,
    *,
    X=None,
    max_fraction=0.25,
    n_grid=12,
    symmetrize="max",
    connect=None,
    algorithm="auto",
    random_state=None,
    n_jobs=None,
):
    """Choose the scale k as in the paper: argmin of the aggregated coefficient.

    Parameters
    ----------
    networks : list of list of array-like
        For each network of a group (same data, width, depth), its list of
        hidden-layer activations of the same test set.
    n_neighbors : list of int, default=None
        The grid. None builds one: from the smallest k for which the kNN graph
        of ``X`` (the input test set; the first layer of the first network if
        ``X`` is None) is connected, up to ``max_fraction * n_samples``,
        ``n_grid`` values spaced geometrically.
    X : array-like of shape (n_samples, n_features), default=None
        The input test set, used to find the smallest connected k.
    max_fraction : float, default=0.25
        Largest k of the default grid as a share of n_samples (the paper goes
        up to ~20-25%).
    n_grid : int, default=12
        Size of the default grid.
    symmetrize, connect, algorithm, random_state, n_jobs
        Passed to :func:`ricci_flow`.

    Returns
    -------
    selection : ScaleSelection
        The whole curve (``n_neighbors_grid``, ``coefficients``), k* and the
        per-network results.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci import select_n_neighbors
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(50, 3))
    >>> nets = [[np.maximum(X @ rng.normal(size=(3, 6)), 0) for _ in range(5)]
    ...         for _ in range(2)]
    >>> sel = select_n_neighbors(nets, [10, 15, 20], X=X, connect="mst")
    >>> sel.n_neighbors_grid.tolist(), sel.coefficients.shape
    ([10, 15, 20], (3,))
    >>> sel.best_n_neighbors in (10, 15, 20)
    True
    """
    options = FlowOptions.checked(
        "select_n_neighbors", symmetrize=symmetrize, connect=connect,
        algorithm=algorithm, random_state=random_state, n_jobs=n_jobs,
    )
    validate_params(
        {"max_fraction": max_fraction, "n_grid": n_grid},
        {"max_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
         "n_grid": [Interval(numbers.Integral, 1, None)]},
        "select_n_neighbors",
        fixes={"max_fraction": "Pass e.g. max_fraction=0.25.",
               "n_grid": "Pass e.g. n_grid=12."},
    )
    networks = _check_networks(networks)
    grid, k_min = _scale_grid(
        networks[0][0], n_neighbors, X, max_fraction, n_grid, symmetrize
    )
    results = [_ricci_flow(layers, grid.tolist(), options) for layers in networks]
    coefs, counts = _aggregated_curve(results, grid.size)
    best_k, best_c = _best_scale(grid, coefs)
    return ScaleSelection(grid, coefs, counts, best_k, best_c, results, k_min)


def _check_networks(networks):
    """Every network's validated layers; all on the same test set."""
    networks = [check_layers(layers, min_layers=3) for layers in networks]
    if not networks:
        raise ValueError("networks is empty; pass one list of layers per network")
    n = networks[0][0].shape[0]
    for i, layers in enumerate(networks[1:], start=2):
        if layers[0].shape[0] != n:
            raise ValueError(
                f"network {i} has {layers[0].shape[0]} samples, network 1 has "
                f"{n}; all networks must be measured on the same test set"
            )
    return networks


def _check_test_set(X, n):
    X = check_points(X)
    if X.shape[0] != n:
        raise ValueError(
            f"X has {X.shape[0]} samples, the layers have {n}; pass the "
            "test set whose activations the layers hold"
        )
    return X


def _scale_grid(first_layer, n_neighbors, X, max_fraction, n_grid, symmetrize):
    """The grid of k and the smallest connected k (None when not computed):
    ``n_neighbors`` as given, or the default geometric grid."""
    n = first_layer.shape[0]
    if n_neighbors is not None:
        grid = np.array(check_n_neighbors(n_neighbors, n)[0], dtype=int)
        if X is None:
            return grid, None
        X = _check_test_set(X, n)
        return grid, smallest_connected_n_neighbors(X, symmetrize=symmetrize)
    k_max = max(1, min(n - 1, int(max_fraction * n)))
    ref = first_layer if X is None else _check_test_set(X, n)
    k_min = smallest_connected_n_neighbors(
        ref, max_n_neighbors=k_max, symmetrize=symmetrize
    )
    if k_min is None:
        raise ValueError(
            f"the kNN graph of X is disconnected for every k up to "
            f"max_fraction * n_samples = {k_max}; raise max_fraction or pass "
            "an explicit n_neighbors grid (with connect='mst')"
        )
    grid = np.unique(np.round(np.geomspace(k_min, k_max, n_grid)).astype(int))
    return grid, k_min


def _aggregated_curve(results, n_scales):
    """Aggregated coefficient and networks pooled at every scale."""
    coefs, counts = [], []
    for j in range(n_scales):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DisconnectedGraphWarning)
            agg = aggregated_ricci_coefficient([r[j] for r in results])
        coefs.append(agg.coefficient)
        counts.append(agg.n_networks)
    return np.array(coefs, dtype=float), np.array(counts)


def _best_scale(grid, coefs):
    """k* = argmin of the curve and its coefficient (None, NaN if all NaN)."""
    if np.isfinite(coefs).any():
        best = int(np.nanargmin(coefs))
        return int(grid[best]), float(coefs[best])
    warn(
        "no scale in the grid had a connected graph in every layer of any "
        "network; pass connect='mst' or larger n_neighbors",
        DisconnectedGraphWarning,
    )
    return None, np.nan
