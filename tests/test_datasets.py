"""Tests for sk_ricci.datasets: synthetic problems, image loaders, paper settings.

Geometry checks restate the documented equations here instead of importing the
module's constants, so a change in the generators has to be made on purpose.
"""

import gzip
import hashlib
import io
import os
import struct
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.neighbors import KNeighborsClassifier

from sk_ricci.datasets import (
    PAPER_PROBLEMS,
    PROBLEM_NAMES,
    SYNTHETIC_PROBLEMS,
    _fetch,
    get_data_home,
    load_digits_pair,
    load_fashion_mnist_pair,
    load_mnist_pair,
    make_ellipsoids_in_box,
    make_entangled_spirals,
    make_intersecting_sheets,
    make_problem,
    paper_accuracy_threshold,
    paper_n_neighbors_grid,
    read_idx,
    resolve_problem,
)

MAKERS = [make_entangled_spirals, make_ellipsoids_in_box, make_intersecting_sheets]
TWO_PI = 2 * np.pi


def _shared_data_dir():
    env = os.environ.get("SK_RICCI_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data"


# --------------------------------------------------------------------------- #
# Synthetic problems: shapes, balance, reproducibility, validation
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("maker", MAKERS)
@pytest.mark.parametrize("n_samples, counts", [(2000, [1000, 1000]), (7, [4, 3])])
def test_shapes_dtypes_balance(maker, n_samples, counts):
    X, y = maker(n_samples, random_state=0)
    assert X.shape == (n_samples, 3)
    assert X.dtype == np.float64 and X.flags.c_contiguous
    assert np.issubdtype(y.dtype, np.integer)
    assert set(np.unique(y).tolist()) == {0, 1}
    assert np.bincount(y).tolist() == counts
    assert np.isfinite(X).all()


@pytest.mark.parametrize("maker", MAKERS)
def test_smallest_problem(maker):
    X, y = maker(2, random_state=0)
    assert X.shape == (2, 3)
    assert sorted(y.tolist()) == [0, 1]


@pytest.mark.parametrize("maker", MAKERS)
def test_reproducible(maker):
    X1, y1 = maker(300, noise=0.1, random_state=42)
    X2, y2 = maker(300, noise=0.1, random_state=42)
    X3, _ = maker(300, noise=0.1, random_state=43)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)
    X4, y4 = maker(300, noise=0.1, random_state=np.random.RandomState(42))
    np.testing.assert_array_equal(X1, X4)
    np.testing.assert_array_equal(y1, y4)


@pytest.mark.parametrize("maker", MAKERS)
def test_shuffle(maker):
    _, y = maker(200, random_state=0, shuffle=False)
    assert y.tolist() == [0] * 100 + [1] * 100
    _, y = maker(200, random_state=0)
    assert y.tolist() != sorted(y.tolist())


@pytest.mark.parametrize("maker", MAKERS)
@pytest.mark.parametrize("n_samples", [1, 0, -3, 2.5, "100", True])
def test_bad_n_samples(maker, n_samples):
    with pytest.raises(ValueError, match=r"n_samples=.* must be an integer >= 2"):
        maker(n_samples)


@pytest.mark.parametrize("maker", MAKERS)
@pytest.mark.parametrize("noise", [-0.1, float("nan"), float("inf"), "0.1"])
def test_bad_noise(maker, noise):
    with pytest.raises(ValueError, match=r"noise=.* must be a finite number >= 0"):
        maker(100, noise=noise)


def test_noise_moves_points():
    X0, _ = make_intersecting_sheets(500, noise=0.0, random_state=3)
    X1, _ = make_intersecting_sheets(500, noise=0.5, random_state=3)
    assert not np.allclose(X0, X1)


