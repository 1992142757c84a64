"""Tidy outputs: to_frame/to_dict, the study's results as a DataFrame,
`sk-ricci flow --format csv|json`, and the flow-against-layer plot."""

import csv
import io
import json
import sys
import warnings

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from _settings import random_relu_layers

from sk_ricci import (  # noqa: E402
    AggregatedCoefficient,
    RicciFlowResult,
    aggregated_ricci_coefficient,
    ricci_flow,
    select_n_neighbors,
)
from sk_ricci.cli import main  # noqa: E402


def _layers(n_layers=5, n=50, seed=0):
    return random_relu_layers(seed=seed, n=n, n_layers=n_layers, width=6)


def _hand_result(names=None):
    return RicciFlowResult(
        n_neighbors=7,
        total_curvature=np.array([-30.0, -20.0, -12.0, -8.0]),
        geodesic_mass=np.array([900.0, 800.0, 760.0, np.inf]),
        eta=np.array([-100.0, -40.0, np.nan]),
        coefficient=-0.5,
        adjusted_paper=np.nan,
        adjusted_fisher=np.nan,
        connected=np.array([True, True, True, False]),
        n_components=np.array([1, 1, 1, 2]),
        layer_names=names,
    )


# -- RicciFlowResult -----------------------------------------------------------------


def test_result_to_frame_by_hand():
    frame = _hand_result(("a", "b", "c", "d")).to_frame()
    expected = pd.DataFrame({
        "n_neighbors": [7, 7, 7, 7],
        "layer": [1, 2, 3, 4],
        "layer_name": ["a", "b", "c", "d"],
        "total_curvature": [-30.0, -20.0, -12.0, -8.0],
        "geodesic_mass": [900.0, 800.0, 760.0, np.inf],
        "eta": [-100.0, -40.0, np.nan, np.nan],
        "connected": [True, True, True, False],
        "n_components": [1, 1, 1, 2],
        "coefficient": [-0.5] * 4,
        "adjusted_paper": [np.nan] * 4,
        "adjusted_fisher": [np.nan] * 4,
        "curvature": ["forman"] * 4,
        "symmetrize": ["max"] * 4,
        "connect": [None] * 4,
    })
    pd.testing.assert_frame_equal(frame, expected)
    assert _hand_result().to_frame()["layer_name"].isna().all()


def test_result_to_frame_and_to_dict_match_the_result():
    results = ricci_flow(_layers(), [6, 9], connect="mst")
    frame = pd.concat([r.to_frame() for r in results], ignore_index=True)
    assert len(frame) == 10
    for r in results:
        part = frame[frame.n_neighbors == r.n_neighbors]
        np.testing.assert_array_equal(part.total_curvature, r.total_curvature)
        np.testing.assert_array_equal(part.geodesic_mass, r.geodesic_mass)
        np.testing.assert_array_equal(part.eta.iloc[:-1], r.eta)
        assert (part.coefficient == r.coefficient).all()
        # eta is the change of geodesic mass, recomputed from the frame
        np.testing.assert_array_equal(
            np.diff(part.geodesic_mass.to_numpy()), part.eta.iloc[:-1]
        )
        d = r.to_dict()
        assert d["n_layers"] == 5 and d["n_neighbors"] == r.n_neighbors
        assert d["coefficient"] == r.coefficient
        assert d["total_curvature"] == r.total_curvature.tolist()
        assert d["n_components"] == [1] * 5 and d["layer_names"] is None
        # plain Python values: a JSON round trip gives them back
        assert json.loads(json.dumps(d)) == d


@pytest.mark.parametrize("curvature", ["forman", "augmented_forman",
                                       "approx_ollivier"])
def test_result_records_its_curvature_in_every_output(curvature):
    layers = _layers()
    r = ricci_flow(layers, 6, connect="mst", curvature=curvature,
                   symmetrize="sum")
    assert r.curvature == curvature
    assert repr(r).endswith(f"curvature={curvature!r})")
    d = json.loads(json.dumps(r.to_dict()))
    assert (d["curvature"], d["symmetrize"], d["connect"]) == (
        curvature, "sum", "mst")
    frame = r.to_frame()
    assert (frame["curvature"] == curvature).all()
    assert (frame["symmetrize"] == "sum").all() and (frame["connect"] == "mst").all()
    assert list(frame.columns) == list(r.layer_rows()[0])
    assert [row["curvature"] for row in r.layer_rows()] == [curvature] * 5
    # the recorded kind is the one summed: the Forman and other totals differ
    if curvature != "forman":
        forman = ricci_flow(layers, 6, connect="mst", symmetrize="sum")
        assert not np.array_equal(forman.total_curvature, r.total_curvature)


