"""The paper's settings for each named problem: its n_neighbors grid (rescaled
to a test-set size, optionally started where the input's kNN graph connects)
and its "well trained" accuracy threshold, both read from the problem registry
(:mod:`sk_ricci.datasets._problems`).
"""

import numpy as np

from ._problems import resolve_problem
from ._synthetic import check_n_samples


def paper_n_neighbors_grid(problem, n_samples=None, *, X=None, symmetrize="max"):
    """The paper's grid of ``n_neighbors`` values for one problem.

    Synthetic problems (n = 1,000 test points):
    {6, 7, 9, 10, 15, 18, 20, 30, 50, 90, 100, 120, 140, 150, 160, 180, 200};
    image pairs (n ~ 2,000): {10, 20, 30, 50, 90, 100, 120, 150, 250, 350, 500}.

    Parameters
    ----------
    problem : str
        One of :data:`PAPER_PROBLEMS` (``"A"``, ``"B"``, ``"C"``,
        ``"mnist_1_7"``, ``"mnist_6_8"``, ``"fashion_sandal_boot"``,
        ``"fashion_shirt_coat"``) or an alias (``"entangled_spirals"``,
        ``"sandal_boot"``, ``"digits_1_7"``, ...).

    n_samples : int or None, default=None
        Number of test points the graphs will be built on. None returns the
        paper's grid unchanged; otherwise every value is rescaled by
        ``n_samples / n_paper`` (n_paper = 1,000 synthetic, 2,000 images),
        rounded, and only the distinct values in ``[1, n_samples - 1]`` kept.
        With ``X`` given, None means ``len(X)``.

    X : array-like of shape (n_samples, n_features), default=None
        The input test set. When given, the grid starts, as the paper's does,
        at the smallest k for which the kNN graph of ``X`` is connected
        (:func:`sk_ricci.smallest_connected_n_neighbors`): that k comes
        first and the (rescaled) values below it are dropped, since no layer
        graph there is likely to be connected. If the graph of ``X`` is not
        connected at the largest value of the grid, the grid is returned
        unchanged.

    symmetrize : {"max", "min", "sum"}, default="max"
        Graph convention used to test the connectivity of ``X``'s graph
        ("sum" has the same edges as "max").

    Returns
    -------
    grid : list of int
        Increasing ``n_neighbors`` values.

    Examples
    --------
    >>> from sk_ricci.datasets import paper_n_neighbors_grid
    >>> paper_n_neighbors_grid("fashion_sandal_boot")
    [10, 20, 30, 50, 90, 100, 120, 150, 250, 350, 500]
    >>> paper_n_neighbors_grid("A")[:5]
    [6, 7, 9, 10, 15]
    >>> paper_n_neighbors_grid("mnist_1_7", n_samples=400)
    [2, 4, 6, 10, 18, 20, 24, 30, 50, 70, 100]
    >>> import numpy as np
    >>> X = np.random.RandomState(0).uniform(size=(1000, 2))
    >>> paper_n_neighbors_grid("A", X=X)[:5]   # the graph of X is connected from k = 4
    [4, 6, 7, 9, 10]
    """
    spec = resolve_problem(problem)
    if X is not None:
        X, n_samples = _check_test_set(X, n_samples)
    if n_samples is None:
        return list(spec.paper_grid)
    scaled = _rescaled_grid(spec, check_n_samples(n_samples))
    if X is None or not scaled:
        return scaled
    from .._select import smallest_connected_n_neighbors

    k_min = smallest_connected_n_neighbors(
        X, max_n_neighbors=scaled[-1], symmetrize=symmetrize
    )
    if k_min is None:
        return scaled
    return [k_min] + [k for k in scaled if k > k_min]


def _check_test_set(X, n_samples):
    """``X`` as a 2-D float array and ``n_samples`` (None means ``len(X)``)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(
            f"X must be a 2-D array (n_samples, n_features), got shape "
            f"{X.shape}; pass the input test set"
        )
    if n_samples is None:
        return X, X.shape[0]
    if n_samples != X.shape[0]:
        raise ValueError(
            f"n_samples={n_samples!r} differs from the {X.shape[0]} rows of X; "
            "pass n_samples=None to use len(X)"
        )
    return X, n_samples


def _rescaled_grid(spec, n_samples):
    """The paper's grid scaled by ``n_samples / n_paper``, rounded, deduplicated,
    kept in ``[1, n_samples - 1]``."""
    scale = n_samples / spec.paper_n_test
    scaled = sorted({round(k * scale) for k in spec.paper_grid})
    return [k for k in scaled if 1 <= k < n_samples]


def paper_accuracy_threshold(problem):
    """Test accuracy a network must exceed to count as "well trained" in the paper.

    A, B, MNIST pairs: 0.99; C: 0.91; Fashion-MNIST sandal vs ankle boot: 0.98;
    shirt vs coat: 0.90.

    Parameters
    ----------
    problem : str
        One of :data:`PAPER_PROBLEMS` or an alias, as in
        :func:`paper_n_neighbors_grid`.

    Returns
    -------
    threshold : float
        The accuracy threshold (strictly greater is required).

    Examples
    --------
    >>> from sk_ricci.datasets import paper_accuracy_threshold
    >>> paper_accuracy_threshold("C"), paper_accuracy_threshold("shirt_coat")
    (0.91, 0.9)
    """
    return resolve_problem(problem).threshold
