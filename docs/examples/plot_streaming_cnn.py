"""
Layer by layer: the flow of a CNN's blocks, streamed from disk
==============================================================

:func:`sk_ricci.nn.layer_activations` returns every chosen layer as one array
in memory, which does not scale to convolutional networks on many images (one
64-channel 32x32 feature map is 65,536 numbers per image).
:func:`sk_ricci.nn.stream_layer_activations` reads the same layers in one
forward pass per batch of images and writes each layer to its own
memory-mapped file; :func:`sk_ricci.ricci_flow` and
:func:`sk_ricci.local_ricci_flow` then read an iterator of layers one at a
time, keeping only what the next layer needs. The results are exactly those
of the in-memory path.

Here a small CNN is trained on scikit-learn's 8x8 digits and its five blocks
are measured on 3,594 images (the 1,797 digits and a copy shifted by one
pixel). Optional reductions: global average pooling (``pooling="mean"``) and
a Gaussian random projection (``n_components``), with the
Johnson-Lindenstrauss distortion it guarantees (:func:`sk_ricci.nn.jl_distortion`).
See ``docs/networks.md`` for the memory of each step.

Takes about 50 seconds of CPU time on one core.
"""

# %%
# Data and network
# ----------------
import tempfile
from collections import OrderedDict

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from skorch import NeuralNetClassifier
from torch import nn

from sk_ricci import local_ricci_flow, ricci_flow
from sk_ricci.nn import jl_distortion, stream_layer_activations
from sk_ricci.plotting import plot_flow_by_layer

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=400, stratify=y, random_state=0
)


def block(conv, pool=False):
    parts = [("conv", conv), ("relu", nn.ReLU())]
    if pool:
        parts.append(("pool", nn.MaxPool2d(2)))
    return nn.Sequential(OrderedDict(parts))


def make_cnn():
    return nn.Sequential(OrderedDict([
        ("block1", block(nn.Conv2d(1, 16, 3, padding=1))),
        ("block2", block(nn.Conv2d(16, 16, 3, padding=1))),
        ("block3", block(nn.Conv2d(16, 32, 3, padding=1), pool=True)),
        ("block4", block(nn.Conv2d(32, 32, 3, padding=1))),
        ("block5", block(nn.Conv2d(32, 32, 3, padding=1), pool=True)),
        ("flatten", nn.Flatten()),
        ("out", nn.Linear(32 * 2 * 2, 10)),
    ]))


torch.set_num_threads(1)
torch.manual_seed(0)
net = NeuralNetClassifier(
    make_cnn(), criterion=nn.CrossEntropyLoss, optimizer=torch.optim.Adam,
    lr=3e-3, max_epochs=8, batch_size=64, iterator_train__shuffle=True,
    train_split=None, verbose=0,
)
net.fit(X_train, y_train)
print(f"test accuracy: {net.score(X_test, y_test):.3f}")

# a few thousand images: every digit, and a copy shifted one pixel right
images = np.concatenate([X, np.roll(X, 1, axis=3)])
print(images.shape)

# %%
# Streaming the blocks to disk
# ----------------------------
# One forward pass per batch of 512 images; each block's output (its ReLU) is
# written to ``<position>_<name>.npy`` in the directory given (a temporary one
# here). Only one batch of activations is ever in memory. The returned
# arrays are read-only memory maps of those files.
blocks = [f"block{i}.relu" for i in range(1, 6)]
workdir = tempfile.TemporaryDirectory()
acts = stream_layer_activations(
    net, images, layers=blocks, batch_size=512, directory=workdir.name
)
for name, layer in zip(acts.names, acts):
    print(f"{name:<12} {layer.shape}  {type(layer).__name__}, "
          f"{layer.nbytes / 2**20:.1f} MiB on disk")

# %%
# The flows read the layers one at a time
# ---------------------------------------
# ``iter(acts)`` makes the flows read one layer at a time: the global flow
# keeps each layer's total curvature and geodesic mass, the local flow the
# previous layer's graph. Same numbers as passing the list.
results = ricci_flow(iter(acts), n_neighbors=[10, 30], connect="mst")
for res in results:
    print(res)
local = local_ricci_flow(iter(acts), 30, connect="mst")
print(f"local coefficients: mean {np.nanmean(local.coefficients):+.3f}, "
      f"share negative {np.mean(local.coefficients < 0):.2f}")

fig, axes = plt.subplots(2, 1, sharex=True, figsize=(6, 5), layout="constrained")
plot_flow_by_layer(results, axes=axes)
plt.show()

# %%
# Reductions: pooling and random projection
# -----------------------------------------
# Global average pooling keeps each channel's mean response and forgets
# where it occurred: a coarser geometry, whose coefficient can differ, even
# in sign. A Gaussian random projection keeps every pairwise distance within
# the Johnson-Lindenstrauss factor with probability at least 1 - 1/n, but
# only from ``36 ln(n)`` dimensions on (295 here); below, ``jl_distortion``
# is ``inf`` (no guarantee) and the coefficient can move far, as it does
# here. ``docs/networks.md`` measures, dimension by dimension, how much of
# the kNN graphs a projection keeps on MNIST.
pooled = stream_layer_activations(net, images, layers=blocks, batch_size=512,
                                  pooling="mean")
print("pooled widths:", [a.shape[1] for a in pooled])
print(f"rho (k=30): whole maps {results[1].coefficient:+.3f}, "
      f"pooled {ricci_flow(iter(pooled), 30, connect='mst').coefficient:+.3f}")
for m in (16, 128):
    projected = stream_layer_activations(
        net, images, layers=blocks, batch_size=512, n_components=m, random_state=0
    )
    rho = ricci_flow(iter(projected), 30, connect="mst").coefficient
    print(f"projected to {m:>3} dims (JL eps {jl_distortion(len(images), m):.2f}): "
          f"rho {rho:+.3f}")
workdir.cleanup()
