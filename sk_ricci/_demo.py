"""The demo job: rank ReLU architectures by accuracy and flow strength.

One function, :func:`run_demo`, runs what ``sk-ricci demo`` and
``docs/examples/rank_architectures.py`` show: a ``GridSearchCV`` over the
paper's three architectures (narrow, wide, bottleneck) at depths 5 and 11 on
the entangled spirals (problem A), scoring every held-out fold by accuracy and
by flow strength (:class:`~sk_ricci.RicciFlowScorer`, the negated Ricci
coefficient, with ``connect="mst"``). It reports its progress per candidate and
fold (with the time left) on stderr and in ``demo.log``, writes
``demo_results.csv``, prints the table, then draws two figures.
"""

import hashlib
import json
import math
import numbers
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEMO_SETTINGS", "DemoResult", "run_demo"]

#: Settings of the two modes. ``n_samples`` includes the ``n_test`` held-out
#: points; the grid search sees the other ``n_samples - n_test``. The quick
#: mode trains fewer candidates (depth 5 only) on two folds, but with enough
#: steps for the networks to learn the spirals: 80 epochs at lr 2e-3 and no
#: validation split (``validation_fraction=0``: every training point of a fold
#: is used), so its cross-validated accuracies stay well above chance.
DEMO_SETTINGS = {
    "full": {"n_samples": 1300, "n_test": 300, "max_epochs": 100, "lr": 3e-3,
             "validation_fraction": 0.2, "cv": 3,
             "architectures": ["narrow", "wide", "bottleneck"], "depths": [5, 11]},
    "quick": {"n_samples": 1300, "n_test": 300, "max_epochs": 80, "lr": 2e-3,
              "validation_fraction": 0.0, "cv": 2,
              "architectures": ["narrow", "wide", "bottleneck"], "depths": [5]},
}

LOG_NAME = "demo.log"
CSV_NAME = "demo_results.csv"
FLOW_FIGURE = "demo_flow.png"
SCATTER_FIGURE = "demo_accuracy_vs_flow.png"


@dataclass
class DemoResult:
    """What :func:`run_demo` computed.

    Attributes
    ----------
    search : GridSearchCV
        The fitted search (``cv_results_``, ``best_estimator_``).
    rows : list of dict
        One row per candidate, in ``cv_results_`` order (the CSV's rows).
    table : str
        The printed table.
    test_accuracy : float
        Test accuracy of the refitted (best-accuracy) network.
    flow_result : RicciFlowResult
        Its flow on the test set.
    best_name : str
        ``"architecture/depth"`` of the refitted network.
    agreement : float
        Pearson correlation of the accuracy and flow-strength ranks (Spearman).
    files : list of Path
        The files written (log, CSV, figures).
    seconds : float
        Wall time.
    """

    search: object
    rows: list
    table: str
    test_accuracy: float
    flow_result: object
    best_name: str
    agreement: float
    files: list = field(default_factory=list)
    seconds: float = math.nan


def _fingerprint(X):
    import numpy as np

    return hashlib.sha1(np.ascontiguousarray(X, dtype=float).tobytes()).hexdigest()


class _ScoreAndReport:
    """Multimetric scorer: accuracy and flow strength of one held-out fold.

    It also appends one JSON line per scored fold to ``events`` (the worker
    processes of GridSearchCV share nothing else with the parent), which the
    parent's progress thread turns into progress lines. The fold is recognised
    by a fingerprint of its test points.
    """

    def __init__(self, flow_scorer, params, folds, events=None):
        self.flow_scorer = flow_scorer
        self.params = params
        self.folds = folds
        self.events = events

    def __call__(self, estimator, X, y):
        from sklearn.metrics import accuracy_score

        accuracy = float(accuracy_score(y, estimator.predict(X)))
        flow = float(self.flow_scorer(estimator, X, y))
        if self.events is not None:
            values = estimator.get_params()
            event = {
                "candidate": "/".join(str(values[p]) for p in self.params),
                "fold": self.folds.get(_fingerprint(X)),
                "accuracy": accuracy,
                "flow": flow,
            }
            # one write of one line in append mode: lines from several
            # processes never interleave
            with open(self.events, "a", encoding="utf-8") as f:
                f.write(json.dumps(event) + "\n")
        return {"accuracy": accuracy, "flow": flow}


