"""Configuration of the paper's study: :class:`StudyConfig`, TOML, seeds.

:class:`StudyConfig` holds the problems, architectures, depths, repeats,
training and graph settings of a study, validated against the constraints it
declares once (``StudyConfig._parameter_constraints``) and hashed
(:attr:`StudyConfig.config_hash` guards an output folder). Each field carries
the help of its ``sk-ricci study`` flag in its metadata, so the command's flags
are generated from the fields. :func:`load_config` reads a TOML study file and
:func:`network_seed` derives each network's seed from the base seed and its
names.
"""

import dataclasses
import hashlib
import json
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from .._options import FLOW_CONSTRAINTS, FlowOptions
from .._param_validation import (
    Boolean,
    Interval,
    IntList,
    NJobs,
    Options,
    validate_params,
)
from .._validation import ALGORITHM_OPTIONS, SYMMETRIZE_OPTIONS
from ..datasets import PAPER_PROBLEMS
from ..datasets._problems import REGISTRY
from ..exceptions import StudyConfigError
from ._fields import NORMALISERS, _Subset

#: The paper's architectures and depths (docs/study.md).
ARCHITECTURES = ("narrow", "wide", "bottleneck")
DEPTHS = (5, 11)
STANDARDIZE_OPTIONS = ("synthetic", "none", "all")
OPTIMIZERS = ("rmsprop", "adam", "sgd")
#: Where a study's networks train (:func:`~sk_ricci.study.run_study`).
BACKENDS = ("loky", "dask", "ray")

#: What the same configuration's result rows are made of beyond its fields:
#: the synthetic generators and the default k grid. Part of the config hash,
#: so that a study folder of an earlier version is never resumed with rows of
#: another. 2: problems A and B recalibrated, each grid starts at the smallest
#: k whose input graph is connected.
RESULTS_VERSION = 2

#: Largest learning rate: torch trains in float32, and a larger (or infinite)
#: value cannot be converted to it (``lr`` is refused before anything is
#: written; a large finite one makes the training diverge, which is recorded).
MAX_LR = float(np.finfo(np.float32).max)


def _setting(default=dataclasses.MISSING, *, help, hash=True, factory=None, **cli):
    """A field whose metadata says whether it changes the results (``hash``)
    and describes its ``sk-ricci study`` flag: ``help``, ``flags`` (default
    ``--field-name``), ``type`` (how the flag's text is read: "list",
    "int list", "positive int", "int", "float", "problem=accuracy",
    "problem=sizes" or
    "bool" for an on/off flag), ``metavar``, ``choices``, ``repeat`` (the
    flag may be given several times) and ``default_help`` (the default as the
    help shows it, when the value itself says little)."""
    metadata = {"help": help, "hash": hash, **cli}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


