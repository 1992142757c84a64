"""List of layers -> local (per-point) Ricci coefficients.

Hehl, von Renesse and Weber ("Ricci flow of feature geometry", arXiv:2509.22362)
localise the Ricci coefficient of Baptista et al. (arXiv:2404.14265): for every
test point, the scalar curvature of its neighbourhood in each layer is
correlated with how far its neighbours move apart in the next layer. See
``docs/method.md``, section "Local Ricci coefficients".
"""

import dataclasses
from dataclasses import dataclass

import numpy as np

from ._curvature import edge_curvature
from ._flow import flow_results, graph_totals
from ._graph import csr_graph, layer_graphs
from ._kernels import n_threads, thread_limit
from ._kernels.local import row_means, target_distances
from ._options import FlowOptions
from ._param_validation import check_flags
from ._validation import (
    check_layers,
    check_n_neighbors,
    is_layer_stream,
    iter_layers,
    warn,
)
from .exceptions import UndefinedCoefficientWarning

__all__ = ["LocalRicciFlowResult", "local_ricci_flow"]

#: below this many samples the distance search runs on one thread whatever
#: n_jobs says (waking numba's pool costs more than the work)
_MIN_PARALLEL_SAMPLES = 2048


@dataclass(frozen=True, repr=False)
class LocalRicciFlowResult:
    """Local Ricci coefficients of one network at one scale ``n_neighbors``.

    Layers are numbered l = 1..L as passed; row l - 1 of the per-layer arrays
    belongs to layer l (the last layer only enters through the distances of
    ``expansion``).

    Attributes
    ----------
    n_neighbors : int
        The scale k.
    scalar_curvature : ndarray of shape (n_layers - 1, n_samples)
        s_l(x): mean edge curvature R_l(x, y) over x's neighbours y in G_l
        (weighted by edge multiplicity for ``symmetrize="sum"``); NaN for a
        point without neighbours (possible with ``symmetrize="min"``).
    expansion : ndarray of shape (n_layers - 1, n_samples)
        eta_l(x): mean over x's neighbours y in G_l of
        d_{l+1}(x, y) - d_l(x, y) = d_{l+1}(x, y) - 1 (hop distances, same
        weights); ``inf`` when a neighbour is unreachable in G_{l+1}.
    coefficients : ndarray of shape (n_samples,)
        Local Ricci coefficient of every point: the Pearson correlation of
        (s_l(x), eta_l(x)) over l = 1..L-1; negative is Ricci-flow-like. NaN
        where undefined (a non-finite value or a constant series).
    layer_coefficients : ndarray of shape (n_layers - 1,)
        Pearson correlation of (s_l(x), eta_l(x)) over the points x with
        finite values at layer l.
    mean : float
        Mean of the defined local coefficients (NaN if none).
    share_negative : float
        Share of the defined local coefficients below 0 (NaN if none).
    curvature, symmetrize, connect : str or None
        Options used.
    layer_names : tuple of str or None
        Name of each layer (from :class:`sk_ricci.nn.LayerActivations`),
        None if unnamed.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci import local_ricci_flow
    >>> X = np.random.RandomState(0).normal(size=(40, 3))
    >>> res = local_ricci_flow([X, 2 * X + 1, X ** 2, np.abs(X)], 6,
    ...                        connect="mst")
    >>> res.scalar_curvature.shape, res.coefficients.shape
    ((3, 40), (40,))
    >>> res.to_frame().shape
    (40, 7)
    """

    n_neighbors: int
    scalar_curvature: np.ndarray
    expansion: np.ndarray
    coefficients: np.ndarray
    layer_coefficients: np.ndarray
    mean: float
    share_negative: float
    curvature: str = "forman"
    symmetrize: str = "max"
    connect: object = None
    layer_names: object = None

    @property
    def n_layers(self):
        return int(self.scalar_curvature.shape[0]) + 1

    @property
    def n_samples(self):
        return int(self.coefficients.size)

    @property
    def layer_mean(self):
        """Mean of the defined per-layer coefficients ``layer_coefficients``
        (NaN if none is defined): one number for the network that, unlike
        ``mean``, is defined from 3 layers on."""
        c = np.asarray(self.layer_coefficients, dtype=np.float64)
        c = c[np.isfinite(c)]
        return float(c.mean()) if c.size else np.nan

    @property
    def n_undefined(self):
        """Points whose local coefficient is NaN."""
        return int(np.isnan(self.coefficients).sum())

    def __repr__(self):
        return (
            f"LocalRicciFlowResult(n_neighbors={self.n_neighbors}, "
            f"n_layers={self.n_layers}, n_samples={self.n_samples}, "
            f"mean={self.mean:.4g}, share_negative={self.share_negative:.4g}, "
            f"curvature={self.curvature!r})"
        )

    def to_frame(self):
        """One row per point: ``coefficient``, then ``scalar_curvature_l``
        and ``expansion_l`` for l = 1..L-1 (a pandas DataFrame indexed by
        ``sample``)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "to_frame needs pandas; install it with pip install pandas, or "
                "use to_dict()"
            ) from None
        cols = {"coefficient": self.coefficients}
        for l, row in enumerate(self.scalar_curvature, start=1):
            cols[f"scalar_curvature_{l}"] = row
        for l, row in enumerate(self.expansion, start=1):
            cols[f"expansion_{l}"] = row
        frame = pd.DataFrame(cols)
        frame.index.name = "sample"
        return frame

    def to_dict(self):
        """Everything as plain Python values (lists and floats; NaN and inf
        stay floats), ready for ``json.dumps``."""
        return {
            "n_neighbors": int(self.n_neighbors),
            "curvature": self.curvature,
            "symmetrize": self.symmetrize,
            "connect": self.connect,
            "mean": float(self.mean),
            "share_negative": float(self.share_negative),
            "layer_mean": self.layer_mean,
            "coefficients": self.coefficients.tolist(),
            "layer_coefficients": self.layer_coefficients.tolist(),
            "scalar_curvature": self.scalar_curvature.tolist(),
            "expansion": self.expansion.tolist(),
            "layer_names": (
                None if self.layer_names is None else list(self.layer_names)
            ),
        }


def _columnwise_pearson(a, b):
    """Pearson correlation of a[:, j] and b[:, j] for every column j; NaN
    where a value is not finite or either column is constant (exactly: the
    same value in every row)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.full(a.shape[1], np.nan)
    ok = np.isfinite(a).all(axis=0) & np.isfinite(b).all(axis=0)
    ok &= (a.max(axis=0) != a.min(axis=0)) & (b.max(axis=0) != b.min(axis=0))
    if ok.any():
        x = a[:, ok] - a[:, ok].mean(axis=0)
        y = b[:, ok] - b[:, ok].mean(axis=0)
        den = np.sqrt((x * x).sum(axis=0) * (y * y).sum(axis=0))
        out[ok] = np.clip((x * y).sum(axis=0) / den, -1.0, 1.0)
    return out


