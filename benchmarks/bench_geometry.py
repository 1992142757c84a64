"""Geodesic mass and ricci_flow: sk_ricci vs. the straightforward baselines.

Side by side in one run, medians of repeats, ratios printed:

(a) scipy: ``shortest_path(G, unweighted=True, method="D")`` then ``.sum()``
    (an n x n float64 matrix);
(b) python-igraph: ``Graph.average_path_length(directed=False) * n * (n - 1)``
    (igraph's C BFS, which the authors' R code calls).

Usage::

    python benchmarks/bench_geometry.py            # everything (~10 min)
    python benchmarks/bench_geometry.py --quick    # small cases only

Needs ``pip install python-igraph`` (the ``bench`` extra).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from sk_ricci import geodesic_mass, knn_graph, ricci_flow, total_curvature

PAPER_IMAGE_GRID = [10, 20, 30, 50, 90, 100, 120, 150, 250, 350, 500]


def points(n, d=10, seed=0):
    return np.random.RandomState(seed).normal(size=(n, d))


def relu_layers(n, depth=11, width=50, seed=0):
    """Activations of a random (He-initialised) ReLU net on a 3-D spiral."""
    rng = np.random.RandomState(seed)
    t = rng.uniform(1.5 * np.pi, 4.5 * np.pi, n)
    X = np.c_[t * np.cos(t), rng.uniform(0, 10, n), t * np.sin(t)]
    X = (X - X.mean(0)) / X.std(0)
    layers, h = [], X
    for _ in range(depth):
        W = rng.normal(scale=np.sqrt(2.0 / h.shape[1]), size=(h.shape[1], width))
        h = np.maximum(h @ W + 0.1, 0)
        layers.append(h)
    return layers


def timeit(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def scipy_mass(G):
    return float(shortest_path(G, unweighted=True, method="D", directed=False).sum())


def igraph_mass(G):
    import igraph

    C = sp.triu(G, k=1).tocoo()
    g = igraph.Graph(n=G.shape[0], edges=list(zip(C.row.tolist(), C.col.tolist())))
    n = G.shape[0]
    return g.average_path_length(directed=False) * n * (n - 1)


def bench_mass(n, k, repeats, n_jobs):
    G = knn_graph(points(n), k)
    geodesic_mass(G)  # compile
    rows = []
    for jobs in sorted({1, n_jobs}):
        t, ours = timeit(lambda j=jobs: geodesic_mass(G, n_jobs=j).total, repeats)
        rows.append((jobs, t, ours))
    t_sp, ref_sp = timeit(lambda: scipy_mass(G), max(1, repeats // 2))
    t_ig, ref_ig = timeit(lambda: igraph_mass(G), max(1, repeats // 2))
    best = min(t_sp, t_ig)
    for jobs, t_ours, ours in rows:
        assert ours == ref_sp and abs(ours - ref_ig) <= 1e-6 * ours
        print(
            f"| geodesic_mass n={n} k={k} nnz={G.nnz}, {jobs} thread(s) | "
            f"{t_ours:.4f} | {t_sp:.3f} | {t_ig:.3f} | {t_sp / t_ours:.0f}x | "
            f"{t_ig / t_ours:.0f}x | {best / t_ours:.0f}x |",
            flush=True,
        )


_CHILD = r"""
import json, resource, sys, time
import numpy as np, scipy.sparse as sp
from sk_ricci import geodesic_mass
G = sp.load_npz(sys.argv[1])
geodesic_mass(G[:200][:, :200])  # compile outside the timing
times = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter(); r = geodesic_mass(G, n_jobs=int(sys.argv[3]))
    times.append(time.perf_counter() - t)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"times": times, "total": r.total, "rss_mb": rss}))
"""


def bench_large(n, k, repeats, n_jobs, tmpdir):
    t = time.perf_counter()
    G = knn_graph(points(n), k, algorithm="nndescent", random_state=0)
    t_graph = time.perf_counter() - t
    path = os.path.join(tmpdir, f"g{n}_{k}.npz")
    sp.save_npz(path, G)
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, path, str(repeats), str(n_jobs)],
        capture_output=True, text=True, check=True,
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    med = statistics.median(res["times"])
    print(
        f"| geodesic_mass n={n} k={k} nnz={G.nnz} | {med:.2f} s "
        f"(runs {', '.join(f'{x:.1f}' for x in res['times'])}) | peak RSS of the "
        f"whole process {res['rss_mb']:.0f} MB | mean distance "
        f"{res['total'] / (n * (n - 1)):.3f} | kNN graph (nndescent) "
        f"{t_graph:.1f} s | baselines need an n x n float64 matrix: "
        f"{n * n * 8 / 2**30:.0f} GiB |",
        flush=True,
    )


def baseline_flow(layers, grid, mass_fn):
    """The same loop as ricci_flow with sklearn graphs and a baseline BFS."""
    from sklearn.neighbors import kneighbors_graph

    out = []
    for k in grid:
        ric, mass = [], []
        for X in layers:
            A = kneighbors_graph(X, k, include_self=False)
            G = sp.csr_matrix(A.maximum(A.T))
            ric.append(total_curvature(G))
            mass.append(mass_fn(G))
        eta = np.diff(mass)
        out.append(np.corrcoef(eta, ric[:-1])[0, 1])
    return out


def bench_flow(n, grid, repeats, n_jobs):
    layers = relu_layers(n)
    ricci_flow(layers[:3], [10])  # compile
    t_ours, res = timeit(lambda: ricci_flow(layers, grid, n_jobs=n_jobs), repeats)
    ours = [r.coefficient for r in res]
    t_ig, ref_ig = timeit(lambda: baseline_flow(layers, grid, igraph_mass), 1)
    t_sp, ref_sp = timeit(lambda: baseline_flow(layers, grid, scipy_mass), 1)
    np.testing.assert_allclose(ours, ref_sp, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours, ref_ig, rtol=1e-6, atol=1e-9)
    best = min(t_sp, t_ig)
    print(
        f"| ricci_flow 11 layers n={n}, {len(grid)} k | {t_ours:.2f} | "
        f"{t_sp:.1f} | {t_ig:.1f} | {t_sp / t_ours:.0f}x | {t_ig / t_ours:.0f}x | "
        f"{best / t_ours:.0f}x |",
        flush=True,
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small cases only")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--large-n", type=int, default=50_000)
    p.add_argument("--tmpdir", default="/tmp")
    args = p.parse_args(argv)
    import numba

    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, numba "
        f"{numba.__version__}, {os.cpu_count()} cores, n_jobs={args.n_jobs}, "
        f"median of {args.repeats} (baselines: median of {max(1, args.repeats // 2)})"
    )
    print("| case | sk_ricci (s) | scipy D (s) | igraph (s) | vs scipy | "
          "vs igraph | vs faster baseline |")
    print("|---|---|---|---|---|---|---|")
    bench_mass(5000, 30, args.repeats, args.n_jobs)
    bench_mass(2000, 350, args.repeats, args.n_jobs)
    if args.quick:
        return
    bench_flow(2000, PAPER_IMAGE_GRID, 3, args.n_jobs)
    bench_large(args.large_n, 30, 3, args.n_jobs, args.tmpdir)


if __name__ == "__main__":
    main()
