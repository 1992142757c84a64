"""Points -> sparse k-nearest-neighbour graphs (docs/method.md, section 1)."""

import functools
import numbers
import threading
from contextlib import contextmanager, nullcontext
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import ThreadpoolController

from ._kernels import (
    euclidean_mst,
    exact_sqdist_pairs,
    knn_from_gram,
    knn_from_gram_serial,
    n_threads,
    symmetric_knn_csr,
    thread_limit,
)
from ._options import FLOW_CONSTRAINTS, FLOW_FIXES
from ._param_validation import (
    Interval,
    Options,
    ValidatedMixin,
    check_flags,
    check_random_state_param,
    validate_params,
)
from ._validation import (
    ALGORITHM_OPTIONS,
    CONNECT_OPTIONS,
    SYMMETRIZE_OPTIONS,
    check_n_neighbors,
    check_option,
    check_points,
    unit_scale,
)

__all__ = ["KNNGraph", "graph_from_neighbors", "kneighbors", "knn_graph"]

#: ``algorithm="auto"`` uses exact brute force up to this many samples.
AUTO_BRUTE_MAX_SAMPLES = 20_000
#: ... and also above it whenever n_neighbors is at least this share of n.
AUTO_BRUTE_MIN_FRACTION = 0.05

_BLOCK_BYTES = 128 * 2**20


def _check_metric(metric):
    if metric != "euclidean":
        raise ValueError(
            f"metric={metric!r} is not supported: sk_ricci builds Euclidean kNN "
            "graphs, as the paper does; pass metric='euclidean' (or transform "
            "the points first)"
        )


#: ``n_neighbors`` of the point estimators (:class:`KNNGraph`,
#: :class:`~sk_ricci.RicciCurvature`): one scale
ONE_N_NEIGHBORS = [Interval(numbers.Integral, 1, None)]
ONE_N_NEIGHBORS_FIX = (
    "Pass one int such as n_neighbors=10; for a grid of k from one neighbour "
    "search use sk_ricci.knn_graph(X, [k1, k2, ...])."
)


def validate_points(estimator, X, *, reset=True):
    """The data checks of an estimator built on points (``fit`` and
    ``transform`` of the transformers): ``X`` as a finite float64 array of at
    least 2 rows (``fit`` records ``n_features_in_``; ``reset=False`` checks
    it), and ``n_neighbors`` below its number of rows.

    scikit-learn's checks run first (feature names, ``n_features_in_``); the
    mistakes :func:`sk_ricci._validation.check_points` knows (1-D input,
    NaN/inf, strings, sparse) get its one-line message instead of
    scikit-learn's, which prints the whole array or recommends an estimator
    that handles NaN."""
    try:
        X = validate_data(estimator, X, dtype=np.float64, reset=reset)
    except (TypeError, ValueError) as exc:
        try:
            check_points(X)
        except (TypeError, ValueError) as tailored:
            # scikit-learn's own reason stays visible at the end (its first
            # line only: the array it prints can be long)
            reason = str(exc).strip().splitlines()[0][:200].rstrip(" :.")
            # scikit-learn's exception type, which its estimator checks expect
            raise type(exc)(f"{type(estimator).__name__}: {tailored} "
                            f"({reason})") from None
        raise
    X = check_points(X)
    check_n_neighbors(estimator.n_neighbors, X.shape[0])
    return X


def resolve_algorithm(algorithm, n_samples, n_neighbors):
    check_option(algorithm, ALGORITHM_OPTIONS, "algorithm")
    if algorithm != "auto":
        return algorithm
    if (
        n_samples <= AUTO_BRUTE_MAX_SAMPLES
        or n_neighbors >= AUTO_BRUTE_MIN_FRACTION * n_samples
    ):
        return "brute"
    return "nndescent"


@functools.lru_cache(maxsize=1)
def _blas_controller():
    # inspecting the loaded libraries is the slow part of threadpoolctl: once
    return ThreadpoolController()


