"""stream_layer_activations: the layers of layer_activations written to disk
batch by batch (exactly equal), the opt-in reductions (global average
pooling, Gaussian random projection) against independent computations, and
the Johnson-Lindenstrauss bound on a case whose kNN graphs are known."""

import os
from collections import OrderedDict

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from scipy.spatial.distance import pdist
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.random_projection import johnson_lindenstrauss_min_dim
from torch import nn

from sk_ricci import kneighbors, knn_graph, local_ricci_flow, ricci_flow
from sk_ricci.exceptions import SkRicciWarning
from sk_ricci.nn import (
    LayerActivations,
    ReLUMLP,
    global_average_pool,
    jl_distortion,
    layer_activations,
    stream_layer_activations,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _cnn():
    torch.manual_seed(0)
    return nn.Sequential(OrderedDict([
        ("block1", nn.Sequential(OrderedDict([
            ("conv", nn.Conv2d(1, 4, 3, padding=1)),
            ("act", nn.LeakyReLU(0.1)),
        ]))),
        ("block2", nn.Sequential(OrderedDict([
            ("conv", nn.Conv2d(4, 6, 3, padding=1)),
            ("act", nn.ReLU()),
            ("pool", nn.MaxPool2d(2)),
        ]))),
        ("block3", nn.Sequential(OrderedDict([
            ("conv", nn.Conv2d(6, 6, 3, padding=1)),
            ("act", nn.ReLU()),
        ]))),
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(6 * 4 * 4, 10)),
        ("relu", nn.ReLU()),
        ("out", nn.Linear(10, 3)),
    ]))


def _images(n=37, seed=0):
    return np.random.RandomState(seed).normal(size=(n, 1, 8, 8)).astype(np.float32)


def _assert_same_layers(streamed, listed):
    assert isinstance(streamed, LayerActivations)
    assert streamed.names == listed.names
    assert len(streamed) == len(listed)
    for got, want in zip(streamed, listed):
        assert isinstance(got, np.memmap) and not got.flags.writeable
        assert got.dtype == want.dtype == np.float64
        assert_array_equal(got, want)  # exactly


# -- equal to layer_activations ---------------------------------------------------


@pytest.mark.parametrize("layers", [
    ["block1.act", "block2.pool", "relu"],
    nn.ReLU,
    [-1, 0],
    lambda name, m: isinstance(m, nn.Conv2d),
])
@pytest.mark.parametrize("batch_size", [1, 10, 64])
def test_cnn_layers_equal_layer_activations(layers, batch_size):
    cnn, images = _cnn(), _images()
    # a type or positions among the ReLUs leave the LeakyReLU out, with a warning
    warns = layers is nn.ReLU or isinstance(layers, list) and isinstance(layers[0], int)
    with pytest.warns(SkRicciWarning, match="LeakyReLU") if warns else _nothing():
        listed = layer_activations(cnn, images, layers=layers, batch_size=batch_size)
    with pytest.warns(SkRicciWarning, match="LeakyReLU") if warns else _nothing():
        streamed = stream_layer_activations(
            cnn, images, layers=layers, batch_size=batch_size
        )
    _assert_same_layers(streamed, listed)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_default_selection_warns_as_layer_activations_does():
    cnn, images = _cnn(), _images()
    with pytest.warns(SkRicciWarning, match="LeakyReLU"):
        listed = layer_activations(cnn, images, batch_size=8)
    with pytest.warns(SkRicciWarning, match="LeakyReLU"):
        streamed = stream_layer_activations(cnn, images, batch_size=8)
    _assert_same_layers(streamed, listed)


def test_mlps_equal_layer_activations():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(53, 5))
    torch.manual_seed(1)
    relu_mlp = ReLUMLP(5, 2, architecture="bottleneck", depth=5)
    _assert_same_layers(
        stream_layer_activations(relu_mlp, X.astype(np.float32), batch_size=7),
        layer_activations(relu_mlp, X.astype(np.float32), batch_size=7),
    )
    y = (X[:, 0] > 0).astype(int)
    mlp = MLPClassifier((8, 6, 4), max_iter=30, random_state=0).fit(X, y)
    # scikit-learn's MLPs: layer_activations multiplies all rows at once, so
    # exactly equal in one batch; in several, NumPy's product of a block of
    # rows may round the last bit differently
    _assert_same_layers(
        stream_layer_activations(mlp, X, batch_size=53), layer_activations(mlp, X)
    )
    listed = layer_activations(mlp, X, layers=["hidden_2", "hidden_0"])
    streamed = stream_layer_activations(
        mlp, X, layers=["hidden_2", "hidden_0"], batch_size=4
    )
    assert streamed.names == listed.names == ["hidden_0", "hidden_2"]
    for got, want in zip(streamed, listed):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)
    pipe = make_pipeline(StandardScaler(), mlp).fit(X, y)
    _assert_same_layers(
        stream_layer_activations(pipe, X, layers=[-1, 0], batch_size=60),
        layer_activations(pipe, X, layers=[-1, 0]),
    )
    # the oracle: the network's layers on the scaler's output, by hand
    scaled = pipe[0].transform(X)
    by_hand = layer_activations(pipe[-1], scaled)
    _assert_same_layers(stream_layer_activations(pipe, X), by_hand)
    listed = layer_activations(pipe, X)
    assert listed.names == by_hand.names
    for got, want in zip(listed, by_hand):
        assert_array_equal(got, want)


