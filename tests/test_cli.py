"""The ``sk-ricci`` command: demo output, study/report/flow, exit statuses."""

import csv
import math
import re
from pathlib import Path

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


def test_version_matches_pyproject(capsys):
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    version = tomllib.loads(pyproject.read_text())["project"]["version"]
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"sk-ricci {version}"


def test_demo_quick_trains_reports_progress_and_writes_files(
    tmp_path, capsys, monkeypatch
):
    from sk_ricci import _demo

    # the table must be on stdout before the first figure is drawn
    seen = {}
    draw = _demo._draw

    def spy(*args, **kwargs):
        seen["before_figures"] = capsys.readouterr()
        return draw(*args, **kwargs)

    monkeypatch.setattr(_demo, "_draw", spy)
    # two worker processes: their fold events reach the parent's progress
    assert main(["demo", "--quick", "--n-jobs", "2", "--output", str(tmp_path)]) == 0
    after = capsys.readouterr()
    before = seen["before_figures"]
    assert "architecture" in before.out and "flow strength" in before.out
    assert "Refitted on accuracy" in before.out
    assert "demo_flow.png" not in before.out and "demo_flow.png" in after.out
    assert str(tmp_path / "demo_results.csv") in after.out

    with open(tmp_path / "demo_results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    # quick: 3 architectures at depth 5, two folds
    assert {(r["architecture"], r["depth"]) for r in rows} == {
        (a, "5") for a in ("narrow", "wide", "bottleneck")
    }
    acc = np.array([float(r["mean_test_accuracy"]) for r in rows])
    flow = np.array([float(r["mean_test_flow"]) for r in rows])
    # trained networks, not chance (0.5): measured 0.968-0.980 at seed 0
    assert acc.min() > 0.9, acc
    for r, a, fl in zip(rows, acc, flow):
        folds_acc = [float(r[f"split{k}_test_accuracy"]) for k in range(2)]
        folds_flow = [float(r[f"split{k}_test_flow"]) for k in range(2)]
        assert a == pytest.approx(np.mean(folds_acc), abs=1e-12)
        assert fl == pytest.approx(np.mean(folds_flow), abs=1e-12)
        assert math.isfinite(fl) and -1 <= fl <= 1
        # every row of the table is printed
        assert f"{r['architecture']:<12} {int(r['depth']):>5}" in before.out
    # ranks as GridSearchCV defines them: 1 = greatest mean, ties share the min
    from scipy.stats import rankdata

    assert [int(r["rank_test_accuracy"]) for r in rows] == list(
        rankdata(-acc, method="min").astype(int))
    assert [int(r["rank_test_flow"]) for r in rows] == list(
        rankdata(-flow, method="min").astype(int))

    # progress: one line per (candidate, fold), with the time left, on stderr
    # and in the log, which also holds the table
    progress = [line for line in before.err.splitlines() if line.startswith("[")]
    assert len(progress) == 6
    assert [p.split("]")[0] for p in progress] == [f"[{i}/6" for i in range(1, 7)]
    assert all("left" in p and "elapsed" in p for p in progress)
    pairs = {re.search(r"\] (\w+/5) fold (\d)/2", p).groups() for p in progress}
    assert pairs == {(f"{a}/5", str(k)) for a in ("narrow", "wide", "bottleneck")
                     for k in (1, 2)}
    # the fold accuracies in the progress lines are those of the CSV
    for p in progress:
        name, k = re.search(r"\] (\w+)/5 fold (\d)/2", p).groups()
        row = next(r for r in rows if r["architecture"] == name)
        assert f"accuracy {float(row[f'split{int(k) - 1}_test_accuracy']):.3f}" in p
    log = (tmp_path / "demo.log").read_text()
    assert all(p in log for p in progress)
    assert "rank flow" in log and "Refitted on accuracy" in log
    assert not (tmp_path / ".demo_events.jsonl").exists()
    for name in ("demo_flow.png", "demo_accuracy_vs_flow.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_demo_quiet_prints_no_progress_but_logs_it(tmp_path, capsys, monkeypatch):
    from sk_ricci import _demo

    # a 2-candidate, 2-fold, 2-epoch grid: only the reporting is under test
    monkeypatch.setitem(_demo.DEMO_SETTINGS, "quick", {
        **_demo.DEMO_SETTINGS["quick"], "n_samples": 200, "n_test": 60,
        "max_epochs": 2, "architectures": ["narrow", "wide"],
    })
    assert main(["demo", "--quick", "--quiet", "--n-jobs", "1", "--output",
                 str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "rank flow" in captured.out
    log = (tmp_path / "demo.log").read_text()
    assert log.count(" fold ") == 4 and "[4/4]" in log


def test_flow_figure_title_states_k_once(tmp_path, monkeypatch, capsys):
    from sk_ricci import plotting

    figures = []
    monkeypatch.setattr(plotting, "save_figure",
                        lambda fig, path, **kw: figures.append(fig) or path)
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    path = tmp_path / "layers.npz"
    np.savez(path, **{f"layer{i}": np.maximum(X @ rng.normal(size=(3, 8)), 0)
                      for i in range(5)})
    argv = ["flow", str(path), "--n-neighbors", "5,50", "--connect", "mst",
            "--figure", str(tmp_path / "f.png")]
    assert main(argv) == 0
    titles = [ax.get_title() for ax in figures[0].axes if ax.get_visible()]
    assert len(titles) == 2
    for title, k in zip(titles, (5, 50)):
        assert title.count("k =") == 1, title
        assert f"k = {k}" in title and "rho" in title
    # a display without a prefix still states k; k = 5 is not k = 50
    disp = plotting.RicciFlowDisplay([-3.0, -2, -1], [1.0, 2], coefficient=-0.5,
                                     n_neighbors=50, name="k = 5").plot()
    assert disp.ax_.get_title() == "k = 5\nRicci coefficient $\\rho$ = -0.50, k = 50"
    disp = plotting.RicciFlowDisplay([-3.0, -2, -1], [1.0, 2], n_neighbors=7).plot()
    assert disp.ax_.get_title() == "k = 7"


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
        (["study", "--config", str(bad)], "repeats must be an int >= 1; got int -3"),
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


def test_demo_progress_lines_and_time_left(tmp_path, monkeypatch):
    """Fold events from any process become log lines with the time left
    (elapsed / done * remaining), and a tqdm bar on a terminal."""
    import io
    import json

    from sk_ricci import _demo

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    clock = [100.0, 110.0, 120.0]  # start, first event, second event (and after)
    monkeypatch.setattr(_demo.time, "perf_counter",
                        lambda: clock.pop(0) if len(clock) > 1 else clock[0])
    events = tmp_path / "events.jsonl"
    events.write_text("".join(
        json.dumps({"candidate": c, "fold": f, "accuracy": a, "flow": 0.25}) + "\n"
        for c, f, a in [("wide/5", 1, 0.9), ("narrow/11", None, 0.75)]
    ) + '{"candidate": "half a line')
    log, terminal = io.StringIO(), Terminal()
    with _demo._Progress(events, 4, 2, log, terminal, quiet=False, poll=60) as p:
        p.say("banner")
    lines = log.getvalue().splitlines()
    assert lines == [
        "banner",
        ("[1/4] wide/5 fold 2/2: accuracy 0.900, flow strength 0.250 | elapsed "
         "00:10, about 00:30 left"),
        ("[2/4] narrow/11 fold ?/2: accuracy 0.750, flow strength 0.250 | elapsed "
         "00:20, about 00:20 left"),
    ]
    shown = terminal.getvalue()
    assert "banner" in shown and "2/4" in shown and "narrow/11 fold ?/2" in shown


#: A non-default value of every StudyConfig field: its flag(s) and the value
#: the configuration then holds.
FIELD_FLAGS = {
    "problems": (["--problems", "B,digits-1-7"], ("B", "digits_1_7")),
    "architectures": (["--architectures", "wide"], ("wide",)),
    "depths": (["--depths", "6,5"], (6, 5)),
    "repeats": (["--repeats", "2"], 2),
    "n_train": (["--n-train", "200"], 200),
    "n_test": (["--n-test", "150"], 150),
    "max_epochs": (["--epochs", "7"], 7),
    "batch_size": (["--batch-size", "16"], 16),
    "lr": (["--lr", "0.01"], 0.01),
    "optimizer": (["--optimizer", "adam"], "adam"),
    "validation_fraction": (["--validation-fraction", "0.1"], 0.1),
    "splits": (["--split", "mnist_1_7=500/500", "--split", "A=300/200"],
               {"A": (300, 200), "mnist_1_7": (500, 500)}),
    "thresholds": (["--threshold", "A=0.5", "--threshold", "C=0.7"],
                   {"A": 0.5, "C": 0.7}),
    "n_neighbors": (["--k-grid", "9,6"], (6, 9)),
    "symmetrize": (["--symmetrize", "max"], "max"),
    "connect": (["--connect", "mst"], "mst"),
    "algorithm": (["--algorithm", "brute"], "brute"),
    "standardize": (["--standardize", "all"], "all"),
    "seed": (["--seed", "3"], 3),
    "data_home": (["--data-home", "/data/mnist"], "/data/mnist"),
    "download": (["--download"], True),
}


def test_every_config_field_is_settable_from_the_command_line():
    import dataclasses

    from sk_ricci.cli import _build_parser, _study_config
    from sk_ricci.study import StudyConfig

    fields = [f.name for f in dataclasses.fields(StudyConfig)]
    assert sorted(FIELD_FLAGS) == sorted(fields)
    default = StudyConfig()
    for name, (flags, expected) in FIELD_FLAGS.items():
        assert getattr(default, name) != expected, name
        args = _build_parser().parse_args(["study", *flags])
        config, _ = _study_config(args)
        assert getattr(config, name) == expected, name
        # only that field changed
        assert config.replace(**{name: getattr(default, name)}) == default, name
    # the other names of two flags
    for flags, name, expected in ((["--max-epochs", "7"], "max_epochs", 7),
                                  (["--n-neighbors", "6,9"], "n_neighbors", (6, 9))):
        config, _ = _study_config(_build_parser().parse_args(["study", *flags]))
        assert getattr(config, name) == expected


def test_study_flags_override_the_toml_file_and_none_is_a_value(tmp_path):
    from sk_ricci.cli import _build_parser, _study_config

    path = tmp_path / "study.toml"
    path.write_text('connect = "mst"\ndownload = true\nrepeats = 4\n'
                    "[thresholds]\nA = 0.5\n[run]\nn_jobs = -2\n")
    args = _build_parser().parse_args(
        ["study", "--config", str(path), "--connect", "none", "--no-download",
         "--threshold", "B=0.6"])
    config, options = _study_config(args)
    assert config.connect is None and config.download is False
    assert config.repeats == 4 and config.thresholds == {"A": 0.5, "B": 0.6}
    assert options["n_jobs"] == -2


def test_study_help_shows_the_field_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["study", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for expected in ("default: 36", "default: 1000", "default: 50",
                     "default: 32", "default: 0.001", "default: rmsprop",
                     "default: 0.2", "default: sum", "default: none",
                     "default: auto", "default: synthetic", "default: 5, 11",
                     "default: narrow, wide, bottleneck", "default: off",
                     "default: A, B, C, mnist_1_7, mnist_6_8"):
        assert expected in text, expected


def test_help_default_follows_the_field(monkeypatch):
    """The help's default is read from the field, not written in the help."""
    import dataclasses

    from sk_ricci.cli import _build_parser
    from sk_ricci.study import StudyConfig

    (field,) = [f for f in dataclasses.fields(StudyConfig) if f.name == "repeats"]
    monkeypatch.setattr(field, "default", 99)
    study = _build_parser()._subparsers._group_actions[0].choices["study"]
    (action,) = [a for a in study._actions if a.dest == "repeats"]
    assert "(default: 99)" in action.help


@pytest.mark.parametrize("value, ok", [("-2", True), ("-1", True), ("3", True),
                                       ("0", False), ("two", False)])
def test_n_jobs_flag_follows_joblib(value, ok, capsys, tmp_path):
    """Any non-zero int, as joblib and the kernels accept (-2: all cores but
    one), for the study, the demo and the TOML [run] table."""
    from sk_ricci.cli import _build_parser
    from sk_ricci.study import StudyConfigError, load_config

    for command in ("study", "demo"):
        if ok:
            args = _build_parser().parse_args([command, "--n-jobs", value])
            assert args.n_jobs == int(value)
        else:
            with pytest.raises(SystemExit) as exc:
                _build_parser().parse_args([command, "--n-jobs", value])
            assert exc.value.code == 2
            assert "--n-jobs" in capsys.readouterr().err
    path = tmp_path / "run.toml"
    toml_value = value if value != "two" else '"two"'
    path.write_text(f"[run]\nn_jobs = {toml_value}\n")
    if ok:
        assert load_config(path)[1]["n_jobs"] == int(value)
    else:
        with pytest.raises(StudyConfigError, match=r"\[run\] n_jobs = .* non-zero int"):
            load_config(path)


def test_sk_ricci_warnings_reach_the_user(tmp_path, capsys):
    """The command filters no sk_ricci warning: a disconnected graph and an
    undefined coefficient are told on stderr, one line each."""
    import warnings

    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    path = tmp_path / "layers.npz"
    np.savez(path, **{f"layer{i}": np.maximum(X @ rng.normal(size=(3, 8)), 0)
                      for i in range(3)})
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        assert main(["flow", str(path), "--n-neighbors", "2,5"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith("sk-ricci flow: warning: DisconnectedGraphWarning: "
                               "the kNN graph at n_neighbors=2") for line in err), err
    assert any(line.startswith("sk-ricci flow: warning: UndefinedCoefficientWarning")
               for line in err), err


# --------------------------------------------------------------------------- #
# one-line errors, found before anything is written
# --------------------------------------------------------------------------- #
def _last_error(capsys, command):
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"sk-ricci {command}: error: "), err
    return last


@pytest.mark.parametrize("flags, message", [
    (["--lr", "1e39"], ("lr must be a float in (0, 3.4028234663852886e+38]; got "
                        "float 1e+39")),
    (["--lr", "1e300"], "got float 1e+300"),
    (["--lr", "inf"], "got float inf"),
    (["--lr", "nan"], "got float nan"),
    (["--validation-fraction", "0.99", "--n-train", "10"],
     "validation_fraction=0.99 holds out 10 of the n_train=10 training points"),
    (["--backend", "dask", "--scheduler-address", "notaurl"],
     ("scheduler_address='notaurl' is not a Dask scheduler address (missing "
      "port number in address 'notaurl'); pass tcp://HOST:PORT")),
    (["--backend", "dask", "--scheduler-address", "tcp://host:port"],
     "pass tcp://HOST:PORT, e.g. tcp://10.0.0.1:8786"),
])
def test_bad_study_settings_fail_before_anything_is_written(
    flags, message, tmp_path, capsys
):
    if "dask" in flags:
        pytest.importorskip("dask.distributed")
    out = tmp_path / "s"
    assert main([*SMALL_STUDY, *flags, "--output", str(out)]) == 1
    assert message in _last_error(capsys, "study")
    assert not out.exists()


def test_a_corrected_lr_runs_in_the_same_folder(tmp_path, capsys):
    """A refused lr leaves no config.json to refuse the corrected command as a
    different configuration."""
    out = tmp_path / "s"
    out.mkdir()
    assert main([*SMALL_STUDY, "--lr", "inf", "--output", str(out)]) == 1
    assert list(out.iterdir()) == []
    assert main([*SMALL_STUDY, "--lr", "0.002", "--output", str(out),
                 "--no-report"]) == 0
    from sk_ricci.study import load_results

    assert [r["lr"] for r in load_results(out)] == [0.002, 0.002]


def test_a_study_failing_before_its_first_network_leaves_no_config(
    tmp_path, monkeypatch
):
    """Whatever fails before the first row is saved, the folder is left
    without config.json (nothing of the study is saved); after a row, it
    stays (the rows need it)."""
    import sk_ricci.nn

    def broken(*args, **kwargs):
        raise RuntimeError("training failed")

    monkeypatch.setattr(sk_ricci.nn, "fit_many", broken)
    out = tmp_path / "s"
    with pytest.raises(RuntimeError, match="training failed"):
        main([*SMALL_STUDY, "--output", str(out)])
    assert not (out / "config.json").exists()
    monkeypatch.undo()
    # the study then runs; a failure after its first row keeps config.json
    from sk_ricci.study import _run

    real, calls = _run.ricci_flow, []

    def second_fails(layers, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("flow failed")
        return real(layers, *args, **kwargs)

    monkeypatch.setattr(_run, "ricci_flow", second_fails)
    argv = [*SMALL_STUDY, "--output", str(out)]
    argv[argv.index("--depths") + 1] = "5,6"
    argv[argv.index("--repeats") + 1] = "1"
    with pytest.raises(RuntimeError, match="flow failed"):
        main(argv)
    assert (out / "config.json").exists() and (out / "results.jsonl").exists()


def test_study_config_refuses_a_validation_split_without_training_points():
    from sk_ricci.study import StudyConfig, StudyConfigError

    # ceil(0.9 * 10) = 9 held out leaves 1 point; ceil(0.91 * 10) = 10 none
    assert StudyConfig(n_train=10, validation_fraction=0.9).n_train == 10
    with pytest.raises(StudyConfigError, match="holds out 10 of the n_train=10"):
        StudyConfig(n_train=10, validation_fraction=0.91)
    assert StudyConfig(n_train=10, validation_fraction=0).validation_fraction == 0


def test_study_config_lr_is_a_finite_float32():
    from sk_ricci.study import StudyConfig, StudyConfigError

    largest = float(np.finfo(np.float32).max)
    assert StudyConfig(lr=largest).lr == largest
    for bad in (np.nextafter(largest, np.inf), math.inf, -1e-3, 0.0, math.nan):
        with pytest.raises(StudyConfigError, match="lr must be a float in"):
            StudyConfig(lr=bad)


@pytest.fixture
def npz(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    path = tmp_path / "layers.npz"
    np.savez(path, **{f"layer{i}": np.maximum(X @ rng.normal(size=(3, 8)), 0)
                      for i in range(5)})
    return path


def test_flow_refuses_a_figure_format_before_computing(npz, tmp_path, capsys):
    assert main(["flow", str(npz), "--n-neighbors", "5", "--figure",
                 str(tmp_path / "fig.txt")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before the table
    assert "Traceback" not in captured.err
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("sk-ricci flow: error: --figure ")
    assert "matplotlib cannot write .txt files" in last and ".png" in last
    assert not (tmp_path / "fig.txt").exists()


def test_flow_blames_the_figure_for_its_folder(npz, capsys):
    assert main(["flow", str(npz), "--n-neighbors", "5", "--figure",
                 "/dev/null/x.png"]) == 1
    last = _last_error(capsys, "flow")
    assert "--figure /dev/null/x.png" in last and "'/dev/null'" in last
    assert "--output" not in last
    assert capsys.readouterr().out == ""
    assert main(["flow", str(npz), "--n-neighbors", "5", "--format", "csv",
                 "--output", "/dev/null/x.csv"]) == 1
    last = _last_error(capsys, "flow")
    assert "--output /dev/null/x.csv" in last and "--figure" not in last


def test_flow_prints_the_figure_file_it_writes(npz, tmp_path, capsys):
    for given, written in (("fig", "fig.png"), ("fig2.", "fig2.png"),
                           ("fig3.svg", "fig3.svg")):
        assert main(["flow", str(npz), "--n-neighbors", "5", "--figure",
                     str(tmp_path / given)]) == 0
        out = capsys.readouterr().out
        assert f"Figure: {tmp_path / written}\n" in out
        assert (tmp_path / written).stat().st_size > 1000
    assert not (tmp_path / "fig").exists()


def test_flow_on_a_zip_without_arrays(tmp_path, capsys, npz):
    import zipfile

    text = tmp_path / "text.npz"
    with zipfile.ZipFile(text, "w") as z:
        z.writestr("hello.txt", "hello")
    assert main(["flow", str(text), "--n-neighbors", "5"]) == 1
    last = _last_error(capsys, "flow")
    assert "holds no arrays" in last and "hello.txt" in last
    assert "numpy.savez" in last and "dtype" not in last
    # arrays and another member: the other member is named, not read
    mixed = tmp_path / "mixed.npz"
    with zipfile.ZipFile(npz) as src, zipfile.ZipFile(mixed, "w") as z:
        for name in src.namelist():
            z.writestr(name, src.read(name))
        z.writestr("notes.txt", "hello")
    assert main(["flow", str(mixed), "--n-neighbors", "5"]) == 1
    last = _last_error(capsys, "flow")
    assert "member(s) ['notes.txt']" in last and "--layers" in last
    assert main(["flow", str(mixed), "--n-neighbors", "5", "--layers",
                 "layer0,layer1,layer2,layer3,layer4"]) == 0


def test_flow_output_and_figure_must_be_two_files(npz, tmp_path, capsys,
                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    for output, figure in (("o.png", "./sub/../o.png"), ("o.svg", "o.svg")):
        assert main(["flow", str(npz), "--n-neighbors", "5", "--format", "json",
                     "--output", output, "--figure", figure]) == 1
        assert f"--output {output} and --figure {figure} are the same file" in \
            _last_error(capsys, "flow")
        assert not (tmp_path / output).exists()
    assert main(["flow", str(npz), "--n-neighbors", "5", "--format", "json",
                 "--output", "o.json", "--figure", "o.png"]) == 0
    assert (tmp_path / "o.json").read_text().startswith("[")
    assert (tmp_path / "o.png").read_bytes()[:4] == b"\x89PNG"
