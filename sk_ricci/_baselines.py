"""Label-free baseline scorers: nuclear norm and RankMe.

Two published ways to rank fitted networks without labels, with the same
protocol as :class:`~sk_ricci.RicciFlowScorer` (``scorer(estimator, X,
y=None)``, greater is better), so that all three can sit side by side in one
multi-metric ``GridSearchCV``:

- :class:`NuclearNormScorer`: the nuclear norm of the ``predict_proba``
  matrix (Deng et al., "Confidence and Dispersity Speak: Characterising
  Prediction Matrix for Unsupervised Accuracy Estimation", ICML 2023; and
  Deng et al. 2025, "Confidence and Dispersity as Signals: Unsupervised Model
  Evaluation and Ranking");
- :class:`RankMeScorer`: the entropy effective rank of the last hidden
  layer's activations (Garrido et al., "RankMe: Assessing the Downstream
  Performance of Pretrained Self-Supervised Representations by Their Rank",
  ICML 2023).
"""

import numbers
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_array

from ._param_validation import Boolean, Interval, ValidatedMixin, validate_params

__all__ = ["NuclearNormScorer", "RankMeScorer", "nuclear_norm_score", "rankme"]


def inputs_of(X):
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


def nuclear_norm_score(proba, *, normalize=True):
    """Nuclear norm of a prediction matrix (Deng et al. 2023).

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Predicted class probabilities (rows on the simplex), e.g.
        ``estimator.predict_proba(X)``: finite, 2-D, every entry in [0, 1]
        (up to a rounding slack of 1e-6).
    normalize : bool, default=True
        Divide by ``sqrt(n_samples * min(n_samples, n_classes))``, the
        largest value the nuclear norm of a matrix with rows on the
        probability simplex can take (every row has Euclidean norm <= 1, so
        the Frobenius norm is <= sqrt(n_samples), and the nuclear norm is <=
        sqrt(rank) times that). This is Deng et al.'s normalisation; the
        score then lies in (0, 1] and is comparable across sample sizes.

    Returns
    -------
    score : float
        Greater means predictions that are both confident and spread over the
        classes (Deng et al.'s "confidence and dispersity").

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci import nuclear_norm_score
    >>> float(round(nuclear_norm_score(np.eye(2)[[0, 1, 0, 1]]), 6))  # confident
    1.0
    >>> float(round(nuclear_norm_score(np.full((4, 2), 0.5)), 6))  # uninformative
    0.5
    """
    P = _check_proba(proba)
    validate_params(
        {"normalize": normalize}, NuclearNormScorer._parameter_constraints,
        "nuclear_norm_score", fixes=NuclearNormScorer._parameter_fixes,
    )
    s = np.linalg.svd(P, compute_uv=False)
    value = float(s.sum())
    if normalize:
        n, c = P.shape
        value /= np.sqrt(n * min(n, c))
    return value


#: slack on [0, 1] for probabilities rounded in float32 (torch, skorch)
_PROBA_TOL = 1e-6


def _check_proba(proba):
    """``proba`` as a finite 2-D float64 array of probabilities, or a clear
    error."""
    try:
        shape = np.shape(proba)
    except ValueError:  # ragged rows: check_array says so
        shape = (None, None)
    if len(shape) != 2:
        hint = " For one sample pass proba.reshape(1, -1)." if len(shape) == 1 else ""
        raise ValueError(
            "proba must be a 2-D array of predicted probabilities of shape "
            f"(n_samples, n_classes), such as estimator.predict_proba(X); got "
            f"shape {shape}.{hint}"
        )
    P = check_array(proba, dtype=np.float64, ensure_min_samples=1,
                    input_name="proba")
    bad = (P < -_PROBA_TOL) | (P > 1 + _PROBA_TOL)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"proba must hold probabilities in [0, 1]; got {int(bad.sum())} "
            f"value(s) outside, first proba[{row}, {col}] = {float(P[row, col])!r}. "
            "Pass the output of predict_proba, not of decision_function or "
            "predict_log_proba."
        )
    return P


class _FiniteNonNegative(Interval):
    """A float >= 0 and finite (``inf`` and NaN refused)."""

    def __init__(self):
        super().__init__(numbers.Real, 0, None)

    def is_satisfied_by(self, value):
        return super().is_satisfied_by(value) and bool(np.isfinite(value))

    def __str__(self):
        return "a float >= 0 and finite"


_EPSILON = _FiniteNonNegative()


