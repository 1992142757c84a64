"""List of layers -> Ricci-flow coefficients (PAPER_SPEC sections 4 and 5)."""

import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from ._curvature import CURVATURE_KINDS, _total_edge_curvature
from ._geodesics import _geodesic_mass, _geodesic_mass_csr
from ._graph import (
    _blas_controller,
    _kneighbors_sq,
    _resolve_algorithm,
    add_edges,
    graph_from_neighbors,
    kneighbors,
)
from ._kernels import euclidean_mst, forman_total, n_threads, symmetric_knn_csr
from ._validation import (
    ALGORITHM_OPTIONS,
    CONNECT_OPTIONS,
    SYMMETRIZE_OPTIONS,
    check_layers,
    check_n_neighbors,
    check_option,
    check_points,
    warn,
)
from .exceptions import (
    DisconnectedGraphError,
    DisconnectedGraphWarning,
    UndefinedCoefficientWarning,
)

__all__ = [
    "AggregatedCoefficient",
    "RicciFlow",
    "RicciFlowResult",
    "ScaleSelection",
    "aggregated_ricci_coefficient",
    "ricci_flow",
    "select_n_neighbors",
]

ON_DISCONNECTED_OPTIONS = ("nan", "raise")
CURVATURE_OPTIONS = CURVATURE_KINDS


@dataclass(frozen=True)
class RicciFlowResult:
    """Ricci-flow measurement of one network at one scale ``n_neighbors``.

    Attributes
    ----------
    n_neighbors : int
        The scale k.
    total_curvature : ndarray of shape (n_layers,)
        Ric_l, total Forman-Ricci curvature of each layer's graph (Eq. 6).
    geodesic_mass : ndarray of shape (n_layers,)
        g_l, sum of hop distances over ordered pairs (Eq. 7); inf where the
        layer's graph is disconnected.
    eta : ndarray of shape (n_layers - 1,)
        eta_l = g_{l+1} - g_l (NaN where either layer is disconnected).
    coefficient : float
        rho, the Pearson correlation of (eta_l, Ric_l) over l = 1..L-1
        (Eq. 8); negative is Ricci-flow-like. NaN if undefined.
    adjusted_paper : float
        arctanh(rho) / sqrt(L - 4), Eq. 11 as printed; NaN for L <= 4.
    adjusted_fisher : float
        arctanh(rho) * sqrt(L - 4), the standard Fisher z statistic; NaN for
        L <= 4.
    connected : ndarray of bool, shape (n_layers,)
        Whether each layer's graph is connected.
    n_components : ndarray of int, shape (n_layers,)
        Connected components of each layer's graph.
    symmetrize, connect : str or None
        Graph options used.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci import ricci_flow
    >>> X = np.random.RandomState(0).normal(size=(40, 3))
    >>> res = ricci_flow([X, 2 * X, 3 * X + 1, X ** 2, np.abs(X)], 6,
    ...                  connect="mst")
    >>> res.n_layers, res.all_connected, res.eta.shape
    (5, True, (4,))
    """

    n_neighbors: int
    total_curvature: np.ndarray
    geodesic_mass: np.ndarray
    eta: np.ndarray
    coefficient: float
    adjusted_paper: float
    adjusted_fisher: float
    connected: np.ndarray
    n_components: np.ndarray
    symmetrize: str = "max"
    connect: object = None

    @property
    def n_layers(self):
        return int(self.total_curvature.size)

    @property
    def all_connected(self):
        """True when every layer's graph is connected."""
        return bool(np.all(self.connected))

    def __repr__(self):
        return (
            f"RicciFlowResult(n_neighbors={self.n_neighbors}, "
            f"n_layers={self.n_layers}, coefficient={self.coefficient:.4g}, "
            f"adjusted_paper={self.adjusted_paper:.4g}, "
            f"all_connected={self.all_connected})"
        )


def _pearson(x, y):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    xc = x - x.mean()
    yc = y - y.mean()
    den = np.sqrt((xc @ xc) * (yc @ yc))
    if not np.isfinite(den) or den == 0:
        return np.nan
    return float(np.clip((xc @ yc) / den, -1.0, 1.0))


def _adjusted(rho, n_layers):
    if n_layers <= 4 or not np.isfinite(rho):
        return np.nan, np.nan
    with np.errstate(divide="ignore"):
        z = float(np.arctanh(rho))
    return z / np.sqrt(n_layers - 4), z * np.sqrt(n_layers - 4)


