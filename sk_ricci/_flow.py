"""List of layers -> Ricci-flow coefficients (docs/method.md, sections 4-5).

:func:`ricci_flow` and its result. The pooled coefficient of a group of
networks lives in :mod:`sk_ricci._aggregate`, the choice of the scale k in
:mod:`sk_ricci._select` and the :class:`~sk_ricci.RicciFlow` estimator in
:mod:`sk_ricci._estimator`; their names stay importable from here.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ._curvature import curvatures_doc, total_edge_curvature
from ._geodesics import geodesic_mass_csr
from ._graph import blas_single_thread, layer_graphs, resolve_algorithm
from ._kernels import n_threads
from ._options import FlowOptions
from ._validation import (
    check_layers,
    check_n_neighbors,
    is_layer_stream,
    iter_layers,
    warn,
)
from .exceptions import (
    DisconnectedGraphError,
    DisconnectedGraphWarning,
    UndefinedCoefficientWarning,
)

__all__ = ["RicciFlowResult", "ricci_flow"]


@dataclass(frozen=True)
class RicciFlowResult:
    """Ricci-flow measurement of one network at one scale ``n_neighbors``.

    Attributes
    ----------
    n_neighbors : int
        The scale k.
    total_curvature : ndarray of shape (n_layers,)
        Ric_l, the total edge curvature of each layer's graph: Forman-Ricci
        (Eq. 6) by default, the kind ``curvature`` names otherwise.
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
    layer_names : tuple of str or None
        Name of each layer (from :class:`sk_ricci.nn.LayerActivations` or the
        ``layer_names`` argument of :func:`ricci_flow`), None if unnamed.
    curvature : str
        The edge curvature summed in ``total_curvature`` ("forman", the
        paper's, or another kind of :func:`ricci_flow`).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci import ricci_flow
    >>> X = np.random.RandomState(0).normal(size=(40, 3))
    >>> res = ricci_flow([X, 2 * X, 3 * X + 1, X ** 2, np.abs(X)], 6,
    ...                  connect="mst")
    >>> res.n_layers, res.all_connected, res.eta.shape
    (5, True, (4,))
    >>> res.to_frame()[["layer", "total_curvature", "eta"]].shape
    (5, 3)
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
    layer_names: object = None
    curvature: str = "forman"

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
            f"all_connected={self.all_connected}, curvature={self.curvature!r})"
        )

    def to_dict(self):
        """Every field as plain Python values (lists, floats, bools).

        NaN and infinite values stay floats (``float("nan")``, ``inf``); a
        strict JSON writer needs them replaced, e.g. by None.

        Returns
        -------
        result : dict
            ``n_neighbors``, ``n_layers``, ``coefficient``, ``adjusted_paper``,
            ``adjusted_fisher``, ``all_connected``, ``curvature``,
            ``symmetrize``, ``connect``, ``layer_names`` (list or None) and
            the per-layer lists
            ``total_curvature``, ``geodesic_mass``, ``eta`` (one shorter),
            ``connected`` and ``n_components``.

        Examples
        --------
        >>> import numpy as np
        >>> from sk_ricci import RicciFlowResult
        >>> res = RicciFlowResult(5, np.array([-3.0, -2, -1]),
        ...                       np.array([10.0, 9, 7]), np.array([-1.0, -2]),
        ...                       -1.0, np.nan, np.nan, np.ones(3, bool),
        ...                       np.ones(3, int))
        >>> d = res.to_dict()
        >>> d["n_neighbors"], d["eta"], d["coefficient"]
        (5, [-1.0, -2.0], -1.0)
        """
        return {
            "n_neighbors": int(self.n_neighbors),
            "n_layers": self.n_layers,
            "coefficient": float(self.coefficient),
            "adjusted_paper": float(self.adjusted_paper),
            "adjusted_fisher": float(self.adjusted_fisher),
            "all_connected": self.all_connected,
            "curvature": self.curvature,
            "symmetrize": self.symmetrize,
            "connect": self.connect,
            "layer_names": (
                None if self.layer_names is None else list(self.layer_names)
            ),
            "total_curvature": [float(v) for v in self.total_curvature],
            "geodesic_mass": [float(v) for v in self.geodesic_mass],
            "eta": [float(v) for v in self.eta],
            "connected": [bool(v) for v in self.connected],
            "n_components": [int(v) for v in self.n_components],
        }

    def layer_rows(self):
        """One dict per layer, the rows of :meth:`to_frame` (for a CSV
        writer or a list of records; no pandas needed)."""
        eta = np.append(np.asarray(self.eta, dtype=float), np.nan)
        names = self.layer_names
        rows = []
        for i in range(self.n_layers):
            rows.append({
                "n_neighbors": int(self.n_neighbors),
                "layer": i + 1,
                "layer_name": None if names is None else str(names[i]),
                "total_curvature": float(self.total_curvature[i]),
                "geodesic_mass": float(self.geodesic_mass[i]),
                "eta": float(eta[i]),
                "connected": bool(self.connected[i]),
                "n_components": int(self.n_components[i]),
                "coefficient": float(self.coefficient),
                "adjusted_paper": float(self.adjusted_paper),
                "adjusted_fisher": float(self.adjusted_fisher),
                "curvature": self.curvature,
                "symmetrize": self.symmetrize,
                "connect": self.connect,
            })
        return rows

    def to_frame(self):
        """One row per layer as a pandas DataFrame (pandas imported lazily).

        Columns: ``n_neighbors``, ``layer`` (1 to ``n_layers``, the paper's
        l), ``layer_name`` (None if unnamed), ``total_curvature`` (Ric_l),
        ``geodesic_mass`` (g_l), ``eta`` (g_{l+1} - g_l; NaN for the last
        layer), ``connected``, ``n_components``, and the network's
        ``coefficient``, ``adjusted_paper`` and ``adjusted_fisher`` and the
        options ``curvature``, ``symmetrize`` and ``connect``, repeated on
        every row so that frames of several scales, options or networks can
        be concatenated (``pandas.concat([r.to_frame() for r in results])``)
        and each row read alone.

        Returns
        -------
        frame : pandas.DataFrame of shape (n_layers, 14)

        Examples
        --------
        >>> import numpy as np
        >>> from sk_ricci import RicciFlowResult
        >>> res = RicciFlowResult(5, np.array([-3.0, -2, -1]),
        ...                       np.array([10.0, 9, 7]), np.array([-1.0, -2]),
        ...                       -1.0, np.nan, np.nan, np.ones(3, bool),
        ...                       np.ones(3, int))
        >>> res.to_frame()[["layer", "total_curvature", "eta"]]
           layer  total_curvature  eta
        0      1             -3.0 -1.0
        1      2             -2.0 -2.0
        2      3             -1.0  NaN
        """
        return import_pandas().DataFrame(self.layer_rows())


