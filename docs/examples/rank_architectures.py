"""Rank architectures by flow strength with GridSearchCV.

Trains the paper's three architectures (narrow, wide, bottleneck) on the
entangled spirals (problem A) and scores every held-out fold by accuracy and
by flow strength (the paper's statistic: the negated Ricci coefficient, greater = more
Ricci-flow-like). Prints both side by side from ``cv_results_``, best flow
first.

This is the job of ``sk-ricci demo``: both run ``sk_ricci.run_demo``,
whose source shows the ``GridSearchCV`` (a ``StandardScaler`` and a
``ReLUMLPClassifier`` in a pipeline, scored by ``"accuracy"`` and
``RicciFlowScorer(n_neighbors=0.05, statistic="rho", connect="mst",
curvature="forman")``, the paper's statistic, refitted on accuracy).

    python docs/examples/rank_architectures.py          # depths 5 and 11
    python docs/examples/rank_architectures.py --quick  # depth 5 only

The full search takes about 1.5 minutes on a 2-core laptop and ``--quick``
about 20 seconds (measured through ``sk-ricci demo``, the same search: 112 s
and 39 s of CPU time on two workers; 3.9 minutes and 79 s of wall time on
this project's shared 2-core machine at load average 12).

Progress goes to stderr and to OUTPUT/demo.log.
"""

import argparse
import io

import numpy as np

from sk_ricci import run_demo


def build_parser():
    parser = argparse.ArgumentParser(description="rank architectures by flow")
    parser.add_argument("--quick", action="store_true",
                        help="depth 5 only, two folds (about 20 s on 2 cores)")
    parser.add_argument("--output", default="sk_ricci_output/rank_architectures",
                        help="folder of the log and the CSV (default: %(default)s)")
    parser.add_argument("--n-jobs", type=int, default=1,
                        help="GridSearchCV worker processes (default: 1)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    # run_demo's own table goes to `out`; this example prints its own below
    result = run_demo(quick=args.quick, output=args.output, n_jobs=args.n_jobs,
                      figures=False, out=io.StringIO())
    search = result.search
    res = search.cv_results_
    print(f"{'architecture':<12} {'depth':>5} {'accuracy':>9} {'flow':>7} "
          f"{'rank acc':>8} {'rank flow':>9}")
    for i in np.argsort(res["rank_test_flow"], kind="stable"):
        p = res["params"][i]
        print(f"{p['net__architecture']:<12} {p['net__depth']:>5} "
              f"{res['mean_test_accuracy'][i]:>9.3f} {res['mean_test_flow'][i]:>7.3f} "
              f"{res['rank_test_accuracy'][i]:>8} {res['rank_test_flow'][i]:>9}")
    print(f"refit on accuracy: {search.best_params_}, test accuracy "
          f"{result.test_accuracy:.3f}")
    print(f"log: {result.files[0]}")
    return search


if __name__ == "__main__":
    main()
