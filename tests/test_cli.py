"""The ``sk-ricci`` command: demo output, study/report/flow, exit statuses."""

import csv
import math

import numpy as np
import pytest

from sk_ricci.cli import main

SMALL_STUDY = [
    "study", "--problems", "A", "--architectures", "wide", "--depths", "5",
    "--repeats", "2", "--n-train", "100", "--n-test", "80", "--epochs", "2",
    "--k-grid", "6,12", "--threshold", "A=0", "--quiet",
]


@pytest.mark.parametrize("command", [[], ["demo"], ["study"], ["report"], ["flow"]])
def test_help_of_every_subcommand_exits_0(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    assert "usage: sk-ricci" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    for argv in ([], ["study", "--repeats", "0"], ["study", "--backend", "spark"],
                 ["flow", "x.npz"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_demo_quick_writes_table_csv_and_figures(tmp_path, capsys):
    assert main(["demo", "--quick", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "architecture" in out and "flow strength" in out and "rank acc" in out
    assert "Refitted on accuracy" in out
    assert str(tmp_path / "demo_results.csv") in out
    with open(tmp_path / "demo_results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6  # 3 architectures x 2 depths
    assert {(r["architecture"], r["depth"]) for r in rows} == {
        (a, d) for a in ("narrow", "wide", "bottleneck") for d in ("5", "11")
    }
    for r in rows:
        assert 0 <= float(r["mean_test_accuracy"]) <= 1
        assert math.isfinite(float(r["mean_test_flow"]))
        assert -1 <= float(r["mean_test_flow"]) <= 1
        assert 1 <= int(r["rank_test_accuracy"]) <= 6
        assert 1 <= int(r["rank_test_flow"]) <= 6
        # every row of the table is printed
        assert f"{r['architecture']:<12} {int(r['depth']):>5}" in out
    for name in ("demo_flow.png", "demo_accuracy_vs_flow.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_study_then_report(tmp_path, capsys):
    out = tmp_path / "study"
    assert main([*SMALL_STUDY, "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2/2 networks trained" in printed
    assert str(out / "report.md") in printed
    (out / "report.md").unlink()
    assert main(["report", str(out), "--no-figures"]) == 0
    assert "## Regression" in (out / "report.md").read_text()
    # the same command again resumes (nothing to do) and succeeds
    assert main([*SMALL_STUDY, "--output", str(out)]) == 0


def test_study_from_toml_with_flag_override(tmp_path, capsys):
    config = tmp_path / "study.toml"
    config.write_text(
        'problems = ["A"]\narchitectures = ["narrow"]\ndepths = [5]\nrepeats = 5\n'
        "n_train = 100\nn_test = 80\nmax_epochs = 2\nn_neighbors = [6, 12]\n"
        "[thresholds]\nA = 0.0\n[run]\nquiet = true\n"
    )
    out = tmp_path / "out"
    argv = ["study", "--config", str(config), "--repeats", "1", "--output", str(out),
            "--no-report"]
    assert main(argv) == 0
    from sk_ricci.study import load_results

    assert [r["network_id"] for r in load_results(out)] == ["A/narrow/d5/r0"]
    assert not (out / "report.md").exists()


def test_expected_errors_exit_1_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("repeats = -3\n")
    cases = [
        (["study", "--config", str(bad)], "repeats=-3 must be >= 1"),
        (["study", "--problems", "Z", "--output", str(tmp_path / "z")],
         "unknown problem 'Z'"),
        (["study", "--problems", "mnist_1_7", "--data-home", str(tmp_path),
          "--output", str(tmp_path / "m")], "digits_1_7"),
        (["report", str(tmp_path)], "not a study folder"),
        (["flow", str(tmp_path / "missing.npz"), "--n-neighbors", "5"],
         "does not exist"),
    ]
    for argv, message in cases:
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err
        # the error is one line (a study banner may precede it)
        last = err.splitlines()[-1]
        assert last.startswith(f"sk-ricci {argv[0]}: error:") and message in last


def test_refused_folder_exits_1(tmp_path, capsys):
    out = tmp_path / "s"
    assert main([*SMALL_STUDY, "--output", str(out)]) == 0
    capsys.readouterr()
    argv = [*SMALL_STUDY, "--output", str(out)]
    argv[argv.index("--repeats") + 1] = "3"
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "different configuration" in err and "--overwrite" in err
    assert main([*argv, "--overwrite"]) == 0


def test_flow_subcommand(tmp_path, capsys):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    layers = {f"layer{i}": np.maximum(X @ rng.normal(size=(3, 8)), 0)
              for i in range(5)}
    path = tmp_path / "layers.npz"
    np.savez(path, **layers)
    figure = tmp_path / "flow.png"
    argv = ["flow", str(path), "--n-neighbors", "8,15", "--connect", "mst",
            "--figure", str(figure)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "5 layers of 60 points" in out
    assert out.count("yes") == 2
    assert figure.stat().st_size > 10_000
    assert main(["flow", str(path), "--n-neighbors", "8", "--layers", "nope"]) == 1
    assert "no array(s) ['nope']" in capsys.readouterr().err
