"""The study: end to end, resumable, backend-independent, and its statistics.

One small study (two problems, two architectures, depth 5, three repeats, two
k, tiny networks trained for 2 epochs) runs serially once per module; every
other way of running it (2 loky workers, a real Dask LocalCluster, Ray when
installed, killed with SIGKILL and resumed, resumed after a partial line) must
give exactly its rows, timing columns aside.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from scipy import stats

from sk_ricci import (
    DisconnectedGraphWarning,
    RicciFlowResult,
    aggregated_ricci_coefficient,
)
from sk_ricci.study import (
    OutputFolderError,
    StudyConfig,
    StudyConfigError,
    analyse_study,
    load_config,
    load_results,
    make_report,
    network_seed,
    ols,
    run_study,
)
from sk_ricci.study._analysis import CSV_COLUMNS
from sk_ricci.study._results import TIMING_COLUMNS
from sk_ricci.study._run import _progress_bar, _show

TINY = {
    "problems": ["A", "B"],
    "architectures": ["narrow", "wide"],
    "depths": [5],
    "repeats": 3,
    "n_train": 120,
    "n_test": 100,
    "max_epochs": 2,
    "n_neighbors": [8, 20],
    "thresholds": {"A": 0.0, "B": 0.55},
}
TINY_FLAGS = [
    "--problems", "A,B", "--architectures", "narrow,wide", "--depths", "5",
    "--repeats", "3", "--n-train", "120", "--n-test", "100", "--epochs", "2",
    "--k-grid", "8,20", "--threshold", "A=0", "--threshold", "B=0.55", "--quiet",
]
N_NETWORKS = 12


def _table(output):
    """Rows of a results folder without timing columns, sorted by id."""
    rows = load_results(output)
    for row in rows:
        for col in TIMING_COLUMNS:
            row.pop(col)
    return sorted(rows, key=lambda r: r["network_id"])


def _as_array(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _own_flow_result(entry):
    """A stored flow entry as a RicciFlowResult, rebuilt here (not with the
    study's own decoder)."""
    ncomp = np.asarray(entry["n_components"])
    mass = _as_array(entry["geodesic_mass"])
    mass[ncomp > 1] = np.inf
    coef = entry["coefficient"]
    return RicciFlowResult(
        entry["n_neighbors"], _as_array(entry["total_curvature"]), mass,
        _as_array(entry["eta"]), np.nan if coef is None else coef, np.nan,
        np.nan, ncomp == 1, ncomp,
    )


def _passing_curve(rows, group, threshold):
    """The aggregated coefficient over k of the group's networks whose
    accuracy is strictly above the threshold (the paper's rule), pooled
    by aggregated_ricci_coefficient and, independently, by np.corrcoef."""
    members = [r for r in rows
               if (r["problem"], r["architecture"], r["depth"]) == group]
    passed = [r for r in members if r["accuracy"] > threshold]
    curve = []
    for j in range(len(members[0]["flow"])):
        if not passed:
            curve.append(np.nan)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DisconnectedGraphWarning)
            agg = aggregated_ricci_coefficient(
                [_own_flow_result(r["flow"][j]) for r in passed]
            )
        connected = [r["flow"][j] for r in passed
                     if all(c == 1 for c in r["flow"][j]["n_components"])]
        if connected:
            eta = np.concatenate([_as_array(e["eta"]) for e in connected])
            ric = np.concatenate([_as_array(e["total_curvature"])[:-1]
                                  for e in connected])
            assert agg.coefficient == pytest.approx(
                np.corrcoef(eta, ric)[0, 1], abs=1e-12)
        curve.append(float(agg.coefficient))
    return np.array(curve)


# Hand-built rows: two groups of four depth-5 networks on the grid k = 8, 20,
# with every network's (eta_l, Ric_l) on a straight line, so that each rho
# and each pooled coefficient is known by construction.
HAND = {
    "problems": ["A", "B"],
    "architectures": ["narrow"],
    "depths": [5],
    "repeats": 4,
    "n_test": 100,
    "n_neighbors": [8, 20],
    "thresholds": {"A": 0.99, "B": 0.55},
}


def _entry(k, ric, slope=None, offset=0, eta=None, n_components=(1,) * 5):
    """One flow entry of results.jsonl: eta_l = slope * Ric_l + offset (or
    the given eta), masses g_1 = 1000, g_{l+1} = g_l + eta_l; rho by
    np.corrcoef (None when undefined or a layer is disconnected)."""
    ric = np.asarray(ric, dtype=float)
    eta = slope * ric[:-1] + offset if eta is None else np.asarray(eta, float)
    mass = 1000 + np.r_[0, np.cumsum(eta)]
    ok = np.asarray(n_components) == 1
    rho = None
    if ok.all() and np.ptp(eta) > 0:
        rho = float(np.corrcoef(eta, ric[:-1])[0, 1])
    z = None if rho is None or abs(rho) >= 1 else float(np.arctanh(rho))
    return {
        "n_neighbors": k,
        "total_curvature": ric.tolist(),
        "geodesic_mass": [float(m) if o else None for m, o in zip(mass, ok)],
        "eta": [float(e) if a and b else None
                for e, a, b in zip(eta, ok[:-1], ok[1:])],
        "n_components": list(n_components),
        "coefficient": rho,
        "adjusted_paper": z,
        "adjusted_fisher": z,
    }


def _hand_row(problem, repeat, accuracy, flow):
    return {
        "network_id": f"{problem}/narrow/d5/r{repeat}", "problem": problem,
        "architecture": "narrow", "depth": 5, "repeat": repeat,
        "seed": 100 + repeat, "hidden_layer_sizes": [25] * 5, "n_train": 120,
        "n_test": 100, "max_epochs": 2, "batch_size": 32, "lr": 0.001,
        "optimizer": "rmsprop", "validation_fraction": 0.2, "symmetrize": "sum",
        "connect": None, "accuracy": accuracy, "train_accuracy": 1.0,
        "fit_time_s": 0.1, "flow_time_s": 0.1, "flow": flow,
    }


RIC_SMALL = ([-10, -20, -30, -40, -50], [-15, -5, -25, -35, -45])
RIC_LARGE = ([-1000, -3000, -2000, -4000, -5000], [-2000, -1000, -5000, -3000, -4000])


