"""Fitted estimator + X -> flow strength, a scorer for model selection."""

import numbers
import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from ._baselines import inputs_of
from ._flow import _ricci_flow
from ._local import _local_ricci_flow
from ._options import FLOW_CONSTRAINTS, FLOW_FIXES, FlowOptions
from ._param_validation import Boolean, Interval, ListOf, Options, ValidatedMixin
from ._validation import check_option, warn
from .exceptions import AdjustedCoefficientWarning, UndefinedCoefficientWarning

__all__ = ["STATISTICS", "RicciFlowScorer", "Statistic", "network_output"]

@dataclass(frozen=True)
class Statistic:
    """One entry of :data:`STATISTICS`: where a scorer statistic comes from.

    Attributes
    ----------
    flow : {"global", "local"}
        Which flow measures it: :func:`sk_ricci.ricci_flow` ("global", a
        :class:`~sk_ricci.RicciFlowResult`) or
        :func:`sk_ricci.local_ricci_flow` ("local", a
        :class:`~sk_ricci.LocalRicciFlowResult`).
    field : str
        The attribute of that result it reads.
    sign : {+1, -1}
        The score is ``sign * field``, oriented so that greater is better
        (Ricci-flow-like values, negative coefficients, score high).
    min_layers : int
        Fewer layers give NaN (the flow warns why).
    doc : str
        One line for the docstrings that list the statistics.
    """

    flow: str
    field: str
    sign: int
    min_layers: int
    doc: str


#: The one table of scorer statistics: name -> :class:`Statistic`. The
#: ``statistic`` parameter's options, :func:`flow_statistic`, the scorer's
#: docstring and the selection benchmark all read it; a new statistic is one
#: entry here (plus its field on the result).
STATISTICS = {
    "rho": Statistic(
        "global", "coefficient", -1, 4,
        "the **negated** Ricci coefficient of Baptista et al. (Eq. 8, "
        ":func:`sk_ricci.ricci_flow`), the paper's statistic: a strongly "
        "Ricci-flow-like network (rho near -1) scores near +1",
    ),
    "adjusted_paper": Statistic(
        "global", "adjusted_paper", -1, 5,
        "the paper's depth-adjusted coefficient, negated",
    ),
    "adjusted_fisher": Statistic(
        "global", "adjusted_fisher", -1, 5,
        "the Fisher-z depth-adjusted coefficient, negated",
    ),
    "local_mean": Statistic(
        "local", "mean", -1, 4,
        "the negated mean of the per-point local Ricci coefficients of "
        ":func:`sk_ricci.local_ricci_flow` (Hehl, von Renesse and Weber 2025)",
    ),
    "local_share_negative": Statistic(
        "local", "share_negative", +1, 4,
        "the share of points whose local Ricci coefficient is negative",
    ),
    "local_layer_mean": Statistic(
        "local", "layer_mean", -1, 3,
        "the negated mean, over the layer transitions, of the per-layer local "
        "coefficients (at each transition, the correlation over the points of "
        "their scalar curvature and expansion; "
        ":attr:`~sk_ricci.LocalRicciFlowResult.layer_mean`), defined from 3 "
        "layers on",
    ),
}
STATISTIC_OPTIONS = tuple(STATISTICS)


def _statistics_doc(indent="    "):
    """The bullet list of :data:`STATISTICS` for a docstring."""
    import textwrap

    lines = []
    for name, stat in STATISTICS.items():
        lines += textwrap.wrap(
            f'- ``"{name}"``: {stat.doc};', width=74,
            initial_indent=indent, subsequent_indent=indent + "  ",
        )
    return "\n".join(lines)


def flow_statistic(result, statistic):
    """The scorer's value (greater is better) from a flow result.

    ``result`` is the result of the flow that :data:`STATISTICS` names for
    ``statistic`` (a :class:`~sk_ricci.RicciFlowResult` for the global
    statistics, a :class:`~sk_ricci.LocalRicciFlowResult` for the local
    ones); the value is the table's ``sign`` times its ``field``.
    """
    check_option(statistic, STATISTIC_OPTIONS, "statistic")
    stat = STATISTICS[statistic]
    return float(stat.sign * getattr(result, stat.field))


