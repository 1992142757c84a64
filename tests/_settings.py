"""Settings shared by the test modules."""

#: The smallest study that still runs every stage: one problem, two networks,
#: 60/50 points, one epoch, one k. Every network passes (threshold 0).
SMALL_STUDY = {
    "problems": ["A"],
    "architectures": ["narrow"],
    "depths": [5],
    "repeats": 2,
    "n_train": 60,
    "n_test": 50,
    "max_epochs": 1,
    "n_neighbors": [8],
    "thresholds": {"A": 0.0},
}

#: ``sk-ricci study`` flags of the same study, less ``--repeats`` (add it).
SMALL_STUDY_FLAGS = [
    "--problems", "A", "--architectures", "narrow", "--depths", "5",
    "--n-train", "60", "--n-test", "50", "--epochs", "1", "--k-grid", "8",
    "--threshold", "A=0", "--quiet",
]


def random_relu_layers(seed=0, n=60, n_layers=5, width=8, d_in=3, bias=0.7, X=None):
    """Activations of a random ReLU network: ``n_layers`` layers of ``width``
    units on ``n`` Gaussian points in ``d_in`` dimensions (or on ``X``), with
    Glorot-like weights; a positive ``bias`` keeps most units alive, a
    negative one kills many (duplicated points)."""
    import numpy as np

    rng = np.random.RandomState(seed)
    h = rng.normal(size=(n, d_in)) if X is None else X
    layers = []
    for _ in range(n_layers):
        W = rng.normal(size=(h.shape[1], width)) / np.sqrt(h.shape[1])
        h = np.maximum(h @ W + bias, 0)
        layers.append(h)
    return layers


def results_equal(a, b):
    """Two RicciFlowResults hold the same numbers (NaN equals NaN)."""
    import numpy as np
    from numpy.testing import assert_array_equal

    assert a.n_neighbors == b.n_neighbors
    for name in ("total_curvature", "geodesic_mass", "eta", "connected",
                 "n_components"):
        assert_array_equal(getattr(a, name), getattr(b, name))
    for name in ("coefficient", "adjusted_paper", "adjusted_fisher"):
        x, y = getattr(a, name), getattr(b, name)
        assert (np.isnan(x) and np.isnan(y)) or x == y, (name, x, y)
