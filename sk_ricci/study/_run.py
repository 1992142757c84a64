"""The paper's study: problems x architectures x repeats -> tables and figures.

Reproduces the protocol of Baptista et al., "Deep Learning as Ricci Flow"
(docs/study.md). For every problem, architecture (narrow, wide,
bottleneck), depth (5, 11) and repeat, one :class:`~sk_ricci.nn.ReLUMLPClassifier`
is trained with a seed derived from those four names, its test accuracy is
measured, and :func:`sk_ricci.ricci_flow` runs on the hidden activations of the
test set over the problem's grid of ``n_neighbors``. The repeats of one
(problem, architecture, depth) train together with :func:`sk_ricci.nn.fit_many`,
which gives every network the weights a lone fit gives it. Each finished network is
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

This module runs a study; its configuration and output files live in
:mod:`sk_ricci._study_config`, its analysis and report in
:mod:`sk_ricci._study_report`. Every name is importable from here.
"""

import contextlib
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from ._flow import ricci_flow
from ._study_config import (
    ARCHITECTURES,
    CONFIG_FILE,
    DEPTHS,
    OUTPUT_FILES,
    PAPER_STUDY_PROBLEMS,  # noqa: F401 (re-exported)
    RESULTS_FILE,
    RESULTS_VERSION,
    STANDARDIZE_OPTIONS,  # noqa: F401 (re-exported)
    STUDY_PROBLEMS,
    TIMING_COLUMNS,  # noqa: F401 (re-exported)
    StudyConfig,
    _canonical_problem,
    _data_seed,
    _FolderLock,
    _Network,  # noqa: F401 (re-exported)
    _ResultsLog,
    _write_atomic,
    flow_result,  # noqa: F401 (re-exported)
    load_config,
    load_results,
    network_seed,
)
from ._study_report import (
    CSV_COLUMNS,  # noqa: F401 (re-exported)
    OLSResult,
    StudyAnalysis,
    analyse_study,
    make_report,
    ols,
)
from .exceptions import (
    DisconnectedGraphWarning,
    OutputFolderError,
    StudyConfigError,
    UndefinedCoefficientWarning,
)

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

BACKENDS = ("loky", "dask", "ray")


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
    source = STUDY_PROBLEMS[problem].source
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

    source, pair = STUDY_PROBLEMS[problem].source, STUDY_PROBLEMS[problem].pair
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
    if _same_images(X_train, X_test):
        # data_home is one file holding one set of images (no official
        # train/test keys): split it, so that no test image is a training one
        n = len(y_test)
        if n_train + n_test > n:
            raise StudyConfigError(
                f"data_home={config.data_home!r} is one file of {n} images of "
                f"problem {problem!r}, used for both training and testing; the "
                f"study needs disjoint train and test sets, so n_train + n_test "
                f"= {n_train + n_test} must be at most {n}; pass a smaller "
                "n_train/n_test, or a data_home folder with the official train "
                "and test files"
            )
        X_train, X_test, y_train, y_test = train_test_split(
            X_test, y_test, train_size=n_train, test_size=n_test, stratify=y_test,
            random_state=seed,
        )
        return X_train, y_train, X_test, y_test
    X_train, y_train = _stratified_take(X_train, y_train, n_train, seed)
    X_test, y_test = _stratified_take(X_test, y_test, n_test, seed + 1)
    return X_train, y_train, X_test, y_test


def _same_images(A, B):
    return A.shape == B.shape and (A is B or np.array_equal(A, B))


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


def _divergence(clf, layers):
    """Why a trained network diverged (non-finite loss or activations), or None."""
    losses = np.asarray(clf.history_[:, "train_loss"], dtype=float)
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        return (
            f"non-finite training loss ({losses[bad[0]]}) from epoch {bad[0] + 1} "
            f"of {losses.size}; try a smaller learning rate"
        )
    for i, a in enumerate(layers, start=1):
        finite = np.isfinite(a)
        if not finite.all():
            return (
                f"non-finite activations in hidden layer {i} "
                f"({a.size - int(finite.sum())} of {a.size} test values); try a "
                "smaller learning rate"
            )
    return None


