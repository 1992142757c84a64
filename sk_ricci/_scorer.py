"""Fitted estimator + X -> flow strength, a scorer for model selection."""

import numbers
import warnings
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from ._baselines import _inputs_of
from ._flow import _ricci_flow
from ._local import _local_ricci_flow
from ._options import FLOW_CONSTRAINTS, FLOW_FIXES, FlowOptions
from ._param_validation import Boolean, Interval, ListOf, Options, ValidatedMixin
from ._validation import check_option
from .exceptions import AdjustedCoefficientWarning

__all__ = ["RicciFlowScorer"]

STATISTIC_OPTIONS = (
    "rho",
    "adjusted_paper",
    "adjusted_fisher",
    "local_mean",
    "local_share_negative",
)
#: statistics read from :func:`sk_ricci.ricci_flow`'s result, negated
_GLOBAL = {
    "rho": "coefficient",
    "adjusted_paper": "adjusted_paper",
    "adjusted_fisher": "adjusted_fisher",
}
#: statistics of :func:`sk_ricci.local_ricci_flow`
_LOCAL = ("local_mean", "local_share_negative")


def flow_statistic(result, statistic):
    """The scorer's value (greater is better) from a flow result.

    ``result`` is a :class:`~sk_ricci.RicciFlowResult` for the global
    statistics and a :func:`~sk_ricci.local_ricci_flow` result for the local
    ones: rho and its adjusted forms and the mean local coefficient are
    negated (a Ricci-flow-like network has them negative); the share of
    points with a negative local coefficient is returned as is.
    """
    if statistic in _GLOBAL:
        return float(-getattr(result, _GLOBAL[statistic]))
    if statistic == "local_mean":
        return float(-result.mean)
    if statistic == "local_share_negative":
        return float(result.share_negative)
    check_option(statistic, STATISTIC_OPTIONS, "statistic")
    raise AssertionError(statistic)  # pragma: no cover


#: one scale: an int k, or a float share of the scored samples
_ONE_SCALE = [
    Interval(numbers.Integral, 1, None),
    Interval(numbers.Real, 0, 1, closed="neither"),
]