def network_output(estimator, X, *, batch_size=1024):
    """The network's output on ``X``, its logits, as float64 rows.

    For a scikit-learn ``MLPClassifier``/``MLPRegressor`` the output layer's
    pre-activation (``coefs_``, ``intercepts_``; before the logistic or
    softmax); for a torch module, a skorch net or a
    :class:`~sk_ricci.nn.ReLUMLPClassifier`, the module's forward output
    (flattened to one row per sample); a ``Pipeline`` transforms ``X`` with
    its earlier steps first. This is the last layer that
    ``RicciFlowScorer(include_output=True)`` appends.

    Returns
    -------
    output : ndarray of shape (n_samples, n_outputs)
    """
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import Pipeline

    from .nn import layer_activations

    if isinstance(estimator, Pipeline) and len(estimator.steps) > 1:
        X = estimator[:-1].transform(X)
        estimator = estimator.steps[-1][1]
    if isinstance(estimator, (MLPClassifier, MLPRegressor)):
        hidden = layer_activations(estimator, X, layers=[-1])[0]
        out = hidden @ estimator.coefs_[-1] + estimator.intercepts_[-1]
        return np.asarray(out, dtype=np.float64)
    root = _root_module(estimator)
    acts = layer_activations(
        estimator, X, layers=lambda name, module: module is root,
        batch_size=batch_size,
    )
    return np.asarray(acts[0], dtype=np.float64)


def _root_module(estimator):
    import torch

    if isinstance(estimator, torch.nn.Module):
        return estimator
    module = getattr(estimator, "module_", None)
    if isinstance(module, torch.nn.Module):
        return module
    from .nn._activations import _SUPPORTED

    raise TypeError(
        f"include_output=True reads the network's output and expects {_SUPPORTED}; "
        f"got an object of type {type(estimator).__name__}."
    )


