"""Graph -> Forman-Ricci curvature of edges, nodes and whole layers.

docs/method.md, section 2. With unit weights (the paper's choice) the Forman-Ricci
curvature of an edge is R(i, j) = 4 - d_i - d_j. Graphs are the symmetric
adjacency matrices of :func:`sk_ricci.knn_graph`; entries are edge
multiplicities (2 for a mutual pair under ``symmetrize="sum"``), and degrees
count multiplicity, so for "sum" graphs d_i = in-degree + out-degree of the
directed kNN graph, as in the authors' R script. Entries must be integers:
a distance-weighted graph (scikit-learn's ``kneighbors_graph(...,
mode="distance")``) is refused, since its weights are not multiplicities.
"""

from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._graph import ONE_N_NEIGHBORS, knn_graph, validate_points
from ._kernels import forman_total
from ._kernels.local import (
    edge_approx_ollivier,
    edge_forman,
    edge_triangles,
    ollivier_balls,
    ollivier_edge_costs,
)
from ._options import FLOW_CONSTRAINTS, FLOW_FIXES
from ._param_validation import Boolean, ValidatedMixin, _is_real
from ._validation import CURVATURE_KINDS, check_graph, check_option

__all__ = [
    "RicciCurvature",
    "approx_ollivier_curvature",
    "degrees",
    "forman_curvature",
    "node_curvature",
    "ollivier_curvature",
    "total_curvature",
]


def degrees(G):
    """Degree of every node, counting edge multiplicity.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from sk_ricci import degrees
    >>> path = sp.csr_matrix([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    >>> degrees(path)
    array([1., 2., 1.])
    """
    G = check_graph(G)
    return np.asarray(G.sum(axis=1)).ravel()


def _common_neighbours(G):
    """(S @ S)[i, j] = number of triangles through (i, j) on the support S."""
    S = sp.csr_matrix(G.astype(bool), dtype=np.float64)
    return sp.csr_matrix(S @ S)


def forman_curvature(G, *, augmented=False):
    """Forman-Ricci curvature of every edge.

    R(i, j) = 4 - d_i - d_j (Eq. 4 of the paper, unit weights), plus
    3 x (number of triangles through the edge) when ``augmented``.

    Parameters
    ----------
    G : sparse matrix of shape (n_samples, n_samples)
        Symmetric adjacency matrix, e.g. from :func:`sk_ricci.knn_graph`.
    augmented : bool, default=False
        Add the triangle term of the augmented Forman curvature (triangles are
        counted on the simple graph underlying ``G``).

    Returns
    -------
    R : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        ``R[i, j]`` is the curvature of edge (i, j), stored on exactly the
        edges of ``G`` (zero curvatures are kept as explicit entries, so
        ``R.nnz == G.nnz``).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from sk_ricci import forman_curvature
    >>> path = sp.csr_matrix([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    >>> forman_curvature(path).toarray()  # 4 - 1 - 2 on both edges
    array([[0., 1., 0.],
           [1., 0., 1.],
           [0., 1., 0.]])
    >>> triangle = sp.csr_matrix([[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    >>> forman_curvature(triangle, augmented=True).toarray()  # 0 + 3 x 1
    array([[0., 3., 3.],
           [3., 0., 3.],
           [3., 3., 0.]])
    """
    G = check_graph(G)
    d = np.asarray(G.sum(axis=1)).ravel()
    rows = np.repeat(np.arange(G.shape[0]), np.diff(G.indptr))
    vals = 4.0 - d[rows] - d[G.indices]
    if augmented:
        tri = _common_neighbours(G)[rows, G.indices]
        vals = vals + 3.0 * np.asarray(tri).ravel()
    return sp.csr_matrix((vals, G.indices.copy(), G.indptr.copy()), shape=G.shape)