def hand_rows():
    """A: r0, r1 pass (rho +1 at k=8, -1 at k=20); r2 (accuracy exactly the
    threshold 0.99) and r3 fail, with large curvatures of the opposite trend,
    which would flip k* if they were pooled. B: r0 (accuracy exactly 0.55)
    fails, the same way; r1 passes but is disconnected at k=8; r2 passes (rho
    -1 at k=8, +1 at k=20); r3 passes with a constant eta at k=8 (rho
    undefined)."""
    a = [
        _hand_row("A", 0, 1.0, [_entry(8, RIC_SMALL[0], 1, 500),
                                _entry(20, RIC_SMALL[0], -1, 100)]),
        _hand_row("A", 1, 0.995, [_entry(8, RIC_SMALL[1], 1, 500),
                                  _entry(20, RIC_SMALL[1], -1, 100)]),
        _hand_row("A", 2, 0.99, [_entry(8, RIC_LARGE[0], -2),
                                 _entry(20, RIC_LARGE[0], 2)]),
        _hand_row("A", 3, 0.5, [_entry(8, RIC_LARGE[1], -2),
                                _entry(20, RIC_LARGE[1], 2)]),
    ]
    b = [
        _hand_row("B", 0, 0.55, [_entry(8, RIC_LARGE[0], 2),
                                 _entry(20, RIC_LARGE[0], -2)]),
        _hand_row("B", 1, 0.8, [
            _entry(8, RIC_SMALL[0], -1, 50, n_components=(1, 1, 2, 1, 1)),
            _entry(20, RIC_SMALL[0], 1, 300)]),
        _hand_row("B", 2, 0.9, [_entry(8, RIC_SMALL[1], -1, 50),
                                _entry(20, RIC_SMALL[1], 1, 300)]),
        _hand_row("B", 3, 0.7, [_entry(8, [-12, -22, -32, -42, -52], eta=[200] * 4),
                                _entry(20, [-12, -22, -32, -42, -52], 1, 300)]),
    ]
    return a + b


def _write_study(folder, config, rows):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"config": config.to_dict()}))
    (folder / "results.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows))


def _read_csv(path):
    import csv

    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# --------------------------------------------------------------------------- #
# the analysis recomputed from raw rows, without the study's code
# --------------------------------------------------------------------------- #
def _pooled_rho(entries):
    """Pearson correlation (np.corrcoef) of the pooled (eta_l, Ric_l) of the
    entries whose layer graphs are all connected; NaN when there are none."""
    kept = [e for e in entries if all(c == 1 for c in e["n_components"])]
    if not kept:
        return np.nan
    eta = np.concatenate([_as_array(e["eta"]) for e in kept])
    ric = np.concatenate([_as_array(e["total_curvature"])[:-1] for e in kept])
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.corrcoef(eta, ric)[0, 1])


def _independent_analysis(rows, settings):
    """Per network (passed, k*, rho at k*, connected at k*, analysed) and the
    counts, from the raw rows and the paper's rules only: a network passes
    when its accuracy is strictly above its problem's threshold; k* minimises
    the pooled coefficient of a group's passing networks; a network is
    analysed when it passes, is connected at k* and has a finite rho there."""
    thresholds = settings["thresholds"]
    groups = {}
    for r in rows:
        groups.setdefault((r["problem"], r["architecture"], r["depth"]), []).append(r)
    table = {}
    for members in groups.values():
        passed = [r for r in members if r["accuracy"] > thresholds[r["problem"]]]
        ks = [e["n_neighbors"] for e in members[0]["flow"]]
        curve = np.array([_pooled_rho([r["flow"][j] for r in passed])
                          for j in range(len(ks))])
        j = None if np.isnan(curve).all() else int(np.nanargmin(curve))
        for r in members:
            ok = r["accuracy"] > thresholds[r["problem"]]
            if j is None:
                table[r["network_id"]] = (ok, None, np.nan, None, False)
                continue
            e = r["flow"][j]
            rho = np.nan if e["coefficient"] is None else e["coefficient"]
            connected = all(c == 1 for c in e["n_components"])
            table[r["network_id"]] = (
                ok, ks[j], rho, connected, ok and connected and np.isfinite(rho))
    values = list(table.values())
    n_connected = sum(1 for v in values if v[0] and v[3])
    n_analysed = sum(1 for v in values if v[4])
    counts = {
        "expected": (len(settings["problems"]) * len(settings["architectures"])
                     * len(settings["depths"]) * settings["repeats"]),
        "trained": len(rows), "diverged": 0, "not_in_config": 0,
        "passed": sum(1 for v in values if v[0]),
        "below_threshold": sum(1 for v in values if not v[0]),
        "no_k_star": sum(1 for v in values if v[0] and v[1] is None),
        "disconnected": sum(1 for v in values if v[0] and v[3] is False),
        "connected": n_connected, "analysed": n_analysed,
        "negative": sum(1 for v in values if v[4] and v[2] < 0),
        "undefined_rho": n_connected - n_analysed,
    }
    return table, counts


def _independent_regression(rows, settings, table):
    """accuracy ~ 1 + rho + dummies (problem, architecture, depth; against
    the first level present, in the settings' order) over the analysed
    networks, by np.linalg.lstsq and the textbook variance s^2 (X'X)^-1;
    None when it cannot be fitted."""
    data = [r for r in rows if table[r["network_id"]][4]]
    cols = [np.ones(len(data)), [table[r["network_id"]][2] for r in data]]
    for factor, levels in (("problem", settings["problems"]),
                           ("architecture", settings["architectures"]),
                           ("depth", settings["depths"])):
        present = [lv for lv in levels if any(r[factor] == lv for r in data)]
        cols += [[float(r[factor] == lv) for r in data] for lv in present[1:]]
    X = np.column_stack(cols) if data else np.empty((0, 2))
    y = np.array([r["accuracy"] for r in data])
    n, p = X.shape
    if n <= p or np.linalg.matrix_rank(X) < p:
        return None
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    rss = float(((y - X @ coef) ** 2).sum())
    se = np.sqrt(rss / (n - p) * np.diag(np.linalg.inv(X.T @ X)))
    t = coef / se
    return {"coef": coef, "se": se, "t": t,
            "p": 2 * stats.t.sf(np.abs(t), n - p), "n": n, "df": n - p,
            "r2": 1 - rss / float(((y - y.mean()) ** 2).sum())}


@pytest.fixture(scope="module")
def config():
    return StudyConfig(**TINY)


