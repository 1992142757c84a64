"""The paper's study: problems x architectures x repeats -> tables and figures.

Reproduces the protocol of Baptista et al., "Deep Learning as Ricci Flow"
(PAPER_SPEC section 6). For every problem, architecture (narrow, wide,
bottleneck), depth (5, 11) and repeat, one :class:`~sk_ricci.nn.ReLUMLPClassifier`
is trained with a seed derived from those four names, its test accuracy is
measured, and :func:`sk_ricci.ricci_flow` runs on the hidden activations of the
test set over the problem's grid of ``n_neighbors``. Each finished network is
appended at once to ``results.jsonl`` in the output folder, so a run can be
killed and resumed without losing or duplicating networks.

The analysis (:func:`analyse_study`, :func:`make_report`) then picks, per
(problem, architecture, depth), the scale k* that minimises the aggregated
coefficient over the networks that pass the accuracy threshold, computes every
network's rho and adjusted rho at k*, counts the exclusions (below threshold,
disconnected at k*), and regresses accuracy on rho plus problem, architecture
and depth dummies (:func:`ols`).

Networks run serially, on the cores of one machine (joblib's loky backend,
one torch thread per worker), on a Dask cluster (joblib's dask backend) or on
a Ray cluster (Ray tasks). The results do not depend on the backend or the
number of workers: every network is trained in a worker function that seeds
itself, and only the parent process writes the results file.
"""

import contextlib
import csv
import dataclasses
import hashlib
import json
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._flow import RicciFlowResult, aggregated_ricci_coefficient, ricci_flow
from ._validation import ALGORITHM_OPTIONS, SYMMETRIZE_OPTIONS
from .exceptions import DisconnectedGraphWarning, UndefinedCoefficientWarning

__all__ = [
    "ARCHITECTURES",
    "BACKENDS",
    "DEPTHS",
    "STUDY_PROBLEMS",
    "OLSResult",
    "OutputFolderError",
    "StudyAnalysis",
    "StudyConfig",
    "StudyConfigError",
    "analyse_study",
    "load_config",
    "load_results",
    "make_report",
    "network_seed",
    "ols",
    "run_study",
]

#: The paper's architectures and depths (PAPER_SPEC section 6).
ARCHITECTURES = ("narrow", "wide", "bottleneck")
DEPTHS = (5, 11)
BACKENDS = ("loky", "dask", "ray")
STANDARDIZE_OPTIONS = ("synthetic", "none", "all")

#: Problems a study can use: name -> (source, class pair, paper problem).
#: ``digits_*`` are scikit-learn's bundled 8x8 digits, an offline stand-in
#: for the MNIST pairs (same grid and threshold as the MNIST pair).
STUDY_PROBLEMS = {
    "A": ("synthetic", None, "A"),
    "B": ("synthetic", None, "B"),
    "C": ("synthetic", None, "C"),
    "mnist_1_7": ("mnist", (1, 7), "mnist_1_7"),
    "mnist_6_8": ("mnist", (6, 8), "mnist_6_8"),
    "fashion_sandal_boot": ("fashion", (5, 9), "fashion_sandal_boot"),
    "fashion_shirt_coat": ("fashion", (6, 4), "fashion_shirt_coat"),
    "digits_1_7": ("digits", (1, 7), "mnist_1_7"),
    "digits_6_8": ("digits", (6, 8), "mnist_6_8"),
}
_ALIASES = {
    "entangled_spirals": "A",
    "ellipsoids_in_box": "B",
    "intersecting_sheets": "C",
    "mnist_1v7": "mnist_1_7",
    "mnist_6v8": "mnist_6_8",
    "sandal_boot": "fashion_sandal_boot",
    "fashion_5_9": "fashion_sandal_boot",
    "shirt_coat": "fashion_shirt_coat",
    "coat_shirt": "fashion_shirt_coat",
    "fashion_6_4": "fashion_shirt_coat",
    "digits_1v7": "digits_1_7",
    "digits_6v8": "digits_6_8",
}
PAPER_STUDY_PROBLEMS = (
    "A",
    "B",
    "C",
    "mnist_1_7",
    "mnist_6_8",
    "fashion_sandal_boot",
    "fashion_shirt_coat",
)

RESULTS_FILE = "results.jsonl"
CONFIG_FILE = "config.json"
#: Every file the study writes into its output folder (``--overwrite`` deletes
#: exactly these).
OUTPUT_FILES = (
    RESULTS_FILE,
    CONFIG_FILE,
    "results.csv",
    "aggregated.csv",
    "report.md",
    "fig3_aggregated_coefficient.png",
    "fig4_flow.png",
)
#: Columns that depend on the machine, not on the seeds.
TIMING_COLUMNS = ("fit_time_s", "flow_time_s")


class StudyConfigError(ValueError):
    """A study configuration (fields, TOML file or flags) is invalid."""


class OutputFolderError(RuntimeError):
    """The output folder holds a different study or unreadable results."""


# --------------------------------------------------------------------------- #
# Configuration
# --------------------------------------------------------------------------- #
def _canonical_problem(name):
    if not isinstance(name, str):
        raise StudyConfigError(f"problem names are strings, got {name!r}")
    key = name.strip().replace("-", "_").replace(" ", "_")
    if key.upper() in ("A", "B", "C"):
        return key.upper()
    key = key.lower()
    key = _ALIASES.get(key, key)
    if key not in STUDY_PROBLEMS:
        raise StudyConfigError(
            f"unknown problem {name!r}; expected one of {list(STUDY_PROBLEMS)} "
            "(digits_* are the bundled 8x8 digits, usable offline)"
        )
    return key


def _as_tuple(value, name):
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    try:
        return tuple(value)
    except TypeError:
        raise StudyConfigError(
            f"{name} must be a list, got {type(value).__name__} {value!r}"
        ) from None


def _check_int(value, name, low, fix):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise StudyConfigError(
            f"{name} must be an int >= {low}, got {type(value).__name__} "
            f"{value!r}; {fix}"
        )
    if value < low:
        raise StudyConfigError(f"{name}={value} must be >= {low}; {fix}")
    return int(value)


def _check_k_list(values, name):
    values = _as_tuple(values, name)
    try:
        ks = [int(v) for v in values]
    except (TypeError, ValueError):
        raise StudyConfigError(
            f"{name} must be a list of ints, got {list(values)!r}"
        ) from None
    if not ks or min(ks) < 1 or any(float(k) != float(v) for k, v in zip(ks, values)):
        raise StudyConfigError(
            f"{name} must be a non-empty list of ints >= 1, got {list(values)!r}; "
            "pass e.g. [6, 10, 30, 90]"
        )
    return tuple(sorted(set(ks)))


