"""Every door answers a mistake in one line: the transformers, the flows and
the command line give the same tailored messages for the same mistakes."""

import importlib
import inspect
import numbers
import os
import traceback

import numpy as np
import pytest

import sk_ricci
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


# --------------------------------------------------------------------------- #
# A number given as a string, at every public door
# --------------------------------------------------------------------------- #
RNG = np.random.RandomState(0)
PTS = RNG.normal(size=(40, 3))
LABELS = (PTS[:, 0] > 0).astype(int)
NET_LAYERS = []
_h = PTS
for _W in [RNG.normal(size=(3, 6))] + [RNG.normal(size=(6, 6)) for _ in range(4)]:
    _h = np.maximum(_h @ _W + 0.1, 0) + 1e-3 * RNG.normal(size=(40, 6))
    NET_LAYERS.append(_h)


def _mlp():
    import warnings

    from sklearn.neural_network import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning
        return MLPClassifier((8, 8, 8), max_iter=20, random_state=0).fit(PTS, LABELS)


def _graph():
    return sk_ricci.knn_graph(PTS, 5, connect="mst")


def _nn():
    pytest.importorskip("torch")
    return importlib.import_module("sk_ricci.nn")


def _plotting():
    pytest.importorskip("matplotlib")
    return importlib.import_module("sk_ricci.plotting")


def _study():
    return importlib.import_module("sk_ricci.study")


def _datasets():
    return importlib.import_module("sk_ricci.datasets")


def _tiny_study():
    return _study().StudyConfig(
        problems=["A"], architectures=["wide"], depths=[5], repeats=1, n_train=50,
        n_test=40, max_epochs=1, n_neighbors=[5], thresholds={"A": 0},
    )


def _tmp_file(name):
    import tempfile

    return os.path.join(tempfile.mkdtemp(), name)