@pytest.fixture(scope="module")
def serial(config, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    analysis = run_study(config, out, quiet=True)
    return out, analysis, _table(out)


# --------------------------------------------------------------------------- #
# end to end
# --------------------------------------------------------------------------- #
def _own_network_seed(seed, problem, architecture, depth, repeat):
    """docs/study.md's recipe, written out: SHA-256 of the names, read as
    eight little-endian 32-bit words, after the base seed in a SeedSequence;
    its first 32-bit state, shifted right by one bit."""
    import hashlib

    digest = hashlib.sha256(f"{problem}|{architecture}|{depth}|{repeat}".encode())
    words = [int.from_bytes(digest.digest()[i:i + 4], "little")
             for i in range(0, 32, 4)]
    return int(np.random.SeedSequence([seed, *words]).generate_state(1)[0]) >> 1


def test_small_study_end_to_end(serial, config):
    out, _analysis, rows = serial
    assert len(rows) == N_NETWORKS
    expected_ids = sorted(
        f"{p}/{a}/d5/r{i}" for p in ("A", "B") for a in ("narrow", "wide")
        for i in range(3))
    assert [r["network_id"] for r in rows] == expected_ids
    for row in rows:
        assert 0 <= row["accuracy"] <= 1
        assert row["seed"] == _own_network_seed(
            0, row["problem"], row["architecture"], 5, row["repeat"])
        assert (row["n_train"], row["n_test"], row["max_epochs"],
                row["batch_size"], row["lr"], row["optimizer"],
                row["validation_fraction"], row["symmetrize"],
                row["connect"]) == (120, 100, 2, 32, 1e-3, "rmsprop", 0.2,
                                    "sum", None)
        assert [e["n_neighbors"] for e in row["flow"]] == [8, 20]
        for entry in row["flow"]:
            assert len(entry["total_curvature"]) == 5
            assert len(entry["eta"]) == 4
            assert len(entry["n_components"]) == 5
            # the stored numbers agree with one another: eta_l = g_{l+1} - g_l,
            # rho = Pearson(eta_l, Ric_l), and with L = 5 both adjustments
            # are arctanh(rho) (sqrt(L - 4) = 1)
            if all(c == 1 for c in entry["n_components"]):
                mass = np.array(entry["geodesic_mass"], dtype=float)
                np.testing.assert_allclose(entry["eta"], np.diff(mass),
                                           rtol=1e-12)
                rho = np.corrcoef(entry["eta"], entry["total_curvature"][:-1])
                assert entry["coefficient"] == pytest.approx(rho[0, 1], abs=1e-12)
                if abs(entry["coefficient"]) < 1:
                    z = np.arctanh(entry["coefficient"])
                    assert entry["adjusted_paper"] == pytest.approx(z, abs=1e-12)
                    assert entry["adjusted_fisher"] == pytest.approx(z, abs=1e-12)
            else:
                assert entry["coefficient"] is None
        width = 25 if row["architecture"] == "narrow" else 50
        assert row["hidden_layer_sizes"] == [width] * 5
    # results.csv: one row per network, every parameter, seed and k* columns,
    # with the values recomputed from the raw rows
    lines = (out / "results.csv").read_text().splitlines()
    assert lines[0].split(",") == list(CSV_COLUMNS)
    assert len(lines) == 1 + N_NETWORKS
    table, _ = _independent_analysis(rows, TINY)
    by_id = {r["network_id"]: r for r in rows}
    for line in _read_csv(out / "results.csv"):
        ok, k_star, rho, connected, analysed = table[line["network_id"]]
        assert line["passed_threshold"] == str(ok)
        assert line["k_star"] == ("" if k_star is None else str(k_star))
        np.testing.assert_allclose(float(line["rho"]), rho, rtol=0, atol=1e-15)
        assert line["connected_at_k_star"] == ("" if connected is None
                                               else str(connected))
        assert line["analysed"] == str(analysed)
        assert float(line["accuracy"]) == by_id[line["network_id"]]["accuracy"]
        assert int(line["seed"]) == by_id[line["network_id"]]["seed"]
    # aggregated.csv: one line per (group, k)
    assert len((out / "aggregated.csv").read_text().splitlines()) == 1 + 4 * 2
    for name in ("fig3_aggregated_coefficient.png", "fig4_flow.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    config_json = json.loads((out / "config.json").read_text())
    assert config_json["config_hash"] == StudyConfig(**TINY).config_hash
    assert config_json["n_networks"] == N_NETWORKS


@pytest.mark.parametrize("network_id", ["A/narrow/d5/r0", "B/wide/d5/r2"])
def test_a_row_is_what_a_lone_fit_gives(serial, config, network_id):
    """A network trained alone with the row's settings, outside the study
    (no batch, no worker, no results file), has the row's accuracies and
    flow."""
    from sk_ricci import ricci_flow
    from sk_ricci.nn import ReLUMLPClassifier, layer_activations
    from sk_ricci.study import load_problem

    row = next(r for r in serial[2] if r["network_id"] == network_id)
    X_train, y_train, X_test, y_test = load_problem(row["problem"], config)
    clf = ReLUMLPClassifier(
        architecture=row["architecture"], depth=5, lr=1e-3, max_epochs=2,
        batch_size=32, optimizer="rmsprop", validation_fraction=0.2,
        random_state=row["seed"],
    ).fit(X_train, y_train)
    assert row["accuracy"] == clf.score(X_test, y_test)
    assert row["train_accuracy"] == clf.score(X_train, y_train)
    results = ricci_flow(layer_activations(clf, X_test), [8, 20],
                         symmetrize="sum")
    for entry, res in zip(row["flow"], results):
        assert entry["n_neighbors"] == res.n_neighbors
        np.testing.assert_allclose(entry["total_curvature"], res.total_curvature,
                                   rtol=1e-12)
        assert entry["n_components"] == res.n_components.tolist()
        np.testing.assert_allclose(_as_array([entry["coefficient"]]),
                                   [res.coefficient], rtol=0, atol=1e-12)


def test_analysis_counts_and_k_star(serial, config):
    _, analysis, rows = serial
    c = analysis.counts
    # every count, recomputed from the raw rows with the paper's rules
    table, counts = _independent_analysis(rows, TINY)
    assert c == counts
    assert c["trained"] == c["expected"] == N_NETWORKS
    # A has threshold 0: every A network passes; B (0.55) has failing ones
    assert all(table[i][0] for i in table if i.startswith("A/"))
    assert 0 < c["below_threshold"] < 6
    assert (
        c["analysed"] + c["disconnected"] + c["no_k_star"] + c["undefined_rho"]
        == c["passed"]
    )
    # per network: (passed, k*, rho at k*, connected at k*, analysed)
    assert [t["network_id"] for t in analysis.table] == [
        n.network_id for n in config.networks()]
    for t in analysis.table:
        ok, k_star, rho, connected, analysed = table[t["network_id"]]
        assert (t["passed_threshold"], t["k_star"], t["connected_at_k_star"],
                t["analysed"]) == (ok, k_star, connected, analysed)
        np.testing.assert_equal(t["rho"], rho)
    for g in analysis.groups:
        if g["k_star"] is not None:
            finite = np.array(g["aggregated"], dtype=float)
            assert g["aggregated_at_k_star"] == np.nanmin(finite)
            assert g["k_star"] == g["n_neighbors"][int(np.nanargmin(finite))]
        members = [r for r in rows if (r["problem"], r["architecture"])
                   == (g["problem"], g["architecture"])]
        rhos = [table[r["network_id"]][2] for r in members
                if table[r["network_id"]][4]]
        assert (g["n_trained"], g["n_passed"], g["n_analysed"],
                g["n_negative"]) == (
            len(members), sum(table[r["network_id"]][0] for r in members),
            len(rhos), sum(rho < 0 for rho in rhos))
        np.testing.assert_equal(g["median_rho"],
                                np.median(rhos) if rhos else np.nan)
    # per-network rho at k* is the stored coefficient at that k
    by_id = {r["network_id"]: r for r in rows}
    for t in analysis.table:
        if t["k_star"] is None:
            continue
        entry = next(
            e for e in by_id[t["network_id"]]["flow"]
            if e["n_neighbors"] == t["k_star"]
        )
        stored = np.nan if entry["coefficient"] is None else entry["coefficient"]
        np.testing.assert_equal(t["rho"], stored)
    # the k* curve, recomputed here over the networks strictly above the
    # threshold only; this study has failing B networks whose pooling would
    # change a curve, so the check tells "passing only" from "every network"
    written = _read_csv(serial[0] / "aggregated.csv")
    changed = 0
    for g in analysis.groups:
        group = (g["problem"], g["architecture"], g["depth"])
        expected = _passing_curve(rows, group, TINY["thresholds"][g["problem"]])
        np.testing.assert_allclose(g["aggregated"], expected, rtol=0, atol=1e-12)
        k_star = (None if np.isnan(expected).all()
                  else g["n_neighbors"][int(np.nanargmin(expected))])
        assert g["k_star"] == k_star
        in_csv = [float(c["aggregated_coefficient"]) for c in written
                  if (c["problem"], c["architecture"], int(c["depth"])) == group]
        np.testing.assert_allclose(in_csv, expected, rtol=0, atol=1e-12)
        every = _passing_curve(rows, group, -1.0)
        changed += not np.allclose(every, expected, equal_nan=True)
    assert changed >= 1, "no group has failing networks that change its curve"


def test_analysis_counts_and_k_star_by_construction(tmp_path):
    config = StudyConfig(**HAND)
    rows = hand_rows()
    _write_study(tmp_path, config, rows)
    analysis = make_report(tmp_path, figures=False)
    assert analysis.counts == {
        "expected": 8, "trained": 8, "passed": 5, "below_threshold": 3,
        "no_k_star": 0, "disconnected": 1, "connected": 4, "analysed": 3,
        "negative": 3, "undefined_rho": 1,
        "diverged": 0, "not_in_config": 0,
    }
    a, b = analysis.groups
    assert (a["problem"], b["problem"]) == ("A", "B")
    assert a["n_neighbors"] == b["n_neighbors"] == [8, 20]
    # A: r0 and r1 on one line at each k (pooled +1, then -1): k* = 20
    np.testing.assert_allclose(a["aggregated"], [1.0, -1.0], rtol=0, atol=1e-12)
    assert a["k_star"] == 20 and a["n_pooled"] == [2, 2]
    # B at k=8: r2 (eta = 50 - Ric) with r3 (eta = 200), r1 disconnected and
    # skipped; at k=20: r1, r2, r3 on eta = Ric + 300 (pooled +1): k* = 8
    eta = np.r_[50 - np.array(RIC_SMALL[1][:-1]), [200] * 4]
    ric = np.r_[RIC_SMALL[1][:-1], [-12, -22, -32, -42]]
    b8 = np.corrcoef(eta, ric)[0, 1]
    assert -1 < b8 < 0
    np.testing.assert_allclose(b["aggregated"], [b8, 1.0], rtol=0, atol=1e-12)
    assert b["k_star"] == 8 and b["n_pooled"] == [2, 3]
    assert b["aggregated_at_k_star"] == pytest.approx(b8, abs=1e-12)
    for g, counts in ((a, (4, 2, 2, 2, 2)), (b, (4, 3, 2, 1, 1))):
        assert (g["n_trained"], g["n_passed"], g["n_connected"], g["n_analysed"],
                g["n_negative"]) == counts
        assert g["median_rho"] == pytest.approx(-1.0, abs=1e-12)
    # pooling every network would flip both k*: the rows tell the rules apart
    for group, k_star in ((("A", "narrow", 5), 20), (("B", "narrow", 5), 8)):
        every = _passing_curve(rows, group, -1.0)
        assert [8, 20][int(np.argmin(every))] != k_star
    # per network: (passed, k*, rho at k*, connected at k*, analysed)
    nan = np.nan
    expected = {
        "A/narrow/d5/r0": (True, 20, -1.0, True, True),
        "A/narrow/d5/r1": (True, 20, -1.0, True, True),
        "A/narrow/d5/r2": (False, 20, 1.0, True, False),  # accuracy == 0.99
        "A/narrow/d5/r3": (False, 20, 1.0, True, False),
        "B/narrow/d5/r0": (False, 8, 1.0, True, False),  # accuracy == 0.55
        "B/narrow/d5/r1": (True, 8, nan, False, False),
        "B/narrow/d5/r2": (True, 8, -1.0, True, True),
        "B/narrow/d5/r3": (True, 8, nan, True, False),
    }
    assert [t["network_id"] for t in analysis.table] == list(expected)
    for t in analysis.table:
        ok, k_star, rho, connected, analysed = expected[t["network_id"]]
        assert (t["passed_threshold"], t["k_star"], t["connected_at_k_star"],
                t["analysed"]) == (ok, k_star, connected, analysed)
        np.testing.assert_allclose(t["rho"], rho, rtol=0, atol=1e-12)
    # three analysed networks cannot fit intercept + rho + problem[B]
    assert analysis.regression is None
    assert analysis.regression_note.startswith("not fitted")
    # what the report files say
    written = _read_csv(tmp_path / "aggregated.csv")
    np.testing.assert_allclose(
        [float(r["aggregated_coefficient"]) for r in written], [1, -1, b8, 1],
        rtol=0, atol=1e-12)
    assert [r["is_k_star"] for r in written] == ["False", "True", "True", "False"]
    table = _read_csv(tmp_path / "results.csv")
    assert [r["passed_threshold"] for r in table] == [
        str(expected[r["network_id"]][0]) for r in table]
    assert [r["k_star"] for r in table] == ["20"] * 4 + ["8"] * 4
    assert "| 8 | 5 | 4 | 3 |" in (tmp_path / "report.md").read_text()


def test_a_network_written_twice_keeps_its_first_row(tmp_path):
    """As documented: a network id written twice (a hand edit) keeps its
    first row, whether the second is a middle line or the last line without
    its newline."""
    config = StudyConfig(**HAND)
    first, *others = hand_rows()
    second = {**first, "accuracy": 0.5, "seed": 999}
    lines = [json.dumps(r) for r in (first, *others[:2], second, others[2])]
    _write_study(tmp_path, config, [])
    for text in ("\n".join(lines) + "\n",
                 "\n".join([*lines[:3], lines[4], lines[3]])):  # no newline
        (tmp_path / "results.jsonl").write_text(text)
        rows = load_results(tmp_path)
        assert [r["network_id"] for r in rows] == [
            first["network_id"], *(r["network_id"] for r in others[:3])]
        assert rows[0] == first
        analysis = analyse_study(rows, config)
        row = next(t for t in analysis.table
                   if t["network_id"] == first["network_id"])
        assert (row["accuracy"], row["seed"]) == (1.0, 100)


def test_a_rho_of_exactly_zero_is_not_negative(tmp_path):
    """rho = 0 is not Ricci-flow-like: the counts of negative rho are strict."""
    settings = {**HAND, "problems": ["A"], "repeats": 3, "thresholds": {"A": 0.5}}
    # r0: eta = (1, -1, -1, 1) against Ric = (-10, -20, -30, -40): the
    # centred products -15 + 5 - 5 + 15 sum to exactly 0, so rho = 0.0
    zero = _entry(8, [-10, -20, -30, -40, -50], eta=[1, -1, -1, 1])
    assert zero["coefficient"] == 0.0
    rows = [
        _hand_row("A", 0, 0.9, [zero, _entry(20, [-10, -20, -30, -40, -50],
                                             eta=[1, -1, -1, 1])]),
        _hand_row("A", 1, 0.9, [_entry(8, RIC_SMALL[0], 1, 500),
                                _entry(20, RIC_SMALL[0], -1, 100)]),
        _hand_row("A", 2, 0.9, [_entry(8, RIC_SMALL[1], 1, 500),
                                _entry(20, RIC_SMALL[1], -1, 100)]),
    ]
    _write_study(tmp_path, StudyConfig(**settings), rows)
    analysis = make_report(tmp_path, figures=False)
    table, counts = _independent_analysis(rows, settings)
    assert [v[2] for v in table.values()] == [0.0, -1.0, -1.0]  # k* = 20
    assert analysis.counts == counts
    assert (counts["analysed"], counts["negative"]) == (3, 2)
    (group,) = analysis.groups
    assert (group["k_star"], group["n_analysed"], group["n_negative"]) == (20, 3, 2)
    report = (tmp_path / "report.md").read_text()
    assert "2 of 3 analysed networks (66.7%) have a negative" in report
    # k* = 20: the pooled eta = (1, -1, -1, 1, 100 - Ric of r1 and r2)
    ric = np.r_[[-10, -20, -30, -40], RIC_SMALL[0][:-1], RIC_SMALL[1][:-1]]
    pooled = np.corrcoef(np.r_[[1, -1, -1, 1], 100 - ric[4:]], ric)[0, 1]
    assert -0.03 < pooled < -0.02
    assert (f"| A | narrow | 5 | 3 | 3 | 20 | 20.0% | {pooled:.3f} | 3 | 2 | "
            "-1.000 |") in report


def test_load_results_as_frame_keeps_diverged_networks(tmp_path):
    rows = hand_rows()[:2]
    diverged = {
        "network_id": "A/narrow/d5/r2", "problem": "A", "architecture": "narrow",
        "depth": 5, "repeat": 2, "seed": 102, "status": "diverged",
        "cause": "non-finite training loss (nan) from epoch 1 of 2",
        "lr": 1e30, "max_epochs": 2, "fit_time_s": 0.1,
    }
    _write_study(tmp_path, StudyConfig(**HAND), [rows[0], diverged, rows[1]])
    frame = load_results(tmp_path, as_frame=True)
    assert frame.network_id.tolist() == [
        "A/narrow/d5/r0", "A/narrow/d5/r0", "A/narrow/d5/r2", "A/narrow/d5/r1",
        "A/narrow/d5/r1"]
    assert frame.status.tolist() == ["ok", "ok", "diverged", "ok", "ok"]
    assert frame.cause.isna().tolist() == [True, True, False, True, True]
    assert frame.cause[2] == diverged["cause"]
    np.testing.assert_array_equal(frame.n_neighbors, [8, 20, np.nan, 8, 20])
    np.testing.assert_array_equal(frame.coefficient, [1, -1, np.nan, 1, -1])
    assert frame.all_connected.isna().tolist() == [False, False, True, False,
                                                   False]
    assert frame.all_connected[[0, 1, 3, 4]].tolist() == [True] * 4
    assert np.isnan(frame.accuracy[2]) and frame.lr[2] == 1e30
    # the file itself may be passed
    assert load_results(tmp_path / "results.jsonl") == load_results(tmp_path)
    assert len(load_results(tmp_path / "results.jsonl", as_frame=True)) == 5


def test_load_results_of_a_missing_or_foreign_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"'/no/such/folder' does not "
                       r"exist; pass a study's output folder .* or its "
                       r"results.jsonl"):
        load_results("/no/such/folder")
    with pytest.raises(FileNotFoundError, match="not a study's output folder"):
        load_results(tmp_path)
    # a study that has not finished a network yet has no rows
    (tmp_path / "config.json").write_text("{}")
    assert load_results(tmp_path) == []


def _older_version_folder(serial, config, folder):
    """A copy of the serial study as an earlier version wrote it: no
    results_version, the hash of the fields alone."""
    import hashlib

    from sk_ricci.study._config import RESULTS_VERSION

    folder.mkdir()
    for name in ("config.json", "results.jsonl"):
        shutil.copy(serial[0] / name, folder / name)
    saved = json.loads((folder / "config.json").read_text())
    assert saved["results_version"] == RESULTS_VERSION
    assert saved["config_hash"] == config.config_hash
    del saved["results_version"]
    text = json.dumps(config.to_dict(hashed_only=True), sort_keys=True)
    saved["config_hash"] = hashlib.sha256(text.encode()).hexdigest()[:16]
    assert saved["config_hash"] != config.config_hash
    (folder / "config.json").write_text(json.dumps(saved))
    return saved["config_hash"]


def test_report_of_an_earlier_results_version_warns_and_shows_its_hash(
    serial, config, tmp_path, capsys
):
    from sk_ricci.cli import main
    from sk_ricci.exceptions import ResultsFileWarning
    from sk_ricci.study._config import RESULTS_VERSION

    out = tmp_path / "old"
    stored = _older_version_folder(serial, config, out)
    with pytest.warns(ResultsFileWarning,
                      match=rf"results version 1; this one writes version "
                      rf"{RESULTS_VERSION}.*config hash {stored}.*will not resume"):
        analysis = make_report(out, figures=False)
    assert analysis.config_hash == stored
    report = (out / "report.md").read_text()
    assert f"config hash `{stored}`" in report
    assert config.config_hash not in report
    # the command says it on one line, and still reports
    assert main(["report", str(out), "--no-figures"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(
        "sk-ricci report: warning: ResultsFileWarning: ")
    # the study's own folder: its hash, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = make_report(serial[0], figures=False)
    assert again.config_hash == config.config_hash
    make_report(serial[0])  # its figures back


def _markdown_row(report, first_cell):
    """The cells of the report's table row that starts with ``first_cell``."""
    line = next(x for x in report.splitlines() if x.startswith(f"| {first_cell} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_report_contains_counts_and_regression(serial):
    out, analysis, rows = serial
    report = (out / "report.md").read_text()
    table, c = _independent_analysis(rows, TINY)
    assert "| trained | passing the accuracy threshold | connected at k* | analysed |" \
        in report
    assert f"| {c['trained']} | {c['passed']} | {c['connected']} | " \
        f"{c['analysed']} |" in report
    assert f"{c['negative']} of {c['analysed']} analysed networks" in report
    rhos = [v[2] for v in table.values() if v[4]]
    assert f"mean rho {np.mean(rhos):.3f}, median {np.median(rhos):.3f}" in report
    assert "## Regression" in report
    # the regression, fitted again from the raw rows by lstsq
    ref = _independent_regression(rows, TINY, table)
    assert ref is not None and analysis.regression is not None
    names = ["intercept", "rho", "problem[B]", "architecture[wide]"]
    assert analysis.regression.names == names
    np.testing.assert_allclose(analysis.regression.coef, ref["coef"], rtol=1e-9)
    np.testing.assert_allclose(analysis.regression.stderr, ref["se"], rtol=1e-9)
    np.testing.assert_allclose(analysis.regression.p, ref["p"], rtol=1e-9)
    assert analysis.regression.r_squared == pytest.approx(ref["r2"], rel=1e-9)
    # and as the report prints it (4, 3, 3 decimals and 3 significant digits)
    assert "| term | coefficient | std. error | t | p |" in report
    for i, name in enumerate(names):
        cells = _markdown_row(report, name)
        assert float(cells[1]) == pytest.approx(ref["coef"][i], rel=1e-3, abs=1e-12)
        assert float(cells[2]) == pytest.approx(ref["se"][i], rel=5e-3)
        assert float(cells[3]) == pytest.approx(ref["t"][i], abs=1.1e-3)
        assert float(cells[4]) == pytest.approx(ref["p"][i], rel=5e-3, abs=1e-300)
    assert (f"n = {ref['n']}, residual df = {ref['df']}, "
            f"R^2 = {ref['r2']:.3f}.") in report
    assert (f"Coefficient of rho: {ref['coef'][1]:.4g} (t = {ref['t'][1]:.2f}, "
            f"p = {ref['p'][1]:.3g})") in report
    assert "fig3_aggregated_coefficient.png" in report
    assert "fig4_flow.png" in report


def test_report_can_be_remade(serial, tmp_path):
    out, analysis, rows = serial
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("config.json", "results.jsonl"):
        shutil.copy(out / name, copy / name)
    again = make_report(copy, figures=False)
    assert again.counts == analysis.counts == _independent_analysis(rows, TINY)[1]
    # the same tables, byte for byte, and the same report but for its figures
    for name in ("results.csv", "aggregated.csv"):
        assert (copy / name).read_bytes() == (out / name).read_bytes(), name
    before = (out / "report.md").read_text().split("## Figures")[0]
    assert (copy / "report.md").read_text().split("## Figures")[0] == before
    assert (copy / "report.md").exists() and not (copy / "fig4_flow.png").exists()
    assert "not drawn" not in (copy / "report.md").read_text()


# --------------------------------------------------------------------------- #
# identical results whatever the backend
# --------------------------------------------------------------------------- #
def test_n_jobs_2_equals_serial(serial, config, tmp_path):
    run_study(config, tmp_path, n_jobs=2, quiet=True, report=False)
    assert _table(tmp_path) == serial[2]


def test_n_jobs_minus_2_equals_serial(serial, config, tmp_path):
    """joblib's convention: -2 is every core but one (one worker here, at
    least); the CLI and the TOML [run] table accept it too (test_cli)."""
    from joblib import effective_n_jobs

    from sk_ricci.study._run import _n_workers

    assert _n_workers(-2) == max(1, effective_n_jobs(-2))
    run_study(config, tmp_path, n_jobs=-2, quiet=True, report=False)
    assert _table(tmp_path) == serial[2]
    with pytest.raises(StudyConfigError, match=r"n_jobs=0 must be a non-zero int"):
        run_study(config, tmp_path / "zero", n_jobs=0, quiet=True)


def test_dask_local_cluster_equals_serial(serial, config, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    import logging

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:
        run_study(
            config, tmp_path, backend="dask",
            scheduler_address=cluster.scheduler_address, quiet=True, report=False,
        )
    assert _table(tmp_path) == serial[2]


def test_dask_local_cluster_of_the_study_warns_nothing(serial, config, tmp_path):
    """The study's own LocalCluster takes a free port: with 8787 busy (another
    cluster), distributed would warn "Port 8787 is already in use"."""
    pytest.importorskip("dask.distributed")
    import socket

    busy = socket.socket()
    with busy, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            busy.bind(("", 8787))
            busy.listen()
        except OSError:
            pass  # already taken, which is the case tested
        one = config.replace(problems=["A"], architectures=["narrow"], repeats=1)
        run_study(one, tmp_path, backend="dask", n_jobs=1, quiet=True, report=False)
    assert [str(w.message) for w in caught if "already in use" in str(w.message)] == []
    rows = {r["network_id"]: r for r in serial[2]}
    assert _table(tmp_path) == [rows["A/narrow/d5/r0"]]


def test_ray_equals_serial(serial, config, tmp_path):
    pytest.importorskip("ray")
    run_study(config, tmp_path, backend="ray", n_jobs=2, quiet=True, report=False)
    assert _table(tmp_path) == serial[2]


def test_missing_backend_package_has_install_hint(config, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"pip install 'sk-ricci\[ray\]'"):
        run_study(config, tmp_path, backend="ray", quiet=True, report=False)


# --------------------------------------------------------------------------- #
# resuming
# --------------------------------------------------------------------------- #
def test_sigkill_then_resume_gives_the_uninterrupted_rows(serial, tmp_path):
    from sk_ricci.cli import main

    out = tmp_path / "killed"
    results = out / "results.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sk_ricci.cli", "study", *TINY_FLAGS,
         "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if results.exists() and results.read_bytes().count(b"\n") >= 3:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the study finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    n_before = results.read_bytes().count(b"\n")
    assert 3 <= n_before < N_NETWORKS
    assert main(["study", *TINY_FLAGS, "--output", str(out)]) == 0
    assert _table(out) == serial[2]
    lines = results.read_text().splitlines()
    assert len(lines) == N_NETWORKS
    assert len({json.loads(line)["network_id"] for line in lines}) == N_NETWORKS


def test_partial_last_line_is_discarded(serial, config, tmp_path):
    out = serial[0]
    lines = (out / "results.jsonl").read_bytes().splitlines(keepends=True)
    shutil.copy(out / "config.json", tmp_path / "config.json")
    # 9 complete rows, then the 10th cut in the middle (a kill during write)
    (tmp_path / "results.jsonl").write_bytes(
        b"".join(lines[:9]) + lines[9][: len(lines[9]) // 2]
    )
    torn = (tmp_path / "results.jsonl").read_bytes()
    with pytest.warns(UserWarning, match="incomplete last line"):
        assert len(load_results(tmp_path)) == 9
    # reading never modifies the file; the writer drops the torn tail
    assert (tmp_path / "results.jsonl").read_bytes() == torn
    run_study(config, tmp_path, quiet=True, report=False)
    assert (tmp_path / "results.jsonl").read_bytes().startswith(b"".join(lines[:9]))
    assert _table(tmp_path) == serial[2]
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == N_NETWORKS


def test_completed_study_is_not_rerun(serial, config, tmp_path):
    out = serial[0]
    for name in ("config.json", "results.jsonl"):
        shutil.copy(out / name, tmp_path / name)
    before = (tmp_path / "results.jsonl").read_bytes()
    t0 = time.perf_counter()
    run_study(config, tmp_path, quiet=True, report=False)
    assert time.perf_counter() - t0 < 5
    assert (tmp_path / "results.jsonl").read_bytes() == before


def test_corrupt_middle_line_is_an_error(serial, config, tmp_path):
    out = serial[0]
    lines = (out / "results.jsonl").read_bytes().splitlines(keepends=True)
    shutil.copy(out / "config.json", tmp_path / "config.json")
    (tmp_path / "results.jsonl").write_bytes(
        lines[0] + b"{not json\n" + b"".join(lines[1:4])
    )
    with pytest.raises(OutputFolderError, match="line 2 of .* is not a result row"):
        run_study(config, tmp_path, quiet=True, report=False)


def test_folder_of_another_config_is_refused(serial, config):
    out = serial[0]
    other = config.replace(repeats=2)
    with pytest.raises(
        OutputFolderError,
        match=r"different configuration .*repeats: 3 -> 2.*new --output folder, "
        r"or --overwrite",
    ):
        run_study(other, out, quiet=True)


def test_folder_of_an_earlier_results_version_is_refused(serial, config, tmp_path):
    """A folder written before the generators or the default k grid changed
    (same fields, older results version) is not resumed with new rows."""
    from sk_ricci.study._config import RESULTS_VERSION

    out = tmp_path / "old"
    _older_version_folder(serial, config, out)
    before = (out / "results.jsonl").read_bytes()
    with pytest.raises(
        OutputFolderError,
        match=rf"different configuration .*results_version: 1 -> {RESULTS_VERSION}",
    ):
        run_study(config, out, quiet=True)
    assert (out / "results.jsonl").read_bytes() == before


def test_results_without_config_are_refused(tmp_path, config):
    (tmp_path / "results.jsonl").write_text("")
    with pytest.raises(OutputFolderError, match="no config.json"):
        run_study(config, tmp_path, quiet=True)


def test_overwrite_starts_again(tmp_path):
    small = StudyConfig(**{**TINY, "problems": ["A"], "architectures": ["wide"],
                           "repeats": 1})
    run_study(small, tmp_path, quiet=True, report=False)
    (tmp_path / "notes.txt").write_text("mine")
    bigger = small.replace(repeats=2)
    run_study(bigger, tmp_path, quiet=True, report=False, overwrite=True)
    assert len(load_results(tmp_path)) == 2
    assert (tmp_path / "notes.txt").read_text() == "mine"
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["config_hash"] == bigger.config_hash


# --------------------------------------------------------------------------- #
# configuration
# --------------------------------------------------------------------------- #
def test_defaults_are_the_papers():
    cfg = StudyConfig()
    assert cfg.problems == (
        "A", "B", "C", "mnist_1_7", "mnist_6_8", "fashion_sandal_boot",
        "fashion_shirt_coat",
    )
    assert cfg.architectures == ("narrow", "wide", "bottleneck")
    assert cfg.depths == (5, 11) and cfg.repeats == 36
    assert (cfg.n_train, cfg.n_test, cfg.max_epochs, cfg.batch_size) == (
        1000, 1000, 50, 32)
    assert cfg.lr == 1e-3 and cfg.optimizer == "rmsprop"
    assert len(cfg.networks()) == 1512
    assert cfg.threshold("C") == 0.91 and cfg.threshold("A") == 0.99
    assert cfg.n_neighbors_grid("A", 1000)[:4] == [6, 7, 9, 10]
    # scaled down to the test set, k < n
    grid = cfg.n_neighbors_grid("A", 100)
    assert max(grid) < 100 and grid == sorted(set(grid))


def test_config_hash_ignores_data_location_only():
    base = StudyConfig(**TINY)
    assert base.config_hash == StudyConfig(**TINY, data_home="/x").config_hash
    assert base.config_hash != base.replace(seed=1).config_hash
    assert base.config_hash != base.replace(symmetrize="max").config_hash


def test_network_seeds_are_deterministic_and_distinct(config):
    seeds = [n.seed for n in config.networks()]
    assert len(set(seeds)) == len(seeds)
    assert seeds == [n.seed for n in StudyConfig(**TINY).networks()]
    # a network's seed does not depend on the rest of the study
    alone = StudyConfig(**{**TINY, "problems": ["B"]})
    assert {n.network_id: n.seed for n in alone.networks()}.items() <= {
        n.network_id: n.seed for n in config.networks()}.items()
    assert network_seed(1, "A", "wide", 5, 0) != network_seed(0, "A", "wide", 5, 0)


def test_toml_config(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(
        'problems = ["A", "entangled-spirals", "digits_1_7"]\n'
        "repeats = 2\nn_test = 200\nconnect = \"none\"\n"
        "n_neighbors = [6, 12]\n"
        "[thresholds]\nA = 0.9\n"
        "[run]\nn_jobs = 2\nbackend = \"dask\"\n"
    )
    cfg, run = load_config(path)
    assert cfg.problems == ("A", "digits_1_7")
    assert cfg.repeats == 2 and cfg.n_test == 200 and cfg.connect is None
    assert cfg.n_neighbors == (6, 12) and cfg.thresholds == {"A": 0.9}
    assert run == {"n_jobs": 2, "backend": "dask"}
    assert StudyConfig.from_toml(path) == cfg


@pytest.mark.parametrize(
    "text, match",
    [
        ("repetas = 3\n", r"unknown study setting\(s\) \['repetas'\]"),
        ("repeats = 0\n", r"repeats must be an int >= 1; got int 0\."),
        ("depths = [2]\n",
         r"depths must be a non-empty list of ints >= 4; got tuple \(2,\)"),
        ('architectures = ["huge"]\n',
         (r"architectures must be a non-empty list of 'narrow', 'wide', "
          r"'bottleneck'; got tuple \('huge',\)")),
        ('problems = ["Z"]\n', r"unknown problem 'Z'"),
        ("[thresholds]\nA = 1.5\n",
         r"thresholds\['A'\] must be a float in \[0, 1\); got float 1.5"),
        ('[thresholds]\nA = "high"\n',
         r"thresholds\['A'\] must be a float in \[0, 1\); got str 'high'"),
        ('validation_fraction = "abc"\n',
         r"validation_fraction must be a float in \[0, 1\); got str 'abc'"),
        ("depths = [5.7]\n", r"depths must be ints, got \[5.7\]"),
        ("n_neighbors = [0, 5]\n", r"n_neighbors must be a non-empty list"),
        ("repeats = \n", r"not valid TOML"),
        ("[run]\nworkers = 2\n", r"\[run\] table"),
    ],
)
def test_bad_toml_is_a_clear_error(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(StudyConfigError, match=match):
        load_config(path)


def test_replace_applies_an_explicit_none():
    """None is a value of connect, n_neighbors, data_home and
    validation_fraction: replace must apply it, not ignore it."""
    cfg = StudyConfig(connect="mst", n_neighbors=[6, 9], data_home="/data",
                      validation_fraction=0.3)
    assert cfg.replace(connect=None).connect is None
    assert cfg.replace(n_neighbors=None).n_neighbors is None
    assert cfg.replace(data_home=None).data_home is None
    assert cfg.replace(validation_fraction=None).validation_fraction == 0.0
    assert cfg.replace(connect=None).config_hash == StudyConfig(
        n_neighbors=[6, 9], validation_fraction=0.3).config_hash
    # fields not given keep their value; unknown ones are refused
    assert cfg.replace(repeats=2).connect == "mst"
    with pytest.raises(StudyConfigError, match=r"unknown study setting\(s\) \['k'\]"):
        cfg.replace(k=3)


def test_every_field_has_declared_constraints_and_a_flag_help():
    import dataclasses

    fields = dataclasses.fields(StudyConfig)
    assert set(StudyConfig._parameter_constraints) == {f.name for f in fields}
    for f in fields:
        assert f.metadata["help"], f.name


def test_flow_options_of_the_study():
    from sk_ricci._options import FlowOptions

    cfg = StudyConfig(connect="mst", symmetrize="max", algorithm="brute")
    assert cfg.flow_options == FlowOptions(
        symmetrize="max", curvature="forman", connect="mst", on_disconnected="nan",
        algorithm="brute", random_state=0, n_jobs=1,
    )


def test_k_not_below_n_test_is_an_error(tmp_path):
    cfg = StudyConfig(**{**TINY, "n_neighbors": [8, 100]})
    with pytest.raises(StudyConfigError, match=r"n_neighbors \[100\] must be smaller "
                       r"than n_test=100"):
        run_study(cfg, tmp_path, quiet=True)


# --------------------------------------------------------------------------- #
# statistics
# --------------------------------------------------------------------------- #
def test_ols_hand_computed():
    # y = 0.6 + 0.8 x; RSS = 3.6, s^2 = 1.2, Sxx = 10
    x = np.array([1.0, 2, 3, 4, 5])
    y = np.array([1.0, 3, 2, 5, 4])
    res = ols(np.column_stack([np.ones(5), x]), y, ["intercept", "x"])
    np.testing.assert_allclose(res.coef, [0.6, 0.8])
    se_slope = np.sqrt(1.2 / 10)
    se_intercept = np.sqrt(1.2 * (1 / 5 + 9 / 10))
    np.testing.assert_allclose(res.stderr, [se_intercept, se_slope])
    np.testing.assert_allclose(res.t[1], 0.8 / se_slope)
    np.testing.assert_allclose(res.p[1], 2 * stats.t.sf(0.8 / se_slope, 3))
    assert res.df_resid == 3 and res.n_samples == 5
    np.testing.assert_allclose(res.r_squared, 1 - 3.6 / 10)
    assert res.term("x")[0] == pytest.approx(0.8)


def test_ols_matches_linregress_and_normal_equations():
    rng = np.random.RandomState(0)
    x = rng.normal(size=40)
    y = 2 - 0.5 * x + rng.normal(size=40)
    res = ols(np.column_stack([np.ones(40), x]), y)
    ref = stats.linregress(x, y)
    np.testing.assert_allclose(res.coef, [ref.intercept, ref.slope])
    np.testing.assert_allclose(res.stderr, [ref.intercept_stderr, ref.stderr])
    np.testing.assert_allclose(res.p[1], ref.pvalue)
    # several regressors: the textbook formulas
    X = np.column_stack([np.ones(40), x, rng.normal(size=40), rng.randint(0, 2, 40)])
    y = X @ [1.0, -2.0, 0.5, 0.3] + rng.normal(scale=0.5, size=40)
    res = ols(X, y)
    XtX_inv = np.linalg.inv(X.T @ X)
    beta = XtX_inv @ X.T @ y
    s2 = ((y - X @ beta) ** 2).sum() / (40 - 4)
    se = np.sqrt(s2 * np.diag(XtX_inv))
    np.testing.assert_allclose(res.coef, beta)
    np.testing.assert_allclose(res.stderr, se)
    np.testing.assert_allclose(res.p, 2 * stats.t.sf(np.abs(beta / se), 36))


def test_ols_stable_for_a_term_with_a_large_offset():
    # full rank but badly conditioned: X'X has condition ~1e24, so standard
    # errors from inv(X'X) are wrong; linregress centres x and is the oracle
    rng = np.random.RandomState(1)
    x = 1e6 + rng.normal(size=40)
    y = 3 + 0.7 * (x - 1e6) + rng.normal(scale=0.3, size=40)
    res = ols(np.column_stack([np.ones(40), x]), y)
    ref = stats.linregress(x, y)
    np.testing.assert_allclose(res.coef[1], ref.slope, rtol=1e-6)
    np.testing.assert_allclose(res.stderr[1], ref.stderr, rtol=1e-6)
    np.testing.assert_allclose(res.stderr[0], ref.intercept_stderr, rtol=1e-4)


def test_ols_refuses_collinear_or_short_designs():
    X = np.column_stack([np.ones(6), np.arange(6.0), 2 * np.arange(6.0)])
    with pytest.raises(ValueError, match="rank 2 < 3"):
        ols(X, np.arange(6.0))
    with pytest.raises(ValueError, match="more samples than terms"):
        ols(np.ones((2, 2)), [1.0, 2.0])


def test_analysis_without_passing_networks(serial, config, tmp_path):
    rows = load_results(serial[0])
    settings = {**TINY, "thresholds": {"A": 0.999, "B": 0.999}}
    analysis = analyse_study(rows, StudyConfig(**settings))
    table, counts = _independent_analysis(rows, settings)
    assert analysis.counts == counts
    # 2-epoch networks stay below 0.999 (their accuracies: 0.49 to 0.77)
    assert counts["passed"] == 0 and counts["below_threshold"] == N_NETWORKS
    for t in analysis.table:
        assert (t["passed_threshold"], t["k_star"], t["analysed"]) == (
            table[t["network_id"]][0], table[t["network_id"]][1],
            table[t["network_id"]][4])
    assert _independent_regression(rows, settings, table) is None
    assert analysis.regression is None
    assert analysis.regression_note == "no analysed network"
    # by construction: A r0, r1 (accuracy 0.995) and B r2 (0.9) sit exactly
    # on the thresholds, which the paper's rule requires networks to exceed
    strict = StudyConfig(**{**HAND, "thresholds": {"A": 0.995, "B": 0.9}})
    rows = hand_rows()
    assert rows[0]["network_id"] == "A/narrow/d5/r0"
    rows[0]["accuracy"] = 0.995
    _write_study(tmp_path, strict, rows)
    analysis = make_report(tmp_path, figures=False)
    assert analysis.counts == {
        "expected": 8, "trained": 8, "passed": 0, "below_threshold": 8,
        "no_k_star": 0, "disconnected": 0, "connected": 0, "analysed": 0,
        "negative": 0, "undefined_rho": 0,
        "diverged": 0, "not_in_config": 0,
    }
    for g in analysis.groups:
        assert g["n_passed"] == g["n_analysed"] == 0 and g["k_star"] is None
        assert np.isnan(g["aggregated"]).all() and g["n_pooled"] == [0, 0]
        assert np.isnan(g["aggregated_at_k_star"]) and np.isnan(g["median_rho"])
    for t in analysis.table:
        assert not t["passed_threshold"] and not t["analysed"]
        assert t["k_star"] is None and t["connected_at_k_star"] is None
        assert np.isnan(t["rho"])
    assert analysis.regression is None
    assert analysis.regression_note == "no analysed network"
    assert "No network was analysed." in (tmp_path / "report.md").read_text()


def test_progress_line(config):
    import io

    stream = io.StringIO()
    progress = _progress_bar(12, 4, stream=stream)
    _show(progress, {"network_id": "A/wide/d5/r0", "accuracy": 0.5})
    progress.close()
    text = stream.getvalue()
    assert "resuming: 4 of 12" in text
    assert "5/12 networks (42%)" in text and "left" in text
    assert "A/wide/d5/r0 acc=0.500" in text
    quiet = io.StringIO()
    progress = _progress_bar(12, 0, stream=quiet, quiet=True)
    _show(progress, {"network_id": "A/wide/d5/r0", "accuracy": 0.5})
    assert progress is None and quiet.getvalue() == ""


def test_study_problems_cover_the_data_sets():
    from sk_ricci.study import load_problem

    cfg = StudyConfig(**{**TINY, "problems": ["C", "digits_6_8"], "n_test": 150})
    X_train, _, X_test, _ = load_problem("C", cfg)
    assert X_train.shape == (120, 3) and X_test.shape == (150, 3)
    np.testing.assert_allclose(X_train.mean(axis=0), 0, atol=1e-12)
    X_train, _y_train, X_test, y_test = load_problem("digits_6_8", cfg)
    assert X_train.shape[1] == 64 and len(y_test) == 150
    assert X_train.max() > 1  # pixels stay raw, as in the paper
