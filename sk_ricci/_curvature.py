"""Graph -> Forman-Ricci curvature of edges, nodes and whole layers.

docs/method.md, section 2. With unit weights (the paper's choice) the Forman-Ricci
curvature of an edge is R(i, j) = 4 - d_i - d_j. Graphs are the symmetric
adjacency matrices of :func:`sk_ricci.knn_graph`; entries are edge
multiplicities (2 for a mutual pair under ``symmetrize="sum"``), and degrees
count multiplicity, so for "sum" graphs d_i = in-degree + out-degree of the
directed kNN graph, as in the authors' R script. Entries must be integers:
a distance-weighted graph (scikit-learn's ``kneighbors_graph(...,
mode="distance")``) is refused, since its weights are not multiplicities.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._kernels import forman_total
from ._kernels.local import (
    edge_approx_ollivier,
    edge_forman,
    edge_triangles,
    ollivier_balls,
    ollivier_edge_costs,
)
from ._param_validation import check_flags, is_real
from ._validation import check_graph, check_option

__all__ = [
    "approx_ollivier_curvature",
    "degrees",
    "forman_curvature",
    "node_curvature",
    "ollivier_curvature",
    "total_curvature",
]


def degrees(G):
    """Degree of every node, counting edge multiplicity.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from sk_ricci import degrees
    >>> path = sp.csr_matrix([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    >>> degrees(path)
    array([1., 2., 1.])
    """
    G = check_graph(G)
    return np.asarray(G.sum(axis=1)).ravel()


def _common_neighbours(G):
    """(S @ S)[i, j] = number of triangles through (i, j) on the support S."""
    S = sp.csr_matrix(G.astype(bool), dtype=np.float64)
    return sp.csr_matrix(S @ S)


def forman_curvature(G, *, augmented=False):
    """Forman-Ricci curvature of every edge.

    R(i, j) = 4 - d_i - d_j (Eq. 4 of the paper, unit weights), plus
    3 x (number of triangles through the edge) when ``augmented``.

    Parameters
    ----------
    G : sparse matrix of shape (n_samples, n_samples)
        Symmetric adjacency matrix, e.g. from :func:`sk_ricci.knn_graph`.
    augmented : bool, default=False
        Add the triangle term of the augmented Forman curvature (triangles are
        counted on the simple graph underlying ``G``).

    Returns
    -------
    R : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        ``R[i, j]`` is the curvature of edge (i, j), stored on exactly the
        edges of ``G`` (zero curvatures are kept as explicit entries, so
        ``R.nnz == G.nnz``).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from sk_ricci import forman_curvature
    >>> path = sp.csr_matrix([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    >>> forman_curvature(path).toarray()  # 4 - 1 - 2 on both edges
    array([[0., 1., 0.],
           [1., 0., 1.],
           [0., 1., 0.]])
    >>> triangle = sp.csr_matrix([[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    >>> forman_curvature(triangle, augmented=True).toarray()  # 0 + 3 x 1
    array([[0., 3., 3.],
           [3., 0., 3.],
           [3., 3., 0.]])
    """
    check_flags("forman_curvature", augmented=augmented)
    G = check_graph(G)
    d = np.asarray(G.sum(axis=1)).ravel()
    rows = np.repeat(np.arange(G.shape[0]), np.diff(G.indptr))
    vals = 4.0 - d[rows] - d[G.indices]
    if augmented:
        tri = _common_neighbours(G)[rows, G.indices]
        vals = vals + 3.0 * np.asarray(tri).ravel()
    return sp.csr_matrix((vals, G.indices.copy(), G.indptr.copy()), shape=G.shape)


def node_curvature(G, *, reduce="mean", augmented=False):
    """Curvature of every node from the curvatures of its edges.

    Parameters
    ----------
    G : sparse matrix of shape (n_samples, n_samples)
        Symmetric adjacency matrix.
    reduce : {"mean", "sum"}, default="mean"
        "sum": sum of R(i, j) over incident edges (weighted by multiplicity);
        "mean": that sum divided by the degree (the scalar curvature of
        follow-up work). An isolated node gets 0 for "sum" and NaN for "mean".
    augmented : bool, default=False
        Use the augmented Forman curvature.

    Returns
    -------
    curvature : ndarray of shape (n_samples,)

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from sk_ricci import node_curvature
    >>> star = sp.csr_matrix([[0, 1, 1, 1], [1, 0, 0, 0], [1, 0, 0, 0],
    ...                       [1, 0, 0, 0]])
    >>> node_curvature(star, reduce="sum")
    array([0., 0., 0., 0.])
    """
    check_flags("node_curvature", augmented=augmented)
    check_option(reduce, ("mean", "sum"), "reduce")
    G = check_graph(G)
    R = _edge_matrix(
        G, edge_curvature(G, "augmented_forman" if augmented else "forman")
    )
    s = np.asarray(G.multiply(R).sum(axis=1)).ravel()
    if reduce == "sum":
        return s
    d = np.asarray(G.sum(axis=1)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(d > 0, s / np.where(d > 0, d, 1), np.nan)


def total_curvature(G, *, augmented=False):
    """Total Forman-Ricci curvature of a layer, Ric_l (equation 6).

    The sum of R(i, j) over edges, each counted with its multiplicity: once
    per undirected edge for "max"/"min" graphs (= 4|E| - sum_i d_i^2), and
    once per directed kNN edge for "sum" graphs (a mutual pair twice), as the
    authors' R script does. Computed in O(n + nnz).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from sk_ricci import total_curvature
    >>> path = sp.csr_matrix([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    >>> total_curvature(path)  # two edges of curvature 4 - 1 - 2 = 1
    2.0
    """
    check_flags("total_curvature", augmented=augmented)
    kind = "augmented_forman" if augmented else "forman"
    return total_edge_curvature(_csr_arrays(check_graph(G)), kind)


#: idleness of the exact Ollivier-Ricci curvature in the flows
#: (``curvature="ollivier"``): the random walk stays put with probability 1/2
OLLIVIER_ALPHA = 0.5


def _csr_arrays(G):
    return (
        G.indptr.astype(np.int64, copy=False),
        G.indices.astype(np.int64, copy=False),
        np.ascontiguousarray(G.data, dtype=np.float64),
    )


def _mirror(indptr, indices):
    """For every CSR entry (i, j) of a symmetric pattern, the entry (j, i)."""
    n = indptr.size - 1
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    key = rows * n + indices
    order = np.argsort(key, kind="stable")
    pos = np.searchsorted(key[order], indices * n + rows)
    return order[pos]


def _emd2_linprog(a, b, C):
    """Earth mover's distance by scipy's linear programming (HiGHS), with
    sparse marginal constraints (2 m k nonzeros for an m x k problem)."""
    from scipy.optimize import linprog

    m, k = C.shape
    cols = np.arange(m * k)
    A_eq = sp.csr_matrix(
        (
            np.ones(2 * m * k),
            (np.r_[cols // k, m + cols % k], np.r_[cols, cols]),
        ),
        shape=(m + k, m * k),
    )
    res = linprog(
        C.ravel(), A_eq=A_eq, b_eq=np.r_[a, b], bounds=(0, None), method="highs"
    )
    if not res.success:  # pragma: no cover - a feasible, bounded problem
        raise RuntimeError(f"the transport linear program failed: {res.message}")
    return float(res.fun)


def _transport_solver():
    """POT's exact network simplex if installed, else scipy's linprog."""
    try:
        import ot
    except ImportError:
        return _emd2_linprog

    def emd2(a, b, C):
        return float(ot.emd2(a, b, C))

    return emd2


def _ollivier_edges(indptr, indices, data, alpha, solver=None):
    """Exact Ollivier-Ricci curvature of every CSR entry (see
    :func:`ollivier_curvature`)."""
    emd2 = _transport_solver() if solver is None else solver
    n = indptr.size - 1
    R = np.full(indices.size, np.nan)
    keep = slice(1, None) if alpha == 0 else slice(None)
    for x in range(n):
        row = slice(indptr[x], indptr[x + 1])
        if not (indices[row] > x).any():
            continue
        # one cost matrix per edge, (d_x + 1) x (d_y + 1): memory quadratic
        # in the degree (all of x's edges at once would be cubic)
        sx, ball1, ball2 = ollivier_balls(indptr, indices, x)
        wx = data[row]
        mx = np.r_[alpha, (1.0 - alpha) * wx / wx.sum()][keep]
        for e in range(row.start, row.stop):
            y = indices[e]
            if y <= x:
                continue
            wy = data[indptr[y] : indptr[y + 1]]
            my = np.r_[alpha, (1.0 - alpha) * wy / wy.sum()][keep]
            C = ollivier_edge_costs(indptr, indices, sx, ball1, ball2, y)
            R[e] = 1.0 - emd2(mx, my, np.ascontiguousarray(C[keep, keep]))
    mirror = _mirror(indptr, indices)
    upper = indices > np.repeat(np.arange(n), np.diff(indptr))
    R[mirror[upper]] = R[upper]
    return R


@dataclass(frozen=True)
class Curvature:
    """One entry of :data:`CURVATURES`: how an edge curvature is computed.

    Attributes
    ----------
    edges : callable
        ``edges(indptr, indices, data) -> R``: the curvature of every stored
        entry of a valid symmetric CSR graph (int64 index arrays, float64
        multiplicities), aligned with ``data``.
    total : callable or None
        ``total(indptr, indices, data) -> float``, a faster total than
        1/2 sum_ij G_ij R_ij for the same graph; None uses that sum.
    doc : str
        One line for the docstrings and ``docs/method.md``.
    """

    edges: object
    total: object
    doc: str


def _augmented_edges(indptr, indices, data):
    return edge_forman(indptr, indices, data) + 3.0 * edge_triangles(indptr, indices)


def _forman_total(indptr, indices, data):
    # 1/2 sum_ij G_ij (4 - d_i - d_j) = 2 sum(G) - sum_i d_i^2
    return float(forman_total(indptr, data))


def _augmented_total(indptr, indices, data):
    # integers throughout: exact in float64, whatever the order of the sums
    tri = float(np.dot(data, edge_triangles(indptr, indices)))
    return float(forman_total(indptr, data)) + 1.5 * tri


def _ollivier_default(indptr, indices, data):
    return _ollivier_edges(indptr, indices, data, OLLIVIER_ALPHA)


#: The one registry of edge curvatures: name -> :class:`Curvature`. The
#: ``curvature`` option of every flow (:func:`sk_ricci.ricci_flow`,
#: :func:`sk_ricci.local_ricci_flow`, the scorer, the estimator), its accepted
#: values and :class:`~sk_ricci.RicciCurvature` read it; a new curvature is one
#: entry here (with its kernel).
CURVATURES = {
    "forman": Curvature(
        edge_forman, _forman_total,
        "the paper's Forman-Ricci curvature 4 - d_i - d_j",
    ),
    "augmented_forman": Curvature(
        _augmented_edges, _augmented_total,
        "Forman-Ricci plus 3 x the triangles through the edge",
    ),
    "approx_ollivier": Curvature(
        edge_approx_ollivier, None,
        "Tian et al.'s closed-form approximation of the Ollivier-Ricci "
        "curvature (:func:`sk_ricci.approx_ollivier_curvature`)",
    ),
    "ollivier": Curvature(
        _ollivier_default, None,
        "the exact Ollivier-Ricci curvature with idleness 1/2 "
        "(:func:`sk_ricci.ollivier_curvature`; one transport problem per "
        "edge, far slower, see ``docs/method.md``)",
    ),
}
#: Names of :data:`CURVATURES`, in order.
CURVATURE_KINDS = tuple(CURVATURES)


def curvatures_doc(indent="        "):
    """The :data:`CURVATURES` entries as docstring lines (for the one
    docstring that lists them, :func:`sk_ricci.ricci_flow`'s)."""
    import textwrap

    text = "; ".join(f'"{name}" is {c.doc}' for name, c in CURVATURES.items())
    return textwrap.fill(text + ".", width=78, initial_indent=indent,
                         subsequent_indent=indent)


def edge_curvature(G, kind):
    """Curvature of every stored edge of a valid symmetric CSR graph, aligned
    with ``G.data`` (multiplicities ignored by the triangle and transport
    supports, counted in the degrees); ``kind`` names a :data:`CURVATURES`
    entry."""
    return CURVATURES[check_option(kind, CURVATURE_KINDS, "curvature")].edges(
        *_csr_arrays(G)
    )


def total_edge_curvature(graph, kind, edges=None):
    """Total curvature of a valid graph, given as a CSR triple ``(indptr,
    indices, data)`` (int64, int64, float64), for any ``kind`` of
    :data:`CURVATURES`: the sum over edges counted with multiplicity,
    1/2 sum_ij G_ij R_ij (Ric_l, Eq. 6 for Forman). ``edges``: the edge
    curvatures R of this graph if already computed (a kind without its own
    total kernel then sums them instead of computing them again)."""
    entry = CURVATURES[check_option(kind, CURVATURE_KINDS, "curvature")]
    if entry.total is not None:
        return entry.total(*graph)
    if edges is None:
        edges = entry.edges(*graph)
    return float(0.5 * np.dot(graph[2], edges))


def _edge_matrix(G, R):
    return sp.csr_matrix((R, G.indices.copy(), G.indptr.copy()), shape=G.shape)


def approx_ollivier_curvature(G):
    """Closed-form approximation of the Ollivier-Ricci curvature of every edge.

    Tian, Lubberts and Weber ("Curvature-based clustering on graphs", 2023)
    average the upper bound ``T / max(d_i, d_j)`` and Jost and Liu's lower
    bound (2014) of the Ollivier-Ricci curvature without idleness::

        R(i, j) = T / (2 m) - 1/2 [ (1 - 1/d_i - 1/d_j - T / min(d_i, d_j))_+
                                    + (1 - 1/d_i - 1/d_j - T / m)_+ - T / m ]

    with ``m = max(d_i, d_j)`` and ``T`` the triangles through the edge (common
    neighbours). O(sum of squared degrees), no transport problem. Degrees
    count multiplicity ("sum" graphs); triangles are counted on the simple
    graph underlying ``G``.

    Parameters
    ----------
    G : sparse matrix of shape (n_samples, n_samples)
        Symmetric adjacency matrix, e.g. from :func:`sk_ricci.knn_graph`.

    Returns
    -------
    R : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        Curvature of every edge of ``G`` (``R.nnz == G.nnz``).

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from sk_ricci import approx_ollivier_curvature
    >>> K4 = sp.csr_matrix(np.ones((4, 4)) - np.eye(4))
    >>> round(float(approx_ollivier_curvature(K4)[0, 1]), 12)  # (n-2)/(n-1)
    0.666666666667
    """
    G = check_graph(G)
    return _edge_matrix(G, edge_curvature(G, "approx_ollivier"))


def ollivier_curvature(G, *, alpha=0.5):
    """Exact Ollivier-Ricci curvature of every edge (Ollivier 2009).

    ``R(i, j) = 1 - W_1(m_i, m_j)``, where ``m_i`` keeps mass ``alpha`` at i
    and spreads ``1 - alpha`` over i's neighbours in proportion to the edge
    multiplicities, and ``W_1`` is the optimal-transport (earth mover's)
    distance with hop distances as costs. Neighbour supports lie within 3
    hops, so each edge's cost matrix comes from the 2-balls of one endpoint's
    neighbours; each edge then solves one transport problem of size about
    (d_i + 1) x (d_j + 1), by POT's exact network simplex (``ot.emd2``; install
    the ``ollivier`` extra, ``pip install 'sk-ricci[ollivier]'``) or, without
    POT, by scipy's linear programming (``scipy.optimize.linprog``, slower).
    Cost: one transport problem per edge, about ``n * n_neighbors`` of them
    for a kNN graph; see ``docs/method.md``. Memory: one cost matrix at a
    time, 8 (d_i + 1)(d_j + 1) bytes (8 MB for two nodes of degree 1,000),
    plus bit sets of 2 (d_i + 1) n / 8 bytes for the balls of i's support.

    Parameters
    ----------
    G : sparse matrix of shape (n_samples, n_samples)
        Symmetric adjacency matrix.
    alpha : float, default=0.5
        Idleness in [0, 1): the mass each measure keeps at its own node.
        ``alpha=0`` is the curvature of the plain random walk. Any real number
        (Python or NumPy, int or float) is accepted; bools are not.

    Returns
    -------
    R : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        Curvature of every edge of ``G`` (``R.nnz == G.nnz``). An edge of an
        isolated pair (both endpoints of degree 1) gets ``1 - |2 alpha - 1|``.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from sk_ricci import ollivier_curvature
    >>> K4 = sp.csr_matrix(np.ones((4, 4)) - np.eye(4))
    >>> round(float(ollivier_curvature(K4, alpha=0.5)[0, 1]), 12)  # n/(2(n-1))
    0.666666666667
    """
    if not (is_real(alpha) and 0 <= alpha < 1):
        got = (
            "a bool, which is not a number here"
            if isinstance(alpha, (bool, np.bool_))
            else f"{type(alpha).__name__} {alpha!r}"
        )
        raise ValueError(
            f"alpha must be a number in [0, 1): the idleness, the mass each "
            f"node's measure keeps at the node itself; got {got}. Pass e.g. "
            "alpha=0.5 (the flows' value) or alpha=0.0 (the plain random walk)."
        )
    G = check_graph(G)
    return _edge_matrix(G, _ollivier_edges(*_csr_arrays(G), float(alpha)))