def _coefficients(ric, mass, n_neighbors, on_disconnected, n_components):
    L = ric.size
    connected = n_components == 1
    with np.errstate(invalid="ignore"):
        eta = np.diff(mass)
    eta[~(connected[1:] & connected[:-1])] = np.nan
    if not connected.all():
        bad = [int(i) + 1 for i in np.flatnonzero(~connected)]
        msg = (
            f"the kNN graph at n_neighbors={n_neighbors} is disconnected in "
            f"layer(s) {bad} ({', '.join(str(int(c)) for c in n_components[~connected])}"
            " components); geodesic distances between components are infinite, "
            "so the Ricci coefficient is undefined (NaN), as in the paper. To get "
            "a number, pass connect='mst' (adds the Euclidean minimum spanning "
            "tree to each graph) or a larger n_neighbors (see "
            "sk_ricci.select_n_neighbors)"
        )
        if on_disconnected == "raise":
            raise DisconnectedGraphError(msg)
        warn(msg, DisconnectedGraphWarning)
        return eta, np.nan, np.nan, np.nan
    rho = _pearson(eta, ric[:-1])
    if not np.isfinite(rho):
        warn(
            f"the Ricci coefficient at n_neighbors={n_neighbors} is undefined: "
            "eta or the total curvature is constant over the layers",
            UndefinedCoefficientWarning,
        )
    if L <= 4:
        warn(
            f"the adjusted coefficients need more than 4 layers (got {L}): "
            "arctanh(rho) is scaled by sqrt(L - 4); they are NaN",
            UndefinedCoefficientWarning,
        )
    paper, fisher = _adjusted(rho, L)
    return eta, rho, paper, fisher


def check_flow_options(symmetrize, curvature, connect, on_disconnected, algorithm):
    """Validate the graph and coefficient options shared by :func:`ricci_flow`
    and :class:`~sk_ricci.RicciFlowScorer`."""
    check_option(symmetrize, SYMMETRIZE_OPTIONS, "symmetrize")
    check_option(curvature, CURVATURE_OPTIONS, "curvature")
    check_option(connect, CONNECT_OPTIONS, "connect")
    check_option(on_disconnected, ON_DISCONNECTED_OPTIONS, "on_disconnected")
    check_option(algorithm, ALGORITHM_OPTIONS, "algorithm")


def _layer_measures(
    X, ks, symmetrize, connect, augmented, algorithm, random_state, n_jobs,
    serial=False,
):
    """Ric_l, g_l and component counts of one layer for every k.
    ``augmented``: the curvature kind (a name of ``CURVATURE_OPTIONS``; a
    bool means augmented Forman or not).
    ``serial``: every kernel on the calling thread, without the GIL (layers
    then run in threads, see :func:`_measure_layers`)."""
    kind = augmented
    if isinstance(kind, bool):
        kind = "augmented_forman" if kind else "forman"
    # a grid needs sorted lists (prefixes), the MST needs exact distances
    sort = len(set(ks)) > 1 or connect == "mst"
    idx, sqd = _kneighbors_sq(
        X, max(ks), algorithm, "euclidean", random_state, n_jobs, sort, serial
    )
    mst = (
        euclidean_mst(X, idx, sqd, n_jobs, serial) if connect == "mst" else None
    )
    mode = SYMMETRIZE_OPTIONS.index(symmetrize)
    idx = np.ascontiguousarray(idx, dtype=np.int64)
    n = X.shape[0]
    out = []
    for k in ks:
        # graphs built here are valid by construction: no re-validation, and
        # no sparse matrix unless the MST or the triangles need one
        indptr, cols, data = symmetric_knn_csr(idx, k, mode)
        if mst is None and kind == "forman":
            ric = forman_total(indptr, data)
            g = _geodesic_mass_csr(indptr, cols, n_jobs, serial=serial)
        else:
            G = sp.csr_matrix((data, cols, indptr), shape=(n, n))
            if mst is not None:
                G = add_edges(G, mst)
            ric = _total_edge_curvature(G, kind)
            g = _geodesic_mass(G, n_jobs, serial=serial)
        out.append((ric, g.total, g.n_components))
    return out


#: up to this many samples, ``n_jobs > 1`` runs whole layers in threads (each
#: on one core) instead of splitting every kernel: small layers leave little
#: to split (the geodesic BFS runs on one thread below this size anyway)
LAYER_THREADS_MAX_SAMPLES = 4096