#: public name -> (a valid call taking the audited parameters as keywords,
#: {parameter: a valid value}); the audit passes the value as a string
AUDIT = {
    "knn_graph": (lambda **kw: sk_ricci.knn_graph(PTS, **{"n_neighbors": 5, **kw}),
                  {"n_neighbors": 5, "random_state": 0, "n_jobs": 1}),
    "kneighbors": (lambda **kw: sk_ricci.kneighbors(PTS, **{"n_neighbors": 5, **kw}),
                   {"n_neighbors": 5, "random_state": 0, "n_jobs": 1}),
    "graph_from_neighbors": (
        lambda **kw: sk_ricci.graph_from_neighbors(sk_ricci.kneighbors(PTS, 5)[0], **kw),
        {"n_neighbors": 3}),
    "ricci_flow": (
        lambda **kw: sk_ricci.ricci_flow(NET_LAYERS, connect="mst", **{"n_neighbors": 5, **kw}),
        {"n_neighbors": 5, "random_state": 0, "n_jobs": 1}),
    "local_ricci_flow": (
        lambda **kw: sk_ricci.local_ricci_flow(NET_LAYERS, connect="mst", **{"n_neighbors": 5, **kw}),
        {"n_neighbors": 5, "random_state": 0, "n_jobs": 1}),
    "geodesic_mass": (lambda **kw: sk_ricci.geodesic_mass(_graph(), **kw), {"n_jobs": 1}),
    "ollivier_curvature": (lambda **kw: sk_ricci.ollivier_curvature(_graph(), **kw),
                           {"alpha": 0.5}),
    "rankme": (lambda **kw: sk_ricci.rankme(NET_LAYERS[-1], **kw), {"epsilon": 1e-7}),
    "select_n_neighbors": (
        lambda **kw: sk_ricci.select_n_neighbors([NET_LAYERS], connect="mst", **kw),
        {"n_neighbors": 5, "max_fraction": 0.25, "n_grid": 4, "random_state": 0,
         "n_jobs": 1}),
    "smallest_connected_n_neighbors": (
        lambda **kw: sk_ricci.smallest_connected_n_neighbors(PTS, **kw),
        {"max_n_neighbors": 10}),
    "KNNGraph": (lambda **kw: sk_ricci.KNNGraph(**kw).fit(PTS),
                 {"n_neighbors": 5, "random_state": 0, "n_jobs": 1}),
    "RicciCurvature": (lambda **kw: sk_ricci.RicciCurvature(**kw).fit(PTS),
                       {"n_neighbors": 5}),
    "RicciFlow": (
        lambda **kw: sk_ricci.RicciFlow(connect="mst", **{"n_neighbors": 5, **kw}).fit(NET_LAYERS),
        {"n_neighbors": 5, "random_state": 0, "n_jobs": 1}),
    "RicciFlowScorer": (
        lambda **kw: sk_ricci.RicciFlowScorer(**{"n_neighbors": 5, **kw})(_mlp(), PTS),
        {"n_neighbors": 5, "batch_size": 64, "random_state": 0, "n_jobs": 1}),
    "RankMeScorer": (lambda **kw: sk_ricci.RankMeScorer(**kw)(_mlp(), PTS),
                     {"layer": -1, "epsilon": 1e-7, "batch_size": 64}),
    "run_demo": (
        lambda **kw: sk_ricci.run_demo(quick=True, output=_tmp_file("demo"),
                                       quiet=True, figures=False, **kw),
        {"n_jobs": 1, "random_state": 0}),
    "datasets.make_entangled_spirals": (
        lambda **kw: _datasets().make_entangled_spirals(**{"n_samples": 50, **kw}),
        {"n_samples": 50, "noise": 0.3, "random_state": 0}),
    "datasets.make_ellipsoids_in_box": (
        lambda **kw: _datasets().make_ellipsoids_in_box(**{"n_samples": 50, **kw}),
        {"n_samples": 50, "noise": 0.0, "random_state": 0}),
    "datasets.make_intersecting_sheets": (
        lambda **kw: _datasets().make_intersecting_sheets(**{"n_samples": 50, **kw}),
        {"n_samples": 50, "noise": 0.2, "random_state": 0}),
    "datasets.make_problem": (
        lambda **kw: _datasets().make_problem("A", **{"n_samples": 50, **kw}),
        {"n_samples": 50, "noise": 0.3, "random_state": 0}),
    "datasets.paper_n_neighbors_grid": (
        lambda **kw: _datasets().paper_n_neighbors_grid("A", **kw), {"n_samples": 400}),
    "datasets.load_digits_pair": (
        lambda **kw: _datasets().load_digits_pair(**kw), {"pair": (1, 7)}),
    "datasets.load_mnist_pair": (
        lambda **kw: _datasets().load_mnist_pair(**kw), {"pair": (1, 7)}),
    "datasets.load_fashion_mnist_pair": (
        lambda **kw: _datasets().load_fashion_mnist_pair(**kw), {"pair": (5, 9)}),
    "nn.ReLUMLP": (
        lambda **kw: _nn().ReLUMLP(**{"input_dim": 3, "n_outputs": 2, **kw}),
        {"input_dim": 3, "n_outputs": 2, "depth": 5, "hidden_layer_sizes": (8, 8)}),
    "nn.ReLUMLPClassifier": (
        lambda **kw: _nn().ReLUMLPClassifier(**{"max_epochs": 1, **kw}).fit(PTS, LABELS),
        {"depth": 3, "lr": 1e-3, "max_epochs": 1, "batch_size": 32,
         "validation_fraction": 0.2, "verbose": 0, "random_state": 0,
         "hidden_layer_sizes": (8, 8)}),
    "nn.layer_activations": (
        lambda **kw: _nn().layer_activations(_mlp(), PTS, **kw), {"batch_size": 64}),
    "nn.jl_distortion": (
        lambda **kw: _nn().jl_distortion(**{"n_samples": 5000, "n_components": 1024,
                                            **kw}),
        {"n_samples": 5000, "n_components": 1024}),
    "nn.stream_layer_activations": (
        lambda **kw: _nn().stream_layer_activations(_mlp(), PTS, **kw),
        {"batch_size": 64, "n_components": 4, "random_state": 0}),
    "nn.fit_many": (
        lambda **kw: _nn().fit_many([_nn().ReLUMLPClassifier(max_epochs=1)], PTS,
                                    LABELS, **kw),
        {"max_networks": 4}),
    "study.StudyConfig": (
        lambda **kw: _study().StudyConfig(**kw),
        {"repeats": 2, "n_train": 100, "n_test": 100, "max_epochs": 5, "batch_size": 32,
         "lr": 1e-3, "validation_fraction": 0.2, "seed": 0, "depths": [5],
         "n_neighbors": [6, 10]}),
    "study.network_seed": (
        lambda **kw: _study().network_seed(**{"seed": 0, "problem": "A",
                                              "architecture": "wide", "depth": 5,
                                              "repeat": 0, **kw}),
        {"seed": 0, "depth": 5, "repeat": 0}),
    "study.run_study": (
        lambda **kw: _study().run_study(_tiny_study(), _tmp_file("study"), quiet=True,
                                        **kw),
        {"n_jobs": 1}),
    "plotting.save_figure": (
        lambda **kw: _plotting().save_figure(
            _plotting().plot_flow_panels([sk_ricci.ricci_flow(NET_LAYERS, 5, connect="mst")]),
            _tmp_file("f.png"), **kw),
        {"dpi": 50}),
    "plotting.plot_flow_panels": (
        lambda **kw: _plotting().plot_flow_panels([sk_ricci.ricci_flow(NET_LAYERS, 5, connect="mst")],
                                                  **kw),
        {"ncols": 1}),
    "plotting.RicciFlowDisplay": (
        lambda **kw: _plotting().RicciFlowDisplay(
            **{"total_curvature": [1.0, 2.0, 3.0, 4.0, 5.0],
               "eta": [0.5, 0.2, 0.1, 0.05], **kw}).plot(),
        {"total_curvature": [1.0, 2.0, 3.0, 4.0, 5.0], "eta": [0.5, 0.2, 0.1, 0.05],
         "coefficient": -0.9, "n_neighbors": 5}),
    "plotting.LocalRicciFlowDisplay": (
        lambda **kw: _plotting().LocalRicciFlowDisplay(
            **{"coefficients": np.linspace(-1, 1, 40),
               "scalar_curvature": np.ones((3, 40)), "X": PTS, **kw}).plot(),
        {"coefficients": [0.5] * 40, "scalar_curvature": [[1.0] * 40] * 3,
         "mean": 0.1, "n_neighbors": 5}),
    "plotting.plot_accuracy_vs_flow": (
        lambda **kw: _plotting().plot_accuracy_vs_flow(
            **{"accuracy": [0.9, 0.8, 0.7], "flow": [0.1, 0.2, 0.3], **kw}),
        {"accuracy": [0.9, 0.8, 0.7], "flow": [0.1, 0.2, 0.3],
         "accuracy_std": [0.01, 0.02, 0.01], "flow_std": [0.1, 0.1, 0.1], "best": 1}),
}

