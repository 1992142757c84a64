"""Fitted estimator + X -> flow strength, a scorer for model selection."""

import numbers
import warnings
from typing import ClassVar

import numpy as np

from ._flow import check_flow_options, ricci_flow
from ._validation import check_option
from .exceptions import AdjustedCoefficientWarning

__all__ = ["RicciFlowScorer"]

STATISTIC_OPTIONS = ("rho", "adjusted_paper", "adjusted_fisher")
_ATTRIBUTE = {
    "rho": "coefficient",
    "adjusted_paper": "adjusted_paper",
    "adjusted_fisher": "adjusted_fisher",
}


def _inputs_of(X):
    """The input array of X; torch Datasets (what skorch's ``EpochScoring``
    passes when it cannot slice the validation data) yield their first field."""
    if isinstance(X, np.ndarray) or not hasattr(X, "__getitem__"):
        return X
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not isinstance(X, torch.utils.data.Dataset):
        return X
    rows = [X[i] for i in range(len(X))]
    rows = [r[0] if isinstance(r, (tuple, list)) else r for r in rows]
    return np.stack([np.asarray(r, dtype=np.float64) for r in rows])


class RicciFlowScorer:
    """Score a fitted ReLU network by how strongly it behaves like Ricci flow.

    ``scorer(estimator, X, y=None)`` captures the hidden-layer activations of
    ``X`` (the held-out fold in cross-validation) with
    :func:`sk_ricci.nn.layer_activations`, runs :func:`sk_ricci.ricci_flow`
    and returns the **negated** coefficient, so that greater is better, as
    scikit-learn expects (compare ``neg_log_loss``): a strongly
    Ricci-flow-like network (rho near -1) scores near +1.

    It works as ``scoring=`` in ``GridSearchCV`` / ``cross_validate`` (alone
    or in a multi-metric dict, e.g. ``{"accuracy": "accuracy", "flow":
    RicciFlowScorer(...)}``) and in skorch's ``EpochScoring``.

    **Disconnected graphs.** A well-trained classifier pulls its classes
    apart, so at small ``n_neighbors`` its deeper layer graphs are often
    disconnected; the paper's coefficient is then undefined and this scorer
    returns NaN with a :class:`~sk_ricci.exceptions.DisconnectedGraphWarning`
    naming the layer. Returning NaN would rank the best networks last, so use
    a remedy: ``connect="mst"`` (recommended for model selection: adds each
    layer's Euclidean minimum spanning tree, so the coefficient is always
    defined), or a larger ``n_neighbors`` (see
    :func:`sk_ricci.select_n_neighbors`). ``on_disconnected="raise"`` raises
    instead (``GridSearchCV`` then records ``error_score``).

    Parameters
    ----------
    n_neighbors : int or float, default=30
        The scale k. A float in (0, 1) is a share of the scored samples
        (``max(1, round(n_neighbors * n_samples))``), convenient when fold
        sizes vary.
    symmetrize : {"max", "min", "sum"}, default="max"
        Graph convention (see :func:`sk_ricci.knn_graph`).
    statistic : {"rho", "adjusted_paper", "adjusted_fisher"}, default="rho"
        Which coefficient to negate: rho (Eq. 8), arctanh(rho)/sqrt(L-4) (Eq.
        11 as printed) or arctanh(rho)*sqrt(L-4). The adjusted forms need more
        than 4 hidden layers (NaN otherwise).
    on_disconnected : {"nan", "raise"}, default="nan"
        What a disconnected layer graph gives.
    connect : {None, "mst"}, default=None
        "mst" keeps every layer graph connected (see above).
    curvature : {"forman", "augmented_forman"}, default="forman"
        Edge curvature.
    algorithm : {"auto", "brute", "nndescent"}, default="auto"
        Neighbour search.
    random_state : int or None, default=None
        Seed of the approximate neighbour search.
    n_jobs : int, default=None
        Threads of the flow computation (see :func:`sk_ricci.ricci_flow`;
        on small folds, whole layers are measured in parallel threads).
        Inside ``GridSearchCV(n_jobs=...)``, whose workers already share the
        cores, leave it at None.
    batch_size : int, default=1024
        Batch size of the activation capture.

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from sklearn.neural_network import MLPClassifier
    >>> from sk_ricci import RicciFlowScorer
    >>> X, y = make_moons(200, noise=0.1, random_state=0)
    >>> clf = MLPClassifier((16,) * 5, max_iter=300, random_state=0).fit(X, y)
    >>> scorer = RicciFlowScorer(n_neighbors=20, connect="mst")
    >>> scorer
    RicciFlowScorer(n_neighbors=20, connect='mst')
    >>> -1.0 <= scorer(clf, X) <= 1.0
    True
    """

    def __init__(
        self,
        n_neighbors=30,
        *,
        symmetrize="max",
        statistic="rho",
        on_disconnected="nan",
        connect=None,
        curvature="forman",
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
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.batch_size = batch_size
        # fail at construction, not deep inside a grid search
        check_option(statistic, STATISTIC_OPTIONS, "statistic")
        check_flow_options(symmetrize, curvature, connect, on_disconnected, algorithm)
        self._resolve_k(None)

    _DEFAULTS: ClassVar[dict] = {
        "symmetrize": "max",
        "statistic": "rho",
        "on_disconnected": "nan",
        "connect": None,
        "curvature": "forman",
        "algorithm": "auto",
        "random_state": None,
        "n_jobs": None,
        "batch_size": 1024,
    }

    def __repr__(self):
        args = [f"n_neighbors={self.n_neighbors!r}"]
        args += [
            f"{name}={getattr(self, name)!r}"
            for name, default in self._DEFAULTS.items()
            if getattr(self, name) != default
        ]
        return f"RicciFlowScorer({', '.join(args)})"

    def _resolve_k(self, n_samples):
        k = self.n_neighbors
        if isinstance(k, bool) or not isinstance(k, numbers.Real):
            raise TypeError(
                f"n_neighbors must be an int >= 1 or a float in (0, 1), got "
                f"{type(k).__name__} {k!r}"
            )
        if isinstance(k, numbers.Integral):
            k = int(k)
            if k < 1:
                raise ValueError(f"n_neighbors={k} must be >= 1")
        elif not 0 < k < 1:
            raise ValueError(
                f"n_neighbors={k} as a float is a share of the scored samples "
                "and must lie in (0, 1); pass an int for a fixed k"
            )
        if n_samples is None:
            return None
        if not isinstance(k, int):
            k = max(1, round(k * n_samples))
        if k >= n_samples:
            raise ValueError(
                f"RicciFlowScorer(n_neighbors={self.n_neighbors}) needs more than "
                f"{k} scored samples, got {n_samples} (in cross-validation: the "
                "held-out fold); pass a smaller n_neighbors, a float share such "
                "as 0.05, or use fewer folds"
            )
        return k

    def measure(self, estimator, X):
        """The full :class:`~sk_ricci.RicciFlowResult` behind the score."""
        from .nn import layer_activations

        X = _inputs_of(X)
        layers = layer_activations(estimator, X, batch_size=self.batch_size)
        k = self._resolve_k(layers[0].shape[0])
        with warnings.catch_warnings():
            if self.statistic == "rho":  # the adjusted ones are not used
                warnings.simplefilter("ignore", AdjustedCoefficientWarning)
            return ricci_flow(
                layers, k, symmetrize=self.symmetrize, curvature=self.curvature,
                connect=self.connect, on_disconnected=self.on_disconnected,
                algorithm=self.algorithm, random_state=self.random_state,
                n_jobs=self.n_jobs,
            )

    def __call__(self, estimator, X, y=None):
        """Flow strength of ``estimator`` on ``X`` (greater is better)."""
        result = self.measure(estimator, X)
        return float(-getattr(result, _ATTRIBUTE[self.statistic]))