def test_streamed_layers_give_the_flows_of_the_list():
    cnn, images = _cnn(), _images(n=60)
    names = ["block1.act", "block2.act", "block3.act", "relu"]
    listed = layer_activations(cnn, images, layers=names)
    streamed = stream_layer_activations(cnn, images, layers=names, batch_size=16)
    a = ricci_flow(listed, 6, connect="mst")
    b = ricci_flow(iter(streamed), 6, connect="mst")
    assert_array_equal(a.total_curvature, b.total_curvature)
    assert_array_equal(a.geodesic_mass, b.geodesic_mass)
    assert a.coefficient == b.coefficient
    la = local_ricci_flow(listed, 6, connect="mst")
    lb = local_ricci_flow(iter(streamed), 6, connect="mst")
    assert_array_equal(la.coefficients, lb.coefficients)


# -- files ------------------------------------------------------------------------


def test_files_in_the_given_directory(tmp_path):
    cnn, images = _cnn(), _images()
    acts = stream_layer_activations(
        cnn, images, layers=["block1.act", "relu"], directory=tmp_path, batch_size=5
    )
    assert sorted(os.listdir(tmp_path)) == ["000_block1.act.npy", "001_relu.npy"]
    assert_array_equal(np.load(tmp_path / "001_relu.npy"), acts[1])
    # never overwritten: a second call into the same directory is an error
    with pytest.raises(FileExistsError, match="never overwrites"):
        stream_layer_activations(
            cnn, images, layers=["block1.act", "relu"], directory=tmp_path
        )
    assert_array_equal(np.load(tmp_path / "001_relu.npy"), acts[1])


def test_temporary_files_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    acts = stream_layer_activations(_cnn(), _images(), layers=["relu"])
    assert os.listdir(tmp_path) == []  # mapped, then unlinked
    assert acts[0].shape == (37, 10) and np.isfinite(acts[0]).all()


