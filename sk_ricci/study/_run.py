"""Running a study: networks trained in batches, on loky, Dask or Ray.

For every problem, architecture (narrow, wide, bottleneck), depth (5, 11) and
repeat, one :class:`~sk_ricci.nn.ReLUMLPClassifier` is trained with a seed
derived from those four names, its test accuracy is measured, and
:func:`sk_ricci.ricci_flow` runs on the hidden activations of the test set
over the problem's grid of ``n_neighbors``. The repeats of one (problem,
architecture, depth) train together with :func:`sk_ricci.nn.fit_many`, which
gives every network the weights a lone fit gives it. Each finished network is
appended at once to ``results.jsonl`` by the parent process, which holds the
folder's lock, so a run can be killed and resumed without losing or
duplicating networks. The results do not depend on the backend or the number
of workers: every network is trained in a worker function that seeds itself.
"""

import contextlib
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from .._flow import ricci_flow
from .._param_validation import NJobs, check_flags
from ..exceptions import (
    DisconnectedGraphWarning,
    OutputFolderError,
    StudyConfigError,
    UndefinedCoefficientWarning,
)
from ._config import BACKENDS, StudyConfig, check_training_split
from ._data import load_problem
from ._report import make_report
from ._results import (
    CONFIG_FILE,
    RESULTS_FILE,
    FolderLock,
    ResultsLog,
    diverged_row,
    network_row,
    prepare_output,
    write_config,
)


# --------------------------------------------------------------------------- #
# One network, one batch (run in a worker)
# --------------------------------------------------------------------------- #
def _options(config):
    """What a worker needs besides the network and the data: the training
    settings and, under ``"flow"``, the :class:`~sk_ricci._options.FlowOptions`."""
    return {**config.training_options, "flow": config.flow_options}


