"""The documented example runs and shows both metrics side by side."""

import importlib.util
from pathlib import Path

import numpy as np

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / (
    "rank_architectures.py"
)


def test_rank_architectures_example(capsys):
    spec = importlib.util.spec_from_file_location("rank_architectures", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    search = mod.main(["--quick"])
    out = capsys.readouterr().out
    assert "accuracy" in out and "flow" in out and "refit on accuracy" in out
    res = search.cv_results_
    assert len(res["params"]) == 3
    assert np.isfinite(res["mean_test_flow"]).all()
    assert ((res["mean_test_accuracy"] >= 0) & (res["mean_test_accuracy"] <= 1)).all()
    for p in res["params"]:
        assert p["architecture"] in out