@dataclass(frozen=True)
class StudyConfig:
    """Configuration of a Ricci-flow study; the defaults are the paper's.

    Every field changes the results (and the configuration hash that guards
    an output folder) except ``data_home`` and ``download``.

    Parameters
    ----------
    problems : tuple of str, default=the paper's seven problems
        Names from :data:`STUDY_PROBLEMS`: ``"A"``, ``"B"``, ``"C"`` (synthetic),
        ``"mnist_1_7"``, ``"mnist_6_8"``, ``"fashion_sandal_boot"``,
        ``"fashion_shirt_coat"`` (need the files, see ``data_home``), or the
        offline stand-ins ``"digits_1_7"``, ``"digits_6_8"``.
    architectures : tuple of str, default=("narrow", "wide", "bottleneck")
        Presets of :class:`~sk_ricci.nn.ReLUMLPClassifier`.
    depths : tuple of int, default=(5, 11)
        Numbers of hidden layers (at least 3).
    repeats : int, default=36
        Networks per (problem, architecture, depth).
    n_train, n_test : int, default=1000
        Training and test points per problem. Image pairs subsample their
        official splits (stratified); the digits stand-in has 361 points and
        caps both so that they fit.
    max_epochs, batch_size, lr, optimizer, validation_fraction
        Training settings of :class:`~sk_ricci.nn.ReLUMLPClassifier`
        (50, 32, 1e-3, "rmsprop", 0.2 as in the paper).
    thresholds : dict, default={}
        Accuracy threshold per problem (a network must score strictly more);
        problems not listed use :func:`sk_ricci.datasets.paper_accuracy_threshold`.
    n_neighbors : list of int, dict or None, default=None
        The k grid: None uses :func:`sk_ricci.datasets.paper_n_neighbors_grid`
        scaled to the test-set size (k < n_test); a list applies to every
        problem; a dict maps problems to lists (others use the paper's grid).
    symmetrize : {"sum", "max", "min"}, default="sum"
        Graph convention; "sum" is the authors' R script (PAPER_SPEC 2).
    connect : {None, "mst"}, default=None
        None follows the paper (a disconnected layer excludes the network at
        that k); "mst" adds each layer's Euclidean minimum spanning tree.
    algorithm : {"auto", "brute", "nndescent"}, default="auto"
        Neighbour search of :func:`sk_ricci.ricci_flow`.
    standardize : {"synthetic", "none", "all"}, default="synthetic"
        Which problems have their inputs standardised (mean 0, variance 1 per
        feature, fitted on the training split). The paper used raw pixels;
        it gives no scale for its synthetic problems, and sk_ricci's spirals
        span about [-14, 21], where most networks stay below the 99%
        threshold after 50 epochs unless the inputs are standardised.
    seed : int, default=0
        Base seed; the data of each problem and every network's seed derive
        from it and the names (see :func:`network_seed`).
    data_home : str or None, default=None
        Folder of the MNIST / Fashion-MNIST files.
    download : bool, default=False
        Download missing MNIST / Fashion-MNIST files.
    """

    problems: tuple = PAPER_STUDY_PROBLEMS
    architectures: tuple = ARCHITECTURES
    depths: tuple = DEPTHS
    repeats: int = 36
    n_train: int = 1000
    n_test: int = 1000
    max_epochs: int = 50
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "rmsprop"
    validation_fraction: float = 0.2
    thresholds: dict = field(default_factory=dict)
    n_neighbors: object = None
    symmetrize: str = "sum"
    connect: object = None
    algorithm: str = "auto"
    standardize: str = "synthetic"
    seed: int = 0
    data_home: object = field(default=None, metadata={"hash": False})
    download: bool = field(default=False, metadata={"hash": False})

    def __post_init__(self):
        set_ = object.__setattr__
        problems = tuple(
            dict.fromkeys(
                _canonical_problem(p) for p in _as_tuple(self.problems, "problems")
            )
        )
        if not problems:
            raise StudyConfigError("problems is empty; pass e.g. ['A', 'B', 'C']")
        set_(self, "problems", problems)
        archs = tuple(
            dict.fromkeys(
                str(a).strip().lower()
                for a in _as_tuple(self.architectures, "architectures")
            )
        )
        bad = [a for a in archs if a not in ARCHITECTURES]
        if bad or not archs:
            raise StudyConfigError(
                f"architectures {list(archs)!r} must be a non-empty subset of "
                f"{list(ARCHITECTURES)}"
            )
        set_(self, "architectures", archs)
        depths = _as_tuple(self.depths, "depths")
        try:
            depths = tuple(dict.fromkeys(int(d) for d in depths))
        except (TypeError, ValueError):
            raise StudyConfigError(
                f"depths must be ints, got {list(depths)!r}"
            ) from None
        if not depths or min(depths) < 3:
            raise StudyConfigError(
                f"depths={list(depths)} must be ints >= 3 (the Ricci coefficient "
                "needs at least 3 hidden layers; the paper uses 5 and 11)"
            )
        set_(self, "depths", depths)
        for name, low, example in (
            ("repeats", 1, 36), ("n_train", 10, 1000), ("n_test", 10, 1000),
            ("max_epochs", 1, 50), ("batch_size", 1, 32), ("seed", 0, 0),
        ):
            value = _check_int(getattr(self, name), name, low, f"e.g. {example}")
            set_(self, name, value)
        try:
            lr = float(self.lr)
        except (TypeError, ValueError):
            lr = -1.0
        if not lr > 0:
            raise StudyConfigError(f"lr={self.lr!r} must be a positive float")
        set_(self, "lr", lr)
        vf = self.validation_fraction
        vf = 0.0 if vf is None else float(vf)
        if not 0 <= vf < 1:
            raise StudyConfigError(
                f"validation_fraction={vf} must lie in [0, 1), e.g. 0.2"
            )
        set_(self, "validation_fraction", vf)
        if self.optimizer not in ("rmsprop", "adam", "sgd"):
            raise StudyConfigError(
                f"optimizer={self.optimizer!r} must be 'rmsprop', 'adam' or 'sgd'"
            )
        if self.symmetrize not in SYMMETRIZE_OPTIONS:
            raise StudyConfigError(
                f"symmetrize={self.symmetrize!r} must be one of {SYMMETRIZE_OPTIONS}"
            )
        connect = self.connect
        if isinstance(connect, str) and connect.lower() in ("none", "", "null"):
            connect = None
        if connect not in (None, "mst"):
            raise StudyConfigError(
                f"connect={self.connect!r} must be None ('none') or 'mst'"
            )
        set_(self, "connect", connect)
        if self.algorithm not in ALGORITHM_OPTIONS:
            raise StudyConfigError(
                f"algorithm={self.algorithm!r} must be one of {ALGORITHM_OPTIONS}"
            )
        if self.standardize not in STANDARDIZE_OPTIONS:
            raise StudyConfigError(
                f"standardize={self.standardize!r} must be one of "
                f"{STANDARDIZE_OPTIONS}"
            )
        thresholds = {}
        for name, value in dict(self.thresholds or {}).items():
            key = _canonical_problem(name)
            try:
                value = float(value)
            except (TypeError, ValueError):
                value = -1.0
            if not 0 <= value < 1:
                raise StudyConfigError(
                    f"thresholds[{name!r}]={value!r} must be an accuracy in [0, 1)"
                )
            thresholds[key] = value
        set_(self, "thresholds", dict(sorted(thresholds.items())))
        grid = self.n_neighbors
        if isinstance(grid, dict):
            grid = {
                _canonical_problem(p): _check_k_list(v, f"n_neighbors[{p!r}]")
                for p, v in grid.items()
            }
            grid = dict(sorted(grid.items())) or None
        elif grid is not None:
            grid = _check_k_list(grid, "n_neighbors")
        set_(self, "n_neighbors", grid)
        set_(self, "download", bool(self.download))
        if self.data_home is not None:
            set_(self, "data_home", str(self.data_home))

    # -- views ------------------------------------------------------------------

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
        """SHA-256 (16 hex digits) of every field that changes the results."""
        text = json.dumps(self.to_dict(hashed_only=True), sort_keys=True)
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
        """A copy with some fields changed (None values are ignored)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return self.from_dict({**self.to_dict(), **changes})

    def threshold(self, problem):
        """Accuracy a network of ``problem`` must exceed."""
        from .datasets import paper_accuracy_threshold

        if problem in self.thresholds:
            return self.thresholds[problem]
        return float(paper_accuracy_threshold(STUDY_PROBLEMS[problem][2]))

    def n_neighbors_grid(self, problem, n_test):
        """The k grid of ``problem`` for a test set of ``n_test`` points."""
        from .datasets import paper_n_neighbors_grid

        grid = self.n_neighbors
        if isinstance(grid, dict):
            grid = grid.get(problem)
        if grid is None:
            grid = paper_n_neighbors_grid(STUDY_PROBLEMS[problem][2], n_samples=n_test)
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
    return StudyConfig.from_dict(values), run


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
    text = f"{problem}|{architecture}|{depth}|{repeat}".encode()
    words = np.frombuffer(hashlib.sha256(text).digest(), dtype="<u4")
    ss = np.random.SeedSequence([int(seed), *map(int, words)])
    return int(ss.generate_state(1, dtype=np.uint32)[0] >> 1)


def _data_seed(seed, problem):
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


# --------------------------------------------------------------------------- #
# Data
# --------------------------------------------------------------------------- #
def _stratified_take(X, y, n, seed):
    from sklearn.model_selection import train_test_split

    if n >= len(y):
        return X, y
    X, _, y, _ = train_test_split(X, y, train_size=n, stratify=y, random_state=seed)
    return X, y


def load_problem(problem, config):
    """Train and test split of one problem, as the study uses it.

    Parameters
    ----------
    problem : str
        A name of :data:`STUDY_PROBLEMS`.
    config : StudyConfig
        Sizes, seed, ``standardize`` and data location.

    Returns
    -------
    X_train, y_train, X_test, y_test : ndarray
    """
    problem = _canonical_problem(problem)
    X_train, y_train, X_test, y_test = _load_raw(problem, config)
    source = STUDY_PROBLEMS[problem][0]
    if config.standardize == "all" or (
        config.standardize == "synthetic" and source == "synthetic"
    ):
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    return X_train, y_train, X_test, y_test


def _load_raw(problem, config):
    from sklearn.model_selection import train_test_split

    from . import datasets

    source, pair, _ = STUDY_PROBLEMS[problem]
    seed = _data_seed(config.seed, problem)
    n_train, n_test = config.n_train, config.n_test
    if source in ("synthetic", "digits"):
        if source == "synthetic":
            X, y = datasets.make_problem(problem, n_train + n_test, random_state=seed)
        else:
            X, y = datasets.load_digits_pair(pair)
            n = len(y)
            if n_train + n_test > n:
                n_test = min(n_test, n // 2)
                n_train = min(n_train, n - n_test)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, train_size=n_train, test_size=n_test, stratify=y, random_state=seed
        )
        return X_train, y_train, X_test, y_test
    loader = (
        datasets.load_mnist_pair if source == "mnist"
        else datasets.load_fashion_mnist_pair
    )
    kwargs = {"data_home": config.data_home, "download": config.download}
    try:
        X_train, y_train = loader(pair, subset="train", **kwargs)
        X_test, y_test = loader(pair, subset="test", **kwargs)
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"problem {problem!r} needs the {source} files: "
            f"{str(exc).rstrip('. ')}. Pass "
            "--data-home FOLDER, --download (network needed), or use the offline "
            "stand-ins digits_1_7 / digits_6_8, e.g. --problems A,B,C,digits_1_7"
        ) from None
    X_train, y_train = _stratified_take(X_train, y_train, n_train, seed)
    X_test, y_test = _stratified_take(X_test, y_test, n_test, seed + 1)
    return X_train, y_train, X_test, y_test


# --------------------------------------------------------------------------- #
# One network (runs in a worker)
# --------------------------------------------------------------------------- #
def _finite_or_none(values):
    out = []
    for v in np.asarray(values, dtype=float).tolist():
        out.append(v if math.isfinite(v) else None)
    return out


def _scalar(v):
    v = float(v)
    return v if math.isfinite(v) else None


def _run_network(net, data, grid, options):
    """Train one network and measure its flow; returns the result row.

    Runs in a worker process (or in the parent for a serial study). It uses
    one torch thread and seeds everything from ``net.seed``, so the row is the
    same wherever it runs.
    """
    import torch

    from .nn import ReLUMLPClassifier, layer_activations

    X_train, y_train, X_test, y_test = data
    threads = torch.get_num_threads()
    try:
        # numba's OpenMP pool (used by ricci_flow) resets the process-wide
        # thread count, so set it before each fit, not once per worker
        torch.set_num_threads(1)
        t0 = time.perf_counter()
        clf = ReLUMLPClassifier(
            architecture=net.architecture,
            depth=net.depth,
            lr=options["lr"],
            max_epochs=options["max_epochs"],
            batch_size=options["batch_size"],
            optimizer=options["optimizer"],
            validation_fraction=options["validation_fraction"] or None,
            random_state=net.seed,
        ).fit(X_train, y_train)
        fit_time = time.perf_counter() - t0
        accuracy = float(clf.score(X_test, y_test))
        train_accuracy = float(clf.score(X_train, y_train))
        t0 = time.perf_counter()
        layers = layer_activations(clf, X_test)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DisconnectedGraphWarning)
            warnings.simplefilter("ignore", UndefinedCoefficientWarning)
            results = ricci_flow(
                layers, list(grid), symmetrize=options["symmetrize"],
                connect=options["connect"], algorithm=options["algorithm"],
                random_state=0, n_jobs=1,
            )
        flow_time = time.perf_counter() - t0
    finally:
        torch.set_num_threads(threads)
    return {
        "network_id": net.network_id,
        "problem": net.problem,
        "architecture": net.architecture,
        "depth": net.depth,
        "repeat": net.repeat,
        "seed": net.seed,
        "hidden_layer_sizes": [int(a.shape[1]) for a in layers],
        "n_train": len(y_train),
        "n_test": len(y_test),
        "max_epochs": options["max_epochs"],
        "batch_size": options["batch_size"],
        "lr": options["lr"],
        "optimizer": options["optimizer"],
        "validation_fraction": options["validation_fraction"],
        "symmetrize": options["symmetrize"],
        "connect": options["connect"],
        "accuracy": accuracy,
        "train_accuracy": train_accuracy,
        "fit_time_s": round(fit_time, 4),
        "flow_time_s": round(flow_time, 4),
        "flow": [
            {
                "n_neighbors": int(r.n_neighbors),
                "total_curvature": _finite_or_none(r.total_curvature),
                "geodesic_mass": _finite_or_none(r.geodesic_mass),
                "eta": _finite_or_none(r.eta),
                "n_components": [int(c) for c in r.n_components],
                "coefficient": _scalar(r.coefficient),
                "adjusted_paper": _scalar(r.adjusted_paper),
                "adjusted_fisher": _scalar(r.adjusted_fisher),
            }
            for r in results
        ],
    }


def _as_float_array(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def flow_result(entry, symmetrize="max", connect=None):
    """Rebuild a :class:`~sk_ricci.RicciFlowResult` from a stored row's entry."""
    ncomp = np.asarray(entry["n_components"], dtype=np.int64)
    mass = _as_float_array(entry["geodesic_mass"])
    mass[ncomp > 1] = np.inf
    nan = np.nan
    return RicciFlowResult(
        n_neighbors=int(entry["n_neighbors"]),
        total_curvature=_as_float_array(entry["total_curvature"]),
        geodesic_mass=mass,
        eta=_as_float_array(entry["eta"]),
        coefficient=nan if entry["coefficient"] is None else entry["coefficient"],
        adjusted_paper=(
            nan if entry["adjusted_paper"] is None else entry["adjusted_paper"]
        ),
        adjusted_fisher=(
            nan if entry["adjusted_fisher"] is None else entry["adjusted_fisher"]
        ),
        connected=ncomp == 1,
        n_components=ncomp,
        symmetrize=symmetrize,
        connect=connect,
    )