def _pearson_finite(x, y):
    """Pearson correlation over the pairs where both values are finite."""
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 2:
        return np.nan
    return float(_columnwise_pearson(x[keep, None], y[keep, None])[0])


def _expansion(graph, next_graph, parallel):
    indptr, cols, data = graph
    d = target_distances(indptr, cols, next_graph[0], next_graph[1], parallel)
    eta = (d - 1).astype(np.float64)
    eta[d < 0] = np.inf
    return row_means(indptr, data, eta)


def _undefined_warning(coefs, scalar, expansion, k):
    bad = np.isnan(coefs)
    if not bad.any():
        return
    unreachable = np.isinf(expansion).any(axis=0)
    isolated = np.isnan(scalar).any(axis=0) & ~unreachable
    constant = bad & ~unreachable & ~isolated
    parts = []
    if unreachable.any():
        parts.append(
            f"{int(unreachable.sum())} have a neighbour that is unreachable in "
            "the next layer's graph (a disconnected graph: pass connect='mst' or "
            "a larger n_neighbors)"
        )
    if isolated.any():
        parts.append(
            f"{int(isolated.sum())} have no neighbour in some layer (possible "
            "with symmetrize='min')"
        )
    if constant.any():
        parts.append(
            f"{int(constant.sum())} have a constant scalar curvature or "
            "expansion over the layers"
        )
    warn(
        f"{int(bad.sum())} of {coefs.size} local Ricci coefficients at "
        f"n_neighbors={k} are undefined (NaN): " + "; ".join(parts),
        UndefinedCoefficientWarning,
    )


