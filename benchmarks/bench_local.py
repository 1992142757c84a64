"""local_ricci_flow against ricci_flow on the same layers.

Target: at n = 5,000 points, k = 30 and 11 hidden layers, the local (per-point)
coefficients cost at most 3x the global coefficient. Both run on one thread
(``n_jobs=None``) on the same list of layers, side by side; medians of
``--repeats`` calls, after one warm-up call that compiles the kernels.

Layers:

- ``trained``: the hidden activations of a ``ReLUMLPClassifier`` (depth 11,
  wide: 50 units) trained on problem A (entangled spirals) for ``--epochs``
  epochs, on a held-out test set of ``--n`` points;
- ``random``: a random He-initialised depth-11 ReLU network on a 3-D spiral
  (the layers of ``benchmarks/bench_geometry.py``).

Usage::

    python benchmarks/bench_local.py                  # n = 5000, k = 30
    python benchmarks/bench_local.py --quick          # n = 1000, one repeat
    python benchmarks/bench_local.py --curvature augmented_forman --connect mst
"""

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np

from sk_ricci import local_ricci_flow, ricci_flow

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def trained_layers(n, epochs, seed=0):
    import torch

    from sk_ricci.datasets import make_entangled_spirals
    from sk_ricci.nn import ReLUMLPClassifier, layer_activations

    torch.set_num_threads(1)
    X, y = make_entangled_spirals(2 * n, random_state=seed)
    clf = ReLUMLPClassifier(
        architecture="wide", depth=11, max_epochs=epochs, random_state=seed
    ).fit(X[:n], y[:n])
    acc = clf.score(X[n:], y[n:])
    return layer_activations(clf, X[n:]), f"trained ({epochs} epochs, test acc {acc:.3f})"


def random_layers(n, seed=0):
    from bench_geometry import relu_layers

    return relu_layers(n, depth=11, width=50, seed=seed), "random He-initialised"


def timeit(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=5000, help="points (default 5000)")
    p.add_argument("--k", type=int, default=30, help="n_neighbors (default 30)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--curvature", default="forman")
    p.add_argument("--connect", default=None, choices=[None, "mst"])
    p.add_argument("--symmetrize", default="max")
    p.add_argument("--layers", default="trained,random",
                   help="comma-separated: trained, random")
    p.add_argument("--quick", action="store_true",
                   help="n = 1000, one repeat, 5 epochs")
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.repeats, args.epochs = 1000, 1, 5
    opts = dict(symmetrize=args.symmetrize, connect=args.connect)
    print(f"n = {args.n}, k = {args.k}, symmetrize={args.symmetrize!r}, "
          f"connect={args.connect!r}, curvature={args.curvature!r}, one thread, "
          f"median of {args.repeats}")
    print("| layers | ricci_flow (s) | local_ricci_flow (s) | ratio | "
          "global rho | local mean | share negative | undefined |")
    print("|---|---|---|---|---|---|---|---|")
    for kind in args.layers.split(","):
        if kind == "trained":
            layers, label = trained_layers(args.n, args.epochs)
        elif kind == "random":
            layers, label = random_layers(args.n)
        else:
            raise SystemExit(f"unknown --layers entry {kind!r}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # warm-up: compile every kernel outside the timings
            ricci_flow(layers[:3], args.k, curvature=args.curvature, **opts)
            local_ricci_flow(layers[:3], args.k, curvature=args.curvature, **opts)
            t_glob, glob = timeit(
                lambda: ricci_flow(layers, args.k, curvature=args.curvature, **opts),
                args.repeats,
            )
            t_loc, loc = timeit(
                lambda: local_ricci_flow(
                    layers, args.k, curvature=args.curvature, **opts
                ),
                args.repeats,
            )
        print(f"| {label} | {t_glob:.2f} | {t_loc:.2f} | {t_loc / t_glob:.2f} | "
              f"{glob.coefficient:.3f} | {loc.mean:.3f} | "
              f"{loc.share_negative:.3f} | {loc.n_undefined} |")


if __name__ == "__main__":
    main()