_BLAS_LOCK = threading.Lock()
_blas_users = 0
_blas_limiter = None


@contextmanager
def blas_single_thread():
    """One BLAS thread while any caller, in any thread, is inside.

    threadpoolctl's limits are process-wide: two overlapping ``limit()``
    blocks would each restore what they saw on entry, and the one that
    entered second (seeing 1 thread) would leave BLAS at 1 thread for good.
    A process-wide count limits on the first entry and restores on the last
    exit.
    """
    global _blas_users, _blas_limiter
    with _BLAS_LOCK:
        if _blas_users == 0:
            _blas_limiter = _blas_controller().limit(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _blas_users -= 1
            if _blas_users == 0:
                limiter, _blas_limiter = _blas_limiter, None
                limiter.restore_original_limits()


def _brute_kneighbors(X, k, n_jobs, sort=True, serial=False):
    """Exact kNN with deterministic ties, in row blocks of bounded memory.
    ``serial``: on the calling thread, GIL released, BLAS left as the caller
    set it (for callers that run several searches in threads)."""
    n = X.shape[0]
    # constant features (dead ReLU units) add nothing to any distance: drop
    # them (exactly: their differences are 0.0) before the Gram products
    varying = X.max(axis=0) != X.min(axis=0)
    if not varying.all():
        X = np.ascontiguousarray(X[:, varying])
    sqn = np.einsum("ij,ij->i", X, X)
    idx = np.empty((n, k), dtype=np.int64)
    sqd = np.empty((n, k), dtype=np.float64)
    block = max(1, min(n, _BLOCK_BYTES // (8 * n)))
    if serial:
        # several of these may run at once: smaller Gram blocks each
        block = max(1, min(n, _BLOCK_BYTES // (64 * n)))
    threads = n_threads(n_jobs)
    parallel = threads > 1 and not serial
    kernel = knn_from_gram if parallel else knn_from_gram_serial
    # with several numba threads, BLAS gets one: its own pool would fight
    # numba's OpenMP threads for the cores (measured 1.4x slower scoring);
    # one thread never starts numba's pool at all
    with (
        blas_single_thread() if parallel else nullcontext(),
        thread_limit(threads) if parallel else nullcontext(),
    ):
        for start in range(0, n, block):
            stop = min(n, start + block)
            kernel(X, start, X[start:stop] @ X.T, sqn, k, idx, sqd, sort)
    return idx, sqd


def _nndescent_kneighbors(X, k, metric, random_state, n_jobs):
    try:
        from pynndescent import NNDescent
    except ImportError as exc:  # pragma: no cover - pynndescent is a dependency
        raise ImportError(
            "algorithm='nndescent' needs pynndescent: pip install pynndescent"
        ) from exc
    seed = random_state
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        # None or a RandomState instance (scikit-learn's convention): draw an
        # int seed from it, as pynndescent needs one
        seed = check_random_state(seed).randint(np.iinfo(np.int32).max)
    threads = n_threads(n_jobs)
    with thread_limit(threads):  # pynndescent's numba kernels, too
        index = NNDescent(
            X,
            n_neighbors=k + 1,
            metric=metric,
            random_state=int(seed),
            n_jobs=threads,
            verbose=False,
        )
        ind, _ = index.neighbor_graph
    n = X.shape[0]
    idx = np.empty((n, k), dtype=np.int64)
    for i in range(n):
        row = ind[i][(ind[i] != i) & (ind[i] >= 0)]
        if row.size < k:  # pragma: no cover - pynndescent returns k + 1
            raise RuntimeError(f"pynndescent returned only {row.size} neighbours")
        idx[i] = row[:k]
    with thread_limit(threads):
        sqd = exact_sqdist_pairs(X, np.arange(n), idx)
    order = np.lexsort((idx, sqd))  # per row, by (distance, index)
    return np.take_along_axis(idx, order, 1), np.take_along_axis(sqd, order, 1)


def kneighbors(
    X, n_neighbors, *, algorithm="auto", metric="euclidean", random_state=None,
    n_jobs=None, validate=True,
):
    """Sorted nearest neighbours of every point (itself excluded).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Points.
    n_neighbors : int
        Number of neighbours per point.
    algorithm : {"auto", "brute", "nndescent"}, default="auto"
        See :func:`knn_graph`.
    metric : {"euclidean"}, default="euclidean"
        Distance; only Euclidean (the paper's) is supported.
    random_state : int, RandomState instance or None, default=None
        Seed of the approximate search (unused by "brute").
    n_jobs : int, default=None
        Threads of the search (None: 1, -1: all cores). One thread is fastest
        for small inputs (n of a few thousand).
    validate : bool, default=True
        Check ``X``; internal callers that already did may skip it.

    Returns
    -------
    indices : ndarray of shape (n_samples, n_neighbors)
        Neighbours ordered by (distance, index).
    distances : ndarray of shape (n_samples, n_neighbors)
        Euclidean distances, same order.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci import kneighbors
    >>> X = np.array([[0.0], [1.0], [3.0], [6.0]])
    >>> kneighbors(X, 2)[0]
    array([[1, 2],
           [0, 2],
           [1, 0],
           [2, 1]])
    """
    check_flags("kneighbors", validate=validate)
    if validate:
        X = check_points(X)
        check_random_state_param(random_state, "kneighbors")  # also when unused
    X, e = unit_scale(X)  # exact: extreme magnitudes would under/overflow
    idx, sqd = _kneighbors_sq(X, n_neighbors, algorithm, metric, random_state, n_jobs)
    return idx, np.ldexp(np.sqrt(sqd), e)


def _kneighbors_sq(
    X, n_neighbors, algorithm, metric, random_state, n_jobs, sort=True,
    serial=False,
):
    """:func:`kneighbors` on validated ``X`` with exact *squared* distances
    (what the MST needs: sqrt then square would break exact ties).
    ``sort=False``: only the neighbour sets are needed (see knn_from_gram).
    ``serial``: see :func:`_brute_kneighbors` (the exact search only)."""
    (k,), _ = check_n_neighbors(n_neighbors, X.shape[0])
    algo = resolve_algorithm(algorithm, X.shape[0], k)
    _check_metric(metric)
    if algo == "brute":
        return _brute_kneighbors(X, k, n_jobs, sort, serial)
    return _nndescent_kneighbors(X, k, metric, random_state, n_jobs)


def graph_from_neighbors(indices, n_neighbors=None, *, symmetrize="max"):
    """Build the symmetric kNN graph from sorted neighbour lists.

    Parameters
    ----------
    indices : ndarray of shape (n_samples, k_max)
        Output of :func:`kneighbors`, sorted by distance.
    n_neighbors : int, default=None
        Use the first ``n_neighbors`` columns (default: all). One neighbour
        search at the largest k therefore serves a whole grid of k.
    symmetrize : {"max", "min", "sum"}, default="max"
        "max": i~j if either is among the other's neighbours; "min": both;
        "sum": the multigraph A + A^T (mutual pairs have weight 2).

    Returns
    -------
    G : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        Symmetric, float64 entries (1, or 2 for mutual pairs under "sum"), no
        self-loops.
    """
    check_option(symmetrize, SYMMETRIZE_OPTIONS, "symmetrize")
    indices = np.asarray(indices)
    if indices.ndim != 2 or indices.shape[1] == 0 or indices.dtype.kind not in "iu":
        raise ValueError(
            "indices must be a 2-D integer array of shape (n_samples, k) as "
            f"returned by sk_ricci.kneighbors, got {indices.dtype} array of "
            f"shape {indices.shape}"
        )
    n, kmax = indices.shape
    validate_params(  # the type; the range is checked below
        {"n_neighbors": n_neighbors}, {"n_neighbors": [None, numbers.Integral]},
        "graph_from_neighbors", fixes={"n_neighbors": "Pass e.g. n_neighbors=10."},
    )
    k = kmax if n_neighbors is None else int(n_neighbors)
    if not 1 <= k <= kmax:
        raise ValueError(
            f"n_neighbors={k} must be between 1 and the {kmax} neighbours "
            "available"
        )
    lo, hi = indices[:, :k].min(), indices[:, :k].max()
    if lo < 0 or hi >= n:
        raise ValueError(
            f"indices must lie in [0, {n - 1}] (one row per sample), got "
            f"values from {lo} to {hi}; pass the neighbour indices of all "
            "n_samples points, e.g. from sk_ricci.kneighbors"
        )
    if (indices[:, :k] == np.arange(n)[:, None]).any():
        raise ValueError(
            "indices lists a point among its own neighbours; kNN graphs have "
            "no self-loops: use the output of sk_ricci.kneighbors"
        )
    mode = SYMMETRIZE_OPTIONS.index(symmetrize)
    indptr, cols, data = symmetric_knn_csr(
        np.ascontiguousarray(indices, dtype=np.int64), k, mode
    )
    return sp.csr_matrix((data, cols, indptr), shape=(n, n))


def add_edges(G, edges):
    """Return ``G`` with the undirected ``edges`` added (weight 1) where absent."""
    n = G.shape[0]
    if len(edges) == 0:
        return G
    u, v = edges[:, 0], edges[:, 1]
    E = sp.csr_matrix(
        (np.ones(2 * len(u)), (np.r_[u, v], np.r_[v, u])), shape=(n, n)
    )
    E.data[:] = 1.0
    missing = E - E.multiply(G.astype(bool))
    missing.eliminate_zeros()
    out = sp.csr_matrix(G + missing)
    out.sort_indices()
    return out


def layer_graphs(X, ks, options, serial=False):
    """One layer -> its graph for every scale, from one neighbour search.

    The one graph builder of the package: :func:`knn_graph`,
    :func:`sk_ricci.ricci_flow` and :func:`sk_ricci.local_ricci_flow` all
    build their graphs here.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated points (see :func:`sk_ricci._validation.check_points`).
    ks : list of int
        Validated scales; the search runs once, at ``max(ks)``.
    options : FlowOptions or object
        Its ``symmetrize``, ``connect``, ``algorithm``, ``random_state`` and
        ``n_jobs`` attributes are used (``symmetrize`` and ``connect``
        already checked; the search checks the others).
    serial : bool, default=False
        Every kernel on the calling thread, without the GIL (layers then run
        in threads).

    Returns
    -------
    graphs : list of (indptr, indices, data)
        One CSR triple per scale (int64, int64, float64; sorted indices):
        the symmetric kNN graph, with the Euclidean minimum spanning tree's
        edges added (weight 1) where absent when ``connect="mst"``.
    """
    connect, n_jobs = options.connect, options.n_jobs
    X, _ = unit_scale(X)  # exact; extreme magnitudes would under/overflow
    # a grid needs sorted lists (prefixes), the MST needs exact distances
    sort = len(set(ks)) > 1 or connect == "mst"
    idx, sqd = _kneighbors_sq(
        X, max(ks), options.algorithm, "euclidean", options.random_state, n_jobs,
        sort, serial,
    )
    mst = euclidean_mst(X, idx, sqd, n_jobs, serial) if connect == "mst" else None
    mode = SYMMETRIZE_OPTIONS.index(options.symmetrize)
    idx = np.ascontiguousarray(idx, dtype=np.int64)
    n = X.shape[0]
    out = []
    for k in ks:
        indptr, cols, data = symmetric_knn_csr(idx, k, mode)
        if mst is not None:
            G = add_edges(sp.csr_matrix((data, cols, indptr), shape=(n, n)), mst)
            indptr = G.indptr.astype(np.int64)
            cols = G.indices.astype(np.int64)
            data = np.ascontiguousarray(G.data, dtype=np.float64)
        out.append((indptr, cols, data))
    return out


def csr_graph(graph):
    """A CSR triple of :func:`layer_graphs` as a scipy CSR matrix."""
    indptr, cols, data = graph
    n = indptr.size - 1
    return sp.csr_matrix((data, cols, indptr), shape=(n, n))


def knn_graph(
    X,
    n_neighbors,
    *,
    symmetrize="max",
    connect=None,
    algorithm="auto",
    metric="euclidean",
    random_state=None,
    n_jobs=None,
):
    """Symmetric k-nearest-neighbour graph of a point cloud.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Points (for example one hidden layer's activations).
    n_neighbors : int or list of int
        Neighbours per point (the paper's k). A list returns one graph per
        value, all from ONE neighbour search at the largest value.
    symmetrize : {"max", "min", "sum"}, default="max"
        How the directed kNN relation becomes an undirected graph
        (docs/method.md, section 1): "max" joins i and j if either lists the other
        (the plain reading of the paper's equations); "min" only if both do
        (mutual kNN); "sum" keeps the multigraph A + A^T of the authors' R
        script, where a mutual pair is one edge of multiplicity 2.
    connect : {None, "mst"}, default=None
        "mst" adds the edges of the Euclidean minimum spanning tree of ``X``,
        so the graph is connected by construction.
    algorithm : {"auto", "brute", "nndescent"}, default="auto"
        "brute" is exact: blocked distances with every near-tie re-checked by
        direct differences, ties broken by (distance, index). "nndescent" is
        the approximate pynndescent search, imported lazily. "auto" picks
        "brute" when ``n_samples <= 20_000`` or ``n_neighbors >= 0.05 *
        n_samples`` (the dense regime of the paper) and "nndescent" otherwise.
    metric : {"euclidean"}, default="euclidean"
        Distance; only Euclidean (the paper's) is supported.
    random_state : int, RandomState instance or None, default=None
        Seed of the approximate search; the exact search is deterministic.
    n_jobs : int, default=None
        Threads of the neighbour search and of the minimum spanning tree
        (None: 1, -1: all cores).

    Returns
    -------
    G : scipy.sparse.csr_matrix of shape (n_samples, n_samples), or a list
        Symmetric adjacency matrix without self-loops; entries are edge
        multiplicities (1, or 2 for mutual pairs under "sum").

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci import knn_graph
    >>> X = np.array([[0.0], [1.0], [3.0], [6.0]])
    >>> knn_graph(X, 1).toarray()
    array([[0., 1., 0., 0.],
           [1., 0., 1., 0.],
           [0., 1., 0., 1.],
           [0., 0., 1., 0.]])
    >>> knn_graph(X, 1, symmetrize="sum").toarray()
    array([[0., 2., 0., 0.],
           [2., 0., 1., 0.],
           [0., 1., 0., 1.],
           [0., 0., 1., 0.]])
    >>> [g.nnz for g in knn_graph(X, [1, 2])]
    [6, 10]
    """
    X, _ = unit_scale(check_points(X))  # the graph does not depend on the scale
    ks, scalar = check_n_neighbors(n_neighbors, X.shape[0])
    check_random_state_param(random_state, "knn_graph")  # also when unused
    check_option(symmetrize, SYMMETRIZE_OPTIONS, "symmetrize")
    check_option(connect, CONNECT_OPTIONS, "connect")
    _check_metric(metric)
    options = SimpleNamespace(  # checked by the search, as before
        symmetrize=symmetrize, connect=connect, algorithm=algorithm,
        random_state=random_state, n_jobs=n_jobs,
    )
    graphs = [csr_graph(g) for g in layer_graphs(X, ks, options)]
    return graphs[0] if scalar else graphs


class KNNGraph(
    ValidatedMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None
):
    """Transformer twin of :func:`knn_graph`.

    ``transform(X)`` returns the kNN graph of the rows of ``X`` themselves
    (like giotto-tda's graph transformers, not like scikit-learn's
    ``KNeighborsTransformer``, which links new points to the fitted ones):
    the graph of a test set is what the Ricci-flow analysis needs. ``fit``
    only validates and records ``n_features_in_``.

    The output is always a sparse graph: :meth:`set_output` is accepted (so
    that ``make_pipeline(KNNGraph(5), RicciCurvature()).set_output(
    transform="pandas")`` gives a DataFrame from the last step) but leaves
    this step's sparse output as it is, since a DataFrame of an n x n graph
    would be dense.

    Parameters
    ----------
    n_neighbors : int, default=10
        Neighbours per point.
    symmetrize : {"max", "min", "sum"}, default="max"
        See :func:`knn_graph`.
    connect : {None, "mst"}, default=None
        See :func:`knn_graph`.
    algorithm : {"auto", "brute", "nndescent"}, default="auto"
        See :func:`knn_graph`.
    metric : {"euclidean"}, default="euclidean"
        Distance; only Euclidean is supported.
    random_state : int, RandomState instance or None, default=None
        Seed of the approximate search.
    n_jobs : int, default=None
        Threads (None: 1, -1: all cores, -2: all but one).

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen in ``fit``.
    n_samples_fit_ : int
        Number of samples seen in ``fit`` (the nodes of ``fit_transform``'s
        graph).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci import KNNGraph
    >>> X = np.random.RandomState(0).normal(size=(20, 3))
    >>> G = KNNGraph(n_neighbors=3).fit_transform(X)
    >>> G.shape, bool((G != G.T).nnz == 0)
    ((20, 20), True)
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_neighbors": ONE_N_NEIGHBORS,
        "symmetrize": FLOW_CONSTRAINTS["symmetrize"],
        "connect": FLOW_CONSTRAINTS["connect"],
        "algorithm": FLOW_CONSTRAINTS["algorithm"],
        "metric": [Options(("euclidean",))],
        "random_state": FLOW_CONSTRAINTS["random_state"],
        "n_jobs": FLOW_CONSTRAINTS["n_jobs"],
    }
    _parameter_fixes: ClassVar[dict] = {
        **FLOW_FIXES,
        "n_neighbors": ONE_N_NEIGHBORS_FIX,
        "metric": "sk_ricci builds Euclidean kNN graphs, as the paper does; "
        "transform the points first for another distance.",
    }

    def __init__(
        self, n_neighbors=10, *, symmetrize="max", connect=None, algorithm="auto",
        metric="euclidean", random_state=None, n_jobs=None,
    ):
        self.n_neighbors = n_neighbors
        self.symmetrize = symmetrize
        self.connect = connect
        self.algorithm = algorithm
        self.metric = metric
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, y=None):
        """Validate parameters and ``X``; record ``n_features_in_``."""
        self._validate_params()
        X = validate_points(self, X)
        self.n_samples_fit_ = X.shape[0]
        return self

    def set_output(self, *, transform=None):
        """Accept a pipeline's output setting; the graph stays sparse.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            Checked, then ignored: the output of this step is always a
            scipy sparse matrix (see the class docstring).

        Returns
        -------
        self : KNNGraph
        """
        if transform not in (None, "default", "pandas", "polars"):
            raise ValueError(
                f"transform must be None, 'default', 'pandas' or 'polars', got "
                f"{transform!r}"
            )
        return self

    def transform(self, X):
        """kNN graph of the rows of ``X``, shape (n_samples, n_samples)."""
        check_is_fitted(self, "n_features_in_")
        X = validate_points(self, X, reset=False)
        return knn_graph(
            X, self.n_neighbors, symmetrize=self.symmetrize, connect=self.connect,
            algorithm=self.algorithm, metric=self.metric,
            random_state=self.random_state, n_jobs=self.n_jobs,
        )

    def get_feature_names_out(self, input_features=None):
        """One name per node of the graph of the fitted samples
        (``knngraph0``, ``knngraph1``, ...): columns are samples."""
        check_is_fitted(self, "n_samples_fit_")
        return np.asarray(
            [f"knngraph{i}" for i in range(self.n_samples_fit_)], dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        tags.input_tags.sparse = False
        return tags
