"""The exact Euclidean minimum spanning tree of ``connect="mst"`` on large layers.

Two measurements on the pooled layers of ``bench_scale.py``'s ResNet-18 (the
layers are streamed to ``--layers-dir`` on the first run and read from there
afterwards):

1. **Gram scan against loop scan**: :func:`sk_ricci._kernels.euclidean_mst`
   on the same (approximate, seeded) kNN lists, with Boruvka's brute-force
   scans reading BLAS blocks of the Gram matrix (the default from
   ``GRAM_MIN_SAMPLES`` points on) and with the pairwise loop; both kernels are
   compiled on a small sample first. Wall times, and whether the edges are
   the same.
2. **Approximate against exact lists**: the tree built from pynndescent's
   lists (what ``algorithm="auto"`` uses above 20,000 points) against the tree
   built from the exact lists: edges that differ and the ratio of total
   lengths (1 means the same tree length).

Usage (2 threads; the first run streams the layers, about 9 minutes at
50,000 images)::

    python benchmarks/bench_mst.py --n 50000 --layers-dir /tmp/resnet50k --layers 1 5

``--layers``: 1-based layer numbers (layer 1 is the stem's ReLU, 64 wide).
"""

import argparse
import glob
import importlib.util
import os
import time

import numpy as np

K = 30
HERE = os.path.dirname(os.path.abspath(__file__))


def _bench_scale():
    spec = importlib.util.spec_from_file_location(
        "bench_scale", os.path.join(HERE, "bench_scale.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def layer_paths(n, directory, threads):
    """The pooled layers' ``.npy`` files in ``directory``, streamed there
    first if it holds none."""
    paths = sorted(glob.glob(os.path.join(directory, "*.npy")))
    if paths:
        return paths
    import torch

    from sk_ricci.nn import stream_layer_activations

    scale = _bench_scale()
    torch.set_num_threads(threads)
    X, _ = scale.synthetic_images(n)
    model = scale.resnet18().to(memory_format=torch.channels_last)
    os.makedirs(directory, exist_ok=True)
    t = time.perf_counter()
    stream_layer_activations(model, X, batch_size=scale.BATCH, pooling="mean",
                             directory=directory)
    print(f"streamed {n} images in {time.perf_counter() - t:.1f} s", flush=True)
    return sorted(glob.glob(os.path.join(directory, "*.npy")))


def _edges(E):
    return {(int(min(a, b)), int(max(a, b))) for a, b in E}


def _length(X, E):
    return float(np.sqrt(((X[E[:, 0]] - X[E[:, 1]]) ** 2).sum(axis=1)).sum())


def measure(X, threads):
    import sk_ricci._kernels.mst as mst
    from sk_ricci._graph import _kneighbors_sq, unit_scale

    X, _ = unit_scale(np.asarray(X, dtype=np.float64))
    row = {"n": X.shape[0], "width": X.shape[1]}
    lists = {}
    for algorithm in ("nndescent", "brute"):
        t = time.perf_counter()
        lists[algorithm] = _kneighbors_sq(X, K, algorithm, "euclidean", 0, threads,
                                          True, False)
        row[f"search_{algorithm}_s"] = round(time.perf_counter() - t, 1)
    idx, sqd = lists["nndescent"]
    saved = mst.GRAM_MIN_SAMPLES
    trees = {}
    try:
        for name, threshold in (("gram", 0), ("loop", 10**12), ("gram", 0)):
            mst.GRAM_MIN_SAMPLES = threshold
            t = time.perf_counter()
            trees[name] = mst.euclidean_mst(X, idx, sqd, threads)
            row.setdefault(f"{name}_s", []).append(round(time.perf_counter() - t, 1))
    finally:
        mst.GRAM_MIN_SAMPLES = saved
    row["gram_equals_loop"] = _edges(trees["gram"]) == _edges(trees["loop"])
    exact = mst.euclidean_mst(X, *lists["brute"], threads)
    row["edges_differ_from_exact_lists"] = len(_edges(trees["gram"]) - _edges(exact))
    row["length_ratio"] = _length(X, trees["gram"]) / _length(X, exact)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50000)
    parser.add_argument("--layers-dir", required=True)
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    import sk_ricci._kernels.mst as mst
    from sk_ricci._graph import _kneighbors_sq

    paths = layer_paths(args.n, args.layers_dir, args.threads)
    # compile both scans (and the search) on a small sample first
    small = np.ascontiguousarray(np.load(paths[0], mmap_mode="r")[:2000],
                                 dtype=np.float64)
    idx, sqd = _kneighbors_sq(small, K, "brute", "euclidean", 0, 1, True, False)
    saved = mst.GRAM_MIN_SAMPLES
    for threshold in (0, 10**12):
        mst.GRAM_MIN_SAMPLES = threshold
        mst.euclidean_mst(small, idx, sqd, args.threads)
    mst.GRAM_MIN_SAMPLES = saved
    _kneighbors_sq(small, K, "nndescent", "euclidean", 0, 1, True, False)
    for layer in args.layers:
        row = measure(np.load(paths[layer - 1], mmap_mode="r"), args.threads)
        print({"layer": layer, **row}, flush=True)


if __name__ == "__main__":
    main()
