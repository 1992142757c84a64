"""sk_ricci: discrete Ricci flow of ReLU networks, scikit-learn compatible.

Measures how a trained network reshapes a test set layer by layer (Baptista et
al., "Deep Learning as Ricci Flow", 2024): kNN graphs per hidden layer, their
Forman-Ricci curvature, the change of graph-geodesic distances, and the Ricci
coefficient that correlates the two.

``import sk_ricci`` stays light: torch and skorch live in :mod:`sk_ricci.nn`,
matplotlib in :mod:`sk_ricci.plotting`, and pynndescent is imported only when
an approximate neighbour search runs.
"""

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

__version__ = "0.1.0"

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
