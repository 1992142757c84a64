"""The study's image pairs read from files that hold one set (no official
train/test split): the folder look-up, the per-problem split sizes, their
record in ``config.json`` and the report, and the scaled k grid."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from sk_ricci.datasets import load_fashion_mnist_pair, load_mnist_pair
from sk_ricci.exceptions import StudyConfigError
from sk_ricci.study import StudyConfig, load_problem


def _shared_data_dir():
    env = os.environ.get("SK_RICCI_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def _one_set_npz(path, labels, n_per_label, seed=0):
    """An npz laid out as the shared MNIST sample: uint8 X of shape (n, 784)
    (every image distinct: its first two pixels encode its row), uint8 y."""
    rng = np.random.RandomState(seed)
    y = np.repeat(np.asarray(labels, dtype=np.uint8), n_per_label)
    y = y[rng.permutation(len(y))]
    X = rng.randint(0, 256, size=(len(y), 784)).astype(np.uint8)
    X[:, 0], X[:, 1] = np.arange(len(y)) % 256, np.arange(len(y)) // 256
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, X=X, y=y)
    return X, y


def _rows(X):
    return {row.tobytes() for row in X}


# --------------------------------------------------------------------------- #
# the loaders find a one-set file in the data home
# --------------------------------------------------------------------------- #
def test_loader_reads_the_one_npz_of_the_folder_holding_the_pair(tmp_path):
    X, y = _one_set_npz(tmp_path / "mnist" / "any_name.npz", [1, 7, 6, 8], 5)
    # a Fashion file beside it never answers for MNIST, nor MNIST's for it
    _one_set_npz(tmp_path / "fashion-mnist" / "pairs.npz", [5, 9], 4, seed=1)
    for subset in ("test", "train", "all"):
        X17, y17 = load_mnist_pair((1, 7), data_home=tmp_path, subset=subset)
        keep = np.isin(y, [1, 7])
        np.testing.assert_array_equal(X17, X[keep].astype(np.float64))
        np.testing.assert_array_equal(y17, y[keep] == 7)
    X68, _ = load_mnist_pair((6, 8), data_home=tmp_path / "mnist")
    assert len(X68) == 10
    Xf, yf = load_fashion_mnist_pair((5, 9), data_home=tmp_path)
    assert len(Xf) == 8 and np.bincount(yf).tolist() == [4, 4]
    bunch = load_mnist_pair((1, 7), data_home=tmp_path, return_X_y=False)
    assert bunch.filenames == [str(tmp_path / "mnist" / "any_name.npz")]


def test_official_files_win_over_a_one_set_file(tmp_path):
    _one_set_npz(tmp_path / "sample.npz", [1, 7], 5)
    official = np.zeros((4, 784), np.uint8)
    np.savez(tmp_path / "mnist_test.npz", X=official, y=np.array([1, 7, 1, 7]))
    np.savez(tmp_path / "mnist_train.npz", X=official + 1, y=np.array([1, 7, 7, 7]))
    X, y = load_mnist_pair((1, 7), data_home=tmp_path)
    assert len(X) == 4 and X.max() == 0
    X, y = load_mnist_pair((1, 7), data_home=tmp_path, subset="train")
    assert y.tolist() == [0, 1, 1, 1]


def test_one_set_file_is_not_mixed_with_an_official_split(tmp_path, monkeypatch):
    # only the official test split is there: the training split is missing,
    # never taken from the one-set file (its images may be test images)
    _one_set_npz(tmp_path / "sample.npz", [1, 7], 5)
    np.savez(tmp_path / "mnist_test.npz", X=np.zeros((2, 784), np.uint8),
             y=np.array([1, 7]))
    assert len(load_mnist_pair((1, 7), data_home=tmp_path)[0]) == 2
    with pytest.raises(FileNotFoundError, match="MNIST train files not found"):
        load_mnist_pair((1, 7), data_home=tmp_path, subset="train")
    # download=True asks for the official files: fetched, not the sample's
    from sk_ricci.datasets import _images

    def offline(spec, directory, subset):
        raise OSError(f"offline: {subset}")

    monkeypatch.setattr(_images, "download_subset", offline)
    (tmp_path / "mnist_test.npz").unlink()
    with pytest.raises(OSError, match="offline: test"):
        load_mnist_pair((1, 7), data_home=tmp_path, download=True)
    assert len(load_mnist_pair((1, 7), data_home=tmp_path)[0]) == 10


def test_one_set_lookup_refuses_two_candidates_and_keeps_the_missing_error(tmp_path):
    _one_set_npz(tmp_path / "a.npz", [1, 7], 3)
    _one_set_npz(tmp_path / "b.npz", [1, 7, 6], 3, seed=2)
    with pytest.raises(ValueError, match=r"several \.npz files hold labels \[1, 7\]"):
        load_mnist_pair((1, 7), data_home=tmp_path)
    # b.npz is the only one with a 6, but neither has an 8
    with pytest.raises(FileNotFoundError, match="one .npz file of any name"):
        load_mnist_pair((6, 8), data_home=tmp_path)


# --------------------------------------------------------------------------- #
# the study splits a one-set file, with per-problem sizes
# --------------------------------------------------------------------------- #
def test_study_splits_a_one_set_folder_stratified_and_disjoint(tmp_path):
    X, y = _one_set_npz(tmp_path / "mnist" / "sample.npz", [1, 7, 6, 8], 100)
    config = StudyConfig(
        problems=["mnist_1_7", "mnist_6_8"], data_home=str(tmp_path),
        splits={"mnist_17": "100/100", "mnist_6_8": [60, 40]},
    )
    for problem, pair, (n_train, n_test) in (
        ("mnist_1_7", (1, 7), (100, 100)), ("mnist_6_8", (6, 8), (60, 40))
    ):
        X_train, y_train, X_test, y_test = load_problem(problem, config)
        assert (len(y_train), len(y_test)) == (n_train, n_test)
        # stratified: each class half of each split
        assert np.bincount(y_train).tolist() == [n_train // 2] * 2
        assert np.bincount(y_test).tolist() == [n_test // 2] * 2
        # no test image is a training image, and all come from the pair
        assert not _rows(X_test.astype(np.uint8)) & _rows(X_train.astype(np.uint8))
        pair_rows = _rows(X[np.isin(y, pair)])
        assert _rows(X_train.astype(np.uint8)) | _rows(X_test.astype(np.uint8)) <= (
            pair_rows
        )
        # pixels stay raw (0-255): the paper's inputs
        assert X_train.max() > 200 and X_train.min() >= 0
    # the default 1,000 + 1,000 does not fit 200 images: the error names the fix
    with pytest.raises(StudyConfigError, match=r"--split mnist_1_7=100/100"):
        load_problem("mnist_1_7", config.replace(splits={}))


def test_splits_setting_is_validated_and_hashed(tmp_path):
    base = StudyConfig(problems=["A"])
    # no splits: the hash of the configuration as it was before splits existed
    import hashlib

    old = {k: v for k, v in base.to_dict(hashed_only=True).items() if k != "splits"}
    old["results_version"] = 2
    text = json.dumps(old, sort_keys=True)
    assert base.config_hash == hashlib.sha256(text.encode()).hexdigest()[:16]
    split = base.replace(splits={"A": (400, 300)})
    assert split.config_hash != base.config_hash
    assert split.sizes("A") == (400, 300) and split.sizes("B") == (1000, 1000)
    for bad in ("400", [400], [400, 5], "a/b", [400, True], 3, "400/300/200"):
        with pytest.raises(StudyConfigError, match=r"splits\['A'\] must be two ints"):
            StudyConfig(splits={"A": bad})
    with pytest.raises(StudyConfigError, match="unknown problem 'Z'"):
        StudyConfig(splits={"Z": (100, 100)})
    with pytest.raises(StudyConfigError, match="leaving none to train"):
        StudyConfig(splits={"A": (10, 100)}, validation_fraction=0.95)
    toml = tmp_path / "s.toml"
    toml.write_text('problems = ["mnist_1_7"]\nsplits = {mnist_17 = [500, 500]}\n')
    assert StudyConfig.from_toml(toml).splits == {"mnist_1_7": (500, 500)}


def test_cli_split_flag(tmp_path):
    from sk_ricci.cli import _build_parser, _study_config

    toml = tmp_path / "s.toml"
    toml.write_text('splits = {A = [300, 200]}\n')
    args = _build_parser().parse_args(
        ["study", "--config", str(toml), "--split", "mnist_1_7=500/500",
         "--split", "B=100/50"]
    )
    config, _ = _study_config(args)
    assert config.splits == {
        "A": (300, 200), "B": (100, 50), "mnist_1_7": (500, 500)
    }
    with pytest.raises(SystemExit):
        _build_parser().parse_args(["study", "--split", "mnist_1_7=500"])


def test_tiny_study_records_the_split_sizes(tmp_path):
    from sk_ricci.study import run_study

    _one_set_npz(tmp_path / "data" / "mnist" / "sample.npz", [1, 7], 60)
    config = StudyConfig(
        problems=["mnist_1_7"], architectures=["narrow"], depths=[4], repeats=1,
        data_home=str(tmp_path / "data"), splits={"mnist_1_7": (70, 50)},
        max_epochs=1, n_neighbors=[5, 10], thresholds={"mnist_1_7": 0.0},
    )
    run_study(config, tmp_path / "out", quiet=True)
    saved = json.loads((tmp_path / "out" / "config.json").read_text())
    assert saved["splits"] == {"mnist_1_7": {"n_train": 70, "n_test": 50}}
    assert saved["config"]["splits"] == {"mnist_1_7": [70, 50]}
    report = (tmp_path / "out" / "report.md").read_text()
    assert "training / test points per problem, as trained and analysed: " \
        "mnist_1_7 70/50" in report
    assert "raw (image pixels unscaled, as the paper used them): mnist_1_7" in report


# --------------------------------------------------------------------------- #
# the shared real files, when present
# --------------------------------------------------------------------------- #
def test_real_image_pairs_through_the_data_home():
    root = _shared_data_dir()
    mnist = root / "mnist" / "mnist_1_7_6_8_subset.npz"
    fashion = root / "fashion-mnist" / "sandal_vs_ankle_boot_test.npz"
    if not (mnist.is_file() and fashion.is_file()):
        pytest.skip(f"{mnist} or {fashion} not present")
    config = StudyConfig(
        problems=["mnist_1_7", "mnist_6_8", "fashion_sandal_boot"],
        data_home=str(root),
        splits={"mnist_1_7": (500, 500), "mnist_6_8": (500, 500)},
    )
    raw = {"mnist": np.load(mnist), "fashion": np.load(fashion)}
    for problem, source, pair, n in (
        ("mnist_1_7", "mnist", (1, 7), 500), ("mnist_6_8", "mnist", (6, 8), 500),
        ("fashion_sandal_boot", "fashion", (5, 9), 1000),
    ):
        X_train, y_train, X_test, y_test = load_problem(problem, config)
        assert len(y_train) == len(y_test) == n
        assert np.bincount(y_train).tolist() == np.bincount(y_test).tolist() == [
            n // 2, n // 2
        ]
        assert X_train.shape[1] == 784 and X_train.max() == 255  # raw pixels
        # every image of the pair used once: train and test partition the file
        X, y = raw[source]["X"], raw[source]["y"]
        pair_rows = [r.tobytes() for r in X[np.isin(y, pair)]]
        used = [r.tobytes() for r in np.vstack([X_train, X_test]).astype(np.uint8)]
        assert sorted(used) == sorted(pair_rows)
        # the paper's image grid (n = 2,000) scaled to the test set
        # (by hand: k * n / 2000, halves rounded to even)
        expected = {
            500: [2, 5, 8, 12, 22, 25, 30, 38, 62, 88, 125],
            1000: [5, 10, 15, 25, 45, 50, 60, 75, 125, 175, 250],
        }[n]
        assert config.n_neighbors_grid(problem, len(y_test)) == expected


# --------------------------------------------------------------------------- #
# the report: per problem, and the regression by kind of problem
# --------------------------------------------------------------------------- #
def _fake_analysis():
    from types import SimpleNamespace

    rng = np.random.RandomState(0)
    config = StudyConfig(
        problems=["A", "B", "mnist_1_7", "mnist_6_8"],
        architectures=["narrow", "wide"], depths=[5, 11],
    )
    table = []
    for problem in config.problems:
        for arch in config.architectures:
            for depth in config.depths:
                for r in range(6):
                    passed = r != 5
                    table.append({
                        "problem": problem, "architecture": arch, "depth": depth,
                        "passed_threshold": passed, "analysed": passed and r != 4,
                        "rho": float(rng.uniform(-1, 1)),
                        "accuracy": float(rng.uniform(0.9, 1.0)),
                    })
    k_stars = {"A": [6, 30, 30, 90], "B": [6, 6, 6, 6],
               "mnist_1_7": [125, 88, 62, 125], "mnist_6_8": [None] * 4}
    groups = [
        {"problem": p, "k_star": k, "n_test": 1000 if p in "AB" else 500}
        for p, ks in k_stars.items() for k in ks
    ]
    return SimpleNamespace(config=config, table=table, groups=groups)


def _ols_t_of_rho(rows, problems, archs, depths):
    """Independent OLS: accuracy on [1, rho, dummies], t of rho."""
    cols = [np.ones(len(rows)), [t["rho"] for t in rows]]
    for key, levels in (("problem", problems), ("architecture", archs),
                        ("depth", depths)):
        for level in levels[1:]:
            cols.append([float(t[key] == level) for t in rows])
    X = np.column_stack(cols)
    y = np.array([t["accuracy"] for t in rows])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    sigma2 = resid @ resid / (len(y) - X.shape[1])
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(X.T @ X)))
    return beta[1], beta[1] / se[1]


def test_report_per_problem_and_regression_by_kind():
    from sk_ricci.study._report import _md_problems, _md_regression_by_kind

    analysis = _fake_analysis()
    lines = _md_problems(analysis)
    rows_a = [t for t in analysis.table if t["problem"] == "A"]
    rhos = [t["rho"] for t in rows_a if t["analysed"]]
    neg = sum(r < 0 for r in rhos)
    assert (len(rows_a), len(rhos)) == (24, 16)
    line_a = next(x for x in lines if x.startswith("| A |"))
    assert line_a == (
        f"| A | 24 | 20 | 16 | {neg} | {100 * neg / 16:.1f}% | "
        f"{np.median(rhos):.2f} | 0.6-9.0% | 3-10% |"
    )
    assert next(x for x in lines if x.startswith("| B |")).endswith(
        "| 0.6% | 0.6-1% |")
    assert next(x for x in lines if x.startswith("| mnist_1_7 |")).endswith(
        "| 12.4-25.0% | 12.5-25% |")
    assert next(x for x in lines if x.startswith("| mnist_6_8 |")).endswith(
        "|  | 12.5-25% |")

    text = "\n".join(_md_regression_by_kind(analysis))
    cfg = analysis.config
    for label, problems in (("synthetic (A, B, C)", ["A", "B"]),
                            ("MNIST pairs", ["mnist_1_7", "mnist_6_8"])):
        rows = [t for t in analysis.table if t["problem"] in problems and t["analysed"]]
        b, t = _ols_t_of_rho(rows, problems, list(cfg.architectures),
                             list(cfg.depths))
        line = next(x for x in text.splitlines() if x.startswith(f"| {label} |"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert int(cells[1]) == len(rows) == 32
        assert float(cells[2]) == pytest.approx(b, rel=1e-3)
        assert float(cells[4]) == pytest.approx(t, abs=0.006)
    assert "Fashion" not in text  # only the kinds present
    # one kind only: nothing to compare, no section
    one = _fake_analysis()
    one.config = one.config.replace(problems=["A", "B"])
    assert _md_regression_by_kind(one) == []
