"""The documented example runs, and its numbers are those of the search it shows."""

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / (
    "rank_architectures.py"
)


def _load_example():
    spec = importlib.util.spec_from_file_location("rank_architectures", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_rank_architectures_example(tmp_path, capsys):
    mod = _load_example()
    search = mod.main(["--quick", "--output", str(tmp_path)])
    out = capsys.readouterr().out
    lines = out.splitlines()
    table = lines[1:4]
    assert lines[0].split() == ["architecture", "depth", "accuracy", "flow", "rank",
                                "acc", "rank", "flow"]
    assert "refit on accuracy" in lines[4]

    # the printed rows, best flow first, are the CSV's rows sorted by their
    # mean flow (the CSV is written before the example prints)
    with open(tmp_path / "demo_results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    rows.sort(key=lambda r: -float(r["mean_test_flow"]))
    for line, row in zip(table, rows):
        name, depth, acc, flow, rank_acc, rank_flow = line.split()
        assert (name, depth) == (row["architecture"], row["depth"])
        assert float(acc) == pytest.approx(float(row["mean_test_accuracy"]), abs=5e-4)
        assert float(flow) == pytest.approx(float(row["mean_test_flow"]), abs=5e-4)
    assert [line.split()[-1] for line in table] == ["1", "2", "3"]
    # trained networks: well above chance (measured 0.968-0.980)
    assert min(float(r["mean_test_accuracy"]) for r in rows) > 0.9

    # an independent re-computation of one cell of the search: the same data,
    # split and fold, a fresh network with the same seed, scored by hand
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import StratifiedKFold, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sk_ricci import RicciFlowScorer
    from sk_ricci.datasets import make_entangled_spirals
    from sk_ricci.nn import ReLUMLPClassifier

    X, y = make_entangled_spirals(1300, random_state=0)
    X_train, _, y_train, _ = train_test_split(
        X, y, test_size=300, stratify=y, random_state=0
    )
    train, test = next(
        StratifiedKFold(2, shuffle=True, random_state=0).split(X_train, y_train)
    )
    res = search.cv_results_
    i = [p["net__architecture"] for p in res["params"]].index("wide")
    net = make_pipeline(StandardScaler(), ReLUMLPClassifier(
        architecture="wide", depth=5, max_epochs=80, lr=2e-3,
        validation_fraction=0.0, random_state=0,
    )).fit(X_train[train], y_train[train])
    acc = accuracy_score(y_train[test], net.predict(X_train[test]))
    flow = RicciFlowScorer(
        n_neighbors=0.05, statistic="rho", connect="mst", curvature="forman"
    )(net, X_train[test])
    assert res["split0_test_accuracy"][i] == pytest.approx(acc, abs=1e-12)
    assert res["split0_test_flow"][i] == pytest.approx(flow, abs=1e-9)


def test_example_parser():
    parser = _load_example().build_parser()
    assert parser.parse_args([]).quick is False
    assert parser.parse_args(["--quick"]).quick is True
    with pytest.raises(SystemExit):
        parser.parse_args(["--depth", "5"])
    assert np.isscalar(parser.parse_args(["--n-jobs", "2"]).n_jobs)