class RicciFlowScorer(ValidatedMixin, BaseEstimator):
    """Score a fitted ReLU network by how strongly it behaves like Ricci flow.

    ``scorer(estimator, X, y=None)`` captures the hidden-layer activations of
    ``X`` (the held-out fold in cross-validation) with
    :func:`sk_ricci.nn.layer_activations`, measures the flow and returns a
    statistic oriented so that greater is better, as scikit-learn expects
    (compare ``neg_log_loss``):

    - ``"rho"``: the **negated** Ricci coefficient of Baptista et al. (Eq. 8,
      :func:`sk_ricci.ricci_flow`), the paper's statistic: a strongly
      Ricci-flow-like network (rho near -1) scores near +1;
    - ``"adjusted_paper"``, ``"adjusted_fisher"``: its depth-adjusted forms,
      negated;
    - ``"local_mean"``: the negated mean of the per-point local Ricci
      coefficients of :func:`sk_ricci.local_ricci_flow` (Hehl, von Renesse
      and Weber 2025);
    - ``"local_share_negative"``: the share of points whose local coefficient
      is negative.

    **Defaults, chosen by measurement.** ``RicciFlowScorer()`` is the flow
    statistic that ranked networks by test accuracy best in the selection
    benchmark (``docs/selection.md``; criterion fixed in advance: the highest
    median Spearman correlation over problems x pools): ``statistic=
    "local_mean"``, ``curvature="approx_ollivier"``, ``connect="mst"``,
    ``n_neighbors=50``. It reached a median Spearman of about +0.6 there,
    behind the label-free nuclear-norm baseline
    (:class:`~sk_ricci.NuclearNormScorer`, about +0.9) and validation
    accuracy; the paper's statistic (``RicciFlowScorer(30, statistic="rho",
    connect=None, curvature="forman")``) ranked networks *inversely* to test
    accuracy there (median about -0.4). Read that page before relying on
    any of them.

    It works as ``scoring=`` in ``GridSearchCV`` / ``cross_validate`` (alone
    or in a multi-metric dict, e.g. ``{"accuracy": "accuracy", "flow":
    RicciFlowScorer(...)}``), in ``HalvingGridSearchCV`` and in skorch's
    ``EpochScoring``. It is an estimator-like object: ``get_params``,
    ``set_params`` and :func:`sklearn.base.clone` work, and its repr shows
    the parameters that differ from the defaults.

    **Disconnected graphs** (with ``connect=None``, the paper's graphs). A
    well-trained classifier pulls its classes apart, so at small
    ``n_neighbors`` its deeper layer graphs are often disconnected; the
    paper's coefficient is then undefined and this scorer returns NaN with a
    :class:`~sk_ricci.exceptions.DisconnectedGraphWarning` naming the layer
    (local statistics use the points whose coefficient is defined).
    Returning NaN would rank the best networks last, so use a remedy:
    ``connect="mst"`` (the default: adds each layer's Euclidean minimum
    spanning tree, so the coefficient is always defined), or a larger
    ``n_neighbors`` (see :func:`sk_ricci.select_n_neighbors`). ``on_disconnected="raise"``
    raises instead (``GridSearchCV`` then records ``error_score``).

    Parameters
    ----------
    n_neighbors : int, float or list of them, default=50
        The scale k. A float in (0, 1) is a share of the scored samples
        (``max(1, round(n_neighbors * n_samples))``), convenient when fold
        sizes vary. A list or tuple of scales (e.g. ``[10, 30, 50]``) returns
        the **mean of the statistic over the scales** (NaN if it is NaN at
        any of them); the global statistics share one neighbour search per
        layer.
    symmetrize : {"max", "min", "sum"}, default="max"
        Graph convention (see :func:`sk_ricci.knn_graph`).
    statistic : {"rho", "adjusted_paper", "adjusted_fisher", "local_mean", \
            "local_share_negative"}, default="local_mean"
        Which statistic to return (see above). The adjusted forms need more
        than 4 layers (NaN otherwise). ``statistic="rho", connect=None,
        curvature="forman"`` is the paper's statistic.
    on_disconnected : {"nan", "raise"}, default="nan"
        What a disconnected layer graph gives (global statistics).
    connect : {None, "mst"}, default="mst"
        "mst" keeps every layer graph connected (see above); None builds the
        paper's graphs.
    curvature : {"forman", "augmented_forman", "approx_ollivier", \
            "ollivier"}, default="approx_ollivier"
        Edge curvature (see :func:`sk_ricci.ricci_flow`); "forman" is the
        paper's.
    include_input : bool, default=False
        False measures the paper's layers, the hidden layers only. True
        prepends the input ``X`` itself (as passed to the scorer, before any
        ``Pipeline`` step) as layer 0, as Hehl et al. do, so the flow also
        sees the first layer's change of geometry.
    algorithm : {"auto", "brute", "nndescent"}, default="auto"
        Neighbour search.
    random_state : int or None, default=None
        Seed of the approximate neighbour search (global statistics).
    n_jobs : int, default=None
        Threads of the flow computation (see :func:`sk_ricci.ricci_flow`).
        Inside ``GridSearchCV(n_jobs=...)``, whose workers already share the
        cores, leave it at None.
    batch_size : int, default=1024
        Batch size of the activation capture.

    Examples
    --------
    >>> from sklearn.base import clone
    >>> from sklearn.datasets import make_moons
    >>> from sklearn.neural_network import MLPClassifier
    >>> from sk_ricci import RicciFlowScorer
    >>> X, y = make_moons(200, noise=0.1, random_state=0)
    >>> clf = MLPClassifier((16,) * 5, max_iter=300, random_state=0).fit(X, y)
    >>> scorer = RicciFlowScorer(n_neighbors=20)
    >>> scorer
    RicciFlowScorer(n_neighbors=20)
    >>> clone(scorer)
    RicciFlowScorer(n_neighbors=20)
    >>> -1.0 <= scorer(clf, X) <= 1.0
    True
    >>> paper = RicciFlowScorer(30, statistic="rho", connect=None,
    ...                         curvature="forman")
    >>> paper.get_params()["statistic"], paper.get_params()["curvature"]
    ('rho', 'forman')
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_neighbors": [*_ONE_SCALE, ListOf(_ONE_SCALE)],
        "statistic": [Options(STATISTIC_OPTIONS)],
        "include_input": [Boolean()],
        "batch_size": [Interval(numbers.Integral, 1, None)],
        **FLOW_CONSTRAINTS,
    }
    _parameter_fixes: ClassVar[dict] = {
        **FLOW_FIXES,
        "n_neighbors": "Pass an int such as 30, a float share of the scored "
        "samples such as 0.05, or a non-empty list of scales such as "
        "[10, 30, 50].",
        "batch_size": "Pass e.g. batch_size=1024.",
    }

    def __init__(
        self,
        n_neighbors=50,
        *,
        symmetrize="max",
        statistic="local_mean",
        on_disconnected="nan",
        connect="mst",
        curvature="approx_ollivier",
        include_input=False,
        algorithm="auto",
        random_state=None,
        n_jobs=None,
        batch_size=1024,
    ):
        self.n_neighbors = n_neighbors
        self.symmetrize = symmetrize
        self.statistic = statistic
        self.on_disconnected = on_disconnected
        self.connect = connect
        self.curvature = curvature
        self.include_input = include_input
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.batch_size = batch_size
        # fail at construction, not deep inside a grid search (the arguments
        # are stored unchanged, so clone and set_params work as usual)
        self._validate_params()

    def _scales(self, n_samples):
        """The scales as ints for ``n_samples`` scored samples (parameters
        already validated)."""
        k = self.n_neighbors
        return [
            self._resolve_k(v, n_samples)
            for v in (k if isinstance(k, (list, tuple)) else [k])
        ]

    def _resolve_k(self, k, n_samples):
        if not isinstance(k, numbers.Integral):
            k = max(1, round(k * n_samples))
        k = int(k)
        if k >= n_samples:
            raise ValueError(
                f"RicciFlowScorer(n_neighbors={self.n_neighbors}) needs more than "
                f"{k} scored samples, got {n_samples} (in cross-validation: the "
                "held-out fold); pass a smaller n_neighbors, a float share such "
                "as 0.05, or use fewer folds"
            )
        return k

    def _layers(self, estimator, X):
        from sklearn.utils.validation import check_array

        from .nn import layer_activations

        X = _inputs_of(X)
        layers = layer_activations(estimator, X, batch_size=self.batch_size)
        if self.include_input:
            layers = [check_array(X, dtype=np.float64)] + list(layers)
        return layers

    def measure_layers(self, layers):
        """The flow results behind the score, from activations.

        Parameters
        ----------
        layers : list of array-like of shape (n_samples, n_features_l)
            The layers to measure, e.g. ``layer_activations(estimator, X)``
            (with ``X`` prepended when ``include_input=True``).

        Returns
        -------
        results : list
            One result per scale: :class:`~sk_ricci.RicciFlowResult` for the
            global statistics, :func:`~sk_ricci.local_ricci_flow`'s result for
            the local ones.
        """
        self._validate_params()
        ks = self._scales(np.asarray(layers[0]).shape[0])
        options = FlowOptions.from_params(self.get_params(deep=False))
        if self.statistic in _LOCAL:
            # the local flow seeds its approximate search with 0
            options = options.replace(random_state=0)
            return [_local_ricci_flow(layers, k, options) for k in ks]
        with warnings.catch_warnings():
            if self.statistic == "rho":  # the adjusted forms are not used
                warnings.simplefilter("ignore", AdjustedCoefficientWarning)
            results = _ricci_flow(layers, ks if len(ks) > 1 else ks[0], options)
        return list(results) if len(ks) > 1 else [results]

    def score_layers(self, layers):
        """The score (greater is better) of already captured activations."""
        results = self.measure_layers(layers)
        return float(np.mean([flow_statistic(r, self.statistic) for r in results]))

    def measure(self, estimator, X):
        """The flow result behind the score (a list of them for a list of
        scales)."""
        self._validate_params()
        results = self.measure_layers(self._layers(estimator, X))
        return results if isinstance(self.n_neighbors, (list, tuple)) else results[0]

    def __call__(self, estimator, X, y=None):
        """Flow strength of ``estimator`` on ``X`` (greater is better)."""
        self._validate_params()
        return self.score_layers(self._layers(estimator, X))
