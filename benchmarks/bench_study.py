"""Networks per hour: one at a time, a plain PyTorch loop, and batched training.

The paper's synthetic setting: problem A as the study loads it (1,000
standardised training points in 3-D, two classes), depth-11 "wide" networks
(eleven hidden layers of 50), RMSprop with keras' defaults, lr=1e-3, batch 32,
50 epochs, 20% held out and scored after every epoch. The same networks
(seeds 0, 1, ...) are trained three ways, side by side in one run:

- ``one-at-a-time``: ``ReLUMLPClassifier.fit`` per network, the path the study
  used to take for every network;
- ``plain loop``: a bare PyTorch loop per network (``fit_plain`` of
  ``bench_nn_training.py``: ``randperm`` shuffling, tensor slicing, the
  fastest thing one would write by hand);
- ``batched``: :func:`sk_ricci.nn.fit_many`, ``--networks`` at once (the study
  trains the 36 repeats of one problem x architecture x depth together).

Every process uses one torch thread, as the study does. With ``--n-jobs 2``
each way runs in 2 worker processes, each training half of the networks, and
the wall time counts. The three ways alternate within each repeat (so a busy
machine slows them alike); the table gives the median per-network time over
``--repeats``, networks per hour and the ratios.

``--study`` also times the study's own unit of work on a few networks:
training plus the Ricci flow over the paper's 17-value k grid, one network at a
time (the former path) against one batch (:func:`sk_ricci.study._run._run_batch`).

``--end-to-end`` instead times ``sk-ricci study`` through the command line
(a fresh process: start-up, training, accuracy, flow, writing rows; problem A,
depth-11 wide, ``--e2e-networks`` networks, ``--k-grid``) against the plain
loop, side by side at each ``--n-jobs``, in networks per second, then a table
of seconds per network of each part of the study's unit of work. With
``--before SRC`` (another source tree, e.g. ``git archive REV | tar -x -C
SRC``) both trees run alternately, their rows are compared, and the per-part
table gives the speedup. ``--fit-code SRC [SRC ...]`` times ``fit_many``
under those trees and this one against the plain loop.

Run ``python benchmarks/bench_study.py`` (a few minutes on 2 cores) or
``--epochs 5 --repeats 1`` for a smoke run; ``--end-to-end --before SRC``
takes about 10 minutes unloaded.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_nn_training import fit_plain

from sk_ricci.nn import ReLUMLPClassifier, fit_many
from sk_ricci.study import StudyConfig, load_problem

DEPTH = 11
ARCHITECTURE = "wide"


def _classifier(seed, epochs):
    return ReLUMLPClassifier(
        architecture=ARCHITECTURE, depth=DEPTH, max_epochs=epochs, random_state=seed
    )


def _train(way, seeds, X, y, epochs):
    """Train the networks ``seeds`` one way in this process; returns seconds."""
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    if way == "one-at-a-time":
        for seed in seeds:
            _classifier(seed, epochs).fit(X, y)
    elif way == "plain loop":
        for seed in seeds:
            fit_plain(X, y, epochs, seed=seed)
    else:
        fit_many([_classifier(seed, epochs) for seed in seeds], X, y)
    return time.perf_counter() - t0


def _wall(way, seeds, X, y, epochs, n_jobs, parallel):
    if n_jobs == 1:
        return _train(way, seeds, X, y, epochs)
    shares = [list(seeds[i::n_jobs]) for i in range(n_jobs)]
    t0 = time.perf_counter()
    parallel(delayed(_train)(way, share, X, y, epochs) for share in shares)
    return time.perf_counter() - t0


def training_table(X, y, args):
    ways = {
        "one-at-a-time": args.lone,
        "plain loop": args.lone,
        "batched": args.networks,
    }
    print(
        f"problem A, {len(y)} training points, depth {DEPTH} {ARCHITECTURE}, "
        f"{args.epochs} epochs, one torch thread per process; one-at-a-time and "
        f"plain loop train {args.lone} networks, batched {args.networks} at once; "
        f"median of {args.repeats}"
    )
    header = (
        f"{'n_jobs':>6}  {'way':<14} {'s/network':>10} {'networks/h':>11} "
        f"{'vs plain':>9} {'vs one-at-a-time':>17}"
    )
    print(header)
    print("-" * len(header))
    for way in ways:  # imports and one-off costs are not timed
        _train(way, [0], X, y, 1)
    for n_jobs in args.n_jobs:
        parallel = Parallel(n_jobs=n_jobs) if n_jobs > 1 else None
        if parallel is not None:  # start the workers before timing
            for way in ways:
                parallel(delayed(_train)(way, [0], X, y, 1) for _ in range(n_jobs))
        per_network = {way: [] for way in ways}
        for _ in range(args.repeats):
            for way, n in ways.items():
                wall = _wall(way, range(n), X, y, args.epochs, n_jobs, parallel)
                per_network[way].append(wall / n)
        median = {way: statistics.median(t) for way, t in per_network.items()}
        for way in ways:
            print(
                f"{n_jobs:>6}  {way:<14} {median[way]:>9.3f}s "
                f"{3600 / median[way]:>11.0f} "
                f"{median['plain loop'] / median[way]:>8.2f}x "
                f"{median['one-at-a-time'] / median[way]:>16.2f}x"
            )


def study_table(args):
    from sk_ricci.study._run import _options, _run_batch, _run_network

    config = StudyConfig(
        problems=["A"], architectures=[ARCHITECTURE], depths=[DEPTH],
        repeats=args.study_networks, max_epochs=args.epochs,
    )
    nets = config.networks()
    data = load_problem("A", config)
    grid = config.n_neighbors_grid("A", len(data[3]))
    options = _options(config)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    old = [_run_network(net, data, grid, options) for net in nets]
    old_wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    new = _run_batch(nets, data, grid, options)
    new_wall = time.perf_counter() - t0
    same = all(
        {k: v for k, v in a.items() if not k.endswith("_time_s")}
        == {k: v for k, v in b.items() if not k.endswith("_time_s")}
        for a, b in zip(old, new)
    )
    print(
        f"\nstudy unit of work, {len(nets)} networks (training + flow over "
        f"{len(grid)} k values), one process, one torch thread; rows identical: "
        f"{same}"
    )
    header = (
        f"{'path':<24} {'wall':>7} {'fit/net':>8} {'flow/net':>9} "
        f"{'networks/h':>11} {'speedup':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, rows, wall in (
        ("one network at a time", old, old_wall),
        ("one batch (_run_batch)", new, new_wall),
    ):
        fit = statistics.mean(r["fit_time_s"] for r in rows)
        flow = statistics.mean(r["flow_time_s"] for r in rows)
        print(
            f"{name:<24} {wall:>6.1f}s {fit:>7.3f}s {flow:>8.3f}s "
            f"{len(nets) / wall * 3600:>11.0f} {old_wall / wall:>7.2f}x"
        )


# --------------------------------------------------------------------------- #
# The study end to end through the command line, and per part
# --------------------------------------------------------------------------- #
def _env(code):
    """Environment of a child process running the sk_ricci of ``code`` (a
    source tree; None: this one), one BLAS/OpenMP thread."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    root = str(Path(code).resolve()) if code else str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return env


