"""Graph -> Forman-Ricci curvature of edges, nodes and whole layers.

docs/method.md, section 2. With unit weights (the paper's choice) the Forman-Ricci
curvature of an edge is R(i, j) = 4 - d_i - d_j. Graphs are the symmetric
adjacency matrices of :func:`sk_ricci.knn_graph`; entries are edge
multiplicities (2 for a mutual pair under ``symmetrize="sum"``), and degrees
count multiplicity, so for "sum" graphs d_i = in-degree + out-degree of the
directed kNN graph, as in the authors' R script.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ._graph import _check_scalar_n_neighbors, knn_graph
from ._kernels import forman_total
from ._validation import (
    ALGORITHM_OPTIONS,
    CONNECT_OPTIONS,
    SYMMETRIZE_OPTIONS,
    check_graph,
    check_option,
)

__all__ = [
    "RicciCurvature",
    "degrees",
    "forman_curvature",
    "node_curvature",
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


class RicciCurvature(TransformerMixin, BaseEstimator):
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

    def __init__(
        self, n_neighbors=None, *, symmetrize="max", connect=None, augmented=False,
        algorithm="auto",
    ):
        self.n_neighbors = n_neighbors
        self.symmetrize = symmetrize
        self.connect = connect
        self.augmented = augmented
        self.algorithm = algorithm

    def _graph(self, X, reset):
        if self.n_neighbors is None:
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
        X = validate_data(self, X, dtype=np.float64, reset=reset)
        _check_scalar_n_neighbors(self, X.shape[0])
        return knn_graph(
            X, self.n_neighbors, symmetrize=self.symmetrize, connect=self.connect,
            algorithm=self.algorithm,
        )

    def _check_params(self):
        check_option(self.symmetrize, SYMMETRIZE_OPTIONS, "symmetrize")
        check_option(self.connect, CONNECT_OPTIONS, "connect")
        check_option(self.algorithm, ALGORITHM_OPTIONS, "algorithm")

    def fit(self, X, y=None):
        """Validate parameters and the input."""
        self._check_params()
        self._graph(X, reset=True)
        return self

    def transform(self, X):
        """Per-sample curvature features, shape (n_samples, 3)."""
        check_is_fitted(self, "n_features_in_")
        G = self._graph(X, reset=False)
        d = np.asarray(G.sum(axis=1)).ravel()
        s = node_curvature(G, reduce="sum", augmented=self.augmented)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(d > 0, s / np.where(d > 0, d, 1), 0.0)
        return np.column_stack([d, s, mean])

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns."""
        check_is_fitted(self, "n_features_in_")
        return np.asarray(self._feature_names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self.n_neighbors is None
        tags.transformer_tags.preserves_dtype = []
        return tags
