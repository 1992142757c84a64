"""Throughput of the paper-scale synthetic-A study: networks per hour.

The paper trains 36 networks for each of 6 architectures (narrow, wide,
bottleneck at depth 5 and 11) per problem, on 1,000 training and 1,000 test
points for 50 epochs, and measures each one's Ricci flow over the 17-value k
grid. This benchmark runs a subset of that study (``--repeats`` networks per
architecture instead of 36) through :func:`sk_ricci.study.run_study`, serially
and with each ``--n-jobs`` value side by side, and reports:

- wall time and networks per hour of each run, and its ratio to serial;
- the mean fit and flow time per network (from the results rows) and the
  flow/fit ratio;
- the extrapolated wall time of the full 216-network synthetic-A study and of
  the 1,512-network seven-problem grid (image pairs have 2,000 test points, so
  that figure is a lower bound).

With ``--epochs E`` below 50 the fit time is also extrapolated linearly to 50
epochs (the flow time does not depend on the epochs).

Run ``python benchmarks/bench_study.py`` (6 architectures x 1 repeat, serial
and 2 workers: a few minutes on 2 cores) or ``--repeats 36`` for the real
thing.
"""

import argparse
import statistics
import tempfile
import time

from sk_ricci.study import StudyConfig, load_results, run_study

PAPER_EPOCHS = 50
PAPER_NETWORKS_A = 6 * 36
PAPER_NETWORKS_ALL = 7 * 6 * 36


def _fmt_h(seconds):
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def run(config, n_jobs, backend):
    with tempfile.TemporaryDirectory(prefix="bench_study_") as out:
        t0 = time.perf_counter()
        run_study(
            config, out, n_jobs=n_jobs, backend=backend, quiet=True, report=False
        )
        wall = time.perf_counter() - t0
        rows = load_results(out)
    return wall, rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=1,
                        help="networks per architecture (paper: 36)")
    parser.add_argument("--epochs", type=int, default=PAPER_EPOCHS)
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--n-jobs", type=int, nargs="+", default=[1, 2],
                        help="worker counts to compare (default: 1 2)")
    parser.add_argument("--backend", default="loky", choices=["loky", "dask", "ray"])
    args = parser.parse_args(argv)

    config = StudyConfig(
        problems=["A"], repeats=args.repeats, max_epochs=args.epochs,
        n_train=args.n_train, n_test=args.n_test,
    )
    n = len(config.networks())
    grid = config.n_neighbors_grid("A", args.n_test)
    print(
        f"synthetic-A study subset: {n} networks (6 architectures x {args.repeats}), "
        f"n_train={args.n_train}, n_test={args.n_test}, {args.epochs} epochs, "
        f"{len(grid)} k values {grid}, backend={args.backend}"
    )
    header = (
        f"{'n_jobs':>6} {'wall':>9} {'net/h':>8} {'speedup':>8} {'fit/net':>8} "
        f"{'flow/net':>9} {'flow/fit':>9} {'net/h@50ep':>11} {'A study':>9} "
        f"{'7 problems':>11}"
    )
    print(header)
    print("-" * len(header))
    serial = None
    for n_jobs in args.n_jobs:
        wall, rows = run(config, n_jobs, args.backend)
        fit = statistics.mean(r["fit_time_s"] for r in rows)
        flow = statistics.mean(r["flow_time_s"] for r in rows)
        per_hour = n / wall * 3600
        # extrapolate to the paper's epochs: per-network cost scales for the fit
        scale = (fit * PAPER_EPOCHS / args.epochs + flow) / (fit + flow)
        per_hour_50 = per_hour / scale
        serial = serial or per_hour
        print(
            f"{n_jobs:>6} {wall:>8.1f}s {per_hour:>8.0f} {per_hour / serial:>7.2f}x "
            f"{fit:>7.2f}s {flow:>8.2f}s {flow / fit:>9.2f} {per_hour_50:>11.0f} "
            f"{_fmt_h(PAPER_NETWORKS_A / per_hour_50 * 3600):>9} "
            f"{_fmt_h(PAPER_NETWORKS_ALL / per_hour_50 * 3600):>11}"
        )
        acc = [r["accuracy"] for r in rows]
        print(f"{'':>6} accuracy min/median/max {min(acc):.3f}/"
              f"{statistics.median(acc):.3f}/{max(acc):.3f}")


if __name__ == "__main__":
    main()