def test_to_dict_keeps_nan_and_inf_as_floats():
    d = _hand_result().to_dict()
    assert np.isnan(d["adjusted_paper"]) and d["geodesic_mass"][-1] == np.inf
    assert d["connected"] == [True, True, True, False]
    assert d["all_connected"] is False
    assert all(type(v) is float for v in d["eta"])


def test_to_frame_without_pandas_has_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        _hand_result().to_frame()
    with pytest.raises(ImportError, match="pip install pandas"):
        AggregatedCoefficient(0.1, 1, 0, 3).to_frame()


# -- AggregatedCoefficient and ScaleSelection ----------------------------------------


def test_aggregated_and_selection_tidy():
    nets = [_layers(seed=s) for s in range(2)]
    results = [ricci_flow(layers, 8, connect="mst") for layers in nets]
    agg = aggregated_ricci_coefficient(results)
    assert agg.to_dict() == {
        "coefficient": agg.coefficient, "n_networks": 2, "n_skipped": 0,
        "n_points": 8,
    }
    pd.testing.assert_frame_equal(agg.to_frame(), pd.DataFrame([agg.to_dict()]))

    sel = select_n_neighbors(nets, [6, 8, 10], connect="mst")
    frame = sel.to_frame()
    assert frame.columns.tolist() == ["n_neighbors", "coefficient", "n_networks",
                                      "best"]
    assert frame.n_neighbors.tolist() == [6, 8, 10]
    np.testing.assert_array_equal(frame.coefficient, sel.coefficients)
    assert frame.best.sum() == 1
    assert frame.loc[frame.best, "n_neighbors"].item() == sel.best_n_neighbors
    # the aggregated coefficient at k = 8, recomputed from the pooled pairs
    assert frame.coefficient[1] == pytest.approx(agg.coefficient)
    d = sel.to_dict()
    assert "results" not in d and d["best_n_neighbors"] == sel.best_n_neighbors
    full = sel.to_dict(include_results=True)
    assert len(full["results"]) == 2 and len(full["results"][0]) == 3
    assert full["results"][1][1] == results[1].to_dict()
    json.dumps(full)


# -- the study's results -----------------------------------------------------------