def node_curvature(G, *, reduce="mean", augmented=False):
    """Curvature of every node from the curvatures of its edges.

    Parameters
    ----------
    G : sparse matrix of shape (n_samples, n_samples)
        Symmetric adjacency matrix.
    reduce : {"mean", "sum"}, default="mean"
        "sum": sum of R(i, j) over incident edges (weighted by multiplicity);
        "mean": that sum divided by the degree (the scalar curvature of
        follow-up work). An isolated node gets 0 for "sum" and NaN for "mean".
    augmented : bool, default=False
        Use the augmented Forman curvature.

    Returns
    -------
    curvature : ndarray of shape (n_samples,)

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from sk_ricci import node_curvature
    >>> star = sp.csr_matrix([[0, 1, 1, 1], [1, 0, 0, 0], [1, 0, 0, 0],
    ...                       [1, 0, 0, 0]])
    >>> node_curvature(star, reduce="sum")
    array([0., 0., 0., 0.])
    """
    check_option(reduce, ("mean", "sum"), "reduce")
    G = check_graph(G)
    R = forman_curvature(G, augmented=augmented)
    s = np.asarray(G.multiply(R).sum(axis=1)).ravel()
    if reduce == "sum":
        return s
    d = np.asarray(G.sum(axis=1)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(d > 0, s / np.where(d > 0, d, 1), np.nan)


def total_curvature(G, *, augmented=False):
    """Total Forman-Ricci curvature of a layer, Ric_l (Eq. 6).

    The sum of R(i, j) over edges, each counted with its multiplicity: once
    per undirected edge for "max"/"min" graphs (= 4|E| - sum_i d_i^2), and
    once per directed kNN edge for "sum" graphs (a mutual pair twice), as the
    authors' R script does. Computed in O(n + nnz).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from sk_ricci import total_curvature
    >>> path = sp.csr_matrix([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    >>> total_curvature(path)  # two edges of curvature 4 - 1 - 2 = 1
    2.0
    """
    return _total_curvature(check_graph(G), augmented)


def _total_curvature(G, augmented=False):
    """:func:`total_curvature` of a graph known to be valid."""
    # 1/2 sum_ij G_ij (4 - d_i - d_j) = 2 sum(G) - sum_i d_i^2
    total = forman_total(
        G.indptr.astype(np.int64, copy=False),
        np.ascontiguousarray(G.data, dtype=np.float64),
    )
    if augmented:
        total += 1.5 * float(G.multiply(_common_neighbours(G)).sum())
    return float(total)


#: idleness of the exact Ollivier-Ricci curvature in the flows
#: (``curvature="ollivier"``): the random walk stays put with probability 1/2
OLLIVIER_ALPHA = 0.5


def _csr_arrays(G):
    return (
        G.indptr.astype(np.int64, copy=False),
        G.indices.astype(np.int64, copy=False),
        np.ascontiguousarray(G.data, dtype=np.float64),
    )


def _mirror(indptr, indices):
    """For every CSR entry (i, j) of a symmetric pattern, the entry (j, i)."""
    n = indptr.size - 1
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    key = rows * n + indices
    order = np.argsort(key, kind="stable")
    pos = np.searchsorted(key[order], indices * n + rows)
    return order[pos]


def _emd2_linprog(a, b, C):
    """Earth mover's distance by scipy's linear programming (HiGHS), with
    sparse marginal constraints (2 m k nonzeros for an m x k problem)."""
    from scipy.optimize import linprog

    m, k = C.shape
    cols = np.arange(m * k)
    A_eq = sp.csr_matrix(
        (
            np.ones(2 * m * k),
            (np.r_[cols // k, m + cols % k], np.r_[cols, cols]),
        ),
        shape=(m + k, m * k),
    )
    res = linprog(
        C.ravel(), A_eq=A_eq, b_eq=np.r_[a, b], bounds=(0, None), method="highs"
    )
    if not res.success:  # pragma: no cover - a feasible, bounded problem
        raise RuntimeError(f"the transport linear program failed: {res.message}")
    return float(res.fun)


def _transport_solver():
    """POT's exact network simplex if installed, else scipy's linprog."""
    try:
        import ot
    except ImportError:
        return _emd2_linprog

    def emd2(a, b, C):
        return float(ot.emd2(a, b, C))

    return emd2


def _ollivier_edges(indptr, indices, data, alpha, solver=None):
    """Exact Ollivier-Ricci curvature of every CSR entry (see
    :func:`ollivier_curvature`)."""
    emd2 = _transport_solver() if solver is None else solver
    n = indptr.size - 1
    R = np.full(indices.size, np.nan)
    keep = slice(1, None) if alpha == 0 else slice(None)
    for x in range(n):
        row = slice(indptr[x], indptr[x + 1])
        if not (indices[row] > x).any():
            continue
        # one cost matrix per edge, (d_x + 1) x (d_y + 1): memory quadratic
        # in the degree (all of x's edges at once would be cubic)
        sx, ball1, ball2 = ollivier_balls(indptr, indices, x)
        wx = data[row]
        mx = np.r_[alpha, (1.0 - alpha) * wx / wx.sum()][keep]
        for e in range(row.start, row.stop):
            y = indices[e]
            if y <= x:
                continue
            wy = data[indptr[y] : indptr[y + 1]]
            my = np.r_[alpha, (1.0 - alpha) * wy / wy.sum()][keep]
            C = ollivier_edge_costs(indptr, indices, sx, ball1, ball2, y)
            R[e] = 1.0 - emd2(mx, my, np.ascontiguousarray(C[keep, keep]))
    mirror = _mirror(indptr, indices)
    upper = indices > np.repeat(np.arange(n), np.diff(indptr))
    R[mirror[upper]] = R[upper]
    return R


def _edge_curvature(G, kind, alpha=OLLIVIER_ALPHA):
    """Curvature of every stored edge of a valid symmetric CSR graph, aligned
    with ``G.data`` (multiplicities ignored by the triangle and transport
    supports, counted in the degrees)."""
    indptr, indices, data = _csr_arrays(G)
    if kind == "forman":
        return edge_forman(indptr, indices, data)
    if kind == "augmented_forman":
        return edge_forman(indptr, indices, data) + 3.0 * edge_triangles(
            indptr, indices
        )
    if kind == "approx_ollivier":
        return edge_approx_ollivier(indptr, indices, data)
    if kind == "ollivier":
        return _ollivier_edges(indptr, indices, data, alpha)
    raise ValueError(  # pragma: no cover - validated by the callers
        f"curvature={kind!r} is not supported; expected one of {CURVATURE_KINDS}"
    )


def _total_edge_curvature(G, kind):
    """Total curvature of a valid graph for any ``kind``: the sum over edges
    counted with multiplicity, 1/2 sum_ij G_ij R_ij (Eq. 6 for Forman)."""
    if kind in ("forman", "augmented_forman"):
        return _total_curvature(G, kind == "augmented_forman")
    R = _edge_curvature(G, kind)
    return float(0.5 * np.dot(G.data, R))


def _edge_matrix(G, R):
    return sp.csr_matrix((R, G.indices.copy(), G.indptr.copy()), shape=G.shape)


def approx_ollivier_curvature(G):
    """Closed-form approximation of the Ollivier-Ricci curvature of every edge.

    Tian, Lubberts and Weber ("Curvature-based clustering on graphs", 2023)
    average the upper bound ``T / max(d_i, d_j)`` and Jost and Liu's lower
    bound (2014) of the Ollivier-Ricci curvature without idleness::

        R(i, j) = T / (2 m) - 1/2 [ (1 - 1/d_i - 1/d_j - T / min(d_i, d_j))_+
                                    + (1 - 1/d_i - 1/d_j - T / m)_+ - T / m ]

    with ``m = max(d_i, d_j)`` and ``T`` the triangles through the edge (common
    neighbours). O(sum of squared degrees), no transport problem. Degrees
    count multiplicity ("sum" graphs); triangles are counted on the simple
    graph underlying ``G``.

    Parameters
    ----------
    G : sparse matrix of shape (n_samples, n_samples)
        Symmetric adjacency matrix, e.g. from :func:`sk_ricci.knn_graph`.

    Returns
    -------
    R : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        Curvature of every edge of ``G`` (``R.nnz == G.nnz``).

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from sk_ricci import approx_ollivier_curvature
    >>> K4 = sp.csr_matrix(np.ones((4, 4)) - np.eye(4))
    >>> round(float(approx_ollivier_curvature(K4)[0, 1]), 12)  # (n-2)/(n-1)
    0.666666666667
    """
    G = check_graph(G)
    return _edge_matrix(G, _edge_curvature(G, "approx_ollivier"))


def ollivier_curvature(G, *, alpha=0.5):
    """Exact Ollivier-Ricci curvature of every edge (Ollivier 2009).

    ``R(i, j) = 1 - W_1(m_i, m_j)``, where ``m_i`` keeps mass ``alpha`` at i
    and spreads ``1 - alpha`` over i's neighbours in proportion to the edge
    multiplicities, and ``W_1`` is the optimal-transport (earth mover's)
    distance with hop distances as costs. Neighbour supports lie within 3
    hops, so each edge's cost matrix comes from the 2-balls of one endpoint's
    neighbours; each edge then solves one transport problem of size about
    (d_i + 1) x (d_j + 1), by POT's exact network simplex (``ot.emd2``; install
    the ``ollivier`` extra, ``pip install 'sk-ricci[ollivier]'``) or, without
    POT, by scipy's linear programming (``scipy.optimize.linprog``, slower).
    Cost: one transport problem per edge, about ``n * n_neighbors`` of them
    for a kNN graph; see ``docs/method.md``. Memory: one cost matrix at a
    time, 8 (d_i + 1)(d_j + 1) bytes (8 MB for two nodes of degree 1,000),
    plus bit sets of 2 (d_i + 1) n / 8 bytes for the balls of i's support.

    Parameters
    ----------
    G : sparse matrix of shape (n_samples, n_samples)
        Symmetric adjacency matrix.
    alpha : float, default=0.5
        Idleness in [0, 1): the mass each measure keeps at its own node.
        ``alpha=0`` is the curvature of the plain random walk. Any real number
        (Python or NumPy, int or float) is accepted; bools are not.

    Returns
    -------
    R : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        Curvature of every edge of ``G`` (``R.nnz == G.nnz``). An edge of an
        isolated pair (both endpoints of degree 1) gets ``1 - |2 alpha - 1|``.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from sk_ricci import ollivier_curvature
    >>> K4 = sp.csr_matrix(np.ones((4, 4)) - np.eye(4))
    >>> round(float(ollivier_curvature(K4, alpha=0.5)[0, 1]), 12)  # n/(2(n-1))
    0.666666666667
    """
    if not (_is_real(alpha) and 0 <= alpha < 1):
        got = (
            "a bool, which is not a number here"
            if isinstance(alpha, (bool, np.bool_))
            else f"{type(alpha).__name__} {alpha!r}"
        )
        raise ValueError(
            f"alpha must be a number in [0, 1): the idleness, the mass each "
            f"node's measure keeps at the node itself; got {got}. Pass e.g. "
            "alpha=0.5 (the flows' value) or alpha=0.0 (the plain random walk)."
        )
    G = check_graph(G)
    return _edge_matrix(G, _edge_curvature(G, "ollivier", float(alpha)))


class RicciCurvature(ValidatedMixin, TransformerMixin, BaseEstimator):
    """Per-sample Forman-Ricci curvature features.

    Input is either a precomputed graph (``n_neighbors=None``, for example the
    output of :class:`sk_ricci.KNNGraph` in a ``Pipeline``) or points, from
    which a kNN graph with ``n_neighbors`` is built first. Like
    :class:`KNNGraph`, ``transform(X)`` describes the graph of the rows of
    ``X`` themselves.

    Output columns (see ``get_feature_names_out``): ``degree``,
    ``curvature_sum`` and ``curvature_mean`` (sum and mean of R(i, j) over the
    incident edges of each sample).

    Parameters
    ----------
    n_neighbors : int or None, default=None
        None: ``X`` is a square adjacency matrix. An int: ``X`` are points.
    symmetrize : {"max", "min", "sum"}, default="max"
        Graph convention, used when ``X`` are points.
    connect : {None, "mst"}, default=None
        See :func:`sk_ricci.knn_graph`.
    augmented : bool, default=False
        Use the augmented Forman curvature (with triangles).
    algorithm : {"auto", "brute", "nndescent"}, default="auto"
        Neighbour search, used when ``X`` are points.

    Attributes
    ----------
    n_features_in_ : int
        Number of features (or nodes, for a graph) seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sk_ricci import KNNGraph, RicciCurvature
    >>> X = np.random.RandomState(0).normal(size=(30, 4))
    >>> pipe = make_pipeline(KNNGraph(n_neighbors=5), RicciCurvature())
    >>> pipe.fit_transform(X).shape
    (30, 3)
    >>> list(pipe[-1].get_feature_names_out())
    ['degree', 'curvature_sum', 'curvature_mean']
    """

    _feature_names = ("degree", "curvature_sum", "curvature_mean")

    _parameter_constraints: ClassVar[dict] = {
        "n_neighbors": [None, *ONE_N_NEIGHBORS],
        "symmetrize": FLOW_CONSTRAINTS["symmetrize"],
        "connect": FLOW_CONSTRAINTS["connect"],
        "augmented": [Boolean()],
        "algorithm": FLOW_CONSTRAINTS["algorithm"],
    }
    _parameter_fixes: ClassVar[dict] = {
        **FLOW_FIXES,
        "n_neighbors": "Pass None when X is a graph (e.g. from KNNGraph), or one "
        "int such as n_neighbors=10 to build it from points.",
    }

    def __init__(
        self, n_neighbors=None, *, symmetrize="max", connect=None, augmented=False,
        algorithm="auto",
    ):
        self.n_neighbors = n_neighbors
        self.symmetrize = symmetrize
        self.connect = connect
        self.augmented = augmented
        self.algorithm = algorithm

    def _check_graph_input(self, X, reset):
        if not sp.issparse(X):
            X = np.asarray(X)
            if X.ndim != 2 or X.shape[0] != X.shape[1]:
                raise ValueError(
                    "RicciCurvature(n_neighbors=None) expects a square "
                    f"adjacency matrix, got shape {X.shape}; put KNNGraph "
                    "before it in the pipeline or set n_neighbors to build "
                    "the graph from points"
                )
        G = check_graph(X, name="X")
        if reset:
            self.n_features_in_ = G.shape[1]
        return G

    def _points_graph(self, X):
        return knn_graph(
            X, self.n_neighbors, symmetrize=self.symmetrize, connect=self.connect,
            algorithm=self.algorithm,
        )

    def _fit(self, X, build):
        """Validate parameters and input; return the graph of ``X`` when
        ``build`` (or when ``X`` is one), else None."""
        self._validate_params()
        if self.n_neighbors is None:
            return self._check_graph_input(X, reset=True)
        X = validate_points(self, X)
        return self._points_graph(X) if build else None

    def _features(self, G):
        d = np.asarray(G.sum(axis=1)).ravel()
        s = node_curvature(G, reduce="sum", augmented=self.augmented)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(d > 0, s / np.where(d > 0, d, 1), 0.0)
        return np.column_stack([d, s, mean])

    def fit(self, X, y=None):
        """Validate parameters and the input (no graph is built)."""
        self._fit(X, build=False)
        return self

    def transform(self, X):
        """Per-sample curvature features, shape (n_samples, 3)."""
        check_is_fitted(self, "n_features_in_")
        if self.n_neighbors is None:
            G = self._check_graph_input(X, reset=False)
        else:
            G = self._points_graph(validate_points(self, X, reset=False))
        return self._features(G)

    def fit_transform(self, X, y=None):
        """:meth:`fit` then :meth:`transform` of ``X``, building its graph
        once."""
        return self._features(self._fit(X, build=True))

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns."""
        check_is_fitted(self, "n_features_in_")
        return np.asarray(self._feature_names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self.n_neighbors is None
        tags.transformer_tags.preserves_dtype = []
        return tags