def local_ricci_flow(
    layers,
    n_neighbors,
    *,
    symmetrize="max",
    connect=None,
    curvature="forman",
    algorithm="auto",
    random_state=0,
    n_jobs=None,
    return_global=False,
):
    """Local (per-point) Ricci coefficients of a network's layers.

    For every hidden layer l build the kNN graph G_l (the graphs of
    :func:`sk_ricci.ricci_flow`), and for every point x:

    - its scalar curvature s_l(x), the mean curvature R_l(x, y) of its edges;
    - its expansion eta_l(x), the mean over its G_l-neighbours y of
      d_{l+1}(x, y) - d_l(x, y), the change of their hop distance when moving
      to the next layer's graph (d_l(x, y) = 1 for neighbours);
    - its local Ricci coefficient, the Pearson correlation of
      (s_l(x), eta_l(x)) over l = 1..L-1 (Hehl, von Renesse and Weber,
      arXiv:2509.22362). Negative is Ricci-flow-like: negatively curved
      neighbourhoods spread out, positively curved ones contract.

    The n x (mean degree) distances d_{l+1}(x, y) are exact and come from a
    breadth-first search from every x in G_{l+1} that stops as soon as all of
    x's G_l-neighbours are found: O(n + nnz) memory, no n x n matrix.

    Parameters
    ----------
    layers : list or iterator of array-like of shape (n_samples, n_features_l)
        Hidden-layer activations of the same samples, in order (an iterator
        or generator is read one layer at a time, keeping only the previous
        layer's graphs; same result as the list). At least 3;
        the per-point coefficients need at least 4 (with 3, a correlation
        over 2 layer transitions would be -1 or +1 whatever the data, so
        they are NaN with a warning, and only ``layer_coefficients`` is
        defined). Hehl et al.'s code also passes the input first and the
        network's output last.
    n_neighbors : int or list of int
        The scale k. A list gives one result per k from one neighbour search
        per layer.
    symmetrize : {"max", "min", "sum"}, default="max"
        Graph convention (see :func:`sk_ricci.knn_graph`). With "sum", the
        means over neighbours weight each neighbour by its edge multiplicity.
    connect : {None, "mst"}, default=None
        None: a neighbour unreachable in the next layer's graph makes that
        point's expansion ``inf`` and its coefficient NaN. "mst" adds each
        layer's Euclidean minimum spanning tree, so every graph is connected.
    curvature : str, default="forman"
        Edge curvature R_l, a name of the registry
        :data:`sk_ricci._curvature.CURVATURES` (see :func:`sk_ricci.ricci_flow`
        and ``docs/method.md``); "ollivier" (exact) is far slower.
    algorithm : {"auto", "brute", "nndescent"}, default="auto"
        Neighbour search (see :func:`sk_ricci.knn_graph`).
    random_state : int, RandomState instance or None, default=0
        Seed of the approximate search (``algorithm="nndescent"``, or "auto"
        above 20,000 samples); the exact search does not use it. The default
        0 makes results reproducible; pass the same seed to
        :func:`sk_ricci.ricci_flow` to get the same graphs there.
    n_jobs : int, default=None
        Threads of the neighbour search and the distance search (None: 1,
        -1: all cores, -2: all but one). Results do not depend on it.
    return_global : bool, default=False
        Also return the global flow of the same graphs: ``(local, global_)``,
        where ``global_`` is what :func:`sk_ricci.ricci_flow` returns for the
        same layers and options (its ``on_disconnected="nan"``), from one
        neighbour search per layer instead of one in each function. On large
        layers the searches are most of both flows' time (see
        ``docs/networks.md``).

    Returns
    -------
    result : LocalRicciFlowResult or list of LocalRicciFlowResult
        One per value of ``n_neighbors`` (a list when a list was passed).
        With ``return_global=True``, a tuple ``(result, global_)`` with
        ``global_`` a :class:`~sk_ricci.RicciFlowResult` (or a list of them).
        Undefined coefficients are NaN, with one
        :class:`~sk_ricci.exceptions.UndefinedCoefficientWarning` per scale
        that counts them and says why.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci import local_ricci_flow
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 3))
    >>> layers = [np.maximum(X @ rng.normal(size=(3, 8)), 0) + 0.01 * i
    ...           for i in range(5)]
    >>> res = local_ricci_flow(layers, 10, connect="mst")
    >>> res.coefficients.shape, res.layer_coefficients.shape
    ((60,), (4,))
    >>> bool(-1 <= res.mean <= 1)
    True
    """
    options = FlowOptions.checked(
        "local_ricci_flow", symmetrize=symmetrize, connect=connect,
        curvature=curvature, algorithm=algorithm, random_state=random_state,
        n_jobs=n_jobs,
    )
    check_flags("local_ricci_flow", return_global=return_global)
    return _local_ricci_flow(layers, n_neighbors, options, return_global)


