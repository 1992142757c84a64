"""The flow of a ResNet-18 on many images, layer by layer, in bounded memory.

A ResNet-18 (the CIFAR variant: 3x3 stem, four stages of two BasicBlocks,
64-128-256-512 channels, 11.2 million parameters) with a fixed random
initialisation, in eval mode and in torch's ``channels_last`` memory format
(faster convolutions on CPUs; the same function), reads ``n`` synthetic 32x32
colour images (no download). Its 17 ReLU outputs (the stem's and two per
block) are read with :func:`sk_ricci.nn.stream_layer_activations`
(``pooling="mean"``: global average pooling, one float64 memory-mapped file
per layer), then :func:`sk_ricci.local_ricci_flow` with
``return_global=True`` reads the layers one at a time (``iter(acts)``) and
gives the local and the global flow from one neighbour search per layer.

Each ``n`` runs in its own child process, which reports the wall time of each
stage and its peak resident memory after each stage (``ru_maxrss`` of
:func:`resource.getrusage`: monotone, so the value after a stage is the peak
so far), and its CPU time (user + system, all threads: on a machine shared
with other work the wall time grows with the load, the CPU time much less;
the load average is recorded at the start and end). Stages:

1. ``images``: the synthetic images (float32, ``n x 3 x 32 x 32``);
2. ``forward``: forward passes in batches, global average pooling, writing;
3. ``flows``: ``local_ricci_flow(iter(acts), 30, return_global=True)``
   (``connect=None``, the paper's rule);
4. ``flows_mst`` (with ``--mst``): the same with ``connect="mst"`` (each
   layer's Euclidean minimum spanning tree added), which defines the global
   coefficient when some layer's graph is disconnected;
5. ``recall``: the approximate search (pynndescent) on the first and last
   layers against the exact neighbours of 1,000 sampled points;
6. ``graphs``: the kNN graph of every layer alone (``algorithm="auto"``), a
   breakdown: the flows build them too.

Each finished stage is also appended to ``bench_scale_progress.jsonl`` in the
system's temporary directory, so a run cut short keeps what it measured.

Usage (``--threads``: torch's, numba's and the flows' threads, default 2)::

    python benchmarks/bench_scale.py --n 5000 20000 50000 --mst

Each ``n`` prints one JSON line (and appends it to ``--out`` if given).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

K = 30
BATCH = 250
SAMPLE = 1000


def resnet18(num_classes=10):
    import torch
    from torch import nn

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu1 = nn.ReLU()
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
                )
            self.relu2 = nn.ReLU()

        def forward(self, x):
            out = self.relu1(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu2(out + self.shortcut(x))

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU()
            blocks, cin = [], 64
            for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
                blocks += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
                cin = cout
            self.blocks = nn.Sequential(*blocks)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(512, num_classes)

        def forward(self, x):
            x = self.blocks(self.relu(self.bn1(self.conv1(x))))
            return self.fc(torch.flatten(self.pool(x), 1))

    torch.manual_seed(0)
    return ResNet18()


def synthetic_images(n, seed=0):
    """``n`` 32x32 colour images of 10 classes: each class a smooth random
    pattern (a sum of 4 plane waves per channel), shifted, scaled and with
    noise per image."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:32, 0:32] / 32.0
    freq = rng.uniform(1, 4, size=(10, 3, 4, 2))
    phase = rng.uniform(0, 2 * np.pi, size=(10, 3, 4))
    labels = rng.randint(0, 10, size=n)
    X = np.empty((n, 3, 32, 32), dtype=np.float32)
    for start in range(0, n, 1000):
        lab = labels[start : start + 1000]
        m = len(lab)
        shift = rng.uniform(0, 2 * np.pi, size=(m, 1, 1, 1, 1))
        f = freq[lab][..., None, None]  # (m, 3, 4, 2, 1, 1)
        arg = 2 * np.pi * (f[:, :, :, 0] * xx + f[:, :, :, 1] * yy)
        waves = np.cos(arg + phase[lab][..., None, None] + shift).sum(axis=2)
        scale = rng.uniform(0.5, 1.5, size=(m, 1, 1, 1))
        X[start : start + m] = scale * waves / 2 + 0.3 * rng.normal(size=waves.shape)
    return X, labels


