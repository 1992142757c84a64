"""Configuration of the paper's study and the files of its output folder.

:class:`StudyConfig` (the problems, architectures, depths, repeats, training
and graph settings, validated and hashed), :func:`load_config` (a TOML study
file), :func:`network_seed` (each network's seed, from the base seed and its
names), and the output folder's files: ``results.jsonl`` (one JSON line per
finished network, :func:`load_results`) and :func:`flow_result`, which rebuilds
a :class:`~sk_ricci.RicciFlowResult` from a stored row.

Shared by the running of a study (:mod:`sk_ricci.study`) and its analysis
(:mod:`sk_ricci._study_report`); it imports neither. Import these names from
:mod:`sk_ricci.study`.
"""

import dataclasses
import hashlib
import json
import numbers
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._flow import RicciFlowResult
from ._validation import ALGORITHM_OPTIONS, SYMMETRIZE_OPTIONS
from .datasets import PAPER_PROBLEMS
from .datasets._problems import REGISTRY, resolve_problem
from .exceptions import OutputFolderError, ResultsFileWarning, StudyConfigError

#: The paper's architectures and depths (docs/study.md).
ARCHITECTURES = ("narrow", "wide", "bottleneck")
DEPTHS = (5, 11)
STANDARDIZE_OPTIONS = ("synthetic", "none", "all")

#: Problems a study can use: name -> :class:`~sk_ricci.datasets.Problem` (the
#: registry of :mod:`sk_ricci.datasets`). ``digits_*`` are scikit-learn's
#: bundled 8x8 digits, an offline stand-in for the MNIST pairs (same grid and
#: threshold as the MNIST pair).
STUDY_PROBLEMS = REGISTRY
#: The seven problems of the paper's study (the default ``problems``).
PAPER_STUDY_PROBLEMS = PAPER_PROBLEMS

RESULTS_FILE = "results.jsonl"
CONFIG_FILE = "config.json"
#: Advisory lock held by the study writing into a folder (holds its pid).
LOCK_FILE = ".sk_ricci.lock"
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


# --------------------------------------------------------------------------- #
# Configuration
# --------------------------------------------------------------------------- #
def _canonical_problem(name):
    if not isinstance(name, str):
        raise StudyConfigError(f"problem names are strings, got {name!r}")
    return resolve_problem(name, error=StudyConfigError).name


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


