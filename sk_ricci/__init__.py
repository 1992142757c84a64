"""sk_ricci: discrete Ricci flow of ReLU networks, scikit-learn compatible.

Measures how a trained network reshapes a test set layer by layer (Baptista et
al., "Deep Learning as Ricci Flow", 2024): kNN graphs per hidden layer, their
Forman-Ricci curvature, the change of graph-geodesic distances, and the Ricci
coefficient that correlates the two.

``import sk_ricci`` stays light: it imports no submodule, and each public name
is imported the first time it is used (``sk_ricci.ricci_flow``, or ``from
sk_ricci import ricci_flow``; PEP 562). scikit-learn, SciPy and numba load
with the first estimator or function, numba's kernels are compiled (or loaded
from its cache) at their first call, torch and skorch live in
:mod:`sk_ricci.nn`, matplotlib in :mod:`sk_ricci.plotting`, and pynndescent is
imported only when an approximate neighbour search runs.
"""

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING

__version__ = "0.1.0"

#: Each public name and the submodule that defines it, imported on first use.
_LAZY = {
    "AggregatedCoefficient": "._aggregate",
    "aggregated_ricci_coefficient": "._aggregate",
    "NuclearNormScorer": "._baselines",
    "RankMeScorer": "._baselines",
    "nuclear_norm_score": "._baselines",
    "rankme": "._baselines",
    "approx_ollivier_curvature": "._curvature",
    "degrees": "._curvature",
    "forman_curvature": "._curvature",
    "node_curvature": "._curvature",
    "ollivier_curvature": "._curvature",
    "total_curvature": "._curvature",
    "RicciCurvature": "._curvature_features",
    "DemoResult": "._demo",
    "run_demo": "._demo",
    "RicciFlow": "._estimator",
    "RicciFlowResult": "._flow",
    "ricci_flow": "._flow",
    "GeodesicMass": "._geodesics",
    "geodesic_mass": "._geodesics",
    "KNNGraph": "._graph",
    "graph_from_neighbors": "._graph",
    "kneighbors": "._graph",
    "knn_graph": "._graph",
    "LocalRicciFlowResult": "._local",
    "local_ricci_flow": "._local",
    "RicciFlowScorer": "._scorer",
    "ScaleSelection": "._select",
    "select_n_neighbors": "._select",
    "smallest_connected_n_neighbors": "._select",
    "AdjustedCoefficientWarning": ".exceptions",
    "DisconnectedGraphError": ".exceptions",
    "DisconnectedGraphWarning": ".exceptions",
    "SkRicciWarning": ".exceptions",
    "UndefinedCoefficientWarning": ".exceptions",
}

#: The subpackages, also imported on first use (``sk_ricci.datasets``).
_SUBMODULES = ("cli", "datasets", "exceptions", "nn", "plotting", "study")

__all__ = [
    "AdjustedCoefficientWarning",
    "AggregatedCoefficient",
    "DemoResult",
    "DisconnectedGraphError",
    "DisconnectedGraphWarning",
    "GeodesicMass",
    "KNNGraph",
    "LocalRicciFlowResult",
    "NuclearNormScorer",
    "RankMeScorer",
    "RicciCurvature",
    "RicciFlow",
    "RicciFlowResult",
    "RicciFlowScorer",
    "ScaleSelection",
    "SkRicciWarning",
    "UndefinedCoefficientWarning",
    "aggregated_ricci_coefficient",
    "approx_ollivier_curvature",
    "degrees",
    "forman_curvature",
    "geodesic_mass",
    "graph_from_neighbors",
    "kneighbors",
    "knn_graph",
    "local_ricci_flow",
    "node_curvature",
    "nuclear_norm_score",
    "ollivier_curvature",
    "rankme",
    "ricci_flow",
    "run_demo",
    "select_n_neighbors",
    "smallest_connected_n_neighbors",
    "total_curvature",
]


def __getattr__(name):
    """Import a public name's submodule the first time the name is used."""
    if name in _LAZY:
        value = getattr(_importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    if name in _SUBMODULES:
        return _importlib.import_module("." + name, __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))


if _TYPE_CHECKING:  # static analysers and IDEs see the names eagerly
    from ._aggregate import AggregatedCoefficient, aggregated_ricci_coefficient
    from ._baselines import NuclearNormScorer, RankMeScorer, nuclear_norm_score, rankme
    from ._curvature import (
        approx_ollivier_curvature,
        degrees,
        forman_curvature,
        node_curvature,
        ollivier_curvature,
        total_curvature,
    )
    from ._curvature_features import RicciCurvature
    from ._demo import DemoResult, run_demo
    from ._estimator import RicciFlow
    from ._flow import RicciFlowResult, ricci_flow
    from ._geodesics import GeodesicMass, geodesic_mass
    from ._graph import KNNGraph, graph_from_neighbors, kneighbors, knn_graph
    from ._local import LocalRicciFlowResult, local_ricci_flow
    from ._scorer import RicciFlowScorer
    from ._select import (
        ScaleSelection,
        select_n_neighbors,
        smallest_connected_n_neighbors,
    )
    from .exceptions import (
        AdjustedCoefficientWarning,
        DisconnectedGraphError,
        DisconnectedGraphWarning,
        SkRicciWarning,
        UndefinedCoefficientWarning,
    )