#: Public callables with numeric parameters that the audit leaves out, and why.
NOT_AUDITED = {
    name: "a result record the library builds and returns, not an entry point"
    for name in ("AggregatedCoefficient", "DemoResult", "GeodesicMass",
                 "LocalRicciFlowResult", "RicciFlowResult", "ScaleSelection",
                 "datasets.Problem", "nn.LayerActivations", "study.OLSResult",
                 "study.StudyAnalysis")
}

#: Parameter names that take numbers even where their default is None.
NUMERIC_NAMES = {
    "n_neighbors", "random_state", "n_jobs", "max_n_neighbors", "n_samples", "noise",
    "seed", "depth", "repeat", "input_dim", "n_outputs", "hidden_layer_sizes", "ncols",
    "dpi", "best", "coefficient", "mean", "accuracy", "flow", "accuracy_std",
    "flow_std", "pair", "max_networks", "depths", "eta", "total_curvature",
    "coefficients", "scalar_curvature", "n_components", "batch_size",
}

PUBLIC_MODULES = {"": "sk_ricci", "datasets.": "sk_ricci.datasets", "nn.": "sk_ricci.nn",
                  "study.": "sk_ricci.study", "plotting.": "sk_ricci.plotting"}


def _public_parameters():
    """(qualified name, inspect.Parameter) of every parameter of the public
    callables (exceptions aside), found by walking the modules' ``__all__``."""
    for prefix, module_name in PUBLIC_MODULES.items():
        if module_name == "sk_ricci.nn":
            pytest.importorskip("torch")
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if not callable(obj) or (inspect.isclass(obj)
                                     and issubclass(obj, BaseException)):
                continue
            for p in inspect.signature(obj).parameters.values():
                yield prefix + name, p