def import_pandas():
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "to_frame needs pandas; install it with `pip install pandas`, or use "
            "to_dict()"
        ) from None
    return pandas


def pearson(x, y):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.size < 3:
        # any two distinct points lie on a line: r would be +-1 whatever the
        # data, so a correlation over fewer than 3 points is undefined
        return np.nan
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
    rho = pearson(eta, ric[:-1])
    if L - 1 < 3:
        warn(
            f"the Ricci coefficient at n_neighbors={n_neighbors} is undefined "
            f"(NaN): {L} layers give {L - 1} points (eta_l, Ric_l), and a "
            "correlation over 2 points is always +-1 whatever the data; it "
            "needs at least 3 points, so at least 4 layers",
            UndefinedCoefficientWarning,
        )
    elif not np.isfinite(rho):
        warn(
            f"the Ricci coefficient at n_neighbors={n_neighbors} is undefined: "
            "eta or the total curvature is constant over the layers",
            UndefinedCoefficientWarning,
        )
    # the adjusted forms are NaN for L <= 4, as documented, without a warning:
    # the result holds them beside rho, which is what most callers read; the
    # scorer warns when its statistic is one of them
    paper, fisher = _adjusted(rho, L)
    return eta, rho, paper, fisher


def _layer_measures(X, ks, options, serial=False):
    """Ric_l, g_l and component counts of one layer for every k, with the
    graph and curvature options of ``options`` (a :class:`FlowOptions`).
    ``serial``: every kernel on the calling thread, without the GIL (layers
    then run in threads, see :func:`_measure_layers`)."""
    return [
        graph_totals(graph, options, serial)
        for graph in layer_graphs(X, ks, options, serial)
    ]