def _local_ricci_flow(layers, n_neighbors, options, return_global=False):
    """:func:`local_ricci_flow` with its options checked (a
    :class:`FlowOptions`; its ``random_state`` seeds the approximate search
    and ``on_disconnected`` applies to the global flow only)."""
    names = getattr(layers, "names", None)
    totals = [] if return_global else None
    if is_layer_stream(layers):
        ks, scalar, S, E = _local_measures(
            iter_layers(layers), n_neighbors, options, totals=totals
        )
        L = S.shape[1] + 1
    else:
        layers = check_layers(layers)
        L = len(layers)
        _check_n_layers(L)
        ks, scalar, S, E = _local_measures(layers, n_neighbors, options, L, totals)
    names = None if names is None or len(names) != L else tuple(map(str, names))
    results = [
        dataclasses.replace(_local_result(k, S[j], E[j], options), layer_names=names)
        for j, k in enumerate(ks)
    ]
    local = results[0] if scalar else results
    if not return_global:
        return local
    return local, flow_results(totals, ks, scalar, options, names)


def _check_n_layers(L):
    if L < 3:
        raise ValueError(
            f"got {L} layer(s); a local Ricci coefficient correlates the scalar "
            "curvature and the expansion over the L-1 >= 2 layer transitions and "
            "needs at least 3 layers (the paper uses 5 and 11)"
        )


def _local_measures(layers, n_neighbors, options, n_layers=None, totals=None):
    """The scales, and scalar curvatures S and expansions E of shape
    (n_scales, n_layers - 1, n_samples), from one neighbour search per layer,
    reading the layers one at a time (only the previous layer's graphs are
    kept). ``n_layers``: known in advance (a list), else found at the end (a
    stream; the last layer's scalar curvature is then computed and dropped).
    ``totals``: a list to which each layer's :func:`graph_totals` per scale
    (the global flow's measures of the same graphs) is appended, or None."""
    S, E, prev, ks, scalar = [], [], None, None, None
    L = 0
    for l, X in enumerate(layers):
        L = l + 1
        if ks is None:
            ks, scalar = check_n_neighbors(n_neighbors, X.shape[0])
            threads = n_threads(options.n_jobs)
            parallel = threads > 1 and X.shape[0] >= _MIN_PARALLEL_SAMPLES
        graphs = layer_graphs(X, ks, options)
        scalar_needed = n_layers is None or l < n_layers - 1
        # each graph's edge curvatures, computed once for both uses
        edges = (
            [edge_curvature(csr_graph(g), options.curvature) for g in graphs]
            if scalar_needed or totals is not None
            else [None] * len(graphs)
        )
        if totals is not None:
            totals.append(
                [graph_totals(g, options, edges=R) for g, R in zip(graphs, edges)]
            )
        if scalar_needed:
            S.append([row_means(g[0], g[2], R) for g, R in zip(graphs, edges)])
        if prev is not None:
            if parallel:
                with thread_limit(threads):
                    E.append([_expansion(p, g, True) for p, g in zip(prev, graphs)])
            else:
                E.append([_expansion(p, g, False) for p, g in zip(prev, graphs)])
        prev = graphs
    _check_n_layers(L)
    S = np.asarray(S[: L - 1], dtype=np.float64).transpose(1, 0, 2)
    E = np.asarray(E, dtype=np.float64).transpose(1, 0, 2)
    return ks, scalar, S, E


def _local_result(k, S, E, options):
    """The :class:`LocalRicciFlowResult` at scale ``k`` from its scalar
    curvatures ``S`` and expansions ``E`` (n_layers - 1, n_samples)."""
    if S.shape[0] < 3:
        # a correlation over 2 points is always +-1, whatever the data
        coefs = np.full(S.shape[1], np.nan)
        warn(
            f"the local Ricci coefficients at n_neighbors={k} are undefined "
            f"(NaN): {S.shape[0] + 1} layers give {S.shape[0]} points "
            "(s_l(x), eta_l(x)) per sample, and a correlation over 2 points is "
            "always +-1 whatever the data; they need at least 4 layers (pass "
            "the input first and the network's output last, as Hehl et al. do: "
            "RicciFlowScorer(include_input=True, include_output=True)). The "
            "per-layer coefficients (layer_coefficients) are still defined.",
            UndefinedCoefficientWarning,
        )
    else:
        coefs = _columnwise_pearson(S, E)
        _undefined_warning(coefs, S, E, k)
    layer_coefs = np.array(
        [_pearson_finite(S[l], E[l]) for l in range(S.shape[0])]
    )
    defined = coefs[~np.isnan(coefs)]
    mean = float(defined.mean()) if defined.size else np.nan
    share = float((defined < 0).mean()) if defined.size else np.nan
    return LocalRicciFlowResult(
        n_neighbors=k, scalar_curvature=S, expansion=E, coefficients=coefs,
        layer_coefficients=layer_coefs, mean=mean, share_negative=share,
        curvature=options.curvature, symmetrize=options.symmetrize,
        connect=options.connect,
    )