# --------------------------------------------------------------------------- #
# Geometry at noise=0, written from the documented equations
# --------------------------------------------------------------------------- #
def test_spirals_lie_on_their_parametrisation():
    X, y = make_entangled_spirals(4000, noise=0.0, random_state=0)
    x, h, z = X.T
    t = np.hypot(x, z)  # the radius equals the spiral parameter t
    assert t.min() >= 1.5 * np.pi - 1e-9 and t.max() <= 3.5 * np.pi + 1e-9
    assert t.max() > 3.4 * np.pi  # one full turn per sheet
    assert h.min() >= 0 and h.max() <= 21
    sign = np.where(y == 0, 1.0, -1.0)
    np.testing.assert_allclose(x, sign * t * np.cos(t), atol=1e-9)
    np.testing.assert_allclose(z, sign * t * np.sin(t), atol=1e-9)
    # the two sheets are interleaved: at every angle, class 1 sits pi further out
    theta = np.mod(np.arctan2(z, x), TWO_PI)
    offset = np.mod(t - theta, TWO_PI)  # 0 for class 0, pi for class 1
    np.testing.assert_allclose(
        np.minimum(offset, TWO_PI - offset), np.where(y == 0, 0.0, np.pi), atol=1e-6
    )


def test_spirals_sheets_stay_apart():
    X, y = make_entangled_spirals(4000, noise=0.0, random_state=1)
    from scipy.spatial import cKDTree

    d, _ = cKDTree(X[y == 1]).query(X[y == 0])
    assert d.min() > 3.0  # the two spiral curves are 3.10 apart at their closest


def test_ellipsoids_in_box_geometry():
    X, y = make_ellipsoids_in_box(6001, noise=0.0, random_state=0)
    axes = np.array([0.6, 0.4, 0.4])
    left = (((X - [-1.0, 0, 0]) / axes) ** 2).sum(axis=1)
    right = (((X - [1.0, 0, 0]) / axes) ** 2).sum(axis=1)
    inside = (left <= 1) | (right <= 1)
    # class 1 inside one ellipsoid, half of it in each
    assert inside[y == 1].all()
    assert sorted([(left[y == 1] <= 1).sum(), (right[y == 1] <= 1).sum()]) == [
        1500,
        1500,
    ]
    # class 0 in the box, outside both ellipsoids enlarged 1.5 times
    X0 = X[y == 0]
    assert (np.abs(X0) <= [2.0, 1.0, 1.0]).all()
    assert (left[y == 0] > 1.5**2).all() and (right[y == 0] > 1.5**2).all()
    # and it fills the box up to that shell: some points lie just outside it
    assert min(left[y == 0].min(), right[y == 0].min()) < 1.6**2
    # the empty shell keeps the classes at least 0.2 apart (short semi-axes 0.4)
    from scipy.spatial import cKDTree

    assert cKDTree(X[y == 1]).query(X0)[0].min() > 0.2
    # uniform in the box minus the enlarged ellipsoids: each half-box holds half
    assert abs((X0[:, 0] < 0).mean() - 0.5) < 0.03
    # uniform in the ellipsoid: P(level <= 0.5^2) = 0.5^3
    level1 = np.minimum(left, right)[y == 1]
    assert abs((level1 <= 0.25).mean() - 0.125) < 0.03


def test_sheets_lie_on_their_sheet():
    X, y = make_intersecting_sheets(3000, noise=0.0, random_state=0)
    x, yy, z = X.T
    assert np.abs(x).max() <= TWO_PI and np.abs(yy).max() <= np.pi
    np.testing.assert_allclose(z, np.where(y == 0, 1.0, -1.0) * np.sin(x), atol=1e-12)
    # both sheets cover the whole x-range (the crossing lines included)
    for c in (0, 1):
        assert np.histogram(x[y == c], bins=8, range=(-TWO_PI, TWO_PI))[0].min() > 100


# --------------------------------------------------------------------------- #
# Separability (A, B) and Bayes accuracy (C)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", ["A", "B"])
def test_separable_problems(name):
    X_train, y_train = make_problem(name, 30000, random_state=0)
    X_test, y_test = make_problem(name, 4000, random_state=1)
    acc = (
        KNeighborsClassifier(n_neighbors=1).fit(X_train, y_train).score(X_test, y_test)
    )
    assert acc > 0.99