def _classifier(net, options):
    from .nn import ReLUMLPClassifier

    return ReLUMLPClassifier(
        architecture=net.architecture,
        depth=net.depth,
        lr=options["lr"],
        max_epochs=options["max_epochs"],
        batch_size=options["batch_size"],
        optimizer=options["optimizer"],
        validation_fraction=options["validation_fraction"] or None,
        random_state=net.seed,
    )


def _run_network(net, data, grid, options, fitted=None):
    """Train one network and measure its flow; returns the result row.

    Runs in a worker process (or in the parent for a serial study). It uses
    one torch thread and seeds everything from ``net.seed``, so the row is the
    same wherever it runs. ``fitted=(classifier, fit_time)`` skips the
    training (:func:`_run_batch` trained it).
    """
    import torch

    from .nn import layer_activations

    X_train, y_train, X_test, y_test = data
    threads = torch.get_num_threads()
    try:
        # the paper's networks are tiny: one torch thread trains them fastest
        # and keeps parallel workers from oversubscribing the cores
        torch.set_num_threads(1)
        if fitted is None:
            t0 = time.perf_counter()
            clf = _classifier(net, options).fit(X_train, y_train)
            fit_time = time.perf_counter() - t0
        else:
            clf, fit_time = fitted
        accuracy = float(clf.score(X_test, y_test))
        train_accuracy = float(clf.score(X_train, y_train))
        t0 = time.perf_counter()
        layers = layer_activations(clf, X_test)
        cause = _divergence(clf, layers)
        if cause is not None:  # recorded, excluded from the analysis, not retried
            return {
                "network_id": net.network_id, "problem": net.problem,
                "architecture": net.architecture, "depth": net.depth,
                "repeat": net.repeat, "seed": net.seed, "status": "diverged",
                "cause": cause, "lr": options["lr"],
                "max_epochs": options["max_epochs"],
                "fit_time_s": round(fit_time, 4),
            }
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


def _run_batch(nets, data, grid, options):
    """Train networks of one problem together, then measure each one's flow.

    The networks train at once with :func:`sk_ricci.nn.fit_many`, which gives
    each one exactly the weights a lone fit gives it, so every row is the row
    :func:`_run_network` would write; ``fit_time_s`` is the batch's training
    time divided by its number of networks. Returns one row per network, in
    order; a network whose measurement fails gets the exception in its place,
    so that the others' rows are still written before it is raised.
    """
    import torch

    from .nn import fit_many

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        t0 = time.perf_counter()
        clfs = fit_many([_classifier(net, options) for net in nets], *data[:2])
        fit_time = (time.perf_counter() - t0) / len(nets)
    finally:
        torch.set_num_threads(threads)
    rows = []
    for net, clf in zip(nets, clfs):
        try:
            rows.append(
                _run_network(net, data, grid, options, fitted=(clf, fit_time))
            )
        except Exception as exc:  # noqa: BLE001 (raised by _batch_rows)
            rows.append(exc)
    return rows


#: Most networks trained together (memory grows with it; the results do not
#: depend on it).
_MAX_BATCH = 64


def _batches(nets, n_workers):
    """Networks of one (problem, architecture, depth), in chunks.

    Chunks are small enough to give every worker work, at most ``_MAX_BATCH``.
    """
    groups = {}
    for net in nets:
        groups.setdefault((net.problem, net.architecture, net.depth), []).append(net)
    size = max(1, min(_MAX_BATCH, math.ceil(len(nets) / max(1, n_workers))))
    return [
        group[start : start + size]
        for group in groups.values()
        for start in range(0, len(group), size)
    ]


def _batch_rows(results):
    """Yield the rows of finished batches; raise a network's error after them."""
    for rows in results:
        error = None
        for row in rows:
            if isinstance(row, BaseException):
                error = error or row
            else:
                yield row
        if error is not None:
            raise error