def _measure_flow(layers, grid, flow):
    """The flow of every k; a disconnected graph or an undefined coefficient
    is recorded in the row (NaN, component counts), not warned about."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisconnectedGraphWarning)
        warnings.simplefilter("ignore", UndefinedCoefficientWarning)
        return ricci_flow(layers, list(grid), **flow.as_dict())


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
    from ..nn import ReLUMLPClassifier

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


def _run_network(net, data, grid, options, fitted=None, evaluated=None):
    """Train one network and measure its flow; returns the result row.

    Runs in a worker process (or in the parent for a serial study). It uses
    one torch thread and seeds everything from ``net.seed``, so the row is the
    same wherever it runs. ``fitted=(classifier, fit_time)`` skips the
    training (:func:`_run_batch` trained it); ``evaluated=(accuracy,
    train_accuracy, layers, seconds)`` skips the scoring and the forward pass
    of the hidden layers (:func:`_run_batch` did them for several networks at
    once, with the same numbers), their seconds counting in ``flow_time_s``.
    """
    from ..nn import layer_activations
    from ..nn._threads import one_torch_thread

    X_train, y_train, X_test, y_test = data
    with one_torch_thread():
        if fitted is None:
            t0 = time.perf_counter()
            clf = _classifier(net, options).fit(X_train, y_train)
            fit_time = time.perf_counter() - t0
        else:
            clf, fit_time = fitted
        if evaluated is None:
            accuracy = float(clf.score(X_test, y_test))
            train_accuracy = float(clf.score(X_train, y_train))
            t0 = time.perf_counter()
            layers = layer_activations(clf, X_test)
        else:
            accuracy, train_accuracy, layers, seconds = evaluated
            t0 = time.perf_counter() - seconds
        cause = _divergence(clf, layers)
        if cause is not None:  # recorded, excluded from the analysis, not retried
            return diverged_row(net, options, cause, fit_time)
        results = _measure_flow(layers, grid, options["flow"])
        flow_time = time.perf_counter() - t0
    return network_row(net, options, {
        "layers": layers, "n_train": len(y_train), "n_test": len(y_test),
        "accuracy": accuracy, "train_accuracy": train_accuracy,
        "fit_time": fit_time, "flow_time": flow_time, "results": results,
    })


def _run_batch(nets, data, grid, options):
    """Train networks of one problem together, then measure each one's flow.

    The networks train at once with :func:`sk_ricci.nn.fit_many`, which gives
    each one exactly the weights a lone fit gives it, so every row is the row
    :func:`_run_network` would write; ``fit_time_s`` is the batch's training
    time divided by its number of networks. Returns one row per network, in
    order; a network whose measurement fails gets the exception in its place,
    so that the others' rows are still written before it is raised.
    """
    from ..nn import fit_many
    from ..nn._threads import one_torch_thread

    with one_torch_thread():
        t0 = time.perf_counter()
        clfs = fit_many([_classifier(net, options) for net in nets], *data[:2])
        fit_time = (time.perf_counter() - t0) / len(nets)
    rows = []
    for start in range(0, len(nets), _EVALUATE_GROUP):
        group = clfs[start : start + _EVALUATE_GROUP]
        evaluated = _evaluate(group, data)
        for net, clf, ev in zip(nets[start : start + len(group)], group, evaluated):
            try:
                rows.append(_run_network(
                    net, data, grid, options, fitted=(clf, fit_time), evaluated=ev
                ))
            except Exception as exc:  # raised by _batch_rows, after the others
                if is_interrupt(exc):
                    raise  # Ctrl-C in a numba kernel: stop now, not after the batch
                rows.append(exc)
    return rows


#: Networks whose accuracy and hidden layers are computed in one stacked
#: forward pass (their test activations are held at once: 8 x 11 layers of
#: 2,000 x 50 float64 are 70 MB).
_EVALUATE_GROUP = 8


def _evaluate(clfs, data):
    """``(accuracy, train_accuracy, layers, seconds)`` of every network, from
    stacked forward passes (:func:`sk_ricci.nn._evaluate.evaluate_many`,
    equal to ``score`` and ``layer_activations``; ``seconds`` is each
    network's share of the time), or None for each where the networks cannot
    be stacked or the stacked pass fails (each is then evaluated alone, and
    its own error, if any, is recorded in its place)."""
    from ..nn._evaluate import evaluate_many
    from ..nn._threads import one_torch_thread

    X_train, y_train, X_test, y_test = data
    t0 = time.perf_counter()
    try:
        with one_torch_thread():
            results = evaluate_many(clfs, X_test, y_test, X_train, y_train)
    except Exception as exc:
        if is_interrupt(exc):
            raise
        return [None] * len(clfs)
    seconds = (time.perf_counter() - t0) / len(clfs)
    return [(*result, seconds) for result in results]


def is_interrupt(exc):
    """Whether ``exc`` is Ctrl-C: a KeyboardInterrupt, or the SystemError a
    numba kernel raises when the interrupt arrives while it runs ("...
    returned a result with an exception set"), caused by the
    KeyboardInterrupt. Any other SystemError is a genuine error."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        if not isinstance(exc, SystemError):
            return False
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


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
# Execution backends: each yields rows as networks finish
# --------------------------------------------------------------------------- #
def _n_workers(n_jobs):
    """Workers of ``n_jobs`` in joblib's convention (-1: all cores, -2: all
    but one, ...)."""
    from joblib import effective_n_jobs

    return max(1, effective_n_jobs(n_jobs))


def _execute(nets, data, grids, options, n_jobs, backend, scheduler_address):
    if not nets:
        return
    if backend == "dask":
        yield from _execute_dask(nets, data, grids, options, n_jobs, scheduler_address)
    elif backend == "ray":
        yield from _execute_ray(nets, data, grids, options, n_jobs, scheduler_address)
    elif n_jobs in (None, 1):
        for batch in _batches(nets, 1):
            problem = batch[0].problem
            yield from _batch_rows(
                [_run_batch(batch, data[problem], grids[problem], options)]
            )
    else:
        yield from _execute_loky(nets, data, grids, options, n_jobs)


def _execute_loky(nets, data, grids, options, n_jobs):
    from joblib import Parallel, delayed, parallel_config

    with parallel_config(backend="loky", inner_max_num_threads=1):
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=1)
        yield from _batch_rows(parallel(
            delayed(_run_batch)(
                batch, data[batch[0].problem], grids[batch[0].problem], options
            )
            for batch in _batches(nets, _n_workers(n_jobs))
        ))


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
        n_workers = _n_workers(-1 if n_jobs is None else n_jobs)
        # the scheduler's HTTP server on a free port: on the default 8787,
        # taken by any other cluster, distributed warns "Port 8787 is already
        # in use"
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True,
            dashboard_address=":0", silence_logs=logging.ERROR,
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
        elif n_jobs is not None and n_jobs != -1:
            kwargs["num_cpus"] = _n_workers(n_jobs)
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
def _progress_bar(total, done, *, quiet=False, stream=None):
    """A tqdm bar on stderr (``stream``): networks done, elapsed time, time
    left and the last network; None when ``quiet``. A resumed study says how
    many networks its results file already holds."""
    from tqdm import tqdm

    if quiet:
        return None
    stream = sys.stderr if stream is None else stream
    if done:
        print(
            f"resuming: {done} of {total} networks already in the results file",
            file=stream, flush=True,
        )
    return tqdm(
        total=total, initial=done, file=stream, unit="network", dynamic_ncols=True,
        bar_format="[{bar:24}] {n_fmt}/{total_fmt} networks ({percentage:.0f}%) | "
        "elapsed {elapsed} | left {remaining} | {desc}",
    )


def _show(bar, row):
    if bar is not None:
        acc = f"acc={row['accuracy']:.3f}" if "accuracy" in row else "diverged"
        bar.set_description_str(f"{row['network_id']} {acc}", refresh=False)
        bar.update(1)


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
        Worker processes, in joblib's convention (-1: all cores, -2: all but
        one, ...). With ``backend="dask"`` and no
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
    check_flags("run_study", quiet=quiet, overwrite=overwrite, report=report)
    _check_run(config, backend, n_jobs, scheduler_address)
    output = _make_folder(output)
    # one study per folder: a second one fails here instead of training
    # every network again (the lock is released when this process ends)
    with FolderLock(output):
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


