"""The one registry of named problems: source, class pair, k grid, threshold,
aliases.

Every name a user may type (``"A"``, ``"entangled-spirals"``, ``"mnist_17"``,
``"sandal_boot"``, ``"digits_1_7"``, ...) is resolved here, by
:func:`resolve_problem`, for the data sets, the paper's settings and the
study alike.
"""

from dataclasses import dataclass

#: The paper's grids of n_neighbors and the test-set sizes they were made for.
PAPER_GRID_SYNTHETIC = (
    6, 7, 9, 10, 15, 18, 20, 30, 50, 90, 100, 120, 140, 150, 160, 180, 200,
)
PAPER_GRID_IMAGES = (10, 20, 30, 50, 90, 100, 120, 150, 250, 350, 500)
PAPER_N_TEST = {"synthetic": 1000, "images": 2000}

#: The one table of sources: source -> (the function of :mod:`sk_ricci.datasets`
#: that loads a problem of it, whether that function returns one set that the
#: study splits (True) or official train and test subsets (False)). A
#: synthetic problem names its own generator (``make_<long_name>``). A new
#: source is one entry here and its loader.
SOURCES = {
    "synthetic": (None, True),
    "digits": ("load_digits_pair", True),
    "mnist": ("load_mnist_pair", False),
    "fashion": ("load_fashion_mnist_pair", False),
}


@dataclass(frozen=True)
class Problem:
    """One named problem.

    Attributes
    ----------
    name : str
        Canonical name (``"A"``, ``"mnist_1_7"``, ``"digits_1_7"``, ...).
    source : {"synthetic", "mnist", "fashion", "digits"}
        Where its points come from: a key of :data:`SOURCES` (anything else
        is an error when the problem is made).
    pair : tuple of int or None
        The two class labels of an image pair (None for synthetic problems).
    threshold : float
        Test accuracy a network must exceed to count as well trained.
    aliases : tuple of str
        Other accepted names (lower case, ``_`` for ``-`` and spaces).
    paper : bool
        Whether it is one of the seven problems of the paper's study.
    long_name : str or None
        The generator's name of a synthetic problem (``make_<long_name>``).
    """

    name: str
    source: str
    pair: tuple
    threshold: float
    aliases: tuple = ()
    paper: bool = True
    long_name: str = None

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(
                f"Problem {self.name!r}: unknown source {self.source!r}; expected "
                f"one of {sorted(SOURCES)}. A new source needs its loader in "
                "sk_ricci.datasets and an entry in SOURCES "
                "(sk_ricci/datasets/_problems.py)."
            )
        if self.source == "synthetic" and not self.long_name:
            raise ValueError(
                f"Problem {self.name!r}: a synthetic problem needs long_name, the "
                "name of its generator make_<long_name> in sk_ricci.datasets."
            )

    @property
    def loader(self):
        """Name of the function of :mod:`sk_ricci.datasets` that makes or
        loads this problem's points (``make_<long_name>`` for a synthetic
        problem)."""
        name, _ = SOURCES[self.source]
        return f"make_{self.long_name}" if name is None else name

    @property
    def one_set(self):
        """True when the loader gives one set of points (split by the study),
        False when it gives official train and test subsets."""
        return SOURCES[self.source][1]

    @property
    def kind(self):
        """``"synthetic"`` or ``"images"``: which of the paper's grids applies."""
        return "synthetic" if self.source == "synthetic" else "images"

    @property
    def paper_grid(self):
        """The paper's n_neighbors grid for this problem (unscaled)."""
        return PAPER_GRID_SYNTHETIC if self.kind == "synthetic" else PAPER_GRID_IMAGES

    @property
    def paper_n_test(self):
        """The test-set size the paper's grid was made for."""
        return PAPER_N_TEST[self.kind]


def _synthetic(name, long_name, threshold):
    return Problem(
        name, "synthetic", None, threshold,
        aliases=(long_name, f"make_{long_name}"), long_name=long_name,
    )


def _pair_aliases(prefix, a, b):
    return (f"{prefix}_{a}v{b}", f"{prefix}_{a}_vs_{b}", f"{prefix}_{a}{b}")


#: name -> Problem, in the paper's order; the bundled-digits stand-ins last.
REGISTRY = {
    p.name: p
    for p in (
        _synthetic("A", "entangled_spirals", 0.99),
        _synthetic("B", "ellipsoids_in_box", 0.99),
        _synthetic("C", "intersecting_sheets", 0.91),
        Problem("mnist_1_7", "mnist", (1, 7), 0.99, _pair_aliases("mnist", 1, 7)),
        Problem("mnist_6_8", "mnist", (6, 8), 0.99, _pair_aliases("mnist", 6, 8)),
        Problem(
            "fashion_sandal_boot", "fashion", (5, 9), 0.98,
            ("sandal_boot", "sandal_vs_ankle_boot", "fashion_mnist_sandal_boot",
             "fashion_5_9", "fashion_mnist_5_9"),
        ),
        Problem(
            "fashion_shirt_coat", "fashion", (6, 4), 0.90,
            ("shirt_coat", "coat_shirt", "fashion_coat_shirt", "shirt_vs_coat",
             "fashion_mnist_shirt_coat", "fashion_6_4", "fashion_4_6",
             "fashion_mnist_6_4"),
        ),
        # scikit-learn's bundled 8x8 digits: offline stand-ins for the MNIST
        # pairs, with their grid and threshold
        Problem("digits_1_7", "digits", (1, 7), 0.99, _pair_aliases("digits", 1, 7),
                paper=False),
        Problem("digits_6_8", "digits", (6, 8), 0.99, _pair_aliases("digits", 6, 8),
                paper=False),
    )
}

SYNTHETIC_PROBLEMS = tuple(n for n, p in REGISTRY.items() if p.source == "synthetic")
PAPER_PROBLEMS = tuple(n for n, p in REGISTRY.items() if p.paper)

_LOOKUP = {}
for _p in REGISTRY.values():
    for _alias in (_p.name.lower(),) + _p.aliases:
        assert _alias not in _LOOKUP, _alias
        _LOOKUP[_alias] = _p
del _p, _alias


def _normalise(name):
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def find_problem(name):
    """The :class:`Problem` called ``name`` (any alias, any case), or None."""
    if not isinstance(name, str):
        return None
    return _LOOKUP.get(_normalise(name))


def resolve_problem(name, *, sources=None, error=ValueError):
    """The :class:`Problem` called ``name``; ``error`` if there is none.

    ``sources`` restricts the accepted problems (e.g. ``("synthetic",)``).
    """
    problem = find_problem(name)
    allowed = [
        n for n, p in REGISTRY.items() if sources is None or p.source in sources
    ]
    if problem is None or problem.name not in allowed:
        raise error(
            f"unknown problem {name!r}; expected one of {allowed} or an alias "
            "(e.g. 'entangled_spirals', 'mnist_17', 'sandal_boot'; digits_* are "
            "the bundled 8x8 digits, usable offline)"
        )
    return problem
