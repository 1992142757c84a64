"""Cost of RicciFlowScorer relative to training the network it scores.

The paper's synthetic setting: 1,000 training and 1,000 test points (problem A,
entangled spirals), depth 11, wide (50 units), 50 epochs, batch 32. Reports the
fit time, the scorer time at each k of the paper's synthetic grid, and the
ratio (target: one k costs under 5% of one fit). Medians: of --repeats fits,
and of --score-repeats scorer calls per k.

Then, side by side in the same run on 400 test points of the same network, the
default ``RicciFlowScorer()`` against ``RicciFlowScorer(statistic="rho")`` (the
same options, the global coefficient) and the paper's configuration
(``RicciFlowScorer(30, statistic="rho", connect=None, curvature="forman")``),
calls interleaved, with the ratios (target: the default at most 2x
``statistic="rho"``).

    python benchmarks/bench_scorer.py [--repeats 3] [--score-repeats 15] [--epochs 50]
    python benchmarks/bench_scorer.py --default-only   # only the side-by-side
"""

import argparse
import statistics
import time
import warnings

import numpy as np
import torch

from sk_ricci import RicciFlowScorer
from sk_ricci.datasets import make_entangled_spirals, paper_n_neighbors_grid
from sk_ricci.nn import ReLUMLPClassifier


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3, help="fits (default 3)")
    p.add_argument("--score-repeats", type=int, default=15,
                   help="scorer calls per k (default 15; they are cheap)")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads for training (default 1)")
    p.add_argument("--connect", default=None, choices=[None, "mst"])
    p.add_argument("--n-jobs", type=int, default=None,
                   help="RicciFlowScorer(n_jobs=...) (default None: one thread)")
    p.add_argument("--default-only", action="store_true",
                   help="one fit, then only the default-vs-rho comparison")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    X, y = make_entangled_spirals(2000, random_state=0)
    Xtr, ytr, Xte = X[:1000], y[:1000], X[1000:]
    fit_times, clf = [], None
    for r in range(1 if args.default_only else args.repeats):
        t = time.perf_counter()
        clf = ReLUMLPClassifier(architecture="wide", depth=11,
                                max_epochs=args.epochs, random_state=r).fit(Xtr, ytr)
        fit_times.append(time.perf_counter() - t)
    fit = statistics.median(fit_times)
    acc = clf.score(Xte, y[1000:])
    RicciFlowScorer(10)(clf, Xte[:100])  # compile kernels outside the timing
    if args.default_only:
        default_vs_rho(clf, Xte[:400], args.score_repeats)
        return
    grid = paper_n_neighbors_grid("A")
    print(f"fit: median {fit:.2f} s over {args.repeats} (depth 11 wide, "
          f"{args.epochs} epochs, 1000 points; test accuracy {acc:.3f}); "
          f"torch threads {args.threads}; scorer n_jobs={args.n_jobs}, "
          f"median of {args.score_repeats} calls per k")
    print("| k | scorer (s) | scorer / fit | flow strength | connected |")
    print("|---|---|---|---|---|")
    total = 0.0
    for k in grid:
        scorer = RicciFlowScorer(k, connect=args.connect, n_jobs=args.n_jobs)
        times = []
        for _ in range(args.score_repeats):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = time.perf_counter()
                s = scorer(clf, Xte)
                times.append(time.perf_counter() - t)
        med = statistics.median(times)
        total += med
        print(f"| {k} | {med:.3f} | {100 * med / fit:.2f}% | {s:.3f} | "
              f"{np.isfinite(s)} |", flush=True)
    print(f"whole grid ({len(grid)} k, one scorer call each): {total:.2f} s = "
          f"{100 * total / fit:.1f}% of one fit")
    default_vs_rho(clf, Xte[:400], args.score_repeats)


def default_vs_rho(clf, X, repeats):
    """Median seconds of the default scorer and of the rho scorers on ``X``,
    calls interleaved (so the machine's load hits all alike); returns them."""
    scorers = {
        "RicciFlowScorer()": RicciFlowScorer(),
        'RicciFlowScorer(statistic="rho")': RicciFlowScorer(statistic="rho"),
        "paper: RicciFlowScorer(30, statistic='rho', connect=None, "
        "curvature='forman')": RicciFlowScorer(30, statistic="rho", connect=None,
                                               curvature="forman"),
    }
    times = {name: [] for name in scorers}
    values = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for scorer in scorers.values():
            scorer(clf, X)  # warm-up (kernel compilation)
        for _ in range(repeats):
            for name, scorer in scorers.items():
                t = time.perf_counter()
                values[name] = scorer(clf, X)
                times[name].append(time.perf_counter() - t)
    med = {name: statistics.median(t) for name, t in times.items()}
    base = med['RicciFlowScorer(statistic="rho")']
    print(f"\ndefault vs rho on {X.shape[0]} points of the depth-11 network "
          f"(median of {repeats} interleaved calls each):")
    print("| scorer | seconds | / statistic='rho' | value |")
    print("|---|---|---|---|")
    for name in scorers:
        print(f"| {name} | {med[name]:.3f} | {med[name] / base:.2f}x | "
              f"{values[name]:+.3f} |")
    ratio = med["RicciFlowScorer()"] / base
    print(f"default / statistic='rho': {ratio:.2f}x (target <= 2x: "
          f"{'met' if ratio <= 2 else 'NOT met'})")
    return med


if __name__ == "__main__":
    main()