def _measure_layers(
    layers, ks, symmetrize, connect, augmented, algorithm, random_state, n_jobs
):
    """:func:`_layer_measures` of every layer, in threads when that pays.

    Kernels are deterministic and sums are integers, so the result does not
    depend on how the work is split.
    """
    threads = n_threads(n_jobs)
    n = layers[0].shape[0]
    args = (symmetrize, connect, augmented, algorithm, random_state)
    workers = min(threads, len(layers))
    if (
        workers < 2
        or n > LAYER_THREADS_MAX_SAMPLES
        or _resolve_algorithm(algorithm, n, max(ks)) != "brute"
    ):
        return [_layer_measures(X, ks, *args, n_jobs) for X in layers]
    # one BLAS thread per worker (the Gram products run in the workers)
    with (
        _blas_controller().limit(limits=1, user_api="blas"),
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        return list(
            pool.map(
                lambda X: _layer_measures(X, ks, *args, None, serial=True), layers
            )
        )


def ricci_flow(
    layers,
    n_neighbors,
    *,
    symmetrize="max",
    curvature="forman",
    connect=None,
    on_disconnected="nan",
    algorithm="auto",
    random_state=None,
    n_jobs=None,
):
    """Measure how a network's layers follow a discrete Ricci flow.

    For every hidden layer l, build the kNN graph of its activations, compute
    its total Forman-Ricci curvature Ric_l and geodesic mass g_l, then
    correlate eta_l = g_{l+1} - g_l with Ric_l over l = 1..L-1 (the Ricci
    coefficient rho of Baptista et al., Eq. 8).

    Parameters
    ----------
    layers : list of array-like of shape (n_samples, n_features_l)
        Hidden-layer activations of the same samples (for example from
        :func:`sk_ricci.nn.layer_activations`), in order. At least 3.
    n_neighbors : int or list of int
        The scale k. A list gives one result per k from one neighbour search
        per layer.
    symmetrize : {"max", "min", "sum"}, default="max"
        Graph convention (see :func:`sk_ricci.knn_graph`); "sum" reproduces
        the magnitudes of the paper's figures.
    curvature : {"forman", "augmented_forman", "approx_ollivier", "ollivier"}, \
default="forman"
        Edge curvature R(i, j), summed over the edges (with multiplicity) into
        Ric_l: "forman" is the paper's 4 - d_i - d_j; "augmented_forman" adds
        3 x the triangles through the edge; "approx_ollivier" is Tian et al.'s
        closed-form approximation of the Ollivier-Ricci curvature
        (:func:`sk_ricci.approx_ollivier_curvature`); "ollivier" the exact
        Ollivier-Ricci curvature with idleness 1/2
        (:func:`sk_ricci.ollivier_curvature`; one transport problem per edge,
        far slower, see ``docs/method.md``).
    connect : {None, "mst"}, default=None
        None follows the paper (a disconnected layer makes rho NaN). "mst"
        adds each layer's Euclidean minimum spanning tree to its graph, so
        every graph is connected and separated classes stay joined by long
        edges whose stretching the flow measures.
    on_disconnected : {"nan", "raise"}, default="nan"
        With a disconnected layer: NaN coefficients and a
        :class:`~sk_ricci.exceptions.DisconnectedGraphWarning`, or raise
        :class:`~sk_ricci.exceptions.DisconnectedGraphError`.
    algorithm : {"auto", "brute", "nndescent"}, default="auto"
        Neighbour search (see :func:`sk_ricci.knn_graph`).
    random_state : int, RandomState instance or None, default=None
        Seed of the approximate search.
    n_jobs : int, default=None
        Threads (None: 1, -1: all cores). Up to 4,096 samples with the exact
        search, whole layers run in threads, one core each; above, every
        numba kernel (neighbour search, minimum spanning tree, geodesic sums)
        splits its work. Results do not depend on it. On 2 cores, scoring
        the 11 layers of 1,000 points at k = 200 takes 0.039 s with
        ``n_jobs=2`` against 0.054 s on one thread.

    Returns
    -------
    result : RicciFlowResult or list of RicciFlowResult
        One per value of ``n_neighbors`` (a list when a list was passed).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci import ricci_flow
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 3))
    >>> layers = [np.maximum(X @ rng.normal(size=(3, 8)), 0) + 0.01 * i
    ...           for i in range(5)]
    >>> res = ricci_flow(layers, n_neighbors=10)
    >>> res.total_curvature.shape, res.eta.shape
    ((5,), (4,))
    >>> -1 <= res.coefficient <= 1
    True
    """
    layers = check_layers(layers)
    L = len(layers)
    if L < 3:
        raise ValueError(
            f"got {L} layer(s); the Ricci coefficient correlates the L-1 "
            "geodesic changes with the curvatures and needs at least 3 layers "
            "(the paper uses 5 and 11)"
        )
    n = layers[0].shape[0]
    ks, scalar = check_n_neighbors(n_neighbors, n)
    check_flow_options(symmetrize, curvature, connect, on_disconnected, algorithm)
    per_layer = _measure_layers(
        layers, ks, symmetrize, connect, curvature, algorithm, random_state, n_jobs
    )
    results = []
    for j, k in enumerate(ks):
        ric = np.array([m[j][0] for m in per_layer])
        mass = np.array([m[j][1] for m in per_layer])
        ncomp = np.array([m[j][2] for m in per_layer], dtype=np.int64)
        eta, rho, paper, fisher = _coefficients(
            ric, mass, k, on_disconnected, ncomp
        )
        results.append(
            RicciFlowResult(
                n_neighbors=k, total_curvature=ric, geodesic_mass=mass, eta=eta,
                coefficient=rho, adjusted_paper=paper, adjusted_fisher=fisher,
                connected=ncomp == 1, n_components=ncomp, symmetrize=symmetrize,
                connect=connect,
            )
        )
    return results[0] if scalar else results


@dataclass(frozen=True)
class AggregatedCoefficient:
    """Result of :func:`aggregated_ricci_coefficient`.

    Attributes
    ----------
    coefficient : float
        Pearson correlation over the pooled (eta_l, Ric_l) pairs.
    n_networks : int
        Networks pooled (all layers connected).
    n_skipped : int
        Networks skipped because a layer graph was disconnected.
    n_points : int
        Pooled (eta_l, Ric_l) pairs.

    Examples
    --------
    See :func:`aggregated_ricci_coefficient`; ``float(result)`` is the
    coefficient.
    """

    coefficient: float
    n_networks: int
    n_skipped: int
    n_points: int

    def __float__(self):
        return float(self.coefficient)


def aggregated_ricci_coefficient(results):
    """One Ricci coefficient for a group of networks (the paper's Fig. 3).

    Pools the (eta_l, Ric_l) pairs of every network (same data, width, depth
    and k) and takes one Pearson correlation. Networks with a disconnected
    layer graph are skipped, with a warning saying how many.

    Parameters
    ----------
    results : list of RicciFlowResult
        One per network, all at the same ``n_neighbors``.

    Returns
    -------
    aggregated : AggregatedCoefficient

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci import RicciFlowResult, aggregated_ricci_coefficient
    >>> def net(ric, mass):
    ...     ric, mass = np.array(ric, float), np.array(mass, float)
    ...     return RicciFlowResult(5, ric, mass, np.diff(mass), np.nan, np.nan,
    ...                            np.nan, np.ones(3, bool), np.ones(3, int))
    >>> agg = aggregated_ricci_coefficient([net([-1, -2, 0], [10, 9, 7]),
    ...                                     net([-3, 0, 0], [20, 18, 18])])
    >>> round(agg.coefficient, 6), agg.n_networks, agg.n_points
    (0.94388, 2, 4)
    """
    results = list(results)
    if not results:
        raise ValueError("results is empty; pass one RicciFlowResult per network")
    ks = {r.n_neighbors for r in results}
    if len(ks) > 1:
        raise ValueError(
            f"results mix several n_neighbors {sorted(ks)}; aggregate the "
            "networks of one scale at a time"
        )
    kept = [r for r in results if r.all_connected]
    skipped = len(results) - len(kept)
    if skipped:
        warn(
            f"{skipped} of {len(results)} network(s) have a disconnected layer "
            f"graph at n_neighbors={ks.pop()} and were skipped",
            DisconnectedGraphWarning,
        )
    if not kept:
        return AggregatedCoefficient(np.nan, 0, skipped, 0)
    eta = np.concatenate([r.eta for r in kept])
    ric = np.concatenate([r.total_curvature[:-1] for r in kept])
    return AggregatedCoefficient(_pearson(eta, ric), len(kept), skipped, eta.size)


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
    k_min = None
    if n_neighbors is None:
        if not 0 < max_fraction < 1:
            raise ValueError(f"max_fraction={max_fraction} must be in (0, 1)")
        k_max = max(1, min(n - 1, int(max_fraction * n)))
        ref = networks[0][0] if X is None else check_points(X)
        if ref.shape[0] != n:
            raise ValueError(
                f"X has {ref.shape[0]} samples, the layers have {n}; pass the "
                "test set whose activations the layers hold"
            )
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
    else:
        grid = np.array(check_n_neighbors(n_neighbors, n)[0], dtype=int)
        if X is not None:
            k_min = smallest_connected_n_neighbors(X, symmetrize=symmetrize)
    results = [
        ricci_flow(
            layers, grid.tolist(), symmetrize=symmetrize, connect=connect,
            algorithm=algorithm, random_state=random_state, n_jobs=n_jobs,
        )
        for layers in networks
    ]
    coefs, counts = [], []
    for j in range(grid.size):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DisconnectedGraphWarning)
            agg = aggregated_ricci_coefficient([r[j] for r in results])
        coefs.append(agg.coefficient)
        counts.append(agg.n_networks)
    coefs = np.array(coefs, dtype=float)
    if np.isfinite(coefs).any():
        best = int(np.nanargmin(coefs))
        best_k, best_c = int(grid[best]), float(coefs[best])
    else:
        warn(
            "no scale in the grid had a connected graph in every layer of any "
            "network; pass connect='mst' or larger n_neighbors",
            DisconnectedGraphWarning,
        )
        best_k, best_c = None, np.nan
    return ScaleSelection(
        grid, coefs, np.array(counts), best_k, best_c, results, k_min
    )


