"""Every door answers a mistake in one line: the transformers, the flows and
the command line give the same tailored messages for the same mistakes."""

import numpy as np
import pytest

from sk_ricci import KNNGraph, RicciCurvature, knn_graph, local_ricci_flow, ricci_flow
from sk_ricci.cli import main

TRANSFORMERS = [KNNGraph(3), RicciCurvature(3)]
X = np.random.RandomState(0).normal(size=(20, 2))
NAN = X.copy()
NAN[4, 1] = np.nan


@pytest.mark.parametrize("est", TRANSFORMERS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("bad, error, match", [
    (np.arange(20.0), ValueError,
     (r"X must be 2-D \(n_samples, n_features\), got an array with ndim=1 and "
     r"shape \(20,\); Reshape your data with X.reshape\(-1, 1\)")),
    (NAN, ValueError, (r"X contains 1 non-finite value\(s\) \(NaN\) in 1 row\(s\), "
     r"first at row 4")),
    (np.array([["a", "b"]] * 20), (TypeError, ValueError),
     r"X must hold numbers, got dtype <U1"),
])
def test_transformers_give_the_flows_messages(est, bad, error, match):
    name = type(est).__name__
    with pytest.raises(error, match=f"^{name}: {match}") as info:
        est.fit(bad)
    text = str(info.value)
    assert "HistGradientBoosting" not in text
    assert "[0. 1. 2." not in text and len(text) < 400  # no array dump
    # the same message as the function for the same mistake
    with pytest.raises(error, match=match):
        knn_graph(bad, 3)
    # transform checks the same way
    fitted = type(est)(3).fit(X)
    with pytest.raises(error, match=f"^{name}: {match}"):
        fitted.transform(bad)


def test_object_arrays_of_numbers_still_fit():
    # scikit-learn's convention: numbers stored as objects are numbers
    G = KNNGraph(3).fit_transform(X.astype(object))
    assert (G != knn_graph(X, 3)).nnz == 0


@pytest.mark.parametrize("fn", [ricci_flow, local_ricci_flow, knn_graph])
def test_n_neighbors_as_a_string_is_named_not_iterated(fn):
    layers = [X, X * 2, X ** 2, np.abs(X)]
    arg = X if fn is knn_graph else layers
    with pytest.raises(TypeError, match=r"n_neighbors must be an int or a list of "
                                        r"ints, got str '5'; pass n_neighbors=5$"):
        fn(arg, "5")
    with pytest.raises(TypeError, match=r"got str 'five'$"):
        fn(arg, "five")


@pytest.mark.parametrize("argv, usage, hint", [
    (["study", "--reapets", "2"], "usage: sk-ricci study",
     "--reapets: did you mean --repeats"),
    (["demo", "--quik"], "usage: sk-ricci demo", "--quik: did you mean --quick"),
    (["flow", "x.npz", "--n-neighbors", "5", "--fromat", "csv"], "usage: sk-ricci flow",
     "--fromat: did you mean --format"),
])
def test_unknown_flag_shows_the_subcommand_usage_and_the_closest_flag(
        capsys, argv, usage, hint):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage)
    assert "unrecognized arguments" in err and hint in err
    assert f"see 'sk-ricci {argv[0]} --help'" in err


def test_four_layers_do_not_warn_about_the_adjusted_coefficients():
    # rho is defined on 4 layers; the adjusted forms (NaN for L <= 4, as
    # documented) warn only where they are asked for: the scorer's statistic
    import warnings

    from sk_ricci import AdjustedCoefficientWarning, RicciFlowScorer

    rng = np.random.RandomState(1)
    layers = [np.maximum(X @ rng.normal(size=(2, 6)) + 0.3, 0) for _ in range(4)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = ricci_flow(layers, 5, connect="mst")
        assert RicciFlowScorer(5, statistic="rho").score_layers(layers) == (
            pytest.approx(-ricci_flow(layers, 5, connect="mst",
                                      curvature="approx_ollivier").coefficient))
    assert np.isfinite(res.coefficient)
    assert np.isnan(res.adjusted_paper) and np.isnan(res.adjusted_fisher)
    with pytest.warns(AdjustedCoefficientWarning, match=r"'adjusted_fisher'\) needs "
                                                        r"at least 5 layers .* got 4"):
        assert np.isnan(RicciFlowScorer(5, statistic="adjusted_fisher")
                        .score_layers(layers))