# --------------------------------------------------------------------------- #
# Results file: append-only JSON lines, one per network
# --------------------------------------------------------------------------- #
class _ResultsLog:
    """``results.jsonl``: the parent process is its only writer.

    Each row is one JSON line written by a single ``os.write`` on a file
    opened with ``O_APPEND`` and fsynced at once. A run killed mid-write can
    leave a partial last line; :meth:`load` drops it (and truncates it away).
    """

    def __init__(self, path):
        self.path = Path(path)
        self._fd = None

    def load(self):
        """Rows already written, keyed by network id (first wins)."""
        if not self.path.exists():
            return {}
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        rows, good_end = {}, 0
        lines = data[:end].split(b"\n")[:-1]
        offset = 0
        for i, line in enumerate(lines, start=1):
            offset += len(line) + 1
            if not line.strip():
                good_end = offset
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict) or "network_id" not in row:
                    raise ValueError("not a result row")
            except ValueError:
                if i == len(lines) and end == len(data):
                    # the last line was cut short but ended in a newline
                    break
                raise OutputFolderError(
                    f"line {i} of {self.path} is not a result row; the file was "
                    "edited or damaged. Delete that line, or pass --overwrite to "
                    "start the study again"
                ) from None
            rows.setdefault(row["network_id"], row)
            good_end = offset
        if good_end < len(data):
            # partial last line from a run killed mid-write: drop it
            with open(self.path, "r+b") as f:
                f.truncate(good_end)
                f.flush()
                os.fsync(f.fileno())
        return rows

    def append(self, row):
        line = (json.dumps(row, sort_keys=True, allow_nan=False) + "\n").encode()
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        view = memoryview(line)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        os.fsync(self._fd)

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def load_results(output):
    """The rows of a study's ``results.jsonl`` (list of dict, in file order)."""
    return list(_ResultsLog(Path(output) / RESULTS_FILE).load().values())


