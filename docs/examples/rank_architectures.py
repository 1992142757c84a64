"""Rank architectures by flow strength with GridSearchCV.

Trains the paper's three architectures (narrow, wide, bottleneck) at two depths
on the entangled spirals (problem A) and scores every held-out fold by accuracy
and by flow strength (``RicciFlowScorer``'s default statistic, the negated mean
local Ricci coefficient; greater = more Ricci-flow-like; docs/selection.md
measures how well it ranks networks). Prints both side by side from
``cv_results_``.

    python docs/examples/rank_architectures.py           # ~1-2 minutes
    python docs/examples/rank_architectures.py --quick   # a few seconds
"""

import argparse

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sk_ricci import RicciFlowScorer
from sk_ricci.datasets import make_entangled_spirals
from sk_ricci.nn import ReLUMLPClassifier


def main(argv=None):
    parser = argparse.ArgumentParser(description="rank architectures by flow")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    n, epochs, depths = (240, 3, [5]) if args.quick else (900, 30, [5, 11])

    X, y = make_entangled_spirals(n, random_state=0)
    scoring = {
        "accuracy": "accuracy",
        # connect="mst": well-trained nets split their classes apart; the
        # Euclidean MST keeps every layer graph connected, so the
        # coefficient stays defined (the paper's rule would give NaN).
        "flow": RicciFlowScorer(n_neighbors=0.05, connect="mst"),
    }
    search = GridSearchCV(
        ReLUMLPClassifier(max_epochs=epochs, random_state=0),
        {"architecture": ["narrow", "wide", "bottleneck"], "depth": depths},
        scoring=scoring,
        refit="accuracy",
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
    ).fit(X, y)

    res = search.cv_results_
    print(f"{'architecture':<12} {'depth':>5} {'accuracy':>9} {'flow':>7} "
          f"{'rank acc':>8} {'rank flow':>9}")
    for i in np.argsort(res["rank_test_flow"]):
        p = res["params"][i]
        print(f"{p['architecture']:<12} {p['depth']:>5} "
              f"{res['mean_test_accuracy'][i]:>9.3f} {res['mean_test_flow'][i]:>7.3f} "
              f"{res['rank_test_accuracy'][i]:>8} {res['rank_test_flow'][i]:>9}")
    print(f"refit on accuracy: {search.best_params_}")
    return search


if __name__ == "__main__":
    main()
