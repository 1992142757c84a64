"""The large-n path: the automatic choice of the neighbour search, and the
scale benchmark's model and recall measurement."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from sk_ricci._graph import AUTO_BRUTE_MAX_SAMPLES, resolve_algorithm

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_scale.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_scale", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_auto_is_exact_up_to_20000_points_and_in_the_dense_regime():
    assert AUTO_BRUTE_MAX_SAMPLES == 20_000  # the number the docs state
    assert resolve_algorithm("auto", 20_000, 30) == "brute"
    assert resolve_algorithm("auto", 20_001, 30) == "nndescent"
    assert resolve_algorithm("auto", 50_000, 30) == "nndescent"
    # k >= 0.05 n: exact whatever n
    assert resolve_algorithm("auto", 50_000, 2_500) == "brute"
    assert resolve_algorithm("auto", 50_000, 2_499) == "nndescent"
    assert resolve_algorithm("nndescent", 100, 5) == "nndescent"
    assert resolve_algorithm("brute", 10**6, 5) == "brute"


def test_bench_model_is_a_resnet18():
    torch = pytest.importorskip("torch")
    from sk_ricci.nn import stream_layer_activations

    bench = _bench()
    model = bench.resnet18()
    # the CIFAR ResNet-18 (BasicBlock, [2, 2, 2, 2], 10 classes): 11,173,962
    # parameters, as in the common reference implementations
    assert sum(p.numel() for p in model.parameters()) == 11_173_962
    X, labels = bench.synthetic_images(7)
    assert X.shape == (7, 3, 32, 32) and X.dtype == np.float32
    assert set(labels) <= set(range(10))
    with torch.no_grad():
        assert model(torch.as_tensor(X)).shape == (7, 10)
    acts = stream_layer_activations(model, X, pooling="mean", batch_size=3)
    assert [a.shape[1] for a in acts] == [64] * 5 + [128] * 4 + [256] * 4 + [512] * 4


def test_bench_recall_counts_the_exact_neighbours_found(monkeypatch):
    import sk_ricci

    bench = _bench()
    X = np.random.RandomState(0).normal(size=(300, 5))
    exact, dist = sk_ricci.kneighbors(X, 10, algorithm="brute")
    # a stand-in for the approximate search: exact, except that every even
    # row's last 3 neighbours are replaced by points that are not among them
    approx = exact.copy()
    for i in range(0, 300, 2):
        others = [j for j in range(300) if j != i and j not in exact[i]]
        approx[i, 7:] = others[:3]
    monkeypatch.setattr(sk_ricci, "kneighbors", lambda *a, **kw: (approx, dist))
    sample = np.arange(0, 300, 3)  # rows 0, 3, 6, ...: half of them even
    expected = np.mean([0.7 if i % 2 == 0 else 1.0 for i in sample])
    assert bench._recall(X, sample, 10) == pytest.approx(expected)


def test_bench_runs_the_whole_path_on_a_few_images(tmp_path, capsys):
    # the benchmark's plumbing at a size that takes seconds: every stage is
    # timed, the flows of the 17 pooled layers are reported with and without
    # the minimum spanning tree, and with it every layer is connected
    pytest.importorskip("torch")
    bench = _bench()
    out = tmp_path / "rows.jsonl"
    bench.main(["--n", "80", "--threads", "1", "--mst", "--no-recall",
                "--out", str(out)])
    import json

    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert json.loads(out.read_text().strip()) == row
    assert row["n"] == 80 and row["layers"] == 17 and row["threads"] == 1
    assert set(row["time_s"]) == {"images", "forward", "flows", "flows_mst",
                                  "graphs"}
    assert set(row["peak_rss_mb"]) == set(row["time_s"]) == set(row["cpu_s"])
    assert len(row["components"]) == len(row["components_mst"]) == 17
    assert row["components_mst"] == [1] * 17
    assert row["rho_mst"] is not None and -1 <= row["rho_mst"] <= 1
    assert row["path_s"] == pytest.approx(
        sum(row["time_s"][s] for s in ("images", "forward", "flows")), abs=0.11)


def test_bench_mst_compares_both_scans_and_both_lists(monkeypatch):
    # the MST benchmark's measurement on a small layer: the Gram and loop
    # scans give the same tree, and with exact lists on both sides (the
    # approximate search replaced, to keep the test fast) nothing differs
    import importlib.util as util

    import sk_ricci._graph as graph_module

    spec = util.spec_from_file_location("bench_mst", BENCH.with_name("bench_mst.py"))
    bench = util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    search = graph_module._kneighbors_sq
    monkeypatch.setattr(graph_module, "_kneighbors_sq",
                        lambda X, k, algorithm, *a: search(X, k, "brute", *a))
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(size=(60, 5)), 30 + rng.normal(size=(60, 5))])
    row = bench.measure(X, threads=1)
    assert row["n"] == 120 and row["width"] == 5
    assert row["gram_equals_loop"] is True
    assert row["edges_differ_from_exact_lists"] == 0
    assert row["length_ratio"] == pytest.approx(1.0, rel=1e-12)
    assert len(row["gram_s"]) == 2 and len(row["loop_s"]) == 1


def test_bench_forward_check_times_three_ways(capsys):
    pytest.importorskip("torch")
    bench = _bench()
    bench.main(["--forward-check", "6", "--threads", "1"])
    import json

    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (row["n"], row["threads"], row["repeats"]) == (6, 1, 3)
    times = [row[k] for k in ("bare_contiguous_s", "bare_channels_last_s",
                              "stream_channels_last_s")]
    assert all(t >= 0 for t in times)
    assert row["stream_overhead"] == pytest.approx(times[2] / times[1] - 1, abs=0.01)