def _sheets_class_densities(X, noise):
    """Oracle: p(x, z | class) for make_intersecting_sheets, by quadrature.

    x0 ~ U(-2 pi, 2 pi), z0 = +-sin(x0); the observation adds N(0, noise^2) to
    each coordinate. y carries no class information and is left out.
    """
    x0 = np.linspace(-TWO_PI, TWO_PI, 801)  # spacing 0.016 << noise
    w = np.full(x0.size, 1.0)
    w[[0, -1]] = 0.5
    w /= w.sum()
    px = norm.pdf(X[:, :1], x0, noise) * w  # (n, n_nodes)
    p0 = (px * norm.pdf(X[:, 2:3], np.sin(x0), noise)).sum(axis=1)
    p1 = (px * norm.pdf(X[:, 2:3], -np.sin(x0), noise)).sum(axis=1)
    return p0, p1


def _oracle_accuracy(X, y, noise, chunk=2000):
    hits = 0
    for start in range(0, len(X), chunk):
        p0, p1 = _sheets_class_densities(X[start : start + chunk], noise)
        hits += np.sum((p1 > p0).astype(int) == y[start : start + chunk])
    return hits / len(X)


def test_intersecting_sheets_not_separable_bayes_accuracy():
    # Monte Carlo estimate of the Bayes accuracy: classify fresh samples with
    # the posterior computed from the generating densities (equal priors).
    X, y = make_intersecting_sheets(10000, random_state=5)
    bayes = _oracle_accuracy(X, y, noise=0.2)  # 0.933 +- 0.0025 (MC error)
    assert 0.8 < bayes < 0.97
    assert abs(bayes - 0.933) < 0.01  # the value documented in the docstring
    # a large-sample kNN can approach but not beat it (up to sampling error)
    X_train, y_train = make_intersecting_sheets(40000, random_state=6)
    knn = KNeighborsClassifier(n_neighbors=51).fit(X_train, y_train).score(X, y)
    assert 0.85 < knn < bayes + 0.01


def test_intersecting_sheets_bayes_grows_as_noise_shrinks():
    X, y = make_intersecting_sheets(4000, noise=0.1, random_state=7)
    assert _oracle_accuracy(X, y, noise=0.1) > 0.95  # 0.966 documented


# --------------------------------------------------------------------------- #
# make_problem and paper settings
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("short, maker", list(zip(SYNTHETIC_PROBLEMS, MAKERS)))
def test_make_problem_dispatch(short, maker):
    expected = maker(200, random_state=0)
    for name in (short, short.lower(), PROBLEM_NAMES[short]):
        X, y = make_problem(name, 200, random_state=0)
        np.testing.assert_array_equal(X, expected[0])
        np.testing.assert_array_equal(y, expected[1])
    X, _ = make_problem(short, 200, noise=0.05, random_state=0)
    np.testing.assert_array_equal(X, maker(200, noise=0.05, random_state=0)[0])
    assert make_problem(PROBLEM_NAMES[short].replace("_", "-"), 10)[0].shape == (10, 3)


@pytest.mark.parametrize("name", ["D", "", None, 3, "spirals"])
def test_make_problem_unknown_name(name):
    with pytest.raises(ValueError, match="unknown synthetic problem"):
        make_problem(name)


def test_paper_n_neighbors_grid():
    synthetic = [6, 7, 9, 10, 15, 18, 20, 30, 50, 90, 100, 120, 140, 150, 160, 180]
    synthetic += [200]
    images = [10, 20, 30, 50, 90, 100, 120, 150, 250, 350, 500]
    for name in ("A", "b", "C", "entangled_spirals", "intersecting_sheets"):
        assert paper_n_neighbors_grid(name) == synthetic
    for name in PAPER_PROBLEMS[3:] + ("sandal_boot", "shirt_coat", "digits_1_7"):
        assert paper_n_neighbors_grid(name) == images
    assert paper_n_neighbors_grid("A", n_samples=1000) == synthetic
    assert paper_n_neighbors_grid("A", n_samples=2000) == [2 * k for k in synthetic]
    small = paper_n_neighbors_grid("mnist_1_7", n_samples=300)
    assert small == sorted(set(small)) and small[-1] < 300 and small[0] >= 1
    with pytest.raises(ValueError, match="unknown problem"):
        paper_n_neighbors_grid("mnist_2_3")
    with pytest.raises(ValueError, match="n_samples"):
        paper_n_neighbors_grid("A", n_samples=1)