def graph_totals(graph, options, serial=False, edges=None):
    """Ric_l, g_l and the number of components of one layer's graph (a CSR
    triple of :func:`sk_ricci._graph.layer_graphs`, valid by construction: no
    re-validation and no sparse matrix; the curvature comes from the one
    registry). Also used by :func:`sk_ricci.local_ricci_flow`, which builds
    the same graphs and passes their edge curvatures ``edges``."""
    ric = total_edge_curvature(graph, options.curvature, edges)
    g = geodesic_mass_csr(graph[0], graph[1], options.n_jobs, serial=serial)
    return ric, g.total, g.n_components


#: up to this many samples, ``n_jobs > 1`` runs whole layers in threads (each
#: on one core) instead of splitting every kernel: small layers leave little
#: to split (the geodesic BFS runs on one thread below this size anyway)
LAYER_THREADS_MAX_SAMPLES = 4096


def _measure_layers(layers, ks, options):
    """:func:`_layer_measures` of every layer, in threads when that pays.

    Kernels are deterministic and sums are integers, so the result does not
    depend on how the work is split.
    """
    threads = n_threads(options.n_jobs)
    n = layers[0].shape[0]
    workers = min(threads, len(layers))
    if (
        workers < 2
        or n > LAYER_THREADS_MAX_SAMPLES
        or resolve_algorithm(options.algorithm, n, max(ks)) != "brute"
    ):
        return [_layer_measures(X, ks, options) for X in layers]
    # each worker runs its kernels on its own thread
    serial = options.replace(n_jobs=None)
    # one BLAS thread per worker (the Gram products run in the workers)
    with (
        blas_single_thread(),
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        return list(
            pool.map(
                lambda X: _layer_measures(X, ks, serial, serial=True), layers
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
    layer_names=None,
):
    """Measure how a network's layers follow a discrete Ricci flow.

    For every hidden layer l, build the kNN graph of its activations, compute
    its total Forman-Ricci curvature Ric_l and geodesic mass g_l, then
    correlate eta_l = g_{l+1} - g_l with Ric_l over l = 1..L-1 (the Ricci
    coefficient rho of Baptista et al., Eq. 8).

    Parameters
    ----------
    layers : list or iterator of array-like of shape (n_samples, n_features_l)
        Hidden-layer activations of the same samples (for example from
        :func:`sk_ricci.nn.layer_activations`), in order. At least 3. An
        iterator or generator is read one layer at a time and each layer is
        released once measured (only its total curvature and geodesic mass
        are kept), so a large network's layers need not all fit in memory;
        the result is the same as for the list.
    n_neighbors : int or list of int
        The scale k. A list gives one result per k from one neighbour search
        per layer.
    symmetrize : {"max", "min", "sum"}, default="max"
        Graph convention (see :func:`sk_ricci.knn_graph`); "sum" reproduces
        the magnitudes of the paper's figures.
    curvature : str, default="forman"
        Edge curvature R(i, j), summed over the edges (with multiplicity) into
        Ric_l; a name of the registry :data:`sk_ricci._curvature.CURVATURES`:
%(curvatures)s
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
        Threads (None: 1, -1: all cores, -2: all but one). Up to 4,096 samples
        with the exact search, whole layers run in threads, one core each;
        above, every numba kernel (neighbour search, minimum spanning tree,
        geodesic sums) splits its work. Results do not depend on it. On 2 cores, scoring
        the 11 layers of 1,000 points at k = 200 takes 0.039 s with
        ``n_jobs=2`` against 0.054 s on one thread.
    layer_names : list of str, default=None
        Name of each layer, stored in the result's ``layer_names``. None takes
        the ``names`` of a :class:`sk_ricci.nn.LayerActivations` (what
        :func:`sk_ricci.nn.layer_activations` returns), else leaves the
        layers unnamed.

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
    options = FlowOptions.checked(
        "ricci_flow", symmetrize=symmetrize, curvature=curvature,
        connect=connect, on_disconnected=on_disconnected, algorithm=algorithm,
        random_state=random_state, n_jobs=n_jobs,
    )
    return _ricci_flow(layers, n_neighbors, options, layer_names)


def _check_flow_layers(layers, layer_names):
    """The validated layers (at least 3) and their names (a tuple or None)."""
    if layer_names is None:
        layer_names = getattr(layers, "names", None)
    layers = check_layers(layers)
    return layers, _checked_names(layer_names, len(layers))


def _checked_names(layer_names, L):
    """``layer_names`` as a tuple of str (or None) for ``L`` layers, after
    the check that there are at least 3."""
    if layer_names is not None:
        layer_names = tuple(str(name) for name in layer_names)
        if len(layer_names) != L:
            raise ValueError(
                f"layer_names has {len(layer_names)} names for {L} layers; pass "
                "one name per layer"
            )
    if L < 3:
        raise ValueError(
            f"got {L} layer(s); the Ricci coefficient correlates the L-1 "
            "geodesic changes with the curvatures and needs at least 3 layers "
            "(the paper uses 5 and 11)"
        )
    return layer_names


def _stream_measures(layers, n_neighbors, options):
    """:func:`_layer_measures` of a stream of layers, one layer at a time
    (only the per-layer totals are kept); also the scales."""
    per_layer, ks, scalar = [], None, None
    for X in iter_layers(layers):
        if ks is None:
            ks, scalar = check_n_neighbors(n_neighbors, X.shape[0])
        per_layer.append(_layer_measures(X, ks, options))
    return per_layer, ks, scalar


def _ricci_flow(layers, n_neighbors, options, layer_names=None):
    """:func:`ricci_flow` with its options checked (a :class:`FlowOptions`)."""
    if is_layer_stream(layers):
        per_layer, ks, scalar = _stream_measures(layers, n_neighbors, options)
        layer_names = _checked_names(layer_names, len(per_layer))
    else:
        layers, layer_names = _check_flow_layers(layers, layer_names)
        ks, scalar = check_n_neighbors(n_neighbors, layers[0].shape[0])
        per_layer = _measure_layers(layers, ks, options)
    return flow_results(per_layer, ks, scalar, options, layer_names)


def flow_results(per_layer, ks, scalar, options, layer_names):
    """The :class:`RicciFlowResult` of every scale (one, or a list when
    ``n_neighbors`` was a list) from every layer's :func:`graph_totals` per
    scale."""
    results = []
    for j, k in enumerate(ks):
        ric = np.array([m[j][0] for m in per_layer])
        mass = np.array([m[j][1] for m in per_layer])
        ncomp = np.array([m[j][2] for m in per_layer], dtype=np.int64)
        eta, rho, paper, fisher = _coefficients(
            ric, mass, k, options.on_disconnected, ncomp
        )
        results.append(
            RicciFlowResult(
                n_neighbors=k, total_curvature=ric, geodesic_mass=mass, eta=eta,
                coefficient=rho, adjusted_paper=paper, adjusted_fisher=fisher,
                connected=ncomp == 1, n_components=ncomp,
                symmetrize=options.symmetrize, connect=options.connect,
                layer_names=layer_names, curvature=options.curvature,
            )
        )
    return results[0] if scalar else results


ricci_flow.__doc__ = ricci_flow.__doc__.replace("%(curvatures)s", curvatures_doc())
