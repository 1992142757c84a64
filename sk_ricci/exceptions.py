"""Warnings and errors raised by sk_ricci."""

__all__ = [
    "AdjustedCoefficientWarning",
    "DisconnectedGraphError",
    "DisconnectedGraphWarning",
    "InvalidParameterError",
    "OutputFolderError",
    "ResultsFileWarning",
    "SkRicciWarning",
    "StudyConfigError",
    "UndefinedCoefficientWarning",
]


class SkRicciWarning(UserWarning):
    """Base class of every warning sk_ricci emits."""


class DisconnectedGraphWarning(SkRicciWarning):
    """A layer's kNN graph has more than one connected component.

    Some graph-geodesic distances are then infinite, so the geodesic mass is
    ``inf`` and the Ricci coefficient is undefined (NaN), as in the paper.
    Remedies: a larger ``n_neighbors`` (see :func:`sk_ricci.select_n_neighbors`)
    or ``connect="mst"``.
    """


class DisconnectedGraphError(ValueError):
    """Raised instead of :class:`DisconnectedGraphWarning` when asked to."""


class UndefinedCoefficientWarning(SkRicciWarning):
    """A coefficient is undefined (too few layers, or a constant series)."""


class InvalidParameterError(ValueError, TypeError):
    """A parameter has a type or value it does not accept.

    A ``ValueError`` and a ``TypeError``, as scikit-learn's own, so that code
    catching either keeps working.
    """


class StudyConfigError(ValueError):
    """A study configuration (fields, TOML file or flags) is invalid."""


class OutputFolderError(RuntimeError):
    """The output folder holds a different study or unreadable results."""


class ResultsFileWarning(SkRicciWarning):
    """A study's ``results.jsonl`` ends with an incomplete line.

    Left by a run killed while writing (or a row being written right now); it
    is ignored when reading, and the next run of the study removes it.
    """


class AdjustedCoefficientWarning(UndefinedCoefficientWarning):
    """A scorer's adjusted statistic is undefined (4 layers or fewer).

    :func:`sk_ricci.ricci_flow` returns the adjusted coefficients as NaN for
    4 layers or fewer without a warning (its main number is rho);
    :class:`sk_ricci.RicciFlowScorer` warns with this category when its
    ``statistic`` is one of them."""