def _connected_oracle(X, k):
    """Is the undirected union kNN graph of X connected? (sklearn + scipy)"""
    from scipy.sparse.csgraph import connected_components
    from sklearn.neighbors import kneighbors_graph

    A = kneighbors_graph(X, k, mode="connectivity", include_self=False)
    return connected_components(A + A.T, directed=False, return_labels=False) == 1


def test_paper_grid_starts_where_the_digits_input_graph_connects():
    X, _ = load_digits_pair((1, 7))
    X = X[::2]  # 181 images
    n = len(X)
    grid = paper_n_neighbors_grid("digits_1_7", X=X)
    k0 = grid[0]
    # independent check: the input graph is connected at the first k, not at k - 1
    assert _connected_oracle(X, k0)
    assert k0 > 1 and not _connected_oracle(X, k0 - 1)
    # the rest is the rescaled paper grid above k0
    scaled = paper_n_neighbors_grid("digits_1_7", n_samples=n)
    assert grid[1:] == [k for k in scaled if k > k0]
    assert scaled[0] < k0  # values below k0 were dropped
    # "sum" has the same support as "max"; n_samples must agree with X
    assert paper_n_neighbors_grid("digits_1_7", X=X, symmetrize="sum") == grid
    assert paper_n_neighbors_grid("digits_1_7", n, X=X) == grid
    with pytest.raises(ValueError, match="differs from the 181 rows of X"):
        paper_n_neighbors_grid("digits_1_7", 100, X=X)
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        paper_n_neighbors_grid("digits_1_7", X=X[0])


def test_study_grid_starts_where_the_input_graph_connects():
    from sk_ricci.study import StudyConfig

    X, _ = load_digits_pair((6, 8))
    X = X[::2]
    k0 = paper_n_neighbors_grid("mnist_6_8", X=X)[0]
    assert _connected_oracle(X, k0) and not _connected_oracle(X, k0 - 1)
    cfg = StudyConfig(problems=["digits_6_8"])
    assert cfg.n_neighbors_grid("digits_6_8", len(X), X_test=X)[0] == k0
    # without the test set: the rescaled grid, as before
    assert cfg.n_neighbors_grid("digits_6_8", len(X)) == paper_n_neighbors_grid(
        "digits_6_8", n_samples=len(X)
    )
    # an explicit grid is kept as given
    fixed = StudyConfig(problems=["digits_6_8"], n_neighbors=[2, 30])
    assert fixed.n_neighbors_grid("digits_6_8", len(X), X_test=X) == [2, 30]


def test_paper_grid_unchanged_when_input_never_connects():
    # two far clusters of 100 points: connected only from k = 100, beyond the
    # largest value of the rescaled grid (40), which is returned as it is
    X = np.r_[np.arange(100.0), 1000 + np.arange(100.0)].reshape(-1, 1)
    assert not _connected_oracle(X, 40)
    expected = paper_n_neighbors_grid("A", n_samples=200)
    assert expected[-1] == 40
    assert paper_n_neighbors_grid("A", X=X) == expected


def test_paper_accuracy_threshold():
    expected = {
        "A": 0.99,
        "B": 0.99,
        "C": 0.91,
        "mnist_1_7": 0.99,
        "mnist_6_8": 0.99,
        "fashion_sandal_boot": 0.98,
        "fashion_shirt_coat": 0.90,
    }
    assert {p: paper_accuracy_threshold(p) for p in PAPER_PROBLEMS} == expected
    assert paper_accuracy_threshold("ellipsoids_in_box") == 0.99
    assert paper_accuracy_threshold("coat_shirt") == 0.90
    with pytest.raises(ValueError, match="unknown problem"):
        paper_accuracy_threshold("cifar")


# --------------------------------------------------------------------------- #
# Bundled digits
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("pair, counts", [((1, 7), [182, 179]), ((6, 8), [181, 174])])
def test_load_digits_pair(pair, counts):
    X, y = load_digits_pair(pair)
    assert X.shape == (sum(counts), 64) and X.dtype == np.float64
    assert np.bincount(y).tolist() == counts
    assert X.min() >= 0 and X.max() <= 16
    bunch = load_digits_pair(pair, return_X_y=False)
    np.testing.assert_array_equal(bunch.data, X)
    assert bunch.target_names.tolist() == list(pair)
    np.testing.assert_array_equal(bunch.target, bunch.original_target == pair[1])
    assert bunch.images.shape == (len(X), 8, 8)


