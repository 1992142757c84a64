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

Run ``python benchmarks/bench_study.py`` (a few minutes on 2 cores) or
``--epochs 5 --repeats 1`` for a smoke run.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_nn_training import fit_plain

from sk_ricci.nn import ReLUMLPClassifier, fit_many
from sk_ricci.study import StudyConfig, load_problem
from sk_ricci.study._run import _options, _run_batch, _run_network

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
    args = parser.parse_args(argv)

    config = StudyConfig(problems=["A"], n_train=1000, n_test=1000)
    X, y, _, _ = load_problem("A", config)
    X = np.asarray(X, dtype=np.float64)
    print(f"torch {torch.__version__}")
    training_table(X, y, args)
    if args.study:
        study_table(args)


if __name__ == "__main__":
    main()