def _fmt(seconds):
    from tqdm import tqdm

    return tqdm.format_interval(seconds) if math.isfinite(seconds) else "?"


class _Progress:
    """Turns the fold events into a tqdm bar (terminal) or lines, and a log."""

    def __init__(self, events, total, n_folds, log, stream, quiet, poll=0.2):
        from tqdm import tqdm

        self.events, self.total, self.n_folds = events, total, n_folds
        self.log, self.stream, self.quiet, self.poll = log, stream, quiet, poll
        self.done = 0
        self.t0 = time.perf_counter()
        self._offset = 0
        self._stop = threading.Event()
        tty = hasattr(stream, "isatty") and stream.isatty()
        self.bar = None
        if tty and not quiet:
            self.bar = tqdm(
                total=total, unit="fit", desc="cross-validation", file=stream,
                dynamic_ncols=True,
            )
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._drain()
        if self.bar is not None:
            self.bar.close()

    def say(self, text):
        """A message for the log, and for the terminal unless quiet."""
        self.log.write(text + "\n")
        self.log.flush()
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def _watch(self):
        while not self._stop.wait(self.poll):
            self._drain()

    def _drain(self):
        try:
            with open(self.events, "rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except FileNotFoundError:
            return
        # only complete lines; a line being written is read next time
        end = chunk.rfind(b"\n") + 1
        self._offset += end
        for line in chunk[:end].splitlines():
            self._report(json.loads(line))

    def _report(self, event):
        self.done += 1
        elapsed = time.perf_counter() - self.t0
        left = elapsed / self.done * (self.total - self.done)
        fold = event["fold"]
        fold = "?" if fold is None else fold + 1
        what = (
            f"{event['candidate']} fold {fold}/{self.n_folds}: accuracy "
            f"{event['accuracy']:.3f}, flow strength {event['flow']:.3f}"
        )
        line = (
            f"[{self.done:>{len(str(self.total))}}/{self.total}] {what} | elapsed "
            f"{_fmt(elapsed)}, about {_fmt(left)} left"
        )
        self.log.write(line + "\n")
        self.log.flush()
        if self.bar is not None:
            self.bar.set_postfix_str(what, refresh=False)
            self.bar.update(1)
        elif not self.quiet:
            print(line, file=self.stream, flush=True)


def _table(rows):
    head = (
        f"{'architecture':<12} {'depth':>5}  {'accuracy':>15}  "
        f"{'flow strength':>15}  {'rank acc':>8}  {'rank flow':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['architecture']:<12} {r['depth']:>5}  "
            f"{r['mean_test_accuracy']:>7.3f} +- {r['std_test_accuracy']:.3f}  "
            f"{r['mean_test_flow']:>7.3f} +- {r['std_test_flow']:.3f}  "
            f"{r['rank_test_accuracy']:>8}  {r['rank_test_flow']:>9}"
        )
    return "\n".join(lines)


def _write_rows(path, rows):
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def run_demo(
    *,
    quick=False,
    output="sk_ricci_output/demo",
    n_jobs=1,
    random_state=0,
    figures=True,
    quiet=False,
    stream=None,
    out=None,
):
    """Rank ReLU architectures by accuracy and flow strength with GridSearchCV.

    Parameters
    ----------
    quick : bool, default=False
        The quick settings of :data:`DEMO_SETTINGS` (fewer points, folds and
        candidates) instead of the full ones.
    output : str or path-like, default="sk_ricci_output/demo"
        Folder of ``demo.log``, ``demo_results.csv`` and the figures.
    n_jobs : int, default=1
        GridSearchCV worker processes (-1: all cores).
    random_state : int, default=0
        Seed of the data, the folds and the networks.
    figures : bool, default=True
        Draw ``demo_flow.png`` and ``demo_accuracy_vs_flow.png`` (matplotlib).
    quiet : bool, default=False
        Print only the results (the log file is written all the same).
    stream : file, default=None
        Where progress goes (default: ``sys.stderr``); a tqdm bar on a
        terminal, one line per fold otherwise.
    out : file, default=None
        Where the table and summary go (default: ``sys.stdout``).

    Returns
    -------
    result : DemoResult
    """
    from ._param_validation import Boolean, Interval, NJobs, validate_params
    from .nn._threads import one_torch_thread

    validate_params(  # before any data is drawn or any folder written
        {"quick": quick, "n_jobs": n_jobs, "random_state": random_state,
         "figures": figures, "quiet": quiet},
        {"quick": [Boolean()], "n_jobs": [None, NJobs()],
         "random_state": [Interval(numbers.Integral, 0, 2**32 - 1)],
         "figures": [Boolean()], "quiet": [Boolean()]},
        "run_demo",
        fixes={"n_jobs": "Pass e.g. n_jobs=2, or -1 for all cores.",
               "random_state": "Pass an int seed such as random_state=0."},
    )
    t0 = time.perf_counter()
    stream = sys.stderr if stream is None else stream
    out = sys.stdout if out is None else out
    s = DEMO_SETTINGS["quick" if quick else "full"]
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    log_path = output / LOG_NAME
    events = output / ".demo_events.jsonl"
    events.unlink(missing_ok=True)
    X_train, X_test, y_train, y_test, cv, folds = _data(s, random_state)
    search, flow_scorer = _search(s, cv, folds, events, n_jobs, random_state)
    n_fits = len(s["architectures"]) * len(s["depths"]) * s["cv"]
    banner = (
        f"sk-ricci demo{' --quick' if quick else ''}: problem A (entangled "
        f"spirals), {len(y_train)} training and {len(y_test)} test points, "
        f"standardised. {_describe_search(s, n_jobs, flow_scorer)}"
    )
    # loky workers already get one torch thread each; so does this process
    try:
        with one_torch_thread(), open(log_path, "w", encoding="utf-8") as log:
            with _Progress(events, n_fits, s["cv"], log, stream, quiet) as progress:
                progress.say(banner)
                search.fit(X_train, y_train)
            result = _best_network(
                search, flow_scorer, len(y_train), X_test, y_test, progress
            )
            rows = _rows(search.cv_results_, s["cv"])
            csv_path = output / CSV_NAME
            _write_rows(csv_path, rows)
            table, summary = _summary(rows, result, len(y_test))
            # the results come first: figures take a few seconds more
            print(f"\n{table}\n\n{summary}", file=out, flush=True)
            log.write(f"\n{table}\n\n{summary}\n")
            files = [log_path, csv_path]
            if figures:
                files += _draw(output, result["flow"], rows, result["name"],
                               int(search.best_index_))
            seconds = time.perf_counter() - t0
            log.write(f"done in {seconds:.0f} s\n")
    finally:
        events.unlink(missing_ok=True)
    print(f"Done in {seconds:.0f} s. Files:", file=out)
    for path in files:
        print(f"  {path}", file=out)
    out.flush()
    return DemoResult(
        search=search, rows=rows, table=table,
        test_accuracy=result["test_accuracy"], flow_result=result["flow"],
        best_name=result["name"], agreement=result["agreement"], files=files,
        seconds=seconds,
    )


def _data(s, random_state):
    """The spirals split into training and test points, the folds and a
    fingerprint -> fold index map (how the scorer tells its fold)."""
    from sklearn.model_selection import StratifiedKFold, train_test_split

    from .datasets import make_entangled_spirals

    X, y = make_entangled_spirals(s["n_samples"], random_state=random_state)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=s["n_test"], stratify=y, random_state=random_state
    )
    cv = StratifiedKFold(s["cv"], shuffle=True, random_state=random_state)
    folds = {
        _fingerprint(X_train[test]): k
        for k, (_, test) in enumerate(cv.split(X_train, y_train))
    }
    return X_train, X_test, y_train, y_test, cv, folds