def _write_atomic(path, text):
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _describe_difference(old, new):
    diffs = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            diffs.append(f"{key}: {old.get(key)!r} -> {new.get(key)!r}")
    return "; ".join(diffs) or "unknown fields"


def _prepare_output(output, config, overwrite):
    """Check (or clean) the output folder; returns the saved config or None."""
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise OutputFolderError(f"output {str(output)!r} exists and is not a folder")
    cfg_path = output / CONFIG_FILE
    if overwrite:
        for name in OUTPUT_FILES:
            with contextlib.suppress(FileNotFoundError):
                (output / name).unlink()
        return None
    if cfg_path.exists():
        try:
            saved = json.loads(cfg_path.read_text())
            saved_hash = saved["config_hash"]
        except (ValueError, KeyError):
            raise OutputFolderError(
                f"{cfg_path} is unreadable; pass --overwrite to start again or a "
                "new --output folder"
            ) from None
        if saved_hash != config.config_hash:
            old = {
                k: v for k, v in saved.get("config", {}).items()
                if k not in ("data_home", "download")
            }
            raise OutputFolderError(
                f"output folder {str(output)!r} holds a study with a different "
                f"configuration (config hash {saved_hash} != {config.config_hash}; "
                f"{_describe_difference(old, config.to_dict(hashed_only=True))}); "
                "pass a new --output folder, or --overwrite to delete its results"
            )
        return saved
    if (output / RESULTS_FILE).exists():
        raise OutputFolderError(
            f"output folder {str(output)!r} has {RESULTS_FILE} but no "
            f"{CONFIG_FILE}, so its configuration is unknown; pass a new --output "
            "folder, or --overwrite to delete its results"
        )
    return None