# --------------------------------------------------------------------------- #
# The configuration
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class StudyConfig:
    """Configuration of a Ricci-flow study; the defaults are the paper's.

    Every field changes the results (and the configuration hash that guards
    an output folder) except ``data_home`` and ``download``. Every field is
    also a flag of ``sk-ricci study`` (see the field's metadata).

    Parameters
    ----------
    problems : tuple of str, default=the paper's seven problems
        Names from the registry :data:`sk_ricci.datasets.REGISTRY`: ``"A"``, ``"B"``, ``"C"`` (synthetic),
        ``"mnist_1_7"``, ``"mnist_6_8"``, ``"fashion_sandal_boot"``,
        ``"fashion_shirt_coat"`` (need the files, see ``data_home``), or the
        offline stand-ins ``"digits_1_7"``, ``"digits_6_8"``.
    architectures : tuple of str, default=("narrow", "wide", "bottleneck")
        Presets of :class:`~sk_ricci.nn.ReLUMLPClassifier`.
    depths : tuple of int, default=(5, 11)
        Numbers of hidden layers (at least 4: rho correlates L - 1 points).
    repeats : int, default=36
        Networks per (problem, architecture, depth).
    n_train, n_test : int, default=1000
        Training and test points per problem. Image pairs subsample their
        official splits (stratified); an image file holding one set (no
        official split, e.g. a 1,000-image MNIST pair) is split into disjoint
        stratified training and test points, and must hold at least
        ``n_train + n_test`` images; the digits stand-in has 361 points and
        caps both so that they fit.
    splits : dict, default={}
        ``{problem: (n_train, n_test)}``: the sizes of one problem, overriding
        ``n_train`` and ``n_test`` (e.g. ``{"mnist_1_7": (500, 500)}`` for a
        1,000-image pair). The sizes actually used are recorded in each
        result row, in ``config.json`` and in the report.
    max_epochs, batch_size, lr, optimizer, validation_fraction
        Training settings of :class:`~sk_ricci.nn.ReLUMLPClassifier`
        (50, 32, 1e-3, "rmsprop", 0.2 as in the paper).
    thresholds : dict, default={}
        Accuracy threshold per problem (a network must score strictly more);
        problems not listed use :func:`sk_ricci.datasets.paper_accuracy_threshold`.
    n_neighbors : list of int, dict or None, default=None
        The k grid: None uses :func:`sk_ricci.datasets.paper_n_neighbors_grid`
        scaled to the test-set size (k < n_test) and started, as the paper's
        grids are, at the smallest k for which the kNN graph of the input test
        set is connected; a list applies to every problem; a dict maps
        problems to lists (others use the paper's grid).
    symmetrize : {"sum", "max", "min"}, default="sum"
        Graph convention; "sum" is the authors' R script (docs/method.md, section 1).
    connect : {None, "mst"}, default=None
        None follows the paper (a disconnected layer excludes the network at
        that k); "mst" adds each layer's Euclidean minimum spanning tree.
    algorithm : {"auto", "brute", "nndescent"}, default="auto"
        Neighbour search of :func:`sk_ricci.ricci_flow`.
    standardize : {"synthetic", "none", "all"}, default="synthetic"
        Which problems have their inputs standardised (mean 0, variance 1 per
        feature, fitted on the training split). The paper used raw pixels;
        it gives no scale for its synthetic problems, and on sk_ricci's
        spirals (about [-11, 12] x [0, 21] x [-11, 12]) half of the networks
        miss the 99% threshold after 50 epochs unless the inputs are
        standardised (docs/study.md).
    seed : int, default=0
        Base seed; the data of each problem and every network's seed derive
        from it and the names (see :func:`network_seed`).
    data_home : str or None, default=None
        Folder of the MNIST / Fashion-MNIST files.
    download : bool, default=False
        Download missing MNIST / Fashion-MNIST files.
    """

    problems: tuple = _setting(
        PAPER_PROBLEMS, type="list", metavar="A,B,...",
        help="comma-separated problems: A, B, C (synthetic), mnist_1_7, "
        "mnist_6_8, fashion_sandal_boot, fashion_shirt_coat (need --data-home "
        "or --download), digits_1_7, digits_6_8 (offline)",
    )
    architectures: tuple = _setting(
        ARCHITECTURES, type="list", metavar="ARCH,...",
        help="subset of narrow,wide,bottleneck",
    )
    depths: tuple = _setting(
        DEPTHS, type="int list", metavar="D,...",
        help="hidden layers per network, at least 4 (rho correlates L - 1 points)",
    )
    repeats: int = _setting(
        36, type="positive int", help="networks per problem, architecture and depth"
    )
    n_train: int = _setting(1000, type="positive int", help="training points")
    n_test: int = _setting(1000, type="positive int", help="test points")
    max_epochs: int = _setting(
        50, flags=("--epochs", "--max-epochs"), type="positive int",
        help="training epochs",
    )
    batch_size: int = _setting(32, type="positive int", help="mini-batch size")
    lr: float = _setting(1e-3, type="float", help="learning rate")
    optimizer: str = _setting("rmsprop", choices=OPTIMIZERS, help="optimizer")
    validation_fraction: float = _setting(
        0.2, type="float",
        help="fraction of the training points held out for validation (0: none)",
    )
    splits: dict = _setting(  # noqa: RUF009 (a field() with a default_factory)
        factory=dict, flags=("--split",), type="problem=sizes", repeat=True,
        metavar="PROBLEM=TRAIN/TEST", default_help="n_train/n_test",
        help="training and test points of one problem, e.g. mnist_1_7=500/500 "
        "(repeatable)",
    )
    thresholds: dict = _setting(  # noqa: RUF009 (a field() with a default_factory)
        factory=dict, flags=("--threshold",), type="problem=accuracy",
        repeat=True, metavar="PROBLEM=ACC", default_help="the paper's",
        help="accuracy threshold of a problem, strictly exceeded (repeatable)",
    )
    n_neighbors: object = _setting(
        None, flags=("--k-grid", "--n-neighbors"), type="int list",
        metavar="K1,K2,...", default_help="the paper's grid, scaled to n_test",
        help="n_neighbors grid for every problem",
    )
    symmetrize: str = _setting(
        "sum", choices=SYMMETRIZE_OPTIONS,
        help="kNN graph convention (sum: the authors' script)",
    )
    connect: object = _setting(
        None, choices=("none", "mst"),
        help="none: a disconnected layer excludes a network (the paper); mst: "
        "add each layer's minimum spanning tree",
    )
    algorithm: str = _setting(
        "auto", choices=ALGORITHM_OPTIONS, help="neighbour search of the flow"
    )
    standardize: str = _setting(
        "synthetic", choices=STANDARDIZE_OPTIONS,
        help="which problems have their inputs standardised",
    )
    seed: int = _setting(0, type="int", help="base seed of the data and the networks")
    data_home: object = _setting(
        None, hash=False, metavar="DIR",
        default_help="$SK_RICCI_DATA or ~/sk_ricci_data",
        help="folder of the MNIST / Fashion-MNIST files",
    )
    download: bool = _setting(
        False, hash=False, type="bool",
        help="download missing MNIST / Fashion-MNIST files",
    )

    #: Accepted values of every field, after its normaliser
    #: (:data:`NORMALISERS`) ran; checked by :func:`validate_params`.
    _parameter_constraints: ClassVar[dict] = {
        "problems": [_Subset(REGISTRY)],
        "architectures": [_Subset(ARCHITECTURES)],
        "depths": [IntList(4)],
        "repeats": [Interval(numbers.Integral, 1, None)],
        "n_train": [Interval(numbers.Integral, 10, None)],
        "n_test": [Interval(numbers.Integral, 10, None)],
        "max_epochs": [Interval(numbers.Integral, 1, None)],
        "batch_size": [Interval(numbers.Integral, 1, None)],
        "lr": [Interval(numbers.Real, 0, MAX_LR, closed="right")],
        "optimizer": [Options(OPTIMIZERS)],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "splits": [dict],
        "thresholds": [dict],
        "n_neighbors": [None, dict, IntList(1)],
        "symmetrize": [Options(SYMMETRIZE_OPTIONS)],
        "connect": FLOW_CONSTRAINTS["connect"],
        "algorithm": FLOW_CONSTRAINTS["algorithm"],
        "standardize": [Options(STANDARDIZE_OPTIONS)],
        "seed": [Interval(numbers.Integral, 0, None)],
        "data_home": [None, str],
        "download": [Boolean()],
    }
    _parameter_fixes: ClassVar[dict] = {
        "problems": "Pass e.g. ['A', 'B', 'C'].",
        "depths": "The Ricci coefficient correlates L - 1 successive layers and "
        "a correlation needs at least 3 points; the paper uses 5 and 11.",
        "repeats": "Pass e.g. 36.",
        "n_train": "Pass e.g. 1000.",
        "n_test": "Pass e.g. 1000.",
        "max_epochs": "Pass e.g. 50.",
        "batch_size": "Pass e.g. 32.",
        "lr": "Pass e.g. 0.001; torch trains in float32, whose largest value "
        "is the upper bound.",
        "validation_fraction": "Pass e.g. 0.2 (0: no validation split).",
        "connect": "Pass None ('none') or 'mst'.",
        "seed": "Pass e.g. 0.",
    }

    def __post_init__(self):
        values = {
            f.name: NORMALISERS.get(f.name, lambda v: v)(getattr(self, f.name))
            for f in dataclasses.fields(self)
        }
        validate_params(
            values, self._parameter_constraints, type(self).__name__,
            fixes=self._parameter_fixes, error=StudyConfigError,
        )
        check_training_split(
            values["validation_fraction"], values["n_train"], error=StudyConfigError
        )
        for problem, (n_train, _) in values["splits"].items():
            check_training_split(
                values["validation_fraction"], n_train, problem,
                error=StudyConfigError,
            )
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @property
    def flow_options(self):
        """The :class:`~sk_ricci._options.FlowOptions` of every flow of the
        study: ``symmetrize``, ``connect`` and ``algorithm`` of the
        configuration, the paper's Forman curvature, one thread and
        ``random_state=0`` (the seed of the approximate neighbour search)."""
        return FlowOptions(
            symmetrize=self.symmetrize, connect=self.connect,
            algorithm=self.algorithm, random_state=0, n_jobs=1,
        )

    @property
    def training_options(self):
        """The training settings of every network, as a dict."""
        keys = ("lr", "max_epochs", "batch_size", "optimizer", "validation_fraction")
        return {k: getattr(self, k) for k in keys}

    def to_dict(self, *, hashed_only=False):
        """Plain JSON-ready dict of the fields (``hashed_only``: those hashed)."""
        out = {}
        for f in dataclasses.fields(self):
            if hashed_only and not f.metadata.get("hash", True):
                continue
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, dict):
                value = {
                    k: list(v) if isinstance(v, tuple) else v for k, v in value.items()
                }
            out[f.name] = value
        return out

    @property
    def config_hash(self):
        """SHA-256 (16 hex digits) of every field that changes the results,
        and of :data:`RESULTS_VERSION`."""
        values = self.to_dict(hashed_only=True)
        if not values["splits"]:
            # no per-problem sizes: the hash of a configuration written before
            # they existed, so that its study folder still resumes
            del values["splits"]
        text = json.dumps(
            {**values, "results_version": RESULTS_VERSION}, sort_keys=True
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, values):
        """Build from a dict, refusing unknown keys (with the list of known ones)."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise StudyConfigError(
                f"unknown study setting(s) {unknown}; known: {names}"
            )
        return cls(**values)

    @classmethod
    def from_toml(cls, path):
        """Read the study settings of a TOML file (see :func:`load_config`)."""
        return load_config(path)[0]

    def replace(self, **changes):
        """A copy with ``changes`` applied and validated again.

        Every given field is applied, None included: ``replace(connect=None)``
        drops ``connect="mst"``. Unknown names are refused.
        """
        return self.from_dict({**self.to_dict(), **changes})

    def sizes(self, problem):
        """``(n_train, n_test)`` asked for ``problem``: its entry of
        ``splits``, else ``n_train`` and ``n_test``."""
        return tuple(self.splits.get(problem, (self.n_train, self.n_test)))

    def threshold(self, problem):
        """Accuracy a network of ``problem`` must exceed."""
        from ..datasets import paper_accuracy_threshold

        if problem in self.thresholds:
            return self.thresholds[problem]
        return float(paper_accuracy_threshold(problem))

    def n_neighbors_grid(self, problem, n_test, X_test=None):
        """The k grid of ``problem`` for a test set of ``n_test`` points.

        The paper's grid (when ``n_neighbors`` does not set one) is rescaled
        to ``n_test``; given the input test set ``X_test``, it starts at the
        smallest k for which the kNN graph of ``X_test`` is connected, as the
        paper's grids do (:func:`sk_ricci.datasets.paper_n_neighbors_grid`).
        """
        from ..datasets import paper_n_neighbors_grid

        grid = self.n_neighbors
        if isinstance(grid, dict):
            grid = grid.get(problem)
        if grid is None:
            grid = paper_n_neighbors_grid(
                problem, n_samples=n_test, X=X_test,
                symmetrize=self.symmetrize,
            )
            if not grid:
                raise StudyConfigError(
                    f"the paper's grid scaled to n_test={n_test} is empty for "
                    f"problem {problem}; pass a larger n_test or n_neighbors"
                )
            return [int(k) for k in grid]
        too_big = [k for k in grid if k >= n_test]
        if too_big:
            raise StudyConfigError(
                f"n_neighbors {too_big} must be smaller than n_test={n_test} for "
                f"problem {problem}; pass a smaller k grid or a larger n_test"
            )
        return list(grid)

    def networks(self):
        """Every network of the study, in a fixed order."""
        return [
            _Network(problem, arch, depth, repeat, network_seed(
                self.seed, problem, arch, depth, repeat))
            for problem in self.problems
            for arch in self.architectures
            for depth in self.depths
            for repeat in range(self.repeats)
        ]


def check_training_split(fraction, n_train, problem=None, *, error=StudyConfigError):
    """Refuse a ``validation_fraction`` that leaves no training point.

    :class:`~sk_ricci.nn.ReLUMLPClassifier` holds out ``ceil(fraction *
    n_train)`` points for validation and needs at least one to train on.
    """
    if not fraction:
        return
    n_valid = math.ceil(fraction * n_train)
    if n_train - n_valid < 1:
        where = f" for problem {problem}" if problem is not None else ""
        raise error(
            f"validation_fraction={fraction} holds out {n_valid} of the "
            f"n_train={n_train} training points{where}, leaving none to train "
            "on; pass a smaller validation_fraction (0: none) or a larger n_train"
        )


def load_config(path):
    """Read a TOML study file: study settings plus an optional ``[run]`` table.

    Parameters
    ----------
    path : str or path-like
        TOML file. Top-level keys are :class:`StudyConfig` fields; a ``[run]``
        table may hold ``n_jobs``, ``backend``, ``scheduler_address``,
        ``quiet``, ``output``. TOML has no null: write ``connect = "none"``.

    Returns
    -------
    config : StudyConfig
    run : dict
        The ``[run]`` table.
    """
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise ImportError(
                "reading TOML on Python 3.10 needs tomli: pip install tomli"
            ) from None
    path = Path(path)
    try:
        with open(path, "rb") as f:
            values = tomllib.load(f)
    except FileNotFoundError:
        raise StudyConfigError(f"config file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise StudyConfigError(f"config file {str(path)!r} is not valid TOML: {exc}")
    run = values.pop("run", {})
    known_run = {"n_jobs", "backend", "scheduler_address", "quiet", "output"}
    if not isinstance(run, dict) or set(run) - known_run:
        raise StudyConfigError(
            f"[run] table of {str(path)!r} may only hold {sorted(known_run)}, got "
            f"{run!r}"
        )
    _check_run_table(run, path)
    return StudyConfig.from_dict(values), run


def _check_run_table(run, path):
    def bad(key, expected):
        value = run[key]
        raise StudyConfigError(
            f"[run] {key} = {value!r} in {str(path)!r} must be {expected}, got "
            f"{type(value).__name__}"
        )

    if "n_jobs" in run and not NJobs().is_satisfied_by(run["n_jobs"]):
        bad("n_jobs", f"{NJobs()}, e.g. n_jobs = 4")
    if "backend" in run and run["backend"] not in BACKENDS:
        bad("backend", "one of " + ", ".join(map(repr, BACKENDS)))
    for key in ("scheduler_address", "output"):
        if key in run and not (isinstance(run[key], str) and run[key].strip()):
            bad(key, 'a non-empty string, e.g. output = "results/study"')
    if "quiet" in run and not isinstance(run["quiet"], bool):
        bad("quiet", "true or false")


def network_seed(seed, problem, architecture, depth, repeat):
    """Seed of one network, from the base seed and the network's names.

    Derived with :class:`numpy.random.SeedSequence` from a SHA-256 of the
    names, so it does not depend on which other problems or architectures the
    study contains, on the order of execution or on the machine.

    Examples
    --------
    >>> from sk_ricci.study import network_seed
    >>> network_seed(0, "A", "wide", 11, 3) == network_seed(0, "A", "wide", 11, 3)
    True
    >>> network_seed(0, "A", "wide", 11, 3) != network_seed(0, "A", "wide", 11, 4)
    True
    """
    # a string depth or repeat would hash to another seed: refused, not read
    validate_params(
        {"seed": seed, "problem": problem, "architecture": architecture,
         "depth": depth, "repeat": repeat},
        {"seed": [Interval(numbers.Integral, 0, None)], "problem": [str],
         "architecture": [str], "depth": [Interval(numbers.Integral, 0, None)],
         "repeat": [Interval(numbers.Integral, 0, None)]},
        "network_seed",
    )
    text = f"{problem}|{architecture}|{depth}|{repeat}".encode()
    words = np.frombuffer(hashlib.sha256(text).digest(), dtype="<u4")
    ss = np.random.SeedSequence([int(seed), *map(int, words)])
    return int(ss.generate_state(1, dtype=np.uint32)[0] >> 1)


def data_seed(seed, problem):
    return network_seed(seed, problem, "data", 0, 0)


@dataclass(frozen=True)
class _Network:
    problem: str
    architecture: str
    depth: int
    repeat: int
    seed: int

    @property
    def network_id(self):
        return f"{self.problem}/{self.architecture}/d{self.depth}/r{self.repeat}"