def test_load_results_as_frame(tmp_path):
    from sk_ricci.study import load_results

    def flow(k, rho, ncomp):
        return {
            "n_neighbors": k, "total_curvature": [-3.0, -2.0, -1.0],
            "geodesic_mass": [9.0, 8.0, 7.0], "eta": [-1.0, -1.0],
            "n_components": ncomp, "coefficient": rho, "adjusted_paper": None,
            "adjusted_fisher": None,
        }

    rows = [
        {"network_id": "A/wide/d5/r0", "problem": "A", "depth": 5,
         "accuracy": 0.9, "hidden_layer_sizes": [50, 50, 50],
         "flow": [flow(5, -0.5, [1, 1, 1]), flow(9, None, [1, 2, 1])]},
        {"network_id": "B/narrow/d5/r0", "problem": "B", "depth": 5,
         "accuracy": 0.7, "hidden_layer_sizes": [25, 25, 25],
         "flow": [flow(5, 0.25, [1, 1, 1]), flow(9, 0.5, [1, 1, 1])]},
    ]
    common = {  # the remaining fields a result row must carry
        "repeat": 0, "seed": 1, "n_train": 100, "n_test": 100, "max_epochs": 5,
        "batch_size": 32, "lr": 0.001, "optimizer": "rmsprop",
        "validation_fraction": 0.2, "symmetrize": "max", "connect": None,
        "train_accuracy": 1.0,
    }
    rows = [{**common, "architecture": row["network_id"].split("/")[1], **row}
            for row in rows]
    with open(tmp_path / "results.jsonl", "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    assert load_results(tmp_path) == rows
    frame = load_results(tmp_path, as_frame=True)
    assert len(frame) == 4
    assert frame.network_id.tolist() == ["A/wide/d5/r0"] * 2 + ["B/narrow/d5/r0"] * 2
    assert frame.n_neighbors.tolist() == [5, 9, 5, 9]
    np.testing.assert_array_equal(frame.coefficient, [-0.5, np.nan, 0.25, 0.5])
    assert frame.all_connected.tolist() == [True, False, True, True]
    assert frame.accuracy.tolist() == [0.9, 0.9, 0.7, 0.7]
    assert "flow" not in frame.columns
    assert frame.total_curvature[0] == [-3.0, -2.0, -1.0]
    by_k = frame.groupby("n_neighbors").coefficient.mean()
    assert by_k[5] == pytest.approx(-0.125)


# -- the command line --------------------------------------------------------------


@pytest.fixture
def npz(tmp_path):
    path = tmp_path / "layers.npz"
    np.savez(path, **{f"l{i}": a for i, a in enumerate(_layers())})
    return path


def _expected(ks):
    names = [f"l{i}" for i in range(5)]
    return ricci_flow(_layers(), ks, connect="mst", layer_names=names)


def test_cli_flow_csv_to_file(npz, tmp_path, capsys):
    out = tmp_path / "flow.csv"
    code = main(["flow", str(npz), "--n-neighbors", "6,9", "--connect", "mst",
                 "--format", "csv", "--output", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "rho" in printed and f"CSV: {out}" in printed
    frame = pd.read_csv(out)
    expected = pd.concat([r.to_frame() for r in _expected([6, 9])],
                         ignore_index=True)
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["layer_name"] == "l0" and rows[-1]["eta"] == "nan"


def test_cli_flow_json_to_stdout_is_strict_json(npz, capsys):
    code = main(["flow", str(npz), "--n-neighbors", "6", "--format", "json"])
    assert code == 0
    text = capsys.readouterr().out

    def no_constants(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    data = json.loads(text, parse_constant=no_constants)  # only JSON, no table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ricci_flow(_layers(), 6, layer_names=[f"l{i}" for i in range(5)])
    want = res.to_dict()
    assert len(data) == 1
    got = data[0]
    assert got["layer_names"] == want["layer_names"]
    assert got["total_curvature"] == want["total_curvature"]
    assert got["n_components"] == want["n_components"]
    for key in ("coefficient", "adjusted_paper", "adjusted_fisher"):
        if np.isfinite(want[key]):
            assert got[key] == pytest.approx(want[key])
        else:
            assert got[key] is None
    assert [None if not np.isfinite(v) else v for v in want["geodesic_mass"]] == (
        got["geodesic_mass"]
    )


def test_cli_flow_output_needs_a_format(npz, tmp_path, capsys):
    code = main(["flow", str(npz), "--n-neighbors", "6", "--output",
                 str(tmp_path / "x.csv")])
    assert code == 1
    assert "--output" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_cli_flow_every_flag_has_help(capsys):
    with pytest.raises(SystemExit):
        main(["flow", "--help"])
    text = capsys.readouterr().out
    from sk_ricci.cli import _build_parser

    parser = _build_parser()
    flow = parser._subparsers._group_actions[0].choices["flow"]
    for action in flow._actions:
        assert action.help, f"{action.dest} has no help text"
    assert "--format {table,csv,json}" in text


# -- plot ---------------------------------------------------------------------------


def test_plot_flow_by_layer():
    pytest.importorskip("matplotlib")
    from sk_ricci.plotting import plot_flow_by_layer

    res = _hand_result(("a", "b", "c", "d"))
    other = _hand_result()
    fig = plot_flow_by_layer([res, other], labels=["first", "second"])
    top, bottom = fig.axes
    x, y = top.lines[0].get_data()
    np.testing.assert_array_equal(x, [1, 2, 3, 4])
    np.testing.assert_array_equal(y, res.total_curvature)
    x, y = bottom.lines[0].get_data()
    np.testing.assert_array_equal(x, [1, 2, 3])
    np.testing.assert_array_equal(y, res.eta)
    assert [t.get_text() for t in bottom.get_xticklabels()] == ["a", "b", "c", "d"]
    assert [t.get_text() for t in top.get_legend().get_texts()] == ["first", "second"]
    single = plot_flow_by_layer(other)
    assert "k = 7" in single.axes[0].get_legend().get_texts()[0].get_text()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="got 1 labels for 2 results"):
        plot_flow_by_layer([res, other], labels=["x"])
    with pytest.raises(ValueError, match="results is empty"):
        plot_flow_by_layer([])


def test_pipeline_with_pandas_output_keeps_the_graph_sparse():
    """KNNGraph -> RicciCurvature under set_output(transform="pandas"): the
    graph step stays sparse, the last step gives a DataFrame with the same
    values as the default output."""
    import pandas as pd
    import scipy.sparse as sp
    from sklearn.pipeline import make_pipeline

    from sk_ricci import KNNGraph, RicciCurvature

    X = np.random.RandomState(0).normal(size=(50, 3))
    default = make_pipeline(KNNGraph(5), RicciCurvature()).fit_transform(X)
    pipe = make_pipeline(KNNGraph(5), RicciCurvature()).set_output(transform="pandas")
    frame = pipe.fit_transform(X)
    assert isinstance(frame, pd.DataFrame)
    np.testing.assert_array_equal(frame.to_numpy(), default)
    assert list(frame.columns) == list(pipe[-1].get_feature_names_out())
    assert sp.issparse(KNNGraph(5).set_output(transform="pandas").fit_transform(X))
    with pytest.raises(ValueError, match="transform must be None"):
        KNNGraph(5).set_output(transform="arrow")
