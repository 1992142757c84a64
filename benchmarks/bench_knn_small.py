"""Exact kNN of a study's small layers: sk_ricci's kernel against alternatives.

sk_ricci's exact search (blocked BLAS Gram matrix, sampled threshold,
quickselect, exact re-check and (distance, index) order, in numba) against
(a) the same idea in plain numpy (blocked Gram, ``np.partition`` for the k-th
value, exact re-check of every candidate within the rounding tolerance,
``np.lexsort`` by (distance, index)) and (b) scikit-learn's
``NearestNeighbors(algorithm="brute")``, on the hidden layers of a trained
depth-11 wide network (1,000 test points of problem A), a 32 x 32 integer
grid (exact ties everywhere) and dead-ReLU duplicates. Median of 5 calls,
one thread; "same" compares the neighbours (and the numpy version's
distances) with sk_ricci's.

Run ``OMP_NUM_THREADS=1 python benchmarks/bench_knn_small.py`` (about a minute).
"""

import time

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

from sk_ricci._graph import _brute_kneighbors
from sk_ricci._validation import unit_scale
from sk_ricci.nn import ReLUMLPClassifier, layer_activations
from sk_ricci.study import StudyConfig, load_problem


def numpy_knn(X, k, block=256):
    """Blocked Gram, np.partition for the k-th approximate distance, exact
    re-check of every candidate within the rounding tolerance, (distance,
    index) order."""
    n = X.shape[0]
    sqn = np.einsum("ij,ij->i", X, X)
    scale = sqn.max()
    idx = np.empty((n, k), np.int64)
    sqd = np.empty((n, k))
    for s in range(0, n, block):
        e = min(n, s + block)
        D = sqn[s:e, None] - 2.0 * (X[s:e] @ X.T) + sqn[None, :]
        D[np.arange(e - s), np.arange(s, e)] = np.inf
        kth = np.partition(D, k - 1, axis=1)[:, k - 1]
        thr = kth + 1e-9 * (sqn[s:e] + scale) + 1e-300
        for r in range(e - s):
            cand = np.flatnonzero(D[r] <= thr[r])
            exact = ((X[cand] - X[s + r]) ** 2).sum(1)
            order = np.lexsort((cand, exact))[:k]
            idx[s + r] = cand[order]
            sqd[s + r] = exact[order]
    return idx, sqd


def _ms(f, n=5):
    f()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3


def main():
    torch.set_num_threads(1)
    X_train, y_train, X_test, _ = load_problem(
        "A", StudyConfig(problems=["A"], n_train=1000, n_test=1000)
    )
    clf = ReLUMLPClassifier(
        architecture="wide", depth=11, max_epochs=20, random_state=0
    )
    layers = layer_activations(clf.fit(X_train, y_train), X_test)
    g = np.arange(32.0)
    grid = np.array([(a, b) for a in g for b in g])  # exact ties everywhere
    rng = np.random.RandomState(0)
    dup = np.r_[np.zeros((300, 8)), np.abs(rng.normal(size=(700, 8)))]
    cases = {
        "layer 1": layers[0], "layer 6": layers[5], "layer 11": layers[10],
        "32x32 grid": grid, "dead-ReLU duplicates": dup,
    }
    print(
        f"{'points':<22}{'k':>4} {'sk_ricci ms':>12} {'numpy ms':>9} "
        f"{'sklearn ms':>11}  same(numpy)  same(sklearn)"
    )
    for name, X in cases.items():
        X, _ = unit_scale(np.ascontiguousarray(X, dtype=np.float64))
        for k in (10, 50):
            a = _brute_kneighbors(X, k, None, True)
            b = numpy_knn(X, k)
            nn = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(X)
            c = nn.kneighbors()[1]  # no query: each point's own row left out
            same_numpy = np.array_equal(a[0], b[0]) and np.allclose(
                a[1], b[1], rtol=1e-12, atol=0
            )
            print(
                f"{name:<22}{k:>4} "
                f"{_ms(lambda X=X, k=k: _brute_kneighbors(X, k, None, True)):>12.2f} "
                f"{_ms(lambda X=X, k=k: numpy_knn(X, k)):>9.2f} "
                f"{_ms(lambda nn=nn: nn.kneighbors()):>11.2f}  "
                f"{same_numpy!s:>11}  {np.array_equal(a[0], c)!s:>13}"
            )


if __name__ == "__main__":
    main()