def rankme(Z, *, epsilon=1e-7):
    """Entropy effective rank of a representation (Garrido et al. 2023).

    ``exp(-sum_k p_k log p_k)`` with ``p_k = sigma_k / sum_j sigma_j +
    epsilon`` over the singular values ``sigma_k`` of ``Z`` (not centred, as
    in the paper; ``0 log 0 = 0``). An all-zero ``Z`` (every unit dead) has effective rank 0.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_features)
        Representations, e.g. the last hidden layer's activations. Only the
        shape of the spectrum matters: ``Z`` is divided by its largest
        magnitude before the SVD, so any finite scale (up to 1e308) is exact.
    epsilon : float, default=1e-7
        Added to each normalised singular value (the paper's constant); >= 0
        and finite.

    Returns
    -------
    rank : float
        Between about 1 (rank-one representation) and ``min(n_samples,
        n_features)`` (flat spectrum).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci import rankme
    >>> round(rankme(np.eye(4)), 3)  # four equal singular values
    4.0
    >>> round(rankme(np.outer(np.arange(1, 6), [1.0, 2.0, 3.0])), 3)  # rank one
    1.0
    """
    Z = check_array(Z, dtype=np.float64, ensure_min_samples=1)
    validate_params(
        {"epsilon": epsilon}, RankMeScorer._parameter_constraints, "rankme",
        fixes=RankMeScorer._parameter_fixes,
    )
    # the effective rank does not depend on the scale of Z: divide by its
    # largest magnitude first, so that the SVD neither overflows (entries
    # near 1e308) nor loses precision in subnormals
    scale = np.abs(Z).max()
    if scale == 0:
        return 0.0
    s = np.linalg.svd(Z / scale, compute_uv=False)
    total = s.sum()
    p = s / total + epsilon
    p = p[p > 0]  # 0 log 0 = 0 (only with epsilon=0)
    return float(np.exp(-np.sum(p * np.log(p))))


class NuclearNormScorer(ValidatedMixin, BaseEstimator):
    """Score a fitted classifier by the nuclear norm of its predictions.

    ``scorer(estimator, X, y=None)`` returns
    :func:`nuclear_norm_score` of ``estimator.predict_proba(X)``: high when
    the predictions are confident *and* spread over the classes (Deng et al.,
    ICML 2023, and Deng et al. 2025, who use it to rank models without
    labels). Greater is better. Needs only ``predict_proba``, so it works for
    any probabilistic classifier, not only ReLU networks.

    Parameters
    ----------
    normalize : bool, default=True
        Divide by ``sqrt(n_samples * min(n_samples, n_classes))`` (see
        :func:`nuclear_norm_score`); ranking on one ``X`` is the same either
        way.

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sk_ricci import NuclearNormScorer
    >>> X, y = make_moons(200, noise=0.1, random_state=0)
    >>> clf = LogisticRegression().fit(X, y)
    >>> bool(0.5 <= NuclearNormScorer()(clf, X) <= 1.0)
    True
    """

    _parameter_constraints: ClassVar[dict] = {"normalize": [Boolean()]}
    _parameter_fixes: ClassVar[dict] = {
        "normalize": "Pass normalize=True for the score in (0, 1] or "
        "normalize=False for the raw nuclear norm.",
    }

    def __init__(self, *, normalize=True):
        self.normalize = normalize
        self._validate_params()  # fail at construction, as RicciFlowScorer

    def __call__(self, estimator, X, y=None):
        """Nuclear-norm score of ``estimator`` on ``X`` (greater is better)."""
        self._validate_params()
        if not hasattr(estimator, "predict_proba"):
            raise TypeError(
                f"NuclearNormScorer needs an estimator with predict_proba; got "
                f"{type(estimator).__name__}. Use a probabilistic classifier."
            )
        proba = np.asarray(estimator.predict_proba(inputs_of(X)))
        return nuclear_norm_score(proba, normalize=self.normalize)


class RankMeScorer(ValidatedMixin, BaseEstimator):
    """Score a fitted ReLU network by the effective rank of a hidden layer.

    ``scorer(estimator, X, y=None)`` captures the activations of ``X`` with
    :func:`sk_ricci.nn.layer_activations` and returns :func:`rankme` of the
    chosen hidden layer (the last by default), Garrido et al.'s RankMe
    (ICML 2023). Greater is better.

    Parameters
    ----------
    layer : int, default=-1
        Which hidden layer (a position as in ``layer_activations(...,
        layers=[layer])``; -1 is the last).
    epsilon : float, default=1e-7
        See :func:`rankme`.
    batch_size : int, default=1024
        Batch size of the activation capture.

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from sklearn.neural_network import MLPClassifier
    >>> from sk_ricci import RankMeScorer
    >>> X, y = make_moons(200, noise=0.1, random_state=0)
    >>> clf = MLPClassifier((16,) * 3, max_iter=300, random_state=0).fit(X, y)
    >>> 1.0 <= RankMeScorer()(clf, X) <= 16.0
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "layer": [Interval(numbers.Integral, None, None)],
        "epsilon": [_EPSILON],
        "batch_size": [Interval(numbers.Integral, 1, None)],
    }
    _parameter_fixes: ClassVar[dict] = {
        "layer": "Pass a hidden-layer position, -1 for the last.",
        "epsilon": "Pass e.g. epsilon=1e-7.",
        "batch_size": "Pass e.g. batch_size=1024.",
    }

    def __init__(self, *, layer=-1, epsilon=1e-7, batch_size=1024):
        self.layer = layer
        self.epsilon = epsilon
        self.batch_size = batch_size
        self._validate_params()  # fail at construction, as RicciFlowScorer

    def __call__(self, estimator, X, y=None):
        """RankMe of ``estimator``'s hidden layer on ``X`` (greater is better)."""
        from .nn import layer_activations

        self._validate_params()
        (Z,) = layer_activations(
            estimator, inputs_of(X), layers=[int(self.layer)],
            batch_size=self.batch_size,
        )
        return rankme(Z, epsilon=self.epsilon)