# --------------------------------------------------------------------------- #
# Output folder
# --------------------------------------------------------------------------- #
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
            if not isinstance(saved_hash, str):
                raise TypeError("config_hash is not a string")
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise OutputFolderError(
                f"{cfg_path} is unreadable ({type(exc).__name__}: {exc}); pass "
                "--overwrite to start again or a new --output folder"
            ) from None
        if saved_hash != config.config_hash:
            old_config = saved.get("config", {})
            old = {
                k: v
                for k, v in (old_config if isinstance(old_config, dict) else {}).items()
                if k not in ("data_home", "download")
            }
            old["results_version"] = saved.get("results_version", 1)
            new = {
                **config.to_dict(hashed_only=True),
                "results_version": RESULTS_VERSION,
            }
            raise OutputFolderError(
                f"output folder {str(output)!r} holds a study with a different "
                f"configuration (config hash {saved_hash} != {config.config_hash}; "
                f"{_describe_difference(old, new)}); "
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
        "results_version": RESULTS_VERSION,
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
            for batch in _batches(nets, 1):
                problem = batch[0].problem
                yield from _batch_rows(
                    [_run_batch(batch, data[problem], grids[problem], options)]
                )
            return
        from joblib import Parallel, delayed, parallel_config

        n_workers = os.cpu_count() if n_jobs == -1 else n_jobs
        with parallel_config(backend="loky", inner_max_num_threads=1):
            parallel = Parallel(
                n_jobs=n_jobs, return_as="generator_unordered", batch_size=1
            )
            yield from _batch_rows(parallel(
                delayed(_run_batch)(
                    batch, data[batch[0].problem], grids[batch[0].problem], options
                )
                for batch in _batches(nets, n_workers)
            ))
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
            n_workers = len(client.scheduler_info().get("workers", ())) or 1
            yield from _batch_rows(parallel(
                delayed(_run_batch)(
                    batch, data[batch[0].problem], grids[batch[0].problem], options
                )
                for batch in _batches(nets, n_workers)
            ))
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
        task = ray.remote(num_cpus=1)(_run_batch)
        refs = {p: ray.put(d) for p, d in data.items()}
        n_workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        pending = [
            task.remote(
                batch, refs[batch[0].problem], grids[batch[0].problem], options
            )
            for batch in _batches(nets, n_workers)
        ]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield from _batch_rows([ray.get(done[0])])
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
            f"{row['network_id']} "
            + (f"acc={row['accuracy']:.3f}" if "accuracy" in row else "diverged")
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
    if output.exists() and not output.is_dir():
        raise OutputFolderError(f"output {str(output)!r} exists and is not a folder")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputFolderError(
            f"cannot create the output folder {str(output)!r} ({exc.strerror}); "
            "pass a writable --output folder"
        ) from None
    # one study per folder: a second one fails here instead of training
    # every network again (the lock is released when this process ends)
    with _FolderLock(output):
        try:
            _run_locked(
                config, output, n_jobs, backend, scheduler_address, quiet,
                overwrite,
            )
        except PermissionError as exc:
            if not _inside(exc.filename, output):
                raise
            raise OutputFolderError(
                f"output folder {str(output)!r} is not writable ({exc.strerror}: "
                f"{exc.filename}); pass a writable --output folder"
            ) from None
    if report:
        return make_report(output)
    return None


def _inside(path, folder):
    if path is None:
        return False
    try:
        Path(os.fsdecode(path)).resolve().relative_to(Path(folder).resolve())
    except (ValueError, TypeError, OSError):
        return False
    return True


def _run_locked(config, output, n_jobs, backend, scheduler_address, quiet, overwrite):
    saved = _prepare_output(output, config, overwrite)
    nets = config.networks()
    log = _ResultsLog(output / RESULTS_FILE)
    if saved is not None:
        log.repair()  # a row cut short by a killed run, under the lock
    done = log.load() if saved is not None else {}
    todo = [net for net in nets if net.network_id not in done]
    pending = sorted({net.problem for net in todo}, key=config.problems.index)
    data, grids = {}, {}
    for problem in pending:
        data[problem] = load_problem(problem, config)
        grids[problem] = config.n_neighbors_grid(
            problem, len(data[problem][3]), X_test=data[problem][2]
        )
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