class RicciFlow(BaseEstimator):
    """Estimator wrapper of :func:`ricci_flow` for one network's layers.

    ``fit(layers)`` takes a list of (n_samples, n_features_l) activation
    arrays, one per hidden layer, and stores the measurement in fitted
    attributes.

    Parameters
    ----------
    n_neighbors : int, default=10
        The scale k.
    symmetrize : {"max", "min", "sum"}, default="max"
    curvature : {"forman", "augmented_forman", "approx_ollivier", "ollivier"}, \
default="forman"
    connect : {None, "mst"}, default=None
    on_disconnected : {"nan", "raise"}, default="nan"
    algorithm : {"auto", "brute", "nndescent"}, default="auto"
    random_state : int, RandomState instance or None, default=None
    n_jobs : int, default=None
        See :func:`ricci_flow`.

    Attributes
    ----------
    result_ : RicciFlowResult
    coefficient_ : float
    adjusted_paper_ : float
    adjusted_fisher_ : float
    total_curvature_ : ndarray of shape (n_layers,)
    geodesic_mass_ : ndarray of shape (n_layers,)
    eta_ : ndarray of shape (n_layers - 1,)
    connected_ : ndarray of bool, shape (n_layers,)
    n_layers_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci import RicciFlow
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(40, 3))
    >>> layers = [np.maximum(X @ rng.normal(size=(3, 6)), 0) for _ in range(5)]
    >>> flow = RicciFlow(n_neighbors=8, connect="mst").fit(layers)
    >>> flow.n_layers_, flow.eta_.shape
    (5, (4,))
    """

    def __init__(
        self, n_neighbors=10, *, symmetrize="max", curvature="forman", connect=None,
        on_disconnected="nan", algorithm="auto", random_state=None, n_jobs=None,
    ):
        self.n_neighbors = n_neighbors
        self.symmetrize = symmetrize
        self.curvature = curvature
        self.connect = connect
        self.on_disconnected = on_disconnected
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, layers, y=None):
        """Measure the flow of ``layers`` (list of hidden-layer activations)."""
        res = ricci_flow(
            layers, self.n_neighbors, symmetrize=self.symmetrize,
            curvature=self.curvature, connect=self.connect,
            on_disconnected=self.on_disconnected, algorithm=self.algorithm,
            random_state=self.random_state, n_jobs=self.n_jobs,
        )
        if isinstance(res, list):
            raise TypeError(
                "RicciFlow takes one int n_neighbors; for a grid use "
                "sk_ricci.ricci_flow or sk_ricci.select_n_neighbors"
            )
        self.result_ = res
        self.coefficient_ = res.coefficient
        self.adjusted_paper_ = res.adjusted_paper
        self.adjusted_fisher_ = res.adjusted_fisher
        self.total_curvature_ = res.total_curvature
        self.geodesic_mass_ = res.geodesic_mass
        self.eta_ = res.eta
        self.connected_ = res.connected
        self.n_layers_ = res.n_layers
        return self

    def score(self, layers, y=None):
        """Flow strength of ``layers``: the negated Ricci coefficient."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "result_")
        res = ricci_flow(
            layers, self.n_neighbors, symmetrize=self.symmetrize,
            curvature=self.curvature, connect=self.connect,
            on_disconnected=self.on_disconnected, algorithm=self.algorithm,
            random_state=self.random_state, n_jobs=self.n_jobs,
        )
        return -res.coefficient