def test_load_digits_pair_swapped_labels():
    _, y17 = load_digits_pair((1, 7))
    _, y71 = load_digits_pair((7, 1))
    np.testing.assert_array_equal(y17, 1 - y71)


@pytest.mark.parametrize("pair", [(1, 1), (1, 10), (1,), (1, 2, 3), 5, ("1", "7")])
def test_bad_pair(pair):
    with pytest.raises(ValueError, match="must be two different integer labels"):
        load_digits_pair(pair)
    with pytest.raises(ValueError, match="must be two different integer labels"):
        load_mnist_pair(pair, data_home="/nonexistent")


# --------------------------------------------------------------------------- #
# IDX parser and local files, written by the tests
# --------------------------------------------------------------------------- #
def _idx_bytes(array, code):
    """Serialise an array in IDX format, written independently of the reader."""
    big = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4"}[code]
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += struct.pack(">" + "I" * array.ndim, *array.shape)
    return header + np.asarray(array, dtype=big).tobytes()


def _write(path, content, compress=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content) if compress else content)
    return path


def _fake_images(n=30, seed=0):
    rng = np.random.RandomState(seed)
    images = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10
    return images, labels


def _write_idx_subset(directory, prefix, images, labels, compress):
    suffix = ".gz" if compress else ""
    _write(
        directory / f"{prefix}-images-idx3-ubyte{suffix}",
        _idx_bytes(images, 8),
        compress,
    )
    _write(
        directory / f"{prefix}-labels-idx1-ubyte{suffix}",
        _idx_bytes(labels, 8),
        compress,
    )


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    "array, code",
    [
        (np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4), 0x08),
        (np.array([-5, 0, 7], dtype=np.int8), 0x09),
        (np.array([[-300, 2], [3, 30000]], dtype=np.int16), 0x0B),
        (np.array([-(2**31), 5, 2**31 - 1], dtype=np.int32), 0x0C),
        (np.array([[0.5, -1.25]], dtype=np.float32), 0x0D),
    ],
)
def test_read_idx_round_trip(tmp_path, array, code, compress):
    path = _write(tmp_path / "data-idx", _idx_bytes(array, code), compress)
    out = read_idx(path)
    assert out.shape == array.shape
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, array)


def test_read_idx_errors(tmp_path):
    bad_magic = _write(tmp_path / "bad", b"<html>not found</html>")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(bad_magic)
    bad_code = _write(
        tmp_path / "code", struct.pack(">BBBBI", 0, 0, 0x07, 1, 1) + b"\0"
    )
    with pytest.raises(ValueError, match="unknown IDX type code 0x07"):
        read_idx(bad_code)
    truncated = _write(
        tmp_path / "trunc", _idx_bytes(np.zeros((4, 5), np.uint8), 8)[:-3]
    )
    with pytest.raises(ValueError, match=r"shape \(4, 5\).*truncated or corrupt"):
        read_idx(truncated)


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_pair_idx(tmp_path, compress):
    images, labels = _fake_images()
    _write_idx_subset(tmp_path, "t10k", images, labels, compress)
    X, y = load_mnist_pair((1, 7), data_home=tmp_path)
    keep = np.isin(labels, [1, 7])
    assert X.shape == (keep.sum(), 784) and X.dtype == np.float64
    np.testing.assert_array_equal(X, images[keep].reshape(-1, 784))
    np.testing.assert_array_equal(y, labels[keep] == 7)
    bunch = load_mnist_pair((7, 1), data_home=tmp_path, return_X_y=False)
    np.testing.assert_array_equal(bunch.target, labels[keep] == 1)
    np.testing.assert_array_equal(bunch.original_target, labels[keep])
    assert bunch.target_names.tolist() == [7, 1]
    assert all(Path(f).is_file() for f in bunch.filenames)