def _cpu_s():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _recall(X, sample, k, random_state=0):
    """Share of the exact k nearest neighbours of ``sample`` rows that the
    approximate search (pynndescent) finds."""
    from sk_ricci import kneighbors

    approx, _ = kneighbors(X, k, algorithm="nndescent", random_state=random_state)
    sq = np.einsum("ij,ij->i", X, X)
    hits = 0
    for start in range(0, len(sample), 100):
        rows = sample[start : start + 100]
        d = sq[rows, None] - 2 * X[rows] @ X.T + sq[None, :]
        d[np.arange(len(rows)), rows] = np.inf  # not itself
        exact = np.argpartition(d, k, axis=1)[:, :k]
        hits += sum(len(set(e) & set(a)) for e, a in zip(exact, approx[rows]))
    return hits / (len(sample) * k)


def child(n, out_dir, threads=2, mst=False, recall=True):
    import torch

    from sk_ricci import knn_graph, local_ricci_flow
    from sk_ricci._graph import resolve_algorithm
    from sk_ricci.nn import stream_layer_activations

    torch.set_num_threads(threads)
    row = {"n": n, "k": K, "threads": torch.get_num_threads()}
    times, cpu, peaks = {}, {}, {}
    row["load_start"] = [round(x, 2) for x in os.getloadavg()]
    cpu_start = [_cpu_s()]

    progress = os.path.join(os.path.dirname(os.path.abspath(out_dir)),
                            "bench_scale_progress.jsonl")

    def stage(name, start):
        times[name] = round(time.perf_counter() - start, 2)
        now = _cpu_s()
        cpu[name] = round(now - cpu_start[0], 2)
        cpu_start[0] = now
        peaks[name] = round(_peak_mb(), 1)
        with open(progress, "a") as fh:  # what a run cut short has measured
            fh.write(json.dumps({"n": n, "stage": name, "time_s": times[name],
                                 "cpu_s": cpu[name], "peak_rss_mb": peaks[name],
                                 "load": os.getloadavg()[0]}) + "\n")

    t = time.perf_counter()
    X, _ = synthetic_images(n)
    model = resnet18().to(memory_format=torch.channels_last)
    stage("images", t)

    t = time.perf_counter()
    acts = stream_layer_activations(
        model, X, batch_size=BATCH, pooling="mean", directory=out_dir
    )
    del X
    stage("forward", t)
    row["layers"] = len(acts)
    row["widths"] = [a.shape[1] for a in acts]
    row["algorithm"] = resolve_algorithm("auto", n, K)

    def flows(name, connect):
        t = time.perf_counter()
        with warnings.catch_warnings():  # disconnected layers: NaN, recorded
            warnings.simplefilter("ignore")
            loc, glob = local_ricci_flow(
                iter(acts), K, connect=connect, random_state=0, n_jobs=threads,
                return_global=True,
            )
        stage(name, t)
        suffix = "" if connect is None else "_mst"
        rho = glob.coefficient
        row["rho" + suffix] = None if np.isnan(rho) else round(float(rho), 4)
        row["components" + suffix] = [int(c) for c in glob.n_components]
        row["local_mean" + suffix] = (
            None if np.isnan(loc.mean) else round(float(loc.mean), 4)
        )
        row["local_undefined" + suffix] = loc.n_undefined

    flows("flows", None)
    if mst:
        flows("flows_mst", "mst")

    if recall:
        t = time.perf_counter()
        sample = np.random.RandomState(1).choice(n, min(SAMPLE, n), replace=False)
        row["recall_nndescent"] = [
            round(_recall(np.asarray(acts[i], dtype=np.float64), sample, K), 4)
            for i in (0, len(acts) - 1)
        ]
        stage("recall", t)

    t = time.perf_counter()
    for A in acts:
        knn_graph(A, K, random_state=0, n_jobs=threads)
    stage("graphs", t)
    row["load_end"] = [round(x, 2) for x in os.getloadavg()]
    row["time_s"], row["cpu_s"], row["peak_rss_mb"] = times, cpu, peaks
    row["path_s"] = round(sum(times[s] for s in ("images", "forward", "flows")), 1)
    print(json.dumps(row), flush=True)