def _search(s, cv, folds, events, n_jobs, random_state):
    """The GridSearchCV over architecture x depth and its flow scorer."""
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from . import RicciFlowScorer
    from .nn import ReLUMLPClassifier

    # the paper's statistic: the demo draws the global flow of the best network
    flow_scorer = RicciFlowScorer(
        n_neighbors=0.05, statistic="rho", connect="mst", curvature="forman"
    )
    grid = {"net__architecture": s["architectures"], "net__depth": s["depths"]}
    model = Pipeline([
        ("scale", StandardScaler()),
        ("net", ReLUMLPClassifier(
            max_epochs=s["max_epochs"], lr=s["lr"],
            validation_fraction=s["validation_fraction"],
            random_state=random_state)),
    ])
    search = GridSearchCV(
        model,
        grid,
        scoring=_ScoreAndReport(flow_scorer, list(grid), folds, events),
        refit="accuracy",
        cv=cv,
        n_jobs=n_jobs,
    )
    return search, flow_scorer


def _describe_search(s, n_jobs, flow_scorer):
    n_candidates = len(s["architectures"]) * len(s["depths"])
    return (
        f"GridSearchCV over architecture x depth ({n_candidates} candidates x "
        f"{s['cv']} folds = {n_candidates * s['cv']} fits, {s['max_epochs']} "
        f"epochs, lr={s['lr']}, n_jobs={n_jobs}), scoring accuracy and "
        f"{flow_scorer!r}."
    )


