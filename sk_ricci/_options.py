"""The graph and flow options, as one frozen object.

Every flow (:func:`sk_ricci.ricci_flow`, :func:`sk_ricci.local_ricci_flow`,
:func:`sk_ricci.select_n_neighbors`), the :class:`~sk_ricci.RicciFlow`
estimator, the scorers and the study share the same seven options. Public
signatures keep them as keywords; inside, they travel as one validated
:class:`FlowOptions`, and their accepted values are declared once, in
:data:`FLOW_CONSTRAINTS`.
"""

import dataclasses

from ._curvature import CURVATURE_KINDS
from ._param_validation import (
    NJobs,
    Options,
    RandomState,
    validate_params,
)
from ._validation import (
    ALGORITHM_OPTIONS,
    CONNECT_OPTIONS,
    SYMMETRIZE_OPTIONS,
)

ON_DISCONNECTED_OPTIONS = ("nan", "raise")

#: Accepted values of the seven flow options (see :func:`validate_params`).
FLOW_CONSTRAINTS = {
    "symmetrize": [Options(SYMMETRIZE_OPTIONS)],
    "curvature": [Options(CURVATURE_KINDS)],
    "connect": [Options(CONNECT_OPTIONS)],
    "on_disconnected": [Options(ON_DISCONNECTED_OPTIONS)],
    "algorithm": [Options(ALGORITHM_OPTIONS)],
    "random_state": [None, RandomState()],
    "n_jobs": [None, NJobs()],
}

FLOW_FIXES = {
    "connect": 'Pass connect="mst" to join disconnected kNN graphs along the '
    "Euclidean minimum spanning tree, or connect=None for the paper's graphs.",
    "n_jobs": "Pass None (one thread), a positive int, or a negative int "
    "counting back from all cores (-1 all, -2 all but one).",
    "random_state": "Pass an int seed such as random_state=0.",
}


@dataclasses.dataclass(frozen=True)
class FlowOptions:
    """The options shared by every flow computation, validated on creation.

    Parameters
    ----------
    symmetrize : {"max", "min", "sum"}, default="max"
    curvature : str, default="forman"
        A name of :data:`sk_ricci._curvature.CURVATURES`.
    connect : {None, "mst"}, default=None
    on_disconnected : {"nan", "raise"}, default="nan"
    algorithm : {"auto", "brute", "nndescent"}, default="auto"
    random_state : int, RandomState instance or None, default=None
    n_jobs : int or None, default=None
        See :func:`sk_ricci.ricci_flow`.
    """

    symmetrize: str = "max"
    curvature: str = "forman"
    connect: object = None
    on_disconnected: str = "nan"
    algorithm: str = "auto"
    random_state: object = None
    n_jobs: object = None

    def __post_init__(self):
        validate_params(
            self.as_dict(), FLOW_CONSTRAINTS, type(self).__name__, fixes=FLOW_FIXES
        )

    def as_dict(self):
        """The options as keyword arguments."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def replace(self, **changes):
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def checked(cls, owner, **options):
        """The options, with ``owner`` (the function or estimator they were
        passed to) named in the error message of a bad value."""
        validate_params(options, FLOW_CONSTRAINTS, owner, fixes=FLOW_FIXES)
        return cls(**options)

    @classmethod
    def from_params(cls, params):
        """The options found in ``params`` (a dict such as an estimator's
        ``get_params()``); names that are not flow options are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in params.items() if k in names})