def forward_check(n, threads, repeats=3):
    """Wall time of the forward passes over ``n`` images, median of
    ``repeats``: bare (no hooks) in the default and in the ``channels_last``
    memory format, and through ``stream_layer_activations(pooling="mean")``
    (hooks, pooling, writing) in ``channels_last``; each after one warm-up
    batch."""
    import torch

    from sk_ricci.nn import stream_layer_activations

    torch.set_num_threads(threads)
    X, _ = synthetic_images(n)
    row = {"n": n, "threads": threads, "repeats": repeats}

    def bare(model, memory_format):
        with torch.no_grad():
            for start in range(0, n, BATCH):
                batch = torch.as_tensor(X[start : start + BATCH])
                model(batch.contiguous(memory_format=memory_format))

    cases = {
        "bare_contiguous": (torch.contiguous_format, None),
        "bare_channels_last": (torch.channels_last, None),
        "stream_channels_last": (torch.channels_last, "stream"),
    }
    for name, (memory_format, how) in cases.items():
        model = resnet18().eval().to(memory_format=memory_format)
        with torch.no_grad():
            model(torch.as_tensor(X[:BATCH]).contiguous(memory_format=memory_format))
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            if how == "stream":
                stream_layer_activations(model, X, batch_size=BATCH, pooling="mean")
            else:
                bare(model, memory_format)
            times.append(time.perf_counter() - t)
        row[name + "_s"] = round(float(np.median(times)), 2)
    row["channels_last_speed_up"] = round(
        row["bare_contiguous_s"] / row["bare_channels_last_s"], 2)
    row["stream_overhead"] = round(
        row["stream_channels_last_s"] / row["bare_channels_last_s"] - 1, 3)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[5000])
    parser.add_argument("--out", default=None, help="append the JSON lines here")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch's, numba's and the flows' threads")
    parser.add_argument("--mst", action="store_true",
                        help='also run the flows with connect="mst"')
    parser.add_argument("--no-recall", action="store_true",
                        help="skip the recall stage (below 20,000 points the "
                        "flows search exactly, and pynndescent's compilation "
                        "alone then takes about 35 s)")
    parser.add_argument("--forward-check", type=int, metavar="N", default=None,
                        help="only time the forward passes over N images: bare "
                        "(default and channels_last formats) and streamed")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--dir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.forward_check is not None:
        print(json.dumps(forward_check(args.forward_check, args.threads)), flush=True)
        return
    if args.child is not None:
        child(args.child, args.dir, args.threads, args.mst, not args.no_recall)
        return
    for n in args.n:
        with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
            # one fresh process per n: its peak memory is that n's alone
            proc = subprocess.run(
                [sys.executable, __file__, "--child", str(n), "--dir", tmp,
                 "--threads", str(args.threads)]
                + (["--mst"] if args.mst else [])
                + (["--no-recall"] if args.no_recall else []),
                check=False, capture_output=True, text=True,
            )
        if proc.returncode:
            sys.stderr.write(proc.stderr)
            raise SystemExit(f"bench_scale: the child for n={n} failed "
                             f"(exit {proc.returncode}); its error is above")
        line = proc.stdout.strip().splitlines()[-1]
        print(line, flush=True)
        if args.out:
            with open(args.out, "a") as fh:
                fh.write(line + "\n")


if __name__ == "__main__":
    main()