def _public_numeric_parameters():
    """(qualified name, parameter) of every numeric parameter of the public
    callables."""
    found = set()
    for name, p in _public_parameters():
        default_is_number = isinstance(p.default, numbers.Number) and not (
            isinstance(p.default, bool))
        if default_is_number or p.name in NUMERIC_NAMES:
            found.add((name, p.name))
    return found


def test_the_audit_covers_every_numeric_parameter():
    walked = _public_numeric_parameters()
    audited = {(name, p) for name, (_, params) in AUDIT.items() for p in params}
    missing = sorted(
        (name, p) for name, p in walked - audited if name not in NOT_AUDITED
    )
    assert not missing, f"numeric parameters not in AUDIT: {missing}"
    assert not audited - walked, "AUDIT names parameters the signatures lack"
    assert len(audited) >= 80


#: Calls whose valid form trains for a while or needs downloaded files: only
#: the mistake is run (it must be refused before any work).
SLOW_OR_NEEDS_FILES = {"run_demo", "study.run_study", "datasets.load_mnist_pair",
                       "datasets.load_fashion_mnist_pair"}


def test_study_config_reads_whole_floats_as_ints_but_not_strings():
    # TOML and JSON may hold 6.0 for 6; a string is a mistake
    config = _study().StudyConfig(n_neighbors=[6.0, 10], depths=[5], lr=1)
    assert config.n_neighbors == (6, 10)
    assert all(type(k) is int for k in config.n_neighbors)
    assert config.lr == 1.0 and type(config.lr) is float
    with pytest.raises(ValueError, match=r"n_neighbors must be .*; got str '6,10'"):
        _study().StudyConfig(n_neighbors="6,10")


def _as_string(value):
    """The mistake: the value written as a string ("5"; ["0.9", "0.8"])."""
    if isinstance(value, (list, tuple)):
        return type(value)(_as_string(v) for v in value)
    if isinstance(value, np.ndarray):
        return _as_string(value.tolist())
    return str(value)


@pytest.mark.parametrize(
    "name, param",
    [(name, p) for name, (_, params) in AUDIT.items() for p in params],
    ids=lambda v: v,
)
def test_a_number_given_as_a_string_is_refused_by_name(name, param, tmp_path,
                                                       monkeypatch):
    """One clear error: a ValueError or TypeError raised by sk_ricci itself
    (not from deep inside numpy, numba or matplotlib), naming the parameter
    and the string received; never a silent success (the string read as a
    number, or hashed, or plotted as a category)."""
    call, params = AUDIT[name]
    monkeypatch.chdir(tmp_path)
    valid = params[param]
    if name not in SLOW_OR_NEEDS_FILES:
        call(**{param: valid})  # the call itself is valid
    bad = _as_string(valid)
    with pytest.raises((TypeError, ValueError)) as info:
        call(**{param: bad})
    message = " ".join(str(info.value).split())
    assert param in message, message
    first = bad
    while isinstance(first, (list, tuple)):
        first = first[0]
    assert repr(first) in message, message  # what was received
    package = os.path.dirname(sk_ricci.__file__)
    raised_in = traceback.extract_tb(info.tb)[-1].filename
    assert raised_in.startswith(package), (raised_in, message)