def _write_config(output, config, n_networks):
    from . import __version__

    payload = {
        "config": config.to_dict(),
        "config_hash": config.config_hash,
        "n_networks": n_networks,
        "sk_ricci_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _write_atomic(Path(output) / CONFIG_FILE, json.dumps(payload, indent=2) + "\n")


# --------------------------------------------------------------------------- #
# Execution backends: each yields rows as networks finish
# --------------------------------------------------------------------------- #
def _options(config):
    keys = (
        "lr", "max_epochs", "batch_size", "optimizer", "validation_fraction",
        "symmetrize", "connect", "algorithm",
    )
    return {k: getattr(config, k) for k in keys}


def _execute(nets, data, grids, options, n_jobs, backend, scheduler_address):
    if not nets:
        return
    if backend == "loky":
        if n_jobs in (None, 1):
            for net in nets:
                yield _run_network(net, data[net.problem], grids[net.problem], options)
            return
        from joblib import Parallel, delayed, parallel_config

        with parallel_config(backend="loky", inner_max_num_threads=1):
            parallel = Parallel(
                n_jobs=n_jobs, return_as="generator_unordered", batch_size=1
            )
            yield from parallel(
                delayed(_run_network)(
                    net, data[net.problem], grids[net.problem], options
                )
                for net in nets
            )
        return
    if backend == "dask":
        yield from _execute_dask(nets, data, grids, options, n_jobs, scheduler_address)
        return
    yield from _execute_ray(nets, data, grids, options, n_jobs, scheduler_address)


def _execute_dask(nets, data, grids, options, n_jobs, address):
    try:
        import logging

        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ImportError(
            "backend='dask' needs dask.distributed; install it with "
            "pip install 'sk-ricci[dask]' (or pip install 'dask[distributed]')"
        ) from None
    from joblib import Parallel, delayed, parallel_config

    cluster = None
    if address:
        client = Client(address)
    else:
        n_workers = os.cpu_count() if n_jobs in (None, -1) else max(1, n_jobs)
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True,
            dashboard_address=None, silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    try:
        with parallel_config(backend="dask"):
            parallel = Parallel(
                n_jobs=-1, return_as="generator_unordered", batch_size=1
            )
            yield from parallel(
                delayed(_run_network)(
                    net, data[net.problem], grids[net.problem], options
                )
                for net in nets
            )
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _execute_ray(nets, data, grids, options, n_jobs, address):
    # joblib's ray backend cannot return results as they complete
    # (no return_as="generator_unordered"), which the resumable results file
    # needs, so Ray tasks are used directly
    try:
        import ray
    except ImportError:
        raise ImportError(
            "backend='ray' needs ray; install it with pip install 'sk-ricci[ray]' "
            "(or pip install ray)"
        ) from None
    started = False
    if not ray.is_initialized():
        kwargs = {"include_dashboard": False, "log_to_driver": False}
        if address:
            kwargs["address"] = address
        elif n_jobs not in (None, -1):
            kwargs["num_cpus"] = max(1, n_jobs)
        ray.init(**kwargs)
        started = True
    pending = []
    try:
        task = ray.remote(num_cpus=1)(_run_network)
        refs = {p: ray.put(d) for p, d in data.items()}
        pending = [
            task.remote(net, refs[net.problem], grids[net.problem], options)
            for net in nets
        ]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        for ref in pending:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


# --------------------------------------------------------------------------- #
# Progress
# --------------------------------------------------------------------------- #
def _fmt_duration(seconds):
    if not math.isfinite(seconds):
        return "?"
    seconds = round(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class _Progress:
    """A one-line progress bar on stderr: counts, elapsed time, time left.

    On a terminal the line is redrawn in place; in a log (not a tty) one line
    is printed per finished network.
    """

    def __init__(self, total, done, *, quiet=False, stream=None, width=24):
        self.total, self.done, self.start_done = total, done, done
        self.quiet = quiet
        self.stream = sys.stderr if stream is None else stream
        self.width = width
        self.t0 = time.perf_counter()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        if not quiet and done:
            self._print(
                f"resuming: {done} of {total} networks already in the results file"
            )

    def _print(self, text):
        print(text, file=self.stream, flush=True)

    def update(self, row):
        self.done += 1
        if self.quiet:
            return
        new = self.done - self.start_done
        elapsed = time.perf_counter() - self.t0
        left = elapsed / new * (self.total - self.done) if new else math.nan
        filled = int(self.width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        line = (
            f"[{bar}] {self.done}/{self.total} networks "
            f"({100 * self.done / max(self.total, 1):.0f}%) | elapsed "
            f"{_fmt_duration(elapsed)} | left {_fmt_duration(left)} | "
            f"{row['network_id']} acc={row['accuracy']:.3f}"
        )
        if self.tty:
            print("\r" + line + "\x1b[K", end="", file=self.stream, flush=True)
        else:
            self._print(line)

    def close(self):
        if self.tty and not self.quiet and self.done > self.start_done:
            print(file=self.stream, flush=True)


# --------------------------------------------------------------------------- #
# Running a study
# --------------------------------------------------------------------------- #
def run_study(
    config,
    output,
    *,
    n_jobs=1,
    backend="loky",
    scheduler_address=None,
    quiet=False,
    overwrite=False,
    report=True,
):
    """Run (or resume) a study and write its results, report and figures.

    Parameters
    ----------
    config : StudyConfig
        What to run.
    output : str or path-like
        Output folder. A folder holding the same configuration is resumed:
        networks already in ``results.jsonl`` are skipped. A folder holding a
        different configuration is refused (:class:`OutputFolderError`).
    n_jobs : int, default=1
        Worker processes (-1: all cores). With ``backend="dask"`` and no
        ``scheduler_address``, the size of the local cluster; with a scheduler
        address, every worker of the cluster is used.
    backend : {"loky", "dask", "ray"}, default="loky"
        Where networks train: joblib's loky (this machine), joblib's dask
        backend, or Ray tasks. Results are identical whatever the backend.
    scheduler_address : str, default=None
        Dask scheduler (``tcp://host:8786``) or Ray address (``ray://host:10001``
        or ``auto``); None starts a local cluster.
    quiet : bool, default=False
        No progress bar.
    overwrite : bool, default=False
        Delete the study files of the output folder and start again.
    report : bool, default=True
        Write ``results.csv``, ``aggregated.csv``, ``report.md`` and figures
        when done (:func:`make_report`).

    Returns
    -------
    analysis : StudyAnalysis or None
        The analysis when ``report=True``.
    """
    if not isinstance(config, StudyConfig):
        raise TypeError(f"config must be a StudyConfig, got {type(config).__name__}")
    if backend not in BACKENDS:
        raise StudyConfigError(f"backend={backend!r} must be one of {BACKENDS}")
    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0
        or n_jobs < -1
    ):
        raise StudyConfigError(f"n_jobs={n_jobs!r} must be a positive int or -1")
    output = Path(output)
    saved = _prepare_output(output, config, overwrite)
    nets = config.networks()
    log = _ResultsLog(output / RESULTS_FILE)
    done = log.load() if saved is not None else {}
    todo = [net for net in nets if net.network_id not in done]
    pending = sorted({net.problem for net in todo}, key=config.problems.index)
    data, grids = {}, {}
    for problem in pending:
        data[problem] = load_problem(problem, config)
        grids[problem] = config.n_neighbors_grid(problem, len(data[problem][3]))
    output.mkdir(parents=True, exist_ok=True)
    if saved is None:
        _write_config(output, config, len(nets))
    progress = _Progress(len(nets), len(nets) - len(todo), quiet=quiet)
    try:
        for row in _execute(
            todo, data, grids, _options(config), n_jobs, backend, scheduler_address
        ):
            log.append(row)
            progress.update(row)
    finally:
        progress.close()
        log.close()
    if report:
        return make_report(output)
    return None


# --------------------------------------------------------------------------- #
# Ordinary least squares
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class OLSResult:
    """Ordinary least squares fit with classical standard errors.

    Attributes
    ----------
    names : list of str
    coef, stderr, t, p : ndarray of shape (n_terms,)
        Coefficients, standard errors, t statistics and two-sided p-values
        (Student t with ``df_resid`` degrees of freedom).
    n_samples, df_resid : int
    r_squared : float
    """

    names: list
    coef: np.ndarray
    stderr: np.ndarray
    t: np.ndarray
    p: np.ndarray
    n_samples: int
    df_resid: int
    r_squared: float

    def term(self, name):
        """(coef, stderr, t, p) of one term."""
        i = self.names.index(name)
        return self.coef[i], self.stderr[i], self.t[i], self.p[i]

    def to_markdown(self):
        lines = [
            "| term | coefficient | std. error | t | p |",
            "|---|---:|---:|---:|---:|",
        ]
        for i, name in enumerate(self.names):
            lines.append(
                f"| {name} | {self.coef[i]:.4g} | {self.stderr[i]:.3g} | "
                f"{self.t[i]:.3f} | {self.p[i]:.3g} |"
            )
        return "\n".join(lines)


def ols(X, y, names=None):
    """Least squares ``y ~ X`` with standard errors, t and p-values.

    ``X`` must already hold the intercept column if one is wanted. The
    variance of the coefficients is ``s^2 (X'X)^-1`` with
    ``s^2 = RSS / (n - p)``; p-values are two-sided from Student's t with
    ``n - p`` degrees of freedom (``scipy.stats.t``).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_terms)
        Design matrix of full column rank, ``n_samples > n_terms``.
    y : array-like of shape (n_samples,)
    names : list of str, default=None
        Term names (``x0, x1, ...`` by default).

    Returns
    -------
    result : OLSResult

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci.study import ols
    >>> x = np.array([1.0, 2, 3, 4, 5])
    >>> res = ols(np.column_stack([np.ones(5), x]), [1.0, 3, 2, 5, 4],
    ...           ["intercept", "x"])
    >>> np.round(res.coef, 3).tolist(), round(float(res.stderr[1]), 4)
    ([0.6, 0.8], 0.3464)
    """
    from scipy import stats

    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X of shape {X.shape} and y of shape {y.shape} do not match; pass "
            "X (n_samples, n_terms) and y (n_samples,)"
        )
    n, p = X.shape
    names = [f"x{i}" for i in range(p)] if names is None else list(names)
    if len(names) != p:
        raise ValueError(f"{len(names)} names for {p} columns")
    if n <= p:
        raise ValueError(
            f"{n} samples for {p} terms; least squares needs more samples than terms"
        )
    rank = np.linalg.matrix_rank(X)
    if rank < p:
        raise ValueError(
            f"the design matrix has rank {rank} < {p} terms (collinear terms); "
            "drop a column"
        )
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    df = n - p
    rss = float(resid @ resid)
    sigma2 = rss / df
    cov = sigma2 * np.linalg.inv(X.T @ X)
    stderr = np.sqrt(np.clip(np.diag(cov), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = coef / stderr
    pval = 2 * stats.t.sf(np.abs(t), df)
    tss = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - rss / tss if tss > 0 else np.nan
    return OLSResult(names, coef, stderr, t, pval, n, df, r2)


# --------------------------------------------------------------------------- #
# Analysis
# --------------------------------------------------------------------------- #
@dataclass
class StudyAnalysis:
    """Analysis of a study's rows (see :func:`analyse_study`).

    Attributes
    ----------
    config : StudyConfig
    table : list of dict
        One row per network, the columns of ``results.csv``.
    groups : list of dict
        One per (problem, architecture, depth): counts, k*, the aggregated
        coefficient curve over the k grid.
    regression : OLSResult or None
        accuracy ~ rho + problem + architecture + depth over the analysed
        networks; None when it cannot be fitted (``regression_note`` says why).
    regression_note : str
    counts : dict
        Networks expected, trained, passing, with k*, connected at k*,
        analysed, negative rho.
    """

    config: StudyConfig
    table: list
    groups: list
    regression: object
    regression_note: str
    counts: dict
    rows: list = field(repr=False, default_factory=list)


CSV_COLUMNS = (
    "network_id", "problem", "architecture", "depth", "repeat", "seed",
    "hidden_layer_sizes", "n_train", "n_test", "max_epochs", "batch_size", "lr",
    "optimizer", "validation_fraction", "symmetrize", "connect", "accuracy",
    "train_accuracy", "threshold", "passed_threshold", "k_star", "rho",
    "adjusted_paper", "adjusted_fisher", "connected_at_k_star", "analysed",
    "fit_time_s", "flow_time_s",
)


def _nan(v):
    return np.nan if v is None else float(v)


def analyse_study(rows, config):
    """k* per group, per-network rho at k*, exclusions and the regression.

    Parameters
    ----------
    rows : list of dict
        Rows of ``results.jsonl`` (:func:`load_results`).
    config : StudyConfig

    Returns
    -------
    analysis : StudyAnalysis
    """
    order = {n.network_id: i for i, n in enumerate(config.networks())}
    rows = sorted(rows, key=lambda r: order.get(r["network_id"], len(order)))
    by_group = {}
    for row in rows:
        key = (row["problem"], row["architecture"], int(row["depth"]))
        by_group.setdefault(key, []).append(row)
    table, groups = [], []
    for key in sorted(
        by_group,
        key=lambda k: (
            config.problems.index(k[0]) if k[0] in config.problems else 99,
            config.architectures.index(k[1]) if k[1] in config.architectures else 99,
            k[2],
        ),
    ):
        problem, arch, depth = key
        members = by_group[key]
        threshold = config.threshold(problem)
        passed = [r for r in members if r["accuracy"] > threshold]
        ks = [e["n_neighbors"] for e in members[0]["flow"]]
        curve, pooled = [], []
        for j, k in enumerate(ks):
            if passed:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DisconnectedGraphWarning)
                    agg = aggregated_ricci_coefficient(
                        [flow_result(r["flow"][j]) for r in passed]
                    )
                curve.append(float(agg.coefficient))
                pooled.append(agg.n_networks)
            else:
                curve.append(np.nan)
                pooled.append(0)
        curve_arr = np.array(curve, dtype=float)
        if np.isfinite(curve_arr).any():
            j_star = int(np.nanargmin(curve_arr))
            k_star = int(ks[j_star])
        else:
            j_star, k_star = None, None
        n_connected = n_analysed = n_negative = 0
        rhos = []
        for r in members:
            ok = r["accuracy"] > threshold
            entry = r["flow"][j_star] if j_star is not None else None
            connected = (
                bool(all(c == 1 for c in entry["n_components"]))
                if entry is not None else None
            )
            rho = _nan(entry["coefficient"]) if entry is not None else np.nan
            analysed = bool(ok and connected and math.isfinite(rho))
            if ok and connected:
                n_connected += 1
            if analysed:
                n_analysed += 1
                rhos.append(rho)
                n_negative += rho < 0
            table.append({
                "network_id": r["network_id"],
                "problem": problem,
                "architecture": arch,
                "depth": depth,
                "repeat": r["repeat"],
                "seed": r["seed"],
                "hidden_layer_sizes": "-".join(map(str, r["hidden_layer_sizes"])),
                "n_train": r["n_train"],
                "n_test": r["n_test"],
                "max_epochs": r["max_epochs"],
                "batch_size": r["batch_size"],
                "lr": r["lr"],
                "optimizer": r["optimizer"],
                "validation_fraction": r["validation_fraction"],
                "symmetrize": r["symmetrize"],
                "connect": r["connect"] or "none",
                "accuracy": r["accuracy"],
                "train_accuracy": r["train_accuracy"],
                "threshold": threshold,
                "passed_threshold": ok,
                "k_star": k_star,
                "rho": rho,
                "adjusted_paper": (
                    _nan(entry["adjusted_paper"]) if entry is not None else np.nan
                ),
                "adjusted_fisher": (
                    _nan(entry["adjusted_fisher"]) if entry is not None else np.nan
                ),
                "connected_at_k_star": connected,
                "analysed": analysed,
                "fit_time_s": r.get("fit_time_s"),
                "flow_time_s": r.get("flow_time_s"),
            })
        groups.append({
            "problem": problem,
            "architecture": arch,
            "depth": depth,
            "n_test": members[0]["n_test"],
            "threshold": threshold,
            "n_trained": len(members),
            "n_passed": len(passed),
            "n_connected": n_connected,
            "n_analysed": n_analysed,
            "n_negative": int(n_negative),
            "median_rho": float(np.median(rhos)) if rhos else np.nan,
            "n_neighbors": ks,
            "aggregated": curve,
            "n_pooled": pooled,
            "k_star": k_star,
            "aggregated_at_k_star": (
                curve[j_star] if j_star is not None else np.nan
            ),
        })
    counts = {
        "expected": len(order),
        "trained": len(table),
        "passed": sum(t["passed_threshold"] for t in table),
        "below_threshold": sum(not t["passed_threshold"] for t in table),
        "no_k_star": sum(
            t["passed_threshold"] and t["k_star"] is None for t in table
        ),
        "disconnected": sum(
            t["passed_threshold"] and t["connected_at_k_star"] is False
            for t in table
        ),
        "connected": sum(
            bool(t["passed_threshold"] and t["connected_at_k_star"]) for t in table
        ),
        "analysed": sum(t["analysed"] for t in table),
        "negative": sum(t["analysed"] and t["rho"] < 0 for t in table),
    }
    counts["undefined_rho"] = counts["connected"] - counts["analysed"]
    regression, note = _regression(table, config)
    return StudyAnalysis(config, table, groups, regression, note, counts, rows)


def _regression(table, config):
    data = [t for t in table if t["analysed"]]
    if not data:
        return None, "no analysed network"
    names, cols = ["intercept", "rho"], [
        np.ones(len(data)), np.array([t["rho"] for t in data])
    ]
    factors = (
        ("problem", list(config.problems)),
        ("architecture", list(config.architectures)),
        ("depth", list(config.depths)),
    )
    for factor, levels in factors:
        present = [lv for lv in levels if any(t[factor] == lv for t in data)]
        for level in present[1:]:
            names.append(f"{factor}[{level}]")
            cols.append(np.array([float(t[factor] == level) for t in data]))
    X = np.column_stack(cols)
    y = np.array([t["accuracy"] for t in data])
    try:
        return ols(X, y, names), (
            "accuracy ~ rho + problem + architecture + depth (dummies against "
            "the first level present)"
        )
    except (ValueError, np.linalg.LinAlgError) as exc:
        return None, f"not fitted: {exc}"


# --------------------------------------------------------------------------- #
# Report
# --------------------------------------------------------------------------- #
def _fmt(v, spec=".3f"):
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return "-" if not math.isfinite(v) else format(v, spec)
    return str(v)


def _write_csv(path, columns, rows):
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(row.get(c)) for c in columns])
    _write_atomic(path, buf.getvalue())


