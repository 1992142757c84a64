"""How far the reductions of wide layers move the flow, on real images.

A small CNN (three 3x3 convolutions of 8, 16 and 16 channels, then a dense
ReLU layer of 64) is trained briefly on MNIST 1 vs 7 (500 training images),
and its four ReLU layers on the 500 test images (widths 6,272, 12,544, 3,136
and 64 as whole flattened maps) are read with
:func:`sk_ricci.nn.stream_layer_activations`: whole, with global average
pooling (``pooling="mean"``), and with Gaussian random projections to
``m`` dimensions (5 seeds each). For each reduction it prints the Ricci
coefficient (k = 10, ``connect="mst"``) and how much of every layer's kNN
graph is kept: the mean over points of the share of each point's 10 nearest
neighbours that are still among its 10 nearest (``knn_kept``), and the
Jaccard index of the graphs' edge sets (``edges_jaccard``), both averaged
over the three convolutional layers (the dense layer of 64 is left as it is
by pooling and by projections to 64 dimensions or more; it is projected by
the smaller ones and counts in their coefficient). ``eps`` is :func:`sk_ricci.nn.jl_distortion` of the
projection (``inf``: no guarantee at that dimension).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_reduction.py \\
        --mnist-path /path/to/mnist_1_7_6_8_subset.npz
"""

import argparse
import json

import numpy as np

K = 10
DIMS = [4, 16, 64, 256, 1024]
SEEDS = range(5)


def small_cnn():
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 2),
    )


def load_pair(path, digits=(1, 7)):
    data = np.load(path)
    X, y = data["X"], data["y"]
    keep = np.isin(y, digits)
    X = (X[keep] / 255.0).astype(np.float32).reshape(-1, 1, 28, 28)
    y = (y[keep] == digits[1]).astype(np.int64)
    order = np.random.RandomState(0).permutation(len(y))
    X, y = X[order], y[order]
    return X[:500], y[:500], X[500:1000], y[500:1000]


def train(model, X, y, epochs=5):
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    gen = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(yt), generator=gen).split(50):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    model.eval()
    return model


def knn_sets(X):
    from sk_ricci import kneighbors

    return kneighbors(np.asarray(X, dtype=np.float64), K)[0]


def compare(full_idx, full_graphs, layers):
    from sk_ricci import knn_graph

    kept, jac = [], []
    for idx, G, X in list(zip(full_idx, full_graphs, layers))[:3]:  # the conv layers
        other = knn_sets(X)
        kept.append(np.mean([len(set(a) & set(b)) / K for a, b in zip(idx, other)]))
        H = knn_graph(X, K)
        both = G.multiply(H).nnz
        jac.append(both / (G.nnz + H.nnz - both))
    return float(np.mean(kept)), float(np.mean(jac))


def main(argv=None):
    import torch

    from sk_ricci import knn_graph, ricci_flow
    from sk_ricci.nn import jl_distortion, stream_layer_activations

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-path", required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    X_train, y_train, X_test, y_test = load_pair(args.mnist_path)
    model = train(small_cnn(), X_train, y_train)
    with torch.no_grad():
        acc = float((model(torch.as_tensor(X_test)).argmax(1).numpy() == y_test).mean())
    print(json.dumps({"test_accuracy": round(acc, 4)}))

    def flow(**kw):
        acts = stream_layer_activations(model, X_test, batch_size=250, **kw)
        return acts, ricci_flow(iter(acts), K, connect="mst").coefficient

    full, rho_full = flow()
    widths = [a.shape[1] for a in full]
    full_idx = [knn_sets(a) for a in full]
    full_graphs = [knn_graph(a, K) for a in full]
    print(json.dumps({"reduction": "none", "widths": widths, "rho": round(rho_full, 4)}))
    pooled, rho = flow(pooling="mean")
    kept, jac = compare(full_idx, full_graphs, pooled)
    print(json.dumps({
        "reduction": "pooling='mean'", "widths": [a.shape[1] for a in pooled],
        "rho": round(rho, 4), "knn_kept": round(kept, 3), "edges_jaccard": round(jac, 3),
    }))
    for m in DIMS:
        rhos, kepts, jacs = [], [], []
        for seed in SEEDS:
            proj, rho = flow(n_components=m, random_state=seed)
            kept, jac = compare(full_idx, full_graphs, proj)
            rhos.append(rho)
            kepts.append(kept)
            jacs.append(jac)
        print(json.dumps({
            "reduction": f"n_components={m}", "eps": round(jl_distortion(500, m), 3),
            "rho_median": round(float(np.median(rhos)), 4),
            "rho_range": [round(min(rhos), 4), round(max(rhos), 4)],
            "knn_kept_median": round(float(np.median(kepts)), 3),
            "edges_jaccard_median": round(float(np.median(jacs)), 3),
        }))


if __name__ == "__main__":
    main()
