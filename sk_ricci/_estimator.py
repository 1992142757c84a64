"""The estimator twin of :func:`sk_ricci.ricci_flow`."""

import numbers
from typing import ClassVar

from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ._flow import _ricci_flow
from ._options import FLOW_CONSTRAINTS, FLOW_FIXES, FlowOptions
from ._param_validation import Interval, ValidatedMixin

__all__ = ["RicciFlow"]


class RicciFlow(ValidatedMixin, BaseEstimator):
    """Estimator wrapper of :func:`sk_ricci.ricci_flow` for one network's layers.

    ``fit(layers)`` takes a list of (n_samples, n_features_l) activation
    arrays, one per hidden layer, and stores the measurement in fitted
    attributes.

    Parameters
    ----------
    n_neighbors : int, default=10
        The scale k.
    symmetrize : {"max", "min", "sum"}, default="max"
    curvature : str, default="forman"
        A name of :data:`sk_ricci._curvature.CURVATURES`.
    connect : {None, "mst"}, default=None
    on_disconnected : {"nan", "raise"}, default="nan"
    algorithm : {"auto", "brute", "nndescent"}, default="auto"
    random_state : int, RandomState instance or None, default=None
    n_jobs : int, default=None
        See :func:`sk_ricci.ricci_flow`.

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

    _parameter_constraints: ClassVar[dict] = {
        "n_neighbors": [Interval(numbers.Integral, 1, None)],
        **FLOW_CONSTRAINTS,
    }
    _parameter_fixes: ClassVar[dict] = {
        **FLOW_FIXES,
        "n_neighbors": "Pass one int such as n_neighbors=10; for a grid of "
        "scales use sk_ricci.ricci_flow(layers, [k1, k2, ...]) or "
        "sk_ricci.select_n_neighbors.",
    }

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

    def _flow(self, layers):
        options = FlowOptions.from_params(self.get_params(deep=False))
        return _ricci_flow(layers, self.n_neighbors, options)

    def fit(self, layers, y=None):
        """Measure the flow of ``layers`` (list of hidden-layer activations)."""
        self._validate_params()
        res = self._flow(layers)
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
        self._validate_params()
        check_is_fitted(self, "result_")
        return -self._flow(layers).coefficient