def test_load_pair_train_all_and_subfolder(tmp_path):
    test_images, test_labels = _fake_images(20, seed=1)
    train_images, train_labels = _fake_images(40, seed=2)
    folder = tmp_path / "fashion-mnist"  # found through the subfolder
    _write_idx_subset(folder, "t10k", test_images, test_labels, True)
    _write_idx_subset(folder, "train", train_images, train_labels, False)
    X_test, _ = load_fashion_mnist_pair((5, 9), data_home=tmp_path)
    X_train, _ = load_fashion_mnist_pair((5, 9), data_home=tmp_path, subset="train")
    X_all, y_all = load_fashion_mnist_pair((5, 9), data_home=tmp_path, subset="all")
    assert len(X_test) == 4 and len(X_train) == 8
    np.testing.assert_array_equal(X_all, np.vstack([X_train, X_test]))
    assert y_all.tolist() == [0, 1] * 6
    bunch = load_fashion_mnist_pair(data_home=tmp_path, return_X_y=False)
    assert bunch.label_names == ["Sandal", "Ankle boot"]


def test_default_data_home_env(tmp_path, monkeypatch):
    images, labels = _fake_images()
    _write_idx_subset(tmp_path / "mnist", "t10k", images, labels, True)
    monkeypatch.setenv("SK_RICCI_DATA", str(tmp_path))
    assert get_data_home() == tmp_path
    X, _ = load_mnist_pair((6, 8))
    assert X.shape == (6, 784)
    # fashion-mnist lives in its own subfolder: not found next to MNIST
    with pytest.raises(FileNotFoundError, match="fashion-mnist"):
        load_fashion_mnist_pair()
    monkeypatch.delenv("SK_RICCI_DATA")
    assert get_data_home() == Path("~/sk_ricci_data").expanduser()


def test_idx_dot_names(tmp_path):
    images, labels = _fake_images()
    _write(tmp_path / "t10k-images.idx3-ubyte", _idx_bytes(images, 8))
    _write(tmp_path / "t10k-labels.idx1-ubyte", _idx_bytes(labels, 8))
    assert load_mnist_pair((1, 7), data_home=tmp_path)[0].shape == (6, 784)


@pytest.mark.parametrize("header", [False, True])
def test_load_pair_csv(tmp_path, header):
    images, labels = _fake_images()
    table = np.column_stack([labels, images.reshape(len(images), -1)])
    lines = [",".join(map(str, row)) for row in table]
    if header:  # Kaggle style
        lines.insert(0, "label," + ",".join(f"pixel{i + 1}" for i in range(784)))
    path = tmp_path / "fashion-mnist_test.csv"
    path.write_text("\n".join(lines) + "\n")
    X, y = load_fashion_mnist_pair((4, 6), data_home=tmp_path)
    keep = np.isin(labels, [4, 6])
    np.testing.assert_array_equal(X, images[keep].reshape(-1, 784))
    np.testing.assert_array_equal(y, labels[keep] == 6)
    X2, _ = load_fashion_mnist_pair((4, 6), data_home=path)  # the file itself
    np.testing.assert_array_equal(X2, X)


