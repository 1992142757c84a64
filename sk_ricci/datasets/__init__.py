"""Data sets of the Ricci-flow study: synthetic 3-D problems and image pairs.

Synthetic two-class problems (Baptista et al., section "Data"; the paper gives no
equations, so they are defined, documented and seeded here):

- :func:`make_entangled_spirals` (problem A): interleaved spiral sheets,
  geometrically entangled but topologically separable;
- :func:`make_ellipsoids_in_box` (problem B): two solid ellipsoids inside a solid
  box, separable only after a change of topology;
- :func:`make_intersecting_sheets` (problem C): two sinusoidal sheets that cross,
  not separable (Bayes accuracy about 0.93 at the default noise).

Real image pairs, read from local files (nothing is downloaded unless asked):

- :func:`load_digits_pair`: scikit-learn's bundled 8x8 digits, the embedded
  stand-in for the paper's MNIST pairs;
- :func:`load_mnist_pair` and :func:`load_fashion_mnist_pair`: the original IDX
  files, a CSV or an ``.npz`` under ``data_home``;
- :func:`read_idx`: the IDX parser they use.

Paper settings: :func:`paper_n_neighbors_grid` and
:func:`paper_accuracy_threshold`.

Layout: ``_problems`` is the one registry of problem names (aliases, source,
class pair, k grid, threshold) that everything here and the study reads;
``_synthetic`` holds the generators, ``_paper`` the paper's settings,
``_images`` the image-pair loaders, ``_idx`` the IDX/CSV/NPZ readers and
``_fetch`` the mirrors, MD5 sums and checked downloader.
"""

from ._idx import read_idx
from ._images import (
    get_data_home,
    load_digits_pair,
    load_fashion_mnist_pair,
    load_mnist_pair,
)
from ._paper import paper_accuracy_threshold, paper_n_neighbors_grid

# REGISTRY, SOURCES and find_problem stay importable here, outside __all__
from ._problems import (  # noqa: F401
    PAPER_PROBLEMS,
    REGISTRY,
    SOURCES,
    SYNTHETIC_PROBLEMS,
    Problem,
    find_problem,
    resolve_problem,
)
from ._synthetic import (
    PROBLEM_NAMES,
    make_ellipsoids_in_box,
    make_entangled_spirals,
    make_intersecting_sheets,
    make_problem,
)

__all__ = [
    "PAPER_PROBLEMS",
    "PROBLEM_NAMES",
    "SYNTHETIC_PROBLEMS",
    "Problem",
    "get_data_home",
    "load_digits_pair",
    "load_fashion_mnist_pair",
    "load_mnist_pair",
    "make_ellipsoids_in_box",
    "make_entangled_spirals",
    "make_intersecting_sheets",
    "make_problem",
    "paper_accuracy_threshold",
    "paper_n_neighbors_grid",
    "problem_loader",
    "read_idx",
    "resolve_problem",
]


def problem_loader(problem):
    """The function of this module that makes or loads ``problem``'s points.

    ``problem`` is a :class:`Problem` or a name (any alias); the registry
    names the function (:attr:`Problem.loader`), so every caller (the study,
    the benchmarks) dispatches through it.

    Examples
    --------
    >>> from sk_ricci.datasets import problem_loader
    >>> problem_loader("A").__name__, problem_loader("mnist_17").__name__
    ('make_entangled_spirals', 'load_mnist_pair')
    """
    if not isinstance(problem, Problem):
        problem = resolve_problem(problem)
    return globals()[problem.loader]