#: What the same configuration's result rows are made of beyond its fields:
#: the synthetic generators and the default k grid. Part of the config hash,
#: so that a study folder of an earlier version is never resumed with rows of
#: another. 2: problems A and B recalibrated, each grid starts at the smallest
#: k whose input graph is connected.
RESULTS_VERSION = 2


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
        Numbers of hidden layers (at least 4: rho correlates L - 1 points).
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
        if not all(
            isinstance(d, numbers.Integral)
            or (isinstance(d, str) and d.strip().isdigit())
            for d in depths
        ) or any(isinstance(d, bool) for d in depths):
            raise StudyConfigError(f"depths must be ints, got {list(depths)!r}")
        depths = tuple(dict.fromkeys(int(d) for d in depths))
        if not depths or min(depths) < 4:
            raise StudyConfigError(
                f"depths={list(depths)} must be ints >= 4 (the Ricci coefficient "
                "correlates L - 1 successive layers and a correlation needs at "
                "least 3 points; the paper uses 5 and 11)"
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
        try:
            vf = 0.0 if vf is None else float(vf)
        except (TypeError, ValueError):
            vf = -1.0
        if not 0 <= vf < 1:
            raise StudyConfigError(
                f"validation_fraction={self.validation_fraction!r} must lie in "
                "[0, 1), e.g. 0.2"
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
                acc = float(value)
            except (TypeError, ValueError):
                acc = -1.0
            if not 0 <= acc < 1:
                raise StudyConfigError(
                    f"thresholds[{name!r}]={value!r} must be an accuracy in [0, 1)"
                )
            thresholds[key] = acc
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
        """SHA-256 (16 hex digits) of every field that changes the results,
        and of :data:`RESULTS_VERSION`."""
        text = json.dumps(
            {**self.to_dict(hashed_only=True), "results_version": RESULTS_VERSION},
            sort_keys=True,
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
        """A copy with some fields changed (None values are ignored)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return self.from_dict({**self.to_dict(), **changes})

    def threshold(self, problem):
        """Accuracy a network of ``problem`` must exceed."""
        from .datasets import paper_accuracy_threshold

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
        from .datasets import paper_n_neighbors_grid

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

    n_jobs = run.get("n_jobs", 1)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or (
        n_jobs == 0 or n_jobs < -1
    ):
        bad("n_jobs", "a positive int or -1 (all cores), e.g. n_jobs = 4")
    if "backend" in run and run["backend"] not in ("loky", "dask", "ray"):
        bad("backend", "one of 'loky', 'dask', 'ray'")
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
# Results file: append-only JSON lines, one per network
# --------------------------------------------------------------------------- #
#: Fields of a result row (:func:`sk_ricci.study.run_study` writes them).
ROW_FIELDS = (
    "network_id", "problem", "architecture", "depth", "repeat", "seed",
    "hidden_layer_sizes", "n_train", "n_test", "max_epochs", "batch_size", "lr",
    "optimizer", "validation_fraction", "symmetrize", "connect", "accuracy",
    "train_accuracy", "flow",
)
#: Fields of a row of a network whose training diverged (``status="diverged"``).
DIVERGED_ROW_FIELDS = (
    "network_id", "problem", "architecture", "depth", "repeat", "seed", "status",
    "cause",
)
FLOW_FIELDS = (
    "n_neighbors", "total_curvature", "geodesic_mass", "eta", "n_components",
    "coefficient", "adjusted_paper", "adjusted_fisher",
)


class _ResultsLog:
    """``results.jsonl``: one JSON line per finished network.

    Each row is one JSON line written by a single ``os.write`` on a file
    opened with ``O_APPEND`` and fsynced at once, by the one process that
    holds the folder's lock (:class:`_FolderLock`). Reading (:meth:`load`)
    never modifies the file: an incomplete last line (a run killed mid-write,
    or a row being appended right now) is ignored with a warning. The writer
    repairs such a tail under the lock before appending (:meth:`repair`).
    """

    def __init__(self, path):
        self.path = Path(path)
        self._fd = None

    def _damaged(self, i, why):
        return OutputFolderError(
            f"line {i} of {self.path} {why}; the file was edited or damaged. "
            "Delete that line (its network is trained again), or pass "
            "--overwrite to start the study again"
        )

    def _row(self, line, i):
        try:
            row = json.loads(line)
        except ValueError:
            raise self._damaged(i, "is not a result row (not JSON)") from None
        if not isinstance(row, dict) or not isinstance(row.get("network_id"), str):
            raise self._damaged(i, "is not a result row (no network_id)")
        diverged = row.get("status") == "diverged"
        fields = DIVERGED_ROW_FIELDS if diverged else ROW_FIELDS
        missing = [f for f in fields if f not in row]
        if not missing and not diverged:
            flow = row["flow"]
            if not isinstance(flow, list) or not all(
                isinstance(e, dict) and all(f in e for f in FLOW_FIELDS)
                for e in flow
            ):
                missing = ["flow (one entry per k with " + ", ".join(FLOW_FIELDS)
                           + ")"]
        if missing:
            raise self._damaged(
                i, f"(network {row['network_id']}) lacks the field(s) "
                f"{', '.join(missing)}"
            )
        return row

    def _read(self):
        """(rows, length of the complete part, incomplete tail or b'')."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}, 0, b""
        lines = data.split(b"\n")
        tail = lines.pop()  # after the last newline; b"" if the file ends in one
        rows = {}
        for i, line in enumerate(lines, start=1):
            if line.strip():
                row = self._row(line, i)
                rows.setdefault(row["network_id"], row)
        complete = len(data) - len(tail)
        if tail.strip():
            try:
                row = json.loads(tail)
            except ValueError:
                return rows, complete, tail  # a row cut short: incomplete
            row = self._row(tail, len(lines) + 1)  # complete, newline missing
            rows.setdefault(row["network_id"], row)
            return rows, len(data), b""
        return rows, complete, tail

    def load(self):
        """Rows already written, keyed by network id (first wins).

        Never modifies the file. An incomplete last line is ignored, with a
        :class:`~sk_ricci.exceptions.ResultsFileWarning`.
        """
        rows, _, tail = self._read()
        if tail.strip():
            warnings.warn(
                f"{self.path} has an incomplete last line ({len(tail)} bytes: a "
                "run killed while writing, or a row being written right now); "
                "it is ignored. The next run of the study on this folder "
                "removes it and trains that network again",
                ResultsFileWarning,
                stacklevel=2,
            )
        return rows

    def repair(self):
        """Make the file end with a complete line (the writer, under the lock).

        A complete last row without its newline gets one; an incomplete tail
        is cut off. A symbolic link is never truncated.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResultsFileWarning)
            try:
                data = self.path.read_bytes()
            except FileNotFoundError:
                return
        if not data or data.endswith(b"\n"):
            return
        _, complete, tail = self._read()
        if not tail.strip() and complete == len(data):
            self._write(b"\n")  # a complete row that lacked its newline
            return
        if self.path.is_symlink():
            raise OutputFolderError(
                f"{self.path} is a symbolic link (to {os.readlink(self.path)}) "
                f"and its last line is incomplete ({len(data) - complete} bytes); "
                "sk_ricci does not truncate a file through a link: delete that "
                "last line by hand, or replace the link with a regular file"
            )
        with open(self.path, "r+b") as f:
            f.truncate(complete)
            f.flush()
            os.fsync(f.fileno())

    def _write(self, data):
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        os.fsync(self._fd)

    def append(self, row):
        self._write((json.dumps(row, sort_keys=True, allow_nan=False) + "\n").encode())

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class _FolderLock:
    """Advisory lock on an output folder: one study writes into it at a time.

    An ``flock`` (``msvcrt.locking`` on Windows) on ``.sk_ricci.lock``, which
    holds the owner's pid. The operating system releases it when the process
    ends, however it ends; the file stays.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self._fd = None

    def __enter__(self):
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputFolderError(
                f"output folder {str(self.folder)!r} is not writable "
                f"({exc.strerror}: {exc.filename}); pass a writable --output "
                "folder"
            ) from None
        try:
            _lock_fd(fd)
        except OSError:
            try:
                pid = os.read(fd, 64).decode(errors="replace").strip()
            finally:
                os.close(fd)
            who = f" (process {pid})" if pid.isdigit() else ""
            raise OutputFolderError(
                f"output folder {str(self.folder)!r} is in use by another "
                f"sk-ricci study{who}; wait for it to finish, or pass another "
                "--output folder"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc):
        if self._fd is not None:
            _unlock_fd(self._fd)
            os.close(self._fd)
            self._fd = None


try:
    import fcntl

    def _lock_fd(fd):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock_fd(fd):
        fcntl.flock(fd, fcntl.LOCK_UN)

except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _lock_fd(fd):
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock_fd(fd):
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def load_results(output, *, as_frame=False):
    """The rows of a study's ``results.jsonl`` (list of dict, in file order).

    With ``as_frame=True``, a tidy pandas DataFrame (pandas imported lazily)
    with one row per network and scale k: the network's scalar fields
    (``network_id``, ``problem``, ``architecture``, ``depth``, ``accuracy``,
    ...) and, from its ``flow`` entry at that k, ``n_neighbors``,
    ``coefficient``, ``adjusted_paper``, ``adjusted_fisher``,
    ``all_connected`` and the per-layer lists ``total_curvature``,
    ``geodesic_mass``, ``eta`` and ``n_components``.
    """
    rows = list(_ResultsLog(Path(output) / RESULTS_FILE).load().values())
    if not as_frame:
        return rows
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            "load_results(as_frame=True) needs pandas; install it with `pip "
            "install pandas`, or use as_frame=False"
        ) from None
    records = []
    for row in rows:
        base = {k: v for k, v in row.items() if k != "flow"}
        for entry in row.get("flow", []):
            flat = {**base, **entry}
            flat["all_connected"] = all(c == 1 for c in entry["n_components"])
            records.append(flat)
    return pd.DataFrame.from_records(records)


def _write_atomic(path, text):
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# --------------------------------------------------------------------------- #
# Stored rows
# --------------------------------------------------------------------------- #
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