def test_failed_call_leaves_no_file(tmp_path):
    class SkipsSecond(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.ReLU(), nn.ReLU()

        def forward(self, x):
            return self.a(x)

    with pytest.raises(ValueError, match="never called"):
        stream_layer_activations(
            SkipsSecond(), np.ones((6, 3), np.float32), layers=["a", "b"],
            directory=tmp_path,
        )
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="out of range"), pytest.warns(SkRicciWarning):
        stream_layer_activations(_cnn(), _images(), layers=[5], directory=tmp_path)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("kwargs, error, match", [
    ({"batch_size": 0}, ValueError, "batch_size must be a positive int; got 0"),
    ({"batch_size": -3}, ValueError, "batch_size must be a positive int"),
    ({"batch_size": True}, ValueError, "batch_size must be a positive int"),
    ({"batch_size": 2.5}, ValueError, "batch_size must be a positive int"),
    ({"pooling": "max"}, ValueError, "pooling must be None or 'mean'.*'max'"),
    ({"pooling": True}, ValueError, "pooling must be None or 'mean'"),
    ({"n_components": 0}, ValueError, "n_components must be None or a positive int"),
    ({"n_components": 2.0}, ValueError, "n_components must be None or a positive"),
    ({"directory": 3}, TypeError, "directory must be None or a path"),
    ({"layers": "relu"}, ValueError, "layers must be 'hidden'"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        stream_layer_activations(_cnn(), _images(), **kwargs)


def test_bad_directories(tmp_path):
    missing = tmp_path / "missing"
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        stream_layer_activations(_cnn(), _images(), directory=missing)
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file, not a directory"):
        stream_layer_activations(_cnn(), _images(), directory=afile)
    assert not missing.exists()


def test_wrong_input_shape_is_a_clear_error():
    with pytest.raises(ValueError, match="forward pass of Sequential failed"):
        stream_layer_activations(
            _cnn(), np.ones((4, 1, 5, 5), np.float32), layers=["relu"]
        )
    with pytest.raises(ValueError, match="expects 5 features"):
        stream_layer_activations(ReLUMLP(5, 2, depth=3), np.ones((4, 3), np.float32))


# -- reductions -------------------------------------------------------------------


def test_global_average_pooling_is_the_mean_over_positions():
    cnn, images = _cnn(), _images()
    names = ["block1.act", "block2.pool", "block3.act", "relu"]
    full = layer_activations(cnn, images, layers=names, batch_size=6)
    pooled = stream_layer_activations(
        cnn, images, layers=names, pooling="mean", batch_size=6
    )
    assert [a.shape for a in pooled] == [(37, 4), (37, 6), (37, 6), (37, 10)]
    for X, (C, H, W), got in zip(full, [(4, 8, 8), (6, 4, 4), (6, 4, 4)], pooled):
        maps = X.reshape(37, C, H, W)
        by_hand = np.zeros((37, C))
        for i in range(H):
            for j in range(W):
                by_hand += maps[:, :, i, j]
        np.testing.assert_allclose(got, by_hand / (H * W), rtol=1e-12, atol=1e-15)
    assert_array_equal(pooled[3], full[3])  # (n, width): kept as it is
    # the public helper, on numpy and torch
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    assert_array_equal(global_average_pool(x), [[1.5, 5.5, 9.5], [13.5, 17.5, 21.5]])
    assert_array_equal(global_average_pool(torch.as_tensor(x)).numpy(),
                       global_average_pool(x))
    assert global_average_pool(x[:, :, 0, 0]) is not None
    assert_array_equal(global_average_pool(x[:, :, 0, 0]), x[:, :, 0, 0])


def test_random_projection_is_a_seeded_gaussian_matrix_per_wide_layer():
    cnn, images = _cnn(), _images()
    names = ["block1.act", "block2.pool", "relu"]  # widths 256, 96, 10
    full = layer_activations(cnn, images, layers=names, batch_size=8)
    got = stream_layer_activations(
        cnn, images, layers=names, n_components=20, random_state=7, batch_size=8
    )
    rng = np.random.RandomState(7)
    R0 = rng.normal(size=(256, 20)) / np.sqrt(20)
    R1 = rng.normal(size=(96, 20)) / np.sqrt(20)
    np.testing.assert_allclose(got[0], full[0] @ R0, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[1], full[1] @ R1, rtol=1e-10, atol=1e-12)
    assert_array_equal(got[2], full[2])  # no wider than 20: kept
    again = stream_layer_activations(
        cnn, images, layers=names, n_components=20, random_state=7
    )
    for a, b in zip(got, again):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    # a layer exactly as wide as n_components is kept, not rotated
    same = stream_layer_activations(
        cnn, images, layers=names, n_components=10, random_state=7, batch_size=8
    )
    assert_array_equal(same[2], full[2])
    # pooling first, then projection of what is still wider
    both = stream_layer_activations(
        cnn, images, layers=names, pooling="mean", n_components=5, random_state=0
    )
    assert [a.shape[1] for a in both] == [4, 5, 5]


def test_jl_distortion_solves_the_bound():
    for n, m in [(32, 2000), (1000, 500), (5000, 1024), (50000, 4096)]:
        eps = jl_distortion(n, m)
        assert 0 < eps < 1
        # Achlioptas' bound (4 + 2 beta) ln n / (eps^2/2 - eps^3/3) with beta = 1
        # is scikit-learn's 4 ln(n') / (...) at n' = n ** 1.5
        assert abs(johnson_lindenstrauss_min_dim(n ** 1.5, eps=eps) - m) <= 1
        assert jl_distortion(n, m + 50) < eps < jl_distortion(n, m - 50)
    assert jl_distortion(5000, 256) == np.inf  # 256 < 36 ln 5000
    assert jl_distortion(5000, 307) < 1
    for bad in [(1, 10), (10, 0), (10.0, 5), (10, True)]:
        with pytest.raises(ValueError, match="must be an int"):
            jl_distortion(*bad)


def _tree_layer(centres, seed, s=4, radius=1e-3, d=3000):
    """Clusters of ``s`` points of radius ``radius`` at ``centres`` (low
    dimension), rotated into ``d`` dimensions (distances unchanged)."""
    rng = np.random.RandomState(seed)
    low = np.repeat(np.asarray(centres, float), s, axis=0)
    low = low + radius * rng.normal(size=low.shape)
    Q, _ = np.linalg.qr(rng.normal(size=(d, low.shape[1])))
    return low @ Q.T


def _on_axes(points, dim=8):
    out = np.zeros((len(points), dim))
    for i, (axis, value) in enumerate(points):
        if axis is not None:
            out[i, axis] = value
    return out


class _Lookup(nn.Module):
    """A "network" whose layers are given tables, row i for input i."""

    def __init__(self, tables):
        super().__init__()
        self.layers = nn.ModuleList(_Row(t) for t in tables)

    def forward(self, x):
        for layer in self.layers:
            layer(x)
        return x


class _Row(nn.Module):
    def __init__(self, table):
        super().__init__()
        self.table = torch.as_tensor(table)

    def forward(self, x):
        return self.table[x[:, 0].long()]


def test_projection_keeps_known_knn_graphs_and_the_coefficient():
    # 8 tight clusters of 4 points per layer, arranged as trees (a path with
    # doubling gaps, a star, a spider, two chains) so that every point's 7
    # nearest neighbours are its 3 cluster mates and the 4 points of one
    # other cluster, with a clear margin: each layer's kNN graph is known and
    # cannot change under a distortion below that margin
    path = _on_axes([(0, x) for x in [0, 1, 3, 7, 15, 31, 63, 127]])
    star = _on_axes([(None, 0), (1, 1.0)] + [(i, 1.1 + 0.05 * i) for i in range(2, 8)])
    spider = _on_axes([(None, 0), (0, 1), (0, 3), (0, 7), (1, 1.25), (1, 3.75),
                       (1, 8.75), (2, 1.5)])
    chains = _on_axes([(0, x) for x in [0, 1, 3, 7]]
                      + [(1, x) for x in [1.25, 3.75, 8.75, 18.75]])
    layers = [_tree_layer(c, seed) for seed, c in enumerate([path, star, spider,
                                                             chains, path])]
    k, n, m = 7, 32, 2000
    eps = jl_distortion(n, m)
    margin = np.sqrt((1 + eps) / (1 - eps))
    for X in layers:  # the premise: (k+1)-th / k-th distance above the bound
        _, dist = kneighbors(X, k + 1)
        assert (dist[:, k] / dist[:, k - 1]).min() > margin
    model = _Lookup(layers)
    index = np.arange(n, dtype=np.float32)[:, None]
    names = [f"layers.{i}" for i in range(5)]
    projected = stream_layer_activations(
        model, index, layers=names, n_components=m, random_state=0, batch_size=10
    )
    for X, P in zip(layers, projected):
        assert P.shape == (n, m)
        ratio = pdist(P) / pdist(X)
        assert np.sqrt(1 - eps) <= ratio.min() and ratio.max() <= np.sqrt(1 + eps)
        assert (knn_graph(X, k) != knn_graph(P, k)).nnz == 0
    before, after = ricci_flow(layers, k), ricci_flow(iter(projected), k)
    assert np.isfinite(before.coefficient)
    assert_array_equal(before.total_curvature, after.total_curvature)
    assert_array_equal(before.geodesic_mass, after.geodesic_mass)
    assert before.coefficient == after.coefficient
    # the premise matters: projected to 3 dimensions, the graphs change
    tiny = stream_layer_activations(
        model, index, layers=names, n_components=3, random_state=0
    )
    assert any((knn_graph(X, k) != knn_graph(P, k)).nnz for X, P in zip(layers, tiny))


@pytest.mark.parametrize("layout", ["float32", "channels_last", "float64",
                                    "bfloat16", "strided", "flat"])
def test_pooling_of_a_hooked_output_is_the_float64_mean(layout):
    # the streaming path sums each channel in float64 straight from the
    # output's values; the oracle: the float64 copy, summed by hand
    from sk_ricci.nn._reduce import pooled_float64

    g = torch.Generator().manual_seed(0)
    x = torch.relu(torch.randn(5, 3, 6, 7, generator=g)) * 1e3
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    elif layout == "float64":
        x = x.double() / 3
    elif layout == "bfloat16":
        x = x.to(torch.bfloat16)
    elif layout == "strided":
        x = x[:, :, ::2, 1:]
    elif layout == "flat":
        x = x[:, :, 0, 0]
    got = pooled_float64(x)
    assert got.dtype == torch.float64 and got.device.type == "cpu"
    x64 = x.to(torch.float64).numpy()
    if x64.ndim == 2:
        assert_array_equal(got.numpy(), x64)
        return
    by_hand = np.zeros(x64.shape[:2])
    for i in range(x64.shape[2]):
        for j in range(x64.shape[3]):
            by_hand += x64[:, :, i, j]
    np.testing.assert_allclose(got.numpy(), by_hand / (x64.shape[2] * x64.shape[3]),
                               rtol=1e-14)
