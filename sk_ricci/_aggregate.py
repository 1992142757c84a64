"""Ricci coefficients of several networks pooled into one (the paper's Fig. 3)."""

from dataclasses import dataclass

import numpy as np

from ._flow import import_pandas, pearson
from ._validation import warn
from .exceptions import DisconnectedGraphWarning

__all__ = ["AggregatedCoefficient", "aggregated_ricci_coefficient"]


@dataclass(frozen=True)
class AggregatedCoefficient:
    """Result of :func:`aggregated_ricci_coefficient`.

    Attributes
    ----------
    coefficient : float
        Pearson correlation over the pooled (eta_l, Ric_l) pairs.
    n_networks : int
        Networks pooled (all layers connected).
    n_skipped : int
        Networks skipped because a layer graph was disconnected.
    n_points : int
        Pooled (eta_l, Ric_l) pairs.

    Examples
    --------
    See :func:`aggregated_ricci_coefficient`; ``float(result)`` is the
    coefficient.
    """

    coefficient: float
    n_networks: int
    n_skipped: int
    n_points: int

    def __float__(self):
        return float(self.coefficient)

    def to_dict(self):
        """The four fields as plain Python values.

        Examples
        --------
        >>> from sk_ricci import AggregatedCoefficient
        >>> AggregatedCoefficient(-0.5, 3, 1, 12).to_dict()
        {'coefficient': -0.5, 'n_networks': 3, 'n_skipped': 1, 'n_points': 12}
        """
        return {
            "coefficient": float(self.coefficient),
            "n_networks": int(self.n_networks),
            "n_skipped": int(self.n_skipped),
            "n_points": int(self.n_points),
        }

    def to_frame(self):
        """A one-row pandas DataFrame of :meth:`to_dict` (pandas imported
        lazily).

        Examples
        --------
        >>> from sk_ricci import AggregatedCoefficient
        >>> AggregatedCoefficient(-0.5, 3, 1, 12).to_frame()
           coefficient  n_networks  n_skipped  n_points
        0         -0.5           3          1        12
        """
        return import_pandas().DataFrame([self.to_dict()])


def aggregated_ricci_coefficient(results):
    """One Ricci coefficient for a group of networks (the paper's Fig. 3).

    Pools the (eta_l, Ric_l) pairs of every network (same data, width, depth
    and k) and takes one Pearson correlation. Networks with a disconnected
    layer graph are skipped, with a warning saying how many.

    Parameters
    ----------
    results : list of RicciFlowResult
        One per network, all at the same ``n_neighbors``.

    Returns
    -------
    aggregated : AggregatedCoefficient

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci import RicciFlowResult, aggregated_ricci_coefficient
    >>> def net(ric, mass):
    ...     ric, mass = np.array(ric, float), np.array(mass, float)
    ...     return RicciFlowResult(5, ric, mass, np.diff(mass), np.nan, np.nan,
    ...                            np.nan, np.ones(3, bool), np.ones(3, int))
    >>> agg = aggregated_ricci_coefficient([net([-1, -2, 0], [10, 9, 7]),
    ...                                     net([-3, 0, 0], [20, 18, 18])])
    >>> round(agg.coefficient, 6), agg.n_networks, agg.n_points
    (0.94388, 2, 4)
    """
    results = list(results)
    if not results:
        raise ValueError("results is empty; pass one RicciFlowResult per network")
    ks = {r.n_neighbors for r in results}
    if len(ks) > 1:
        raise ValueError(
            f"results mix several n_neighbors {sorted(ks)}; aggregate the "
            "networks of one scale at a time"
        )
    kept = [r for r in results if r.all_connected]
    skipped = len(results) - len(kept)
    if skipped:
        warn(
            f"{skipped} of {len(results)} network(s) have a disconnected layer "
            f"graph at n_neighbors={ks.pop()} and were skipped",
            DisconnectedGraphWarning,
        )
    if not kept:
        return AggregatedCoefficient(np.nan, 0, skipped, 0)
    eta = np.concatenate([r.eta for r in kept])
    ric = np.concatenate([r.total_curvature[:-1] for r in kept])
    return AggregatedCoefficient(pearson(eta, ric), len(kept), skipped, eta.size)
