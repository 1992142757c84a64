"""Points or a graph -> per-sample Forman-Ricci curvature features: the
:class:`RicciCurvature` transformer (its kernels are in ``_curvature``)."""

from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._curvature import node_curvature
from ._graph import ONE_N_NEIGHBORS, knn_graph, validate_points
from ._options import FLOW_CONSTRAINTS, FLOW_FIXES
from ._param_validation import Boolean, ValidatedMixin
from ._validation import check_graph

__all__ = ["RicciCurvature"]


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