def _check_run(config, backend, n_jobs, scheduler_address=None):
    if not isinstance(config, StudyConfig):
        raise TypeError(f"config must be a StudyConfig, got {type(config).__name__}")
    if backend not in BACKENDS:
        raise StudyConfigError(f"backend={backend!r} must be one of {BACKENDS}")
    if n_jobs is not None and not NJobs().is_satisfied_by(n_jobs):
        raise StudyConfigError(f"n_jobs={n_jobs!r} must be {NJobs()}")
    if scheduler_address is not None:
        _check_scheduler_address(backend, scheduler_address)


def _check_scheduler_address(backend, address):
    """Refuse an address the backend cannot read before anything is written
    (Dask's own parser decides; without distributed the backend's import
    error comes later)."""
    example = (
        "tcp://HOST:PORT, e.g. tcp://10.0.0.1:8786" if backend == "dask"
        else "ray://HOST:10001, HOST:6379 or auto"
    )
    if not isinstance(address, str) or not address.strip():
        raise StudyConfigError(
            f"scheduler_address={address!r} must be a non-empty string such as "
            f"{example}"
        )
    if backend != "dask":
        return
    try:
        from distributed.comm.addressing import parse_address, parse_host_port
    except ImportError:
        return
    try:
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls"):
            parse_host_port(location)
    except ValueError as exc:
        raise StudyConfigError(
            f"scheduler_address={address!r} is not a Dask scheduler address "
            f"({exc}); pass {example}"
        ) from None


def _make_folder(output):
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
    return output


def _inside(path, folder):
    if path is None:
        return False
    try:
        Path(os.fsdecode(path)).resolve().relative_to(Path(folder).resolve())
    except (ValueError, TypeError, OSError):
        return False
    return True


def _load_pending(config, todo):
    """Data and k grid of every problem with networks left to train."""
    pending = sorted({net.problem for net in todo}, key=config.problems.index)
    data, grids = {}, {}
    for problem in pending:
        data[problem] = load_problem(problem, config)
        # a capped training set (the digits stand-in) may be smaller than
        # the configured n_train
        check_training_split(
            config.validation_fraction, len(data[problem][1]), problem
        )
        grids[problem] = config.n_neighbors_grid(
            problem, len(data[problem][3]), X_test=data[problem][2]
        )
    return data, grids


def _run_locked(config, output, n_jobs, backend, scheduler_address, quiet, overwrite):
    saved = prepare_output(output, config, overwrite)
    nets = config.networks()
    log = ResultsLog(output / RESULTS_FILE)
    if saved is not None:
        log.repair()  # a row cut short by a killed run, under the lock
    done = log.load() if saved is not None else {}
    todo = [net for net in nets if net.network_id not in done]
    data, grids = _load_pending(config, todo)
    if saved is None:
        write_config(output, config, len(nets), splits={
            p: {"n_train": len(d[1]), "n_test": len(d[3])} for p, d in data.items()
        })
    bar = _progress_bar(len(nets), len(nets) - len(todo), quiet=quiet)
    n_written = 0
    try:
        for row in _execute(
            todo, data, grids, _options(config), n_jobs, backend, scheduler_address
        ):
            log.append(row)
            n_written += 1
            _show(bar, row)
    except BaseException:
        if saved is None and n_written == 0:
            # nothing of this new study is saved: leave no config.json that
            # would refuse the corrected command as a different configuration
            with contextlib.suppress(FileNotFoundError):
                (output / CONFIG_FILE).unlink()
        raise
    finally:
        if bar is not None:
            bar.close()
        log.close()