# --------------------------------------------------------------------------- #
# ... and at every numeric option of the command line
# --------------------------------------------------------------------------- #
def _numeric_options():
    """(subcommand, option) of every option whose type refuses "abc", found by
    walking the real parser."""
    import argparse

    from sk_ricci.cli import _build_parser

    found = []
    subparsers = _build_parser()._subparsers._group_actions[0].choices
    for command, parser in subparsers.items():
        for action in parser._actions:
            if action.type is None or not action.option_strings:
                continue
            try:
                action.type("abc")
            except (argparse.ArgumentTypeError, TypeError, ValueError):
                found.extend((command, o) for o in action.option_strings)
    return found


NUMERIC_OPTIONS = _numeric_options()
#: what each subcommand needs besides the option under test
REQUIRED = {"demo": [], "study": [], "report": ["folder"],
            "flow": ["layers.npz", "--n-neighbors", "5"]}


def test_a_negative_demo_seed_is_a_usage_error(capsys):
    # it reached run_demo and ended in a traceback
    with pytest.raises(SystemExit) as info:
        main(["demo", "--random-state", "-1"])
    assert info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "sk-ricci demo: error: argument --random-state: expected an int in "
        "[0, 2**32 - 1], got -1")


def test_the_cli_audit_covers_the_numeric_options():
    options = set(NUMERIC_OPTIONS)
    for expected in [("demo", "--n-jobs"), ("demo", "--random-state"),
                     ("study", "--repeats"), ("study", "--lr"), ("study", "--depths"),
                     ("study", "--k-grid"), ("study", "--threshold"),
                     ("study", "--n-jobs"), ("study", "--seed"),
                     ("flow", "--n-neighbors")]:
        assert expected in options, expected
    assert len(options) >= 15


@pytest.mark.parametrize("command, option", NUMERIC_OPTIONS)
def test_a_word_for_a_number_is_a_usage_error_naming_the_option(
        command, option, capsys):
    """argparse's one-line error, with the subcommand's usage: exit 2, the
    option named, "abc" quoted, no traceback."""
    argv = [command, *REQUIRED[command], option, "abc"]
    if option == "--n-neighbors":
        argv = [command, "layers.npz", option, "abc"]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: sk-ricci {command}")
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"sk-ricci {command}: error: argument ")
    assert option in last and "'abc'" in last
    assert "Traceback" not in err


# --------------------------------------------------------------------------- #
# A flag given as a string ("False" is true in an ``if``)
# --------------------------------------------------------------------------- #
def _study_folder():
    """A folder holding a finished one-network study (config.json and
    results.jsonl), for load_results and make_report."""
    folder = _tmp_file("study")
    _study().run_study(_tiny_study(), folder, quiet=True, report=False)
    return folder