def _csv_value(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else "nan"
    return v


def _pct(a, b):
    return f"{100 * a / b:.1f}%" if b else "n/a"


def _report_markdown(analysis, figures):
    cfg, c = analysis.config, analysis.counts
    out = ["# Ricci-flow study report", ""]
    out += [
        ("Reproduction of Baptista et al., \"Deep Learning as Ricci Flow\" "
        "(arXiv:2404.14265), section 3, with sk_ricci."),
        "",
        f"- problems: {', '.join(cfg.problems)}",
        (f"- architectures: {', '.join(cfg.architectures)}; depths: "
        f"{', '.join(map(str, cfg.depths))}; repeats: {cfg.repeats}"),
        (f"- n_train={cfg.n_train}, n_test={cfg.n_test}, max_epochs="
        f"{cfg.max_epochs}, batch_size={cfg.batch_size}, lr={cfg.lr}, "
        f"optimizer={cfg.optimizer}, standardize={cfg.standardize!r}"),
        (f"- graphs: symmetrize={cfg.symmetrize!r}, connect={cfg.connect!r}; "
        f"seed={cfg.seed}; config hash `{cfg.config_hash}`"),
        "",
    ]
    if c["trained"] < c["expected"]:
        out += [
            (f"**Incomplete study: {c['trained']} of {c['expected']} networks "
            "trained.** Run the same command again to resume."),
            "",
        ]
    out += [
        "## Networks",
        "",
        "| trained | passing the accuracy threshold | connected at k* | analysed |",
        "|---:|---:|---:|---:|",
        f"| {c['trained']} | {c['passed']} | {c['connected']} | {c['analysed']} |",
        "",
        ("Exclusions: "
        f"{c['below_threshold']} below the accuracy threshold, "
        f"{c['no_k_star']} in a group without a defined k*, "
        f"{c['disconnected']} with a disconnected layer graph at k*, "
        f"{c['undefined_rho']} with an undefined rho (constant series). "
        "(Paper: 1,512 trained, 1,361 passing, 1,227 connected and analysed.)"),
        "",
        "Accuracy thresholds (strictly greater): "
        + ", ".join(f"{p} > {cfg.threshold(p):g}" for p in cfg.problems),
        "",
        "## Ricci coefficient at k*",
        "",
    ]
    rhos = [t["rho"] for t in analysis.table if t["analysed"]]
    if rhos:
        out += [
            (f"{c['negative']} of {c['analysed']} analysed networks "
            f"({_pct(c['negative'], c['analysed'])}) have a negative Ricci "
            "coefficient rho (Ricci-flow-like); mean rho "
            f"{np.mean(rhos):.3f}, median {np.median(rhos):.3f}. (Paper: 1,144 of "
            "1,227, 93.2%; partly by construction, since k* minimises the "
            "aggregated coefficient.)"),
            "",
        ]
    else:
        out += ["No network was analysed.", ""]
    out += [
        "## Scale k* per group",
        "",
        ("k* minimises the aggregated coefficient (one Pearson correlation over "
        "the pooled (eta_l, Ric_l) of the networks passing the threshold)."),
        "",
        ("| problem | architecture | depth | trained | passing | k* | k*/n | "
        "aggregated rho at k* | analysed | negative rho | median rho |"),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for g in analysis.groups:
        ks = g["k_star"]
        out.append(
            f"| {g['problem']} | {g['architecture']} | {g['depth']} | "
            f"{g['n_trained']} | {g['n_passed']} | {'' if ks is None else ks} | "
            f"{'' if ks is None else _pct(ks, g['n_test'])} | "
            f"{_fmt(g['aggregated_at_k_star'])} | {g['n_analysed']} | "
            f"{g['n_negative']} | {_fmt(g['median_rho'])} |"
        )
    out += ["", "## Regression", ""]
    reg = analysis.regression
    if reg is None:
        out += [f"Linear model not fitted ({analysis.regression_note}).", ""]
    else:
        b, _se, t, p = reg.term("rho")
        out += [
            (f"Ordinary least squares, {analysis.regression_note}; "
            f"n = {reg.n_samples}, residual df = {reg.df_resid}, "
            f"R^2 = {reg.r_squared:.3f}."),
            "",
            reg.to_markdown(),
            "",
            (f"Coefficient of rho: {b:.4g} (t = {t:.2f}, p = {p:.3g}); the paper "
            "reports t = -2.27, p = 0.023 (more negative rho goes with higher "
            "accuracy)."),
            "",
        ]
    out += ["## Figures", ""]
    for name, (path, caption) in figures.items():
        if path is None:
            out.append(f"- {name}: not drawn ({caption})")
        else:
            out += [f"![{name}]({Path(path).name})", "", caption, ""]
    out += [
        "",
        ("Files: `results.csv` (one row per network), `aggregated.csv` (the "
        "aggregated coefficient per group and k), `results.jsonl` (raw rows with "
        "Ric_l and eta_l at every k), `config.json`."),
        "",
    ]
    return "\n".join(out)


def _representatives(analysis):
    """Per problem: the median-rho network of its strongest deepest group."""
    reps = []
    rows = {r["network_id"]: r for r in analysis.rows}
    for problem in analysis.config.problems:
        groups = [
            g for g in analysis.groups
            if g["problem"] == problem and g["n_analysed"] > 0
        ]
        if not groups:
            continue
        deepest = max(g["depth"] for g in groups)
        best = min(
            (g for g in groups if g["depth"] == deepest),
            key=lambda g: g["aggregated_at_k_star"],
        )
        members = [
            t for t in analysis.table
            if t["analysed"] and (t["problem"], t["architecture"], t["depth"])
            == (problem, best["architecture"], best["depth"])
        ]
        median = float(np.median([t["rho"] for t in members]))
        chosen = min(members, key=lambda t: (abs(t["rho"] - median), t["repeat"]))
        row = rows[chosen["network_id"]]
        j = [e["n_neighbors"] for e in row["flow"]].index(best["k_star"])
        reps.append((chosen, flow_result(row["flow"][j], row["symmetrize"])))
    return reps


def make_report(output, *, figures=True):
    """(Re)make ``results.csv``, ``aggregated.csv``, ``report.md`` and figures.

    Parameters
    ----------
    output : str or path-like
        A study's output folder (with ``config.json`` and ``results.jsonl``).
    figures : bool, default=True
        Draw the PNG figures (needs matplotlib).

    Returns
    -------
    analysis : StudyAnalysis
    """
    output = Path(output)
    cfg_path = output / CONFIG_FILE
    if not cfg_path.exists():
        raise OutputFolderError(
            f"{str(output)!r} is not a study folder (no {CONFIG_FILE}); pass the "
            "--output folder of `sk-ricci study`"
        )
    try:
        config = StudyConfig.from_dict(json.loads(cfg_path.read_text())["config"])
    except (ValueError, KeyError) as exc:
        raise OutputFolderError(f"{cfg_path} is unreadable: {exc}") from None
    rows = load_results(output)
    analysis = analyse_study(rows, config)
    _write_csv(output / "results.csv", CSV_COLUMNS, analysis.table)
    agg_rows = [
        {
            "problem": g["problem"], "architecture": g["architecture"],
            "depth": g["depth"], "n_neighbors": k, "aggregated_coefficient": a,
            "n_networks": m, "is_k_star": k == g["k_star"],
        }
        for g in analysis.groups
        for k, a, m in zip(g["n_neighbors"], g["aggregated"], g["n_pooled"])
    ]
    _write_csv(
        output / "aggregated.csv",
        ("problem", "architecture", "depth", "n_neighbors",
         "aggregated_coefficient", "n_networks", "is_k_star"),
        agg_rows,
    )
    drawn = {}
    if figures:
        drawn = _draw_figures(analysis, output)
    _write_atomic(output / "report.md", _report_markdown(analysis, drawn))
    return analysis


def _draw_figures(analysis, output):
    from . import plotting

    drawn = {}
    path = output / "fig3_aggregated_coefficient.png"
    if any(np.isfinite(g["aggregated"]).any() for g in analysis.groups):
        fig = plotting.plot_aggregated_heatmap(analysis.groups)
        plotting.save_figure(fig, path)
        drawn["Fig. 3 analogue"] = (
            path,
            ("Aggregated Ricci coefficient over k per problem, architecture and "
            "depth (blue = negative = Ricci-flow-like); the box marks k*."),
        )
    else:
        drawn["Fig. 3 analogue"] = (None, "no network passed a threshold")
    reps = _representatives(analysis)
    path = output / "fig4_flow.png"
    if reps:
        fig = plotting.plot_flow_panels(
            [res for _, res in reps],
            titles=[
                f"{t['problem']} {t['architecture']}/{t['depth']} r{t['repeat']}"
                for t, _ in reps
            ],
        )
        plotting.save_figure(fig, path)
        drawn["Fig. 4 analogue"] = (
            path,
            ("Total Forman-Ricci curvature Ric_l (x) against the geodesic change "
            "eta_l = g_{l+1} - g_l (y), per layer l, at k*, for the median-rho "
            "network of the deepest group with the most negative aggregated "
            "coefficient of each problem. (The paper's Fig. 4 swaps these axis "
            "labels.)"),
        )
    else:
        drawn["Fig. 4 analogue"] = (None, "no analysed network")
    return drawn