def _input_layer(X):
    """``X`` as layer 0 (``include_input=True``): float64 rows, one per
    sample; N-D inputs (images) flattened in C order, as
    :func:`sk_ricci.nn.layer_activations` flattens feature maps."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):  # a DataFrame
        bad = [str(c) for c, d in dtypes.items() if getattr(d, "kind", "O") not in "biuf"]
        if bad:
            raise ValueError(
                "RicciFlowScorer(include_input=True) prepends the scored X as "
                "layer 0 and needs numbers, but X has non-numeric column(s) "
                f"{bad[:5]}. Pass include_input=False (the hidden layers "
                "already see the pipeline's encoded input), or score a "
                "numeric X."
            )
    A = np.asarray(X)
    if A.dtype.kind not in "biuf":
        raise ValueError(
            "RicciFlowScorer(include_input=True) prepends the scored X as layer "
            f"0 and needs numbers; got an array of dtype {A.dtype}. Pass "
            "include_input=False or score a numeric X."
        )
    if A.ndim > 2:
        A = A.reshape(A.shape[0], -1)
    return np.asarray(A, dtype=np.float64)


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

%(statistics)s

    **Defaults, chosen by measurement.** ``RicciFlowScorer()`` is the flow
    statistic that ranked networks by test accuracy best in the selection
    benchmark (``docs/selection.md``; rule fixed before the run: the highest
    median Spearman correlation over the designed pools of 9 problems, two
    model families and 6 pool designs): ``statistic="local_layer_mean"``,
    ``curvature="approx_ollivier"``, ``connect="mst"``, ``n_neighbors=30``,
    ``include_input=True``. That median is only about +0.3, with pools where
    it ranks networks *against* accuracy; the label-free nuclear-norm
    baseline (:class:`~sk_ricci.NuclearNormScorer`) reached about +0.7 and
    validation accuracy about +0.9, and the paper's statistic
    (``RicciFlowScorer(30, statistic="rho", connect=None,
    curvature="forman", include_input=False)``) about -0.1. **To select
    models without labels, use** :class:`~sk_ricci.NuclearNormScorer`; use
    flow strength to describe how a network transforms its data, and read
    that page before relying on it.

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
    n_neighbors : int, float or list of them, default=30
        The scale k. A float in (0, 1) is a share of the scored samples
        (``max(1, round(n_neighbors * n_samples))``), convenient when fold
        sizes vary. A list or tuple of scales (e.g. ``[10, 30, 50]``) returns
        the **mean of the statistic over the scales** (NaN if it is NaN at
        any of them); the global statistics share one neighbour search per
        layer.
    symmetrize : {"max", "min", "sum"}, default="max"
        Graph convention (see :func:`sk_ricci.knn_graph`).
    statistic : str, default="local_layer_mean"
        Which statistic to return: a name in
        :data:`sk_ricci._scorer.STATISTICS` (listed above). Each needs the
        table's ``min_layers``: 3 for ``"local_layer_mean"``, 4 for ``"rho"``
        and the per-point local statistics, 5 for the adjusted forms; fewer
        give NaN with an
        :class:`~sk_ricci.exceptions.UndefinedCoefficientWarning` that says
        what to pass. ``statistic="rho", connect=None,
        curvature="forman"`` is the paper's statistic.
    on_disconnected : {"nan", "raise"}, default="nan"
        What a disconnected layer graph gives (global statistics).
    connect : {None, "mst"}, default="mst"
        "mst" keeps every layer graph connected (see above); None builds the
        paper's graphs.
    curvature : str, default="approx_ollivier"
        Edge curvature, a name of :data:`sk_ricci._curvature.CURVATURES` (see
        :func:`sk_ricci.ricci_flow`); "forman" is the paper's.
    include_input : bool, default=True
        False measures the paper's layers, the hidden layers only. True
        prepends the input ``X`` itself (as passed to the scorer, before any
        ``Pipeline`` step) as layer 0, as Hehl et al. do, so the flow also
        sees the first layer's change of geometry. N-D inputs (images) are
        flattened to one row per sample.
    include_output : bool, default=False
        True appends the network's output, its logits (see
        :func:`network_output`), as the last layer, as Hehl et al.'s code
        does. With ``include_input=True`` too, a network with h hidden layers
        gives h + 2 layers, so a 2-hidden-layer network can be scored by a
        statistic that needs 4.
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
        "include_output": [Boolean()],
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
        n_neighbors=30,
        *,
        symmetrize="max",
        statistic="local_layer_mean",
        on_disconnected="nan",
        connect="mst",
        curvature="approx_ollivier",
        include_input=True,
        include_output=False,
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
        self.include_output = include_output
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
        from .nn import layer_activations

        X = inputs_of(X)
        layers = list(layer_activations(estimator, X, batch_size=self.batch_size))
        if self.include_input:
            layers = [_input_layer(X)] + layers
        if self.include_output:
            layers.append(network_output(estimator, X, batch_size=self.batch_size))
        return layers

    def measure_layers(self, layers):
        """The flow results behind the score, from activations.

        Parameters
        ----------
        layers : list of array-like of shape (n_samples, n_features_l)
            The layers to measure, e.g. ``layer_activations(estimator, X)``
            (with ``X`` prepended when ``include_input=True`` and
            :func:`network_output` appended when ``include_output=True``).

        Returns
        -------
        results : list
            One result per scale, of the flow that :data:`STATISTICS` names
            for ``statistic``: :class:`~sk_ricci.RicciFlowResult` for the
            global statistics, :class:`~sk_ricci.LocalRicciFlowResult` for
            the local ones.
        """
        self._validate_params()
        ks = self._scales(np.asarray(layers[0]).shape[0])
        options = FlowOptions.from_params(self.get_params(deep=False))
        stat = STATISTICS[self.statistic]
        if stat.flow == "local":
            # the local flow seeds its approximate search with 0
            options = options.replace(random_state=0)
            if stat.field != "layer_mean":
                return [_local_ricci_flow(layers, k, options) for k in ks]
            # the per-point coefficients (and their warning) are not used:
            # warn only when the statistic itself is undefined
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UndefinedCoefficientWarning)
                results = [_local_ricci_flow(layers, k, options) for k in ks]
            for r in results:
                if np.isnan(r.layer_mean):
                    warn(
                        f"the per-layer local coefficients at n_neighbors="
                        f"{r.n_neighbors} are all undefined (a constant scalar "
                        "curvature or expansion at every transition); the "
                        "score is NaN",
                        UndefinedCoefficientWarning,
                    )
            return results
        results = _ricci_flow(layers, ks if len(ks) > 1 else ks[0], options)
        return list(results) if len(ks) > 1 else [results]

    def _too_few_layers(self, n_layers):
        """NaN and a warning that says what to pass, when the statistic is
        undefined for ``n_layers`` layers; None otherwise."""
        need = STATISTICS[self.statistic].min_layers
        if n_layers >= need:
            return None
        hint = []
        if not self.include_input:
            hint.append("include_input=True")
        if not self.include_output:
            hint.append("include_output=True")
        fix = (
            f"pass {' and '.join(hint)} (each adds a layer), or score a deeper "
            "network" if hint else "score a deeper network"
        )
        warn(
            f"RicciFlowScorer(statistic={self.statistic!r}) needs at least "
            f"{need} layers (it correlates over the layer transitions) and got "
            f"{n_layers}; the score is NaN. To score this network, {fix}.",
            AdjustedCoefficientWarning if self.statistic.startswith("adjusted")
            else UndefinedCoefficientWarning,
        )
        return np.nan

    def score_layers(self, layers):
        """The score (greater is better) of already captured activations."""
        layers = list(layers)
        nan = self._too_few_layers(len(layers))
        if nan is not None:
            return nan
        results = self.measure_layers(layers)
        return float(np.mean([flow_statistic(r, self.statistic) for r in results]))

    def measure(self, estimator, X):
        """The flow result behind the score (a list of them for a list or
        tuple of scales)."""
        self._validate_params()
        results = self.measure_layers(self._layers(estimator, X))
        return results if isinstance(self.n_neighbors, (list, tuple)) else results[0]

    def __call__(self, estimator, X, y=None):
        """Flow strength of ``estimator`` on ``X`` (greater is better)."""
        self._validate_params()
        return self.score_layers(self._layers(estimator, X))


RicciFlowScorer.__doc__ = RicciFlowScorer.__doc__ % {"statistics": _statistics_doc()}