#: public name -> (call(value) with the flag set to value, flag)
FLAG_AUDIT = {
    ("NuclearNormScorer", "normalize"):
        lambda v: sk_ricci.NuclearNormScorer(normalize=v)(_mlp(), PTS),
    ("nuclear_norm_score", "normalize"):
        lambda v: sk_ricci.nuclear_norm_score(_mlp().predict_proba(PTS), normalize=v),
    ("RicciCurvature", "augmented"):
        lambda v: sk_ricci.RicciCurvature(5, augmented=v).fit(PTS),
    ("RicciFlowScorer", "include_input"):
        lambda v: sk_ricci.RicciFlowScorer(5, include_input=v)(_mlp(), PTS),
    ("RicciFlowScorer", "include_output"):
        lambda v: sk_ricci.RicciFlowScorer(5, include_output=v)(_mlp(), PTS),
    ("forman_curvature", "augmented"):
        lambda v: sk_ricci.forman_curvature(_graph(), augmented=v),
    ("local_ricci_flow", "return_global"):
        lambda v: sk_ricci.local_ricci_flow(NET_LAYERS, 5, connect="mst",
                                            return_global=v),
    ("total_curvature", "augmented"):
        lambda v: sk_ricci.total_curvature(_graph(), augmented=v),
    ("node_curvature", "augmented"):
        lambda v: sk_ricci.node_curvature(_graph(), augmented=v),
    ("kneighbors", "validate"): lambda v: sk_ricci.kneighbors(PTS, 5, validate=v),
    ("run_demo", "quick"): lambda v: sk_ricci.run_demo(
        quick=v, output=_tmp_file("demo"), quiet=True, figures=False),
    ("run_demo", "figures"): lambda v: sk_ricci.run_demo(
        quick=True, output=_tmp_file("demo"), quiet=True, figures=v),
    ("run_demo", "quiet"): lambda v: sk_ricci.run_demo(
        quick=True, output=_tmp_file("demo"), quiet=v, figures=False),
    ("datasets.load_digits_pair", "return_X_y"):
        lambda v: _datasets().load_digits_pair(return_X_y=v),
    ("datasets.load_mnist_pair", "download"):
        lambda v: _datasets().load_mnist_pair(download=v, data_home=_tmp_file("d")),
    ("datasets.load_mnist_pair", "return_X_y"):
        lambda v: _datasets().load_mnist_pair(return_X_y=v, data_home=_tmp_file("d")),
    ("datasets.load_fashion_mnist_pair", "download"):
        lambda v: _datasets().load_fashion_mnist_pair(download=v,
                                                      data_home=_tmp_file("d")),
    ("datasets.load_fashion_mnist_pair", "return_X_y"):
        lambda v: _datasets().load_fashion_mnist_pair(return_X_y=v,
                                                      data_home=_tmp_file("d")),
    ("datasets.make_entangled_spirals", "shuffle"):
        lambda v: _datasets().make_entangled_spirals(50, shuffle=v),
    ("datasets.make_ellipsoids_in_box", "shuffle"):
        lambda v: _datasets().make_ellipsoids_in_box(50, shuffle=v),
    ("datasets.make_intersecting_sheets", "shuffle"):
        lambda v: _datasets().make_intersecting_sheets(50, shuffle=v),
    ("datasets.make_problem", "shuffle"):
        lambda v: _datasets().make_problem("B", 50, shuffle=v),
    ("study.StudyConfig", "download"): lambda v: _study().StudyConfig(download=v),
    ("study.load_results", "as_frame"):
        lambda v: _study().load_results(_study_folder(), as_frame=v),
    ("study.make_report", "figures"):
        lambda v: _study().make_report(_study_folder(), figures=v),
    ("study.run_study", "quiet"): lambda v: _study().run_study(
        _tiny_study(), _tmp_file("study"), quiet=v, report=False),
    ("study.run_study", "overwrite"): lambda v: _study().run_study(
        _tiny_study(), _tmp_file("study"), quiet=True, overwrite=v, report=False),
    ("study.run_study", "report"): lambda v: _study().run_study(
        _tiny_study(), _tmp_file("study"), quiet=True, report=v),
}


def test_the_flag_audit_covers_every_bool_parameter():
    walked = {(name, p.name) for name, p in _public_parameters()
              if isinstance(p.default, bool) and name not in NOT_AUDITED}
    assert walked == set(FLAG_AUDIT)


@pytest.mark.parametrize(
    "name, flag",
    list(FLAG_AUDIT),
    ids=lambda v: v,
)
def test_a_flag_given_as_a_string_is_refused_by_name(name, flag, tmp_path,
                                                     monkeypatch):
    """``flag="False"`` is one clear error naming the flag, raised before any
    work (no download, no training, no file written)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises((TypeError, ValueError)) as info:
        FLAG_AUDIT[name, flag]("False")
    message = " ".join(str(info.value).split())
    assert message.startswith(name.split(".")[-1] + ": "), message  # the function
    assert flag in message and "'False'" in message, message
    package = os.path.dirname(sk_ricci.__file__)
    assert traceback.extract_tb(info.tb)[-1].filename.startswith(package)