def test_load_pair_npz(tmp_path):
    images, labels = _fake_images()
    np.savez(tmp_path / "mnist_test.npz", X=images.reshape(-1, 784), y=labels)
    X, y = load_mnist_pair((1, 7), data_home=tmp_path)
    keep = np.isin(labels, [1, 7])
    np.testing.assert_array_equal(X, images[keep].reshape(-1, 784))
    np.testing.assert_array_equal(y, labels[keep] == 7)
    # keras-style mnist.npz passed as a file, images kept 28x28
    keras = tmp_path / "keras.npz"
    np.savez(
        keras, x_train=images[:5], y_train=labels[:5], x_test=images, y_test=labels
    )
    np.testing.assert_array_equal(load_mnist_pair((1, 7), data_home=keras)[0], X)
    assert len(load_mnist_pair((1, 0), data_home=keras, subset="train")[0]) == 2
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, images=images, labels=labels)
    with pytest.raises(ValueError, match="expected 'X' and 'y'"):
        load_mnist_pair(data_home=wrong)


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte") as info:
        load_mnist_pair(data_home=tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "download=True" in message
    assert "mnist_test.csv" in message
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte"):
        load_fashion_mnist_pair(data_home=tmp_path, subset="train")


def test_loader_argument_errors(tmp_path):
    images, labels = _fake_images()
    _write_idx_subset(tmp_path, "t10k", images[labels != 3], labels[labels != 3], False)
    with pytest.raises(ValueError, match=r"no image with label\(s\) \[3\]"):
        load_mnist_pair((3, 7), data_home=tmp_path)
    with pytest.raises(ValueError, match="subset='val' must be"):
        load_mnist_pair(data_home=tmp_path, subset="val")
    other = _write(tmp_path / "images.bin", b"\0\0\x08\x01")
    with pytest.raises(ValueError, match="neither .npz nor .csv"):
        load_mnist_pair(data_home=other)
    # images and labels that do not belong together
    _write(tmp_path / "t10k-labels-idx1-ubyte", _idx_bytes(labels[:5], 8))
    with pytest.raises(ValueError, match="do not belong together"):
        load_mnist_pair(data_home=tmp_path)


def test_download_offline(tmp_path, monkeypatch):
    """download=True against a fake mirror: checksum, header and count checked."""
    images, labels = _fake_images(20)
    served = {
        "t10k-images-idx3-ubyte.gz": gzip.compress(_idx_bytes(images, 8)),
        "t10k-labels-idx1-ubyte.gz": gzip.compress(_idx_bytes(labels, 8)),
    }
    calls = []

    def fake_urlopen(url, timeout=None):
        calls.append(url)
        return io.BytesIO(served[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    monkeypatch.setitem(_fetch._N_IMAGES, "test", 20)
    # unknown checksum: every mirror is rejected, nothing is left behind
    with pytest.raises(OSError, match="MD5"):
        load_mnist_pair(data_home=tmp_path, download=True)
    assert list(tmp_path.iterdir()) == []
    md5 = {name: hashlib.md5(data).hexdigest() for name, data in served.items()}
    for name, digest in md5.items():
        monkeypatch.setitem(_fetch.IMAGE_SETS["mnist"]["md5"], name, digest)
    calls.clear()
    X, y = load_mnist_pair((1, 7), data_home=tmp_path, download=True)
    assert X.shape == (4, 784) and y.tolist() == [0, 1, 0, 1]
    assert len(calls) == 2 and sorted(p.name for p in tmp_path.iterdir()) == sorted(md5)
    calls.clear()
    load_mnist_pair((1, 7), data_home=tmp_path, download=True)
    assert calls == []  # already there


# --------------------------------------------------------------------------- #
# Real data: the Fashion-MNIST sandal / ankle boot test images
# --------------------------------------------------------------------------- #
def test_real_fashion_sandal_boot():
    path = _shared_data_dir() / "fashion-mnist" / "sandal_vs_ankle_boot_test.npz"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    X, y = load_fashion_mnist_pair((5, 9), data_home=path)
    assert X.shape == (2000, 784) and X.dtype == np.float64
    assert X.min() >= 0 and X.max() == 255
    assert np.bincount(y).tolist() == [1000, 1000]
    bunch = load_fashion_mnist_pair((5, 9), data_home=path, return_X_y=False)
    assert set(bunch.original_target.tolist()) == {5, 9}
    np.testing.assert_array_equal(bunch.target, bunch.original_target == 9)
    raw = np.load(path)
    np.testing.assert_array_equal(X, raw["X"].astype(np.float64))
    with pytest.raises(ValueError, match=r"no image with label\(s\) \[6, 4\]"):
        load_fashion_mnist_pair((6, 4), data_home=path)


# --------------------------------------------------------------------------- #
# The one problem registry
# --------------------------------------------------------------------------- #
def test_every_name_resolves_the_same_everywhere():
    """Each alias gives the same problem to the data sets, the paper settings
    and the study (three registries used to disagree: 'mnist_17' was refused
    by StudyConfig, 'digits_1_7' meant MNIST in one and the digits in
    another)."""
    from sk_ricci.datasets._problems import REGISTRY
    from sk_ricci.study import StudyConfig

    for name, spec in REGISTRY.items():
        for alias in (name, name.upper(), name.replace("_", "-")) + spec.aliases:
            assert resolve_problem(alias) is spec
            assert StudyConfig(problems=[alias]).problems == (name,)
            assert paper_accuracy_threshold(alias) == spec.threshold
            assert paper_n_neighbors_grid(alias) == list(spec.paper_grid)
    assert StudyConfig(problems=["mnist_17"]).problems == ("mnist_1_7",)
    assert resolve_problem("digits_1_7").source == "digits"
    assert resolve_problem("mnist_17").source == "mnist"
    # the digits stand-ins take their MNIST pair's grid and threshold
    assert paper_n_neighbors_grid("digits_6_8", n_samples=400) == (
        paper_n_neighbors_grid("mnist_6_8", n_samples=400)
    )


def test_registry_values_match_the_paper():
    expected = {
        "A": ("synthetic", None, 0.99), "B": ("synthetic", None, 0.99),
        "C": ("synthetic", None, 0.91), "mnist_1_7": ("mnist", (1, 7), 0.99),
        "mnist_6_8": ("mnist", (6, 8), 0.99),
        "fashion_sandal_boot": ("fashion", (5, 9), 0.98),
        "fashion_shirt_coat": ("fashion", (6, 4), 0.90),
    }
    for name in PAPER_PROBLEMS:
        spec = resolve_problem(name)
        assert (spec.source, spec.pair, spec.threshold) == expected[name]
    assert len(PAPER_PROBLEMS) == 7
    with pytest.raises(ValueError, match="unknown problem 'mnist_1_9'"):
        resolve_problem("mnist_1_9")
    with pytest.raises(ValueError, match="unknown synthetic problem"):
        make_problem("mnist_1_7", 10)


# --------------------------------------------------------------------------- #
# the registry: every problem names its loader; unknown sources are refused
# --------------------------------------------------------------------------- #


def test_every_problem_names_an_existing_loader():
    from sk_ricci import datasets
    from sk_ricci.datasets import REGISTRY, problem_loader

    expected = {"synthetic": None, "digits": load_digits_pair,
                "mnist": load_mnist_pair, "fashion": load_fashion_mnist_pair}
    for name, problem in REGISTRY.items():
        loader = problem_loader(name)
        assert loader is getattr(datasets, problem.loader)
        if problem.source == "synthetic":
            assert loader is MAKERS[SYNTHETIC_PROBLEMS.index(name)]
            assert problem.one_set
        else:
            assert loader is expected[problem.source]
            assert problem.one_set == (problem.source == "digits")


def test_an_unknown_source_is_refused_when_the_problem_is_made():
    from sk_ricci.datasets import Problem

    with pytest.raises(ValueError, match=r"Problem 'kmnist_1_7': unknown source "
                                         r"'kmnist'; expected one of \["):
        Problem("kmnist_1_7", "kmnist", (1, 7), 0.99)
    with pytest.raises(ValueError, match="synthetic problem needs long_name"):
        Problem("D", "synthetic", None, 0.9)


def test_the_study_loads_through_the_registry(monkeypatch):
    # a problem's points come from the loader its source names, never from a
    # default: a new image source gets its own loader, not Fashion-MNIST's
    from sk_ricci import datasets
    from sk_ricci.datasets import _problems
    from sk_ricci.study import StudyConfig
    from sk_ricci.study._data import load_problem

    calls = []

    def load_toy_pair(pair, subset="train", data_home=None, download=False):
        calls.append((pair, subset))
        rng = np.random.RandomState(0 if subset == "train" else 1)
        return rng.normal(size=(40, 5)), np.repeat([0, 1], 20)

    monkeypatch.setitem(_problems.SOURCES, "toy", ("load_toy_pair", False))
    monkeypatch.setattr(datasets, "load_toy_pair", load_toy_pair, raising=False)
    toy = _problems.Problem("toy_1_2", "toy", (1, 2), 0.5)
    monkeypatch.setitem(_problems.REGISTRY, "toy_1_2", toy)
    monkeypatch.setitem(_problems._LOOKUP, "toy_1_2", toy)
    config = StudyConfig(problems=["A"], n_train=30, n_test=20)  # its sizes
    X_train, y_train, X_test, y_test = load_problem("toy_1_2", config)
    assert calls == [((1, 2), "train"), ((1, 2), "test")]
    assert X_train.shape == (30, 5) and X_test.shape == (20, 5)