#: Children run from here: ``python -m`` and ``python -c`` put the working
#: directory first on ``sys.path``, so run from the repository they would
#: import its ``sk_ricci`` whatever ``PYTHONPATH`` says.
_NEUTRAL_CWD = tempfile.gettempdir()


def _check_code(code):
    """Fail unless a child with ``_env(code)`` imports ``code``'s sk_ricci."""
    ran = subprocess.run(
        [sys.executable, "-c", "import sk_ricci; print(sk_ricci.__file__)"],
        env=_env(code), cwd=_NEUTRAL_CWD, check=True, capture_output=True,
        text=True,
    ).stdout.strip()
    assert ran == _code_file(code), f"another sk_ricci ran: {ran}"


def _study_command(args, n_networks, n_jobs, output, epochs=None):
    return [
        sys.executable, "-m", "sk_ricci.cli", "study", "--problems", "A",
        "--architectures", ARCHITECTURE, "--depths", str(DEPTH),
        "--repeats", str(n_networks), "--n-train", "1000", "--n-test", "1000",
        "--epochs", str(args.epochs if epochs is None else epochs),
        "--k-grid", args.k_grid, "--n-jobs", str(n_jobs), "--output", str(output),
        "--overwrite", "--quiet", "--no-report",
    ]


def _run_study_cli(args, code, n_networks, n_jobs, output, epochs=None):
    """Wall seconds of one ``sk-ricci study`` run (start-up included)."""
    t0 = time.perf_counter()
    subprocess.run(
        _study_command(args, n_networks, n_jobs, output, epochs),
        env=_env(code), cwd=_NEUTRAL_CWD, check=True, stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0


def _rows(output):
    """The rows of a study folder without their timings, by network."""
    rows = []
    with open(Path(output) / "results.jsonl") as f:
        for line in f:
            row = json.loads(line)
            rows.append({k: v for k, v in row.items() if not k.endswith("_time_s")})
    return sorted(rows, key=lambda r: r["network_id"])


def _child(mode, args):
    """Run in a child process (``--child MODE``) under the code to measure;
    prints one JSON line."""
    if mode == "plain":
        torch.set_num_threads(1)
        config = StudyConfig(problems=["A"], n_train=1000, n_test=1000)
        X, y, _, _ = load_problem("A", config)
        X = np.asarray(X, dtype=np.float64)
        fit_plain(X, y, 1, seed=0)  # one-off costs
        t0 = time.perf_counter()
        for seed in range(args.lone):
            fit_plain(X, y, args.epochs, seed=seed)
        print(json.dumps({"plain": (time.perf_counter() - t0) / args.lone}))
        return
    import sk_ricci

    times = _part_times(args, fit_only=mode == "fit")
    print(json.dumps({**times, "code": str(Path(sk_ricci.__file__).resolve())}))


def _part_times(args, fit_only=False):
    """Seconds per network of each part of the study's unit of work, as the
    code on ``sys.path`` runs it, one process, one torch thread (and the
    seconds of a process's first flow, once)."""
    from sk_ricci.nn import layer_activations

    torch.set_num_threads(1)
    if fit_only:  # any version of the library: fit_many and the data only
        X, y, _, _ = load_problem(
            "A", StudyConfig(problems=["A"], n_train=1000, n_test=1000)
        )
        fit_many([_classifier(0, 1)], X, y)
        t0 = time.perf_counter()
        fit_many([_classifier(s, args.epochs) for s in range(args.part_networks)], X, y)
        return {"training (fit_many)": (time.perf_counter() - t0) / args.part_networks}
    from sk_ricci.study import _run
    from sk_ricci.study._results import ResultsLog, network_row

    config = StudyConfig(
        problems=["A"], architectures=[ARCHITECTURE], depths=[DEPTH],
        repeats=args.part_networks, max_epochs=args.epochs, n_train=1000,
        n_test=1000, n_neighbors=[int(k) for k in args.k_grid.split(",")],
    )
    nets = config.networks()
    data = load_problem("A", config)
    grid = config.n_neighbors_grid("A", len(data[3]))
    options = _run._options(config)
    n = len(nets)
    fit_many([_run._classifier(nets[0], {**options, "max_epochs": 1})], *data[:2])
    t0 = time.perf_counter()
    clfs = fit_many([_run._classifier(net, options) for net in nets], *data[:2])
    times = {"training (fit_many)": (time.perf_counter() - t0) / n}
    # one-off costs of a process (numba's cached kernels load on their first
    # call): timed apart, once
    t0 = time.perf_counter()
    _run._measure_flow(layer_activations(clfs[0], data[2]), grid, options["flow"])
    once = time.perf_counter() - t0
    t0 = time.perf_counter()
    if hasattr(_run, "_evaluate"):  # stacked forward passes, groups of 8
        evaluated = []
        for start in range(0, n, _run._EVALUATE_GROUP):
            group = clfs[start : start + _run._EVALUATE_GROUP]
            evaluated += [e[:3] for e in _run._evaluate(group, data)]
    else:  # one skorch score and one layer_activations per network
        evaluated = [
            (clf.score(data[2], data[3]), clf.score(data[0], data[1]),
             layer_activations(clf, data[2]))
            for clf in clfs
        ]
    times["accuracy + activations"] = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    flows = [_run._measure_flow(layers, grid, options["flow"]) for *_, layers in evaluated]
    times["flow (ricci_flow)"] = (time.perf_counter() - t0) / n
    with tempfile.TemporaryDirectory() as tmp:
        log = ResultsLog(Path(tmp) / "results.jsonl")
        t0 = time.perf_counter()
        for net, (acc, train_acc, layers), results in zip(nets, evaluated, flows):
            log.append(network_row(net, options, {
                "layers": layers, "n_train": len(data[1]), "n_test": len(data[3]),
                "accuracy": acc, "train_accuracy": train_acc, "fit_time": 0.0,
                "flow_time": 0.0, "results": results,
            }))
        log.close()
        times["writing rows"] = (time.perf_counter() - t0) / n
    times["first flow (once)"] = once
    return times


def _in_child(mode, args, code):
    argv = [
        sys.executable, str(Path(__file__).resolve()), "--child", mode,
        "--epochs", str(args.epochs), "--lone", str(args.lone),
        "--part-networks", str(args.part_networks), "--k-grid", args.k_grid,
    ]
    out = subprocess.run(
        argv, env=_env(code), check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _code_file(code):
    root = Path(code) if code else Path(__file__).resolve().parents[1]
    return str((root / "sk_ricci" / "__init__.py").resolve())


def _startup(code, argv):
    """Wall seconds of ``python argv`` (interpreter start included)."""
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, *argv], env=_env(code), cwd=_NEUTRAL_CWD, check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0


_STARTUP = {
    "start-up (--version)": ["-m", "sk_ricci.cli", "--version"],
    "imports of a study": [
        "-c", "import sk_ricci.cli, sk_ricci.nn, sk_ricci.study._run, sk_ricci._flow"
    ],
}


def _codes(args):
    codes = {"this tree": None}
    if args.before:
        codes = {"before": args.before, **codes}
    return codes


def end_to_end_table(args):
    """Networks per second of ``sk-ricci study`` (start-up, training,
    accuracy, flow, writing rows) against the plain PyTorch loop, alternating
    within each repeat, at each ``--n-jobs``."""
    codes = _codes(args)
    print(
        f"\nend to end: sk-ricci study --problems A --architectures {ARCHITECTURE} "
        f"--depths {DEPTH} --repeats {args.e2e_networks} --epochs {args.epochs} "
        f"--k-grid {args.k_grid} --n-jobs J (1,000/1,000 points, one BLAS thread "
        f"per process), against the plain PyTorch loop training {args.lone} of "
        f"the same networks per worker share; median of {args.repeats}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for code in codes.values():
            _check_code(code)
        for name, code in codes.items():  # numba caches, page cache: not timed
            _run_study_cli(args, code, 1, 1, Path(tmp) / f"warm-{name}", epochs=1)
        header = (
            f"{'n_jobs':>6}  {'way':<22} {'s/network':>10} {'networks/s':>11} "
            f"{'vs plain':>9}"
        )
        print(header)
        print("-" * len(header))
        same = True
        for n_jobs in args.n_jobs:
            parallel = Parallel(n_jobs=n_jobs) if n_jobs > 1 else None
            config = StudyConfig(problems=["A"], n_train=1000, n_test=1000)
            X, y, _, _ = load_problem("A", config)
            X = np.asarray(X, dtype=np.float64)
            if parallel is not None:
                parallel(delayed(_train)("plain loop", [0], X, y, 1) for _ in range(n_jobs))
            else:
                _train("plain loop", [0], X, y, 1)
            per_network = {f"study ({name})": [] for name in codes}
            per_network["plain loop"] = []
            for _ in range(args.repeats):
                rows = {}
                for name, code in codes.items():
                    out = Path(tmp) / f"{name}-{n_jobs}"
                    wall = _run_study_cli(args, code, args.e2e_networks, n_jobs, out)
                    per_network[f"study ({name})"].append(wall / args.e2e_networks)
                    rows[name] = _rows(out)
                same &= all(r == rows["this tree"] for r in rows.values())
                seeds = range(args.lone * n_jobs)
                wall = _wall("plain loop", seeds, X, y, args.epochs, n_jobs, parallel)
                per_network["plain loop"].append(wall / len(seeds))
            median = {way: statistics.median(t) for way, t in per_network.items()}
            for way, t in median.items():
                print(
                    f"{n_jobs:>6}  {way:<22} {t:>9.3f}s {1 / t:>11.2f} "
                    f"{median['plain loop'] / t:>8.2f}x"
                )
        if len(codes) > 1:
            print(f"rows identical before and after (every field but the timings): {same}")


def parts_table(args):
    """Seconds per network of each part, before and after, one process each."""
    codes = _codes(args)
    print(
        f"\nper part, {args.part_networks} networks trained together (the study's "
        f"unit of work), one process, one torch thread, seconds per network "
        f"(start-up: one `sk-ricci --version`); median of {args.repeats}"
    )
    runs = {name: [] for name in codes}
    for _ in range(args.repeats):
        for name, code in codes.items():
            times = _in_child("parts", args, code)
            assert times.pop("code") == _code_file(code), "another sk_ricci ran"
            times = {part: _startup(code, a) for part, a in _STARTUP.items()} | times
            runs[name].append(times)
    parts = list(runs["this tree"][0])
    median = {
        name: {p: statistics.median(r[p] for r in rs) for p in parts}
        for name, rs in runs.items()
    }
    header = f"{'part':<24}" + "".join(f"{name:>12}" for name in codes)
    if len(codes) > 1:
        header += f"{'speedup':>9}"
    print(header)
    print("-" * len(header))
    for part in parts:
        line = f"{part:<24}" + "".join(f"{median[n][part]:>11.3f}s" for n in codes)
        if len(codes) > 1 and median["this tree"][part] > 0:
            line += f"{median['before'][part] / median['this tree'][part]:>8.2f}x"
        print(line)


def fit_cost_table(args):
    """fit_many's seconds per network under each ``--fit-code`` tree against
    the plain loop, each in its own process, alternating within each repeat."""
    trees = {Path(c).name or c: c for c in args.fit_code}
    trees["this tree"] = None
    print(
        f"\nfit_many of {args.part_networks} networks at once under each source "
        f"tree against the plain loop ({args.lone} networks), {args.epochs} "
        f"epochs, one process each, one thread; median of {args.repeats}"
    )
    runs = {name: [] for name in [*trees, "plain loop"]}
    for _ in range(args.repeats):
        for name, code in trees.items():
            times = _in_child("fit", args, code)
            assert times["code"] == _code_file(code), "another sk_ricci ran"
            runs[name].append(times["training (fit_many)"])
        runs["plain loop"].append(_in_child("plain", args, None)["plain"])
    median = {name: statistics.median(t) for name, t in runs.items()}
    header = f"{'training':<28} {'s/network':>10} {'vs plain':>9}"
    print(header)
    print("-" * len(header))
    for name, t in median.items():
        print(f"{name:<28} {t:>9.3f}s {median['plain loop'] / t:>8.2f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--networks", type=int, default=36,
                        help="networks trained at once by the batched way")
    parser.add_argument("--lone", type=int, default=4,
                        help="networks trained one by one per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, nargs="+", default=[1, 2],
                        help="worker processes to compare (default: 1 2)")
    parser.add_argument("--study", action="store_true",
                        help="also time the study's unit of work (fit + flow)")
    parser.add_argument("--study-networks", type=int, default=6)
    parser.add_argument("--end-to-end", action="store_true",
                        help="sk-ricci study through the command line against "
                        "the plain loop, and per part (skips the other tables)")
    parser.add_argument("--e2e-networks", type=int, default=24,
                        help="networks of each end-to-end study run")
    parser.add_argument("--part-networks", type=int, default=24,
                        help="networks trained together in the per-part table")
    parser.add_argument("--k-grid", default="10",
                        help="n_neighbors of the end-to-end and per-part runs")
    parser.add_argument("--before", metavar="SRC",
                        help="another source tree (e.g. `git archive REV | tar "
                        "-x -C SRC`) run side by side with this one")
    parser.add_argument("--fit-code", metavar="SRC", nargs="*", default=None,
                        help="fit_many under these source trees and this one "
                        "against the plain loop (skips the other tables)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args)
        return
    if args.fit_code is not None:
        print(f"torch {torch.__version__}")
        fit_cost_table(args)
        return
    if args.end_to_end:
        print(f"torch {torch.__version__}")
        end_to_end_table(args)
        parts_table(args)
        return

    config = StudyConfig(problems=["A"], n_train=1000, n_test=1000)
    X, y, _, _ = load_problem("A", config)
    X = np.asarray(X, dtype=np.float64)
    print(f"torch {torch.__version__}")
    training_table(X, y, args)
    if args.study:
        study_table(args)


if __name__ == "__main__":
    main()
