"""scikit-learn's common estimator checks, pipelines, and a light import."""

import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_ricci import KNNGraph, RicciCurvature, knn_graph, node_curvature

# KNNGraph and RicciCurvature describe the graph of the rows they are given
# (giotto-tda style), not a map fitted on training rows and applied to new
# ones one row at a time. Checks that assume row-wise independence therefore
# differ by design:
_SUBSET = (
    "transforming a batch of 1 sample: a kNN graph needs >= 2 points, and the "
    "graph (hence every row's features) of a subset differs from the full one"
)
_ORDER = (
    "output is the n_samples x n_samples graph of the rows: permuting the rows "
    "permutes its columns too, so rows of the output are not simply reordered"
)


def _expected_failed_checks(estimator):
    if isinstance(estimator, KNNGraph):
        return {
            "check_methods_subset_invariance": _SUBSET,
            "check_methods_sample_order_invariance": _ORDER,
        }
    if isinstance(estimator, RicciCurvature):
        return {"check_methods_subset_invariance": _SUBSET}
    return {}


@parametrize_with_checks(
    [
        KNNGraph(n_neighbors=3),
        RicciCurvature(n_neighbors=3),
        RicciCurvature(n_neighbors=3, connect="mst"),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_knngraph_ricci_curvature_pipeline():
    X = np.random.RandomState(0).normal(size=(50, 4))
    pipe = Pipeline([("graph", KNNGraph(n_neighbors=6, symmetrize="sum")),
                     ("curv", RicciCurvature())])
    out = pipe.fit_transform(X)
    G = knn_graph(X, 6, symmetrize="sum")
    deg = np.asarray(G.sum(axis=1)).ravel()
    assert out.shape == (50, 3)
    assert_array_equal(out[:, 0], deg)
    assert_allclose(out[:, 1], node_curvature(G, reduce="sum"))
    assert_allclose(out[:, 2], node_curvature(G, reduce="mean"))
    # set_params through the pipeline reaches the graph step
    pipe.set_params(graph__n_neighbors=3)
    assert_array_equal(pipe.fit_transform(X)[:, 0],
                       np.asarray(knn_graph(X, 3, symmetrize="sum").sum(1)).ravel())
    assert list(pipe[-1].get_feature_names_out()) == [
        "degree", "curvature_sum", "curvature_mean"
    ]


def test_pipeline_feature_names_out():
    # regression: KNNGraph lacked get_feature_names_out, so this raised
    X = np.random.RandomState(0).normal(size=(20, 3))
    pipe = Pipeline([("graph", KNNGraph(n_neighbors=3)),
                     ("curv", RicciCurvature())]).fit(X)
    assert list(pipe.get_feature_names_out()) == [
        "degree", "curvature_sum", "curvature_mean"
    ]


def test_import_is_light():
    code = (
        "import sys, sk_ricci\n"
        "heavy = ('torch', 'skorch', 'pynndescent', 'matplotlib')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.parametrize("name", ["knn_graph", "forman_curvature", "ricci_flow",
                                  "geodesic_mass", "RicciFlow", "KNNGraph"])
def test_public_api_exported(name):
    import sk_ricci

    assert name in sk_ricci.__all__
    assert hasattr(sk_ricci, name)
