"""Why do about half of problem C's networks miss the 0.91 threshold?

Three measurements on the study's own problem C (its seed, its 1,000 training
and 1,000 test points, as ``sk-ricci study`` loads them):

1. **data**: the accuracy of the Bayes rule (posterior from the generating
   densities, by quadrature over x) on the study's exact test set, and of a
   kNN classifier fitted on its training set (k by 5-fold CV): how far above
   0.91 the best possible classifier of *these* 1,000 test points lies;
2. **training**: networks of chosen groups (the study's seeds) trained for
   more than the paper's 50 epochs, their test and training accuracy
   recorded after every epoch (the first 50 epochs are the study's network):
   whether failing networks are under-trained;
3. **threshold**: given a study folder (``--study DIR``), C's test accuracy
   per group and the pass counts at thresholds around 0.91.

Run ``python benchmarks/diag_problem_c.py --study OUT`` (a few minutes on one
core). Prints markdown tables.
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
from scipy.stats import norm
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier

from sk_ricci.nn import ReLUMLPClassifier
from sk_ricci.study import StudyConfig, load_problem, network_seed
from sk_ricci.study._data import _load_raw

TWO_PI = 2 * np.pi


def bayes_predict(X, noise=0.2):
    """Bayes rule of make_intersecting_sheets (equal priors), by quadrature."""
    x0 = np.linspace(-TWO_PI, TWO_PI, 801)
    w = np.full(x0.size, 1.0)
    w[[0, -1]] = 0.5
    px = norm.pdf(X[:, :1], x0, noise) * w
    p0 = (px * norm.pdf(X[:, 2:3], np.sin(x0), noise)).sum(axis=1)
    p1 = (px * norm.pdf(X[:, 2:3], -np.sin(x0), noise)).sum(axis=1)
    return (p1 > p0).astype(int)


def data_section(config):
    X_train, y_train, X_test, y_test = _load_raw("C", config)
    bayes_test = float(np.mean(bayes_predict(X_test) == y_test))
    bayes_train = float(np.mean(bayes_predict(X_train) == y_train))
    Xs_train, ys_train, Xs_test, ys_test = load_problem("C", config)
    search = GridSearchCV(
        KNeighborsClassifier(), {"n_neighbors": list(range(1, 102, 4))}, cv=5
    ).fit(Xs_train, ys_train)
    knn = float(search.score(Xs_test, ys_test))
    n = len(y_test)
    print("## data\n")
    print(f"| classifier | test accuracy (n = {n}) |")
    print("|---|---:|")
    print(f"| Bayes rule (generating densities) | {bayes_test:.3f} |")
    print(f"| Bayes rule on the training points | {bayes_train:.3f} |")
    print(f"| kNN, k = {search.best_params_['n_neighbors']} by 5-fold CV | {knn:.3f} |")
    se = np.sqrt(0.933 * 0.067 / n)
    print(f"\nBinomial s.e. of one accuracy on {n} points at 0.933: {se:.4f}\n")
    return Xs_train, ys_train, Xs_test, ys_test


def _accuracy_callback(name, X, y):
    """A skorch callback recording the accuracy on (X, y) after every epoch
    as ``name`` (it only predicts: the training is the same as without it)."""
    from skorch.callbacks import Callback

    class Accuracy(Callback):
        def on_epoch_end(self, net, **kwargs):
            proba = np.asarray(net.predict_proba(X.astype(np.float32)))
            pred = (proba[:, -1] > 0.5).astype(int)
            net.history.record(name, float(np.mean(pred == y)))

    return Accuracy()


def train_section(data, groups, repeats, epochs, marks=(10, 25, 50, 100, 150, 200)):
    """Per network (the study's seeds): test accuracy after each mark epoch of
    one long training, whose first 50 epochs are the study's network."""
    X_train, y_train, X_test, y_test = data
    marks = [m for m in marks if m <= epochs]
    print(f"## training: test accuracy by epoch ({epochs} epochs, lr 1e-3)\n")
    print("| network | " + " | ".join(f"@{m}" for m in marks)
          + " | best (epoch) | train acc @50 | train acc @end | s |")
    print("|---|" + "---:|" * (len(marks) + 4))
    for arch, depth in groups:
        for r in repeats:
            seed = network_seed(0, "C", arch, depth, r)
            t0 = time.perf_counter()
            clf = ReLUMLPClassifier(
                architecture=arch, depth=depth, max_epochs=epochs,
                random_state=seed,
                callbacks=[_accuracy_callback("test_acc", X_test, y_test),
                           _accuracy_callback("train_acc_all", X_train, y_train)],
            ).fit(X_train, y_train)
            took = time.perf_counter() - t0
            test = np.asarray(clf.history_[:, "test_acc"], dtype=float)
            train = np.asarray(clf.history_[:, "train_acc_all"], dtype=float)
            print(
                f"| C/{arch}/d{depth}/r{r} | "
                + " | ".join(f"{test[m - 1]:.3f}" for m in marks)
                + f" | {test.max():.3f} ({int(test.argmax()) + 1}) | "
                f"{train[min(50, epochs) - 1]:.3f} | {train[-1]:.3f} | {took:.0f} |",
                flush=True,
            )
    print()


def threshold_section(folder):
    with open(Path(folder) / "results.jsonl") as f:
        rows = [json.loads(line) for line in f]
    rows = [r for r in rows if r.get("problem") == "C" and "accuracy" in r]
    print(f"## threshold (study folder, {len(rows)} networks of C)\n")
    cuts = (0.90, 0.905, 0.91, 0.915, 0.92)
    print("| group | n | median test acc | min-max | median train acc | "
          + " | ".join(f"> {c}" for c in cuts) + " |")
    print("|---|---:|---:|---|---:|" + "---:|" * len(cuts))
    groups = sorted({(r["architecture"], r["depth"]) for r in rows})
    for g in groups + [("all", 0)]:
        sel = [r for r in rows if g[0] == "all" or (r["architecture"], r["depth"]) == g]
        acc = [r["accuracy"] for r in sel]
        tr = [r["train_accuracy"] for r in sel]
        name = "all" if g[0] == "all" else f"{g[0]}/{g[1]}"
        print(f"| {name} | {len(sel)} | {statistics.median(acc):.3f} | "
              f"{min(acc):.3f}-{max(acc):.3f} | {statistics.median(tr):.3f} | "
              + " | ".join(str(sum(a > c for a in acc)) for c in cuts) + " |")
    print()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", help="a study folder with C's rows")
    parser.add_argument("--repeats", default="0,1,2,3",
                        help="repeat numbers of the study's networks")
    parser.add_argument("--groups", default="narrow/11",
                        help="comma-separated ARCH/DEPTH")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args(argv)
    config = StudyConfig(problems=["C"])
    data = data_section(config)
    if args.study:
        threshold_section(args.study)
    if not args.skip_training:
        groups = [(g.split("/")[0], int(g.split("/")[1]))
                  for g in args.groups.split(",")]
        repeats = [int(r) for r in args.repeats.split(",")]
        train_section(data, groups, repeats, args.epochs)


if __name__ == "__main__":
    main()