def _best_network(search, flow_scorer, n_train, X_test, y_test, progress):
    """Test accuracy and flow of the network refitted on accuracy."""
    best_params = search.best_params_
    name = f"{best_params['net__architecture']}/{best_params['net__depth']}"
    progress.say(
        f"refitted the best on accuracy ({name}) on all {n_train} training "
        f"points; measuring its flow on the {len(y_test)} test points"
    )
    best = search.best_estimator_
    return {
        "name": name,
        "test_accuracy": float(best.score(X_test, y_test)),
        "flow": flow_scorer.measure(best, X_test),
    }


def _summary(rows, result, n_test):
    """The table of candidates and the summary of the refitted network
    (``result`` gains the rank ``agreement``)."""
    import numpy as np

    acc_rank = np.array([r["rank_test_accuracy"] for r in rows], float)
    flow_rank = np.array([r["rank_test_flow"] for r in rows], float)
    agreement = (
        float(np.corrcoef(acc_rank, flow_rank)[0, 1])
        if len(rows) > 2 and acc_rank.std() > 0 and flow_rank.std() > 0
        else math.nan
    )
    result["agreement"] = agreement
    flow = result["flow"]
    summary = (
        f"Refitted on accuracy: {result['name']}: test accuracy "
        f"{result['test_accuracy']:.3f}, flow strength {-flow.coefficient:.3f} "
        f"(rho = {flow.coefficient:.3f} at k = {flow.n_neighbors} on {n_test} test "
        f"points).\nRank agreement of accuracy and flow strength (Spearman): "
        f"{agreement:+.2f}"
    )
    return _table(rows), summary


def _rows(cv, n_folds):
    rows = []
    for i, params in enumerate(cv["params"]):
        row = {
            "architecture": params["net__architecture"],
            "depth": params["net__depth"],
            "mean_test_accuracy": float(cv["mean_test_accuracy"][i]),
            "std_test_accuracy": float(cv["std_test_accuracy"][i]),
            "mean_test_flow": float(cv["mean_test_flow"][i]),
            "std_test_flow": float(cv["std_test_flow"][i]),
            "rank_test_accuracy": int(cv["rank_test_accuracy"][i]),
            "rank_test_flow": int(cv["rank_test_flow"][i]),
            "mean_fit_time": float(cv["mean_fit_time"][i]),
        }
        for k in range(n_folds):
            row[f"split{k}_test_accuracy"] = float(cv[f"split{k}_test_accuracy"][i])
            row[f"split{k}_test_flow"] = float(cv[f"split{k}_test_flow"][i])
        rows.append(row)
    return rows


def _draw(output, result, rows, name, best_index):
    from .plotting import RicciFlowDisplay, plot_accuracy_vs_flow, save_figure

    disp = RicciFlowDisplay.from_result(result, name=f"best network {name}, test set")
    flow_path = save_figure(disp.figure_, output / FLOW_FIGURE)
    scatter = plot_accuracy_vs_flow(
        [r["mean_test_accuracy"] for r in rows],
        [r["mean_test_flow"] for r in rows],
        labels=[f"{r['architecture']}/{r['depth']}" for r in rows],
        best=best_index,
        accuracy_std=[r["std_test_accuracy"] for r in rows],
        flow_std=[r["std_test_flow"] for r in rows],
        statistic=f"$-\\rho$ at k = {result.n_neighbors}, MST-connected graphs "
        "(the paper's statistic)",
    )
    scatter_path = save_figure(scatter, output / SCATTER_FIGURE)
    return [flow_path, scatter_path]


def default_n_jobs():
    """Worker processes of the demo: the cores, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))
