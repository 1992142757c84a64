"""Regression tests of hostile inputs and faults: no lost results, no crashes,
no silent nonsense, one-line CLI errors.

Every study here is tiny (one or two problems, a few networks of 1-2 epochs
on 60-100 points), so the whole file runs in well under a minute.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from _settings import SMALL_STUDY, SMALL_STUDY_FLAGS

import sk_ricci
from sk_ricci import (
    forman_curvature,
    geodesic_mass,
    kneighbors,
    knn_graph,
    ricci_flow,
    select_n_neighbors,
    total_curvature,
)
from sk_ricci.cli import main
from sk_ricci.exceptions import UndefinedCoefficientWarning
from sk_ricci.study import (
    OutputFolderError,
    StudyConfig,
    StudyConfigError,
    load_results,
    make_report,
    run_study,
)

TINY_FLAGS = [*SMALL_STUDY_FLAGS, "--repeats", "2"]

from sk_ricci import RicciFlowScorer  # noqa: E402


def HiddenScorer(*args, **kwargs):
    """RicciFlowScorer on the hidden layers only (these tests compare with
    flows of the hidden layers; the default also prepends the input)."""
    kwargs.setdefault("include_input", False)
    return RicciFlowScorer(*args, **kwargs)



@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory):
    """A finished two-network study: its folder and the bytes of its rows."""
    out = tmp_path_factory.mktemp("tiny")
    run_study(StudyConfig(**SMALL_STUDY), out, quiet=True, report=False)
    return out, (out / "results.jsonl").read_bytes()


def _copy_study(src, dst, results=None):
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copy(src / "config.json", dst / "config.json")
    if results is not None:
        (dst / "results.jsonl").write_bytes(results)
    return dst


def _one_line_error(capsys, command, *needles):
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"sk-ricci {command}: error:"), err
    for needle in needles:
        assert needle in last, (needle, last)
    return last


# --------------------------------------------------------------------------- #
# 1. reading results.jsonl never modifies it
# --------------------------------------------------------------------------- #
def test_valid_last_row_without_newline_is_kept_and_file_untouched(
    tiny_study, tmp_path
):
    src, data = tiny_study
    first = data.splitlines()[0]  # a hand edit that dropped the final newline
    out = _copy_study(src, tmp_path / "s", first)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a complete row: nothing to report
        rows = load_results(out)
    assert [r["network_id"] for r in rows] == ["A/narrow/d5/r0"]
    assert (out / "results.jsonl").read_bytes() == first
    # the writer completes the line before appending: nothing lost on resume
    run_study(StudyConfig(**SMALL_STUDY), out, quiet=True, report=False)
    lines = (out / "results.jsonl").read_bytes().splitlines(keepends=True)
    assert lines[0] == first + b"\n" and len(lines) == 2
    assert [r["network_id"] for r in load_results(out)] == [
        "A/narrow/d5/r0", "A/narrow/d5/r1"
    ]


def test_partial_last_line_is_reported_not_truncated_by_readers(
    tiny_study, tmp_path
):
    src, data = tiny_study
    first, second = data.splitlines(keepends=True)
    torn = first + second[: len(second) // 2]
    out = _copy_study(src, tmp_path / "s", torn)
    with pytest.warns(UserWarning, match=r"incomplete last line .* ignored"):
        rows = load_results(out)
    assert [r["network_id"] for r in rows] == ["A/narrow/d5/r0"]
    assert (out / "results.jsonl").read_bytes() == torn  # reader: no change
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make_report(out, figures=False)
    assert (out / "results.jsonl").read_bytes() == torn
    # the writer (under the folder lock) drops the torn tail, then appends
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_study(StudyConfig(**SMALL_STUDY), out, quiet=True, report=False)
    lines = (out / "results.jsonl").read_bytes().splitlines(keepends=True)
    assert lines[0] == first and len(lines) == 2
    assert [json.loads(x)["network_id"] for x in lines] == [
        "A/narrow/d5/r0", "A/narrow/d5/r1"
    ]


def test_symlinked_results_file_is_never_truncated(tiny_study, tmp_path):
    src, data = tiny_study
    first = data.splitlines(keepends=True)[0]
    outside = tmp_path / "elsewhere.jsonl"
    outside.write_bytes(first + b'{"network_id": "A/narr')
    out = _copy_study(src, tmp_path / "s")
    os.symlink(outside, out / "results.jsonl")
    with pytest.warns(UserWarning, match="incomplete last line"):
        assert len(load_results(out)) == 1
    with pytest.raises(OutputFolderError, match="symbolic link"):
        run_study(StudyConfig(**SMALL_STUDY), out, quiet=True, report=False)
    assert outside.read_bytes() == first + b'{"network_id": "A/narr'


# --------------------------------------------------------------------------- #
# 2. one study per output folder
# --------------------------------------------------------------------------- #
def test_second_study_on_a_busy_folder_fails_fast(tmp_path, capsys):
    """While another process holds the folder's lock (as a running study does
    for its whole run), a study on that folder fails at once with a one-line
    error naming the folder and that process. The holder is a process that
    takes the same lock and waits, so the test cannot race a study that
    finishes early (batched training makes small studies very short)."""
    out = tmp_path / "busy"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         ("import sys, time\n"
          "from sk_ricci.study._results import FolderLock\n"
          "with FolderLock(sys.argv[1]):\n"
          "    print('locked', flush=True)\n"
          "    time.sleep(120)\n"),
         str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        t0 = time.perf_counter()
        assert main(["study", *TINY_FLAGS, "--output", str(out), "--no-report"]) == 1
        assert time.perf_counter() - t0 < 10
        _one_line_error(capsys, "study", str(out), f"process {holder.pid}")
        assert not (out / "results.jsonl").exists()
    finally:
        holder.kill()
        holder.wait(timeout=30)
        holder.stdout.close()
    # once the holder is gone, the lock is free again
    assert main(["study", *TINY_FLAGS, "--output", str(out), "--no-report"]) == 0


# --------------------------------------------------------------------------- #
# 3. malformed CSR input is an error, never a crash
# --------------------------------------------------------------------------- #
CORRUPT_CSR = textwrap.dedent(
    """
    import numpy as np, scipy.sparse as sp
    from sk_ricci import (degrees, forman_curvature, geodesic_mass,
                          node_curvature, total_curvature)
    from sk_ricci._geodesics import geodesic_mass as gm

    def ring(n=12):
        A = sp.diags([np.ones(n - 1), np.ones(n - 1)], [-1, 1], format="csr")
        A = sp.csr_matrix(A + sp.csr_matrix(([1.0, 1.0], ([0, n - 1], [n - 1, 0])),
                                            shape=(n, n)))
        A.indices = A.indices.astype(np.int64)
        A.indptr = A.indptr.astype(np.int64)
        return A

    def big_index(G): G.indices[3] = 10**12
    def negative_index(G): G.indices[5] = -7
    def index_n(G): G.indices[0] = G.shape[0]
    def indptr_not_monotone(G): G.indptr[4] = G.indptr[6] + 3
    def indptr_end(G): G.indptr[-1] = 10**6
    def indptr_start(G): G.indptr[0] = 2
    def indptr_short(G): G.indptr = G.indptr[:-2]

    funcs = [total_curvature, forman_curvature, node_curvature, degrees,
             geodesic_mass]
    for corrupt in (big_index, negative_index, index_n, indptr_not_monotone,
                    indptr_end, indptr_start, indptr_short):
        for f in funcs:
            G = ring()
            corrupt(G)
            try:
                f(G)
            except ValueError as exc:
                assert "G" in str(exc), exc
                print("ok", corrupt.__name__, f.__name__, "|", exc, flush=True)
            else:
                print("NO ERROR", corrupt.__name__, f.__name__, flush=True)
    """
)


def test_malformed_csr_is_a_clear_error_not_a_crash(tmp_path):
    script = tmp_path / "corrupt.py"
    script.write_text(CORRUPT_CSR)
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300,
        check=False,
    )
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr[-2000:])
    lines = proc.stdout.splitlines()
    assert len(lines) == 7 * 5 and all(x.startswith("ok ") for x in lines), lines
    text = proc.stdout
    assert "indices" in text and "indptr" in text


def test_csr_validation_is_linear_time():
    n = 200_000
    rng = np.random.RandomState(0)
    u, v = rng.randint(0, n, size=(2, 5 * n))
    keep = u != v
    G = sp.csr_matrix((np.ones(keep.sum()), (u[keep], v[keep])), shape=(n, n))
    G = sp.csr_matrix((G + G.T) > 0, dtype=float)
    t0 = time.perf_counter()
    from sk_ricci._validation import check_graph

    check_graph(G)
    assert time.perf_counter() - t0 < 5


# --------------------------------------------------------------------------- #
# 4. a diverged network is recorded, excluded with its cause, not retried
# --------------------------------------------------------------------------- #
def test_diverged_networks_are_recorded_and_the_study_goes_on(tmp_path, capsys):
    out = tmp_path / "diverged"
    config = StudyConfig(**{**SMALL_STUDY, "lr": 1e30})
    analysis = run_study(config, out, quiet=True)
    rows = load_results(out)
    assert len(rows) == 2
    for row in rows:
        assert row["status"] == "diverged"
        assert "non-finite" in row["cause"]
    assert analysis.counts["diverged"] == 2
    assert analysis.counts["trained"] == 2
    assert analysis.counts["analysed"] == 0
    report = (out / "report.md").read_text()
    assert "diverged" in report and rows[0]["cause"] in report
    before = (out / "results.jsonl").read_bytes()
    t0 = time.perf_counter()
    run_study(config, out, quiet=True, report=False)
    assert time.perf_counter() - t0 < 5
    assert (out / "results.jsonl").read_bytes() == before
    # the CLI summary says so, too
    assert main(["report", str(out), "--no-figures"]) == 0
    assert "2 diverged" in capsys.readouterr().out


@pytest.mark.parametrize("lr", [float("inf"), float("nan")])
def test_classifier_rejects_non_finite_lr(lr):
    from sk_ricci.nn import ReLUMLPClassifier

    X = np.random.RandomState(0).normal(size=(30, 2))
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match=r"lr must be a finite float in \(0, 3.4\d+e\+38\]; got"):
        ReLUMLPClassifier(lr=lr, max_epochs=1).fit(X, y)


def test_classifier_rejects_inputs_that_overflow_float32():
    from sk_ricci.nn import ReLUMLPClassifier

    X = np.random.RandomState(0).normal(size=(30, 2))
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match=r"float32.*3\.4\d*e\+38.*rescale"):
        ReLUMLPClassifier(max_epochs=1).fit(X * 1e39, y)
    clf = ReLUMLPClassifier(max_epochs=1, depth=3).fit(X, y)
    with pytest.raises(ValueError, match=r"float32"):
        clf.predict(X * 1e39)


# --------------------------------------------------------------------------- #
# 5. no correlation over fewer than 3 points
# --------------------------------------------------------------------------- #
def test_rho_over_two_points_is_nan_with_a_reason():
    from sk_ricci._flow import pearson

    assert np.isnan(pearson([1.0, 2.0], [3.0, 5.0]))
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3))
    layers = [np.maximum(X @ rng.normal(size=(3, 6)), 0) for _ in range(3)]
    with pytest.warns(UndefinedCoefficientWarning, match=r"2 points.*at least 4"):
        res = ricci_flow(layers, 8, connect="mst")
    assert np.isnan(res.coefficient)


def test_study_rejects_depths_below_4():
    with pytest.raises(
        StudyConfigError,
        match=r"depths must be a non-empty list of ints >= 4; got tuple \(3, 5\)",
    ):
        StudyConfig(depths=[3, 5])


def _fitted(depth):
    from sk_ricci.nn import ReLUMLPClassifier

    X = np.random.RandomState(0).normal(size=(60, 2))
    y = (X[:, 0] > 0).astype(int)
    return ReLUMLPClassifier(depth=depth, max_epochs=1).fit(X, y), X


def test_scorer_rho_does_not_warn_about_adjusted_coefficients():

    clf, X = _fitted(4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndefinedCoefficientWarning)
        score = HiddenScorer(8, statistic="rho", connect="mst",
                                curvature="forman")(clf, X)
    assert np.isfinite(score)
    with pytest.warns(UndefinedCoefficientWarning, match="adjusted"):
        HiddenScorer(8, connect="mst", statistic="adjusted_paper",
                        curvature="forman")(clf, X)


def test_scorer_of_a_depth_3_network_is_nan_not_plus_minus_1():

    clf, X = _fitted(3)
    for statistic in ("rho", "local_mean", "local_share_negative"):
        with pytest.warns(UndefinedCoefficientWarning,
                          match=r"needs at least 4 layers .* got 3"):
            assert np.isnan(HiddenScorer(8, statistic=statistic, connect="mst",
                                            curvature="forman")(clf, X))


# --------------------------------------------------------------------------- #
# 6. one .npz file as data_home: train and test must be disjoint
# --------------------------------------------------------------------------- #
def _pair_npz(path, n=400, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randint(0, 256, size=(n, 784)).astype(np.uint8)
    y = np.where(np.arange(n) % 2, 7, 1)
    np.savez(path, X=X, y=y)
    return path


def test_single_npz_data_home_gives_disjoint_train_and_test(tmp_path):
    from sk_ricci.study import load_problem

    path = _pair_npz(tmp_path / "pair.npz")
    config = StudyConfig(problems=["mnist_1_7"], data_home=str(path),
                         n_train=150, n_test=100)
    X_train, y_train, X_test, y_test = load_problem("mnist_1_7", config)
    assert len(y_train) == 150 and len(y_test) == 100
    train = {row.tobytes() for row in X_train}
    assert not any(row.tobytes() in train for row in X_test)
    too_big = config.replace(n_train=350, n_test=100)
    with pytest.raises(
        StudyConfigError, match=r"one file of 400 images.*disjoint.*at most 400"
    ):
        load_problem("mnist_1_7", too_big)


# --------------------------------------------------------------------------- #
# 7. weighted graphs and extreme scales
# --------------------------------------------------------------------------- #
def test_distance_weighted_graph_is_refused():
    from sklearn.neighbors import kneighbors_graph

    X = np.random.RandomState(0).normal(size=(60, 3))
    D = kneighbors_graph(X, 5, mode="distance")
    D = D.maximum(D.T)
    for f in (total_curvature, forman_curvature, geodesic_mass):
        with pytest.raises(ValueError, match=r"mode='connectivity'"):
            f(D)
    C = kneighbors_graph(X, 5, mode="connectivity")
    total_curvature(C.maximum(C.T))  # 0/1 is fine
    total_curvature(C + C.T)  # and multiplicities 1 and 2 ('sum')


@pytest.mark.parametrize("scale", [1e-200, 1e-160, 1e160, 1e200])
def test_extreme_scales_give_the_same_graph_and_flow(scale):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 4))
    G = knn_graph(X, 6)
    Gs = knn_graph(X * scale, 6)
    assert (G != Gs).nnz == 0
    idx, dist = kneighbors(X, 5)
    idx_s, dist_s = kneighbors(X * scale, 5)
    np.testing.assert_array_equal(idx, idx_s)
    np.testing.assert_allclose(dist_s, dist * scale, rtol=1e-12)
    layers = [np.maximum(X @ rng.normal(size=(4, 8)), 0) for _ in range(5)]
    ref = ricci_flow(layers, [6, 10], connect="mst")
    got = ricci_flow([a * scale for a in layers], [6, 10], connect="mst")
    for r, g in zip(ref, got):
        np.testing.assert_array_equal(r.total_curvature, g.total_curvature)
        np.testing.assert_array_equal(r.geodesic_mass, g.geodesic_mass)
        assert r.coefficient == g.coefficient
    from sk_ricci import local_ricci_flow

    ref = local_ricci_flow(layers, 6, connect="mst")
    got = local_ricci_flow([a * scale for a in layers], 6, connect="mst")
    np.testing.assert_array_equal(ref.scalar_curvature, got.scalar_curvature)
    np.testing.assert_array_equal(ref.expansion, got.expansion)


# --------------------------------------------------------------------------- #
# 8. threads and random states
# --------------------------------------------------------------------------- #
def _blas_threads():
    from threadpoolctl import threadpool_info

    return sorted(
        (i["internal_api"], i["num_threads"]) for i in threadpool_info()
        if i["user_api"] == "blas"
    )


def test_overlapping_blas_limits_restore_the_thread_count():
    from threadpoolctl import threadpool_limits

    from sk_ricci._graph import blas_single_thread

    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

        def first():
            with blas_single_thread():
                a_in.set()
                b_in.wait(10)
            a_out.set()

        def second():
            a_in.wait(10)
            with blas_single_thread():
                b_in.set()
                a_out.wait(10)

        threads = [threading.Thread(target=f) for f in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert _blas_threads() == before


def test_concurrent_ricci_flow_calls_leave_blas_threads_alone():
    from threadpoolctl import threadpool_limits

    rng = np.random.RandomState(0)
    layers = [rng.normal(size=(150, 6)) for _ in range(5)]
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        errors = []

        def work():
            try:
                for _ in range(15):
                    ricci_flow(layers, 8, n_jobs=2, connect="mst")
            except (ValueError, TypeError, RuntimeError) as exc:  # pragma: no cover
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors
        assert _blas_threads() == before


def test_nndescent_accepts_a_random_state_instance(monkeypatch):
    # pynndescent itself is exercised in test_graph.py; a stand-in with its
    # interface (exact neighbours) keeps this test free of its compile time
    pynndescent = pytest.importorskip("pynndescent")
    seeds = []

    class Exact:
        def __init__(self, X, n_neighbors, random_state, **kwargs):
            assert isinstance(random_state, int)
            seeds.append(random_state)
            d = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
            ind = np.argsort(d, axis=1, kind="stable")[:, :n_neighbors]
            self.neighbor_graph = (ind, np.take_along_axis(d, ind, 1))

    monkeypatch.setattr(pynndescent, "NNDescent", Exact)
    X = np.random.RandomState(0).normal(size=(120, 3))
    G1 = knn_graph(X, 5, algorithm="nndescent",
                   random_state=np.random.RandomState(0))
    G2 = knn_graph(X, 5, algorithm="nndescent",
                   random_state=np.random.RandomState(0))
    assert G1.shape == (120, 120) and (G1 != G2).nnz == 0
    assert (G1 != knn_graph(X, 5, algorithm="brute")).nnz == 0
    assert seeds[0] == seeds[1] == np.random.RandomState(0).randint(2**31 - 1)


# --------------------------------------------------------------------------- #
# 9. parameter checks
# --------------------------------------------------------------------------- #
def test_rows_of_networks_outside_the_config_are_not_counted(tiny_study, tmp_path):
    src, data = tiny_study
    stranger = json.loads(data.splitlines()[0])
    stranger["network_id"] = "A/narrow/d5/r99"
    stranger["repeat"] = 99
    out = _copy_study(
        src, tmp_path / "s", data + json.dumps(stranger).encode() + b"\n"
    )
    analysis = make_report(out, figures=False)
    assert analysis.counts["trained"] == analysis.counts["expected"] == 2
    assert analysis.counts["not_in_config"] == 1
    assert "A/narrow/d5/r99" not in {t["network_id"] for t in analysis.table}
    assert "1 row(s) of networks not in the configuration" in (
        out / "report.md"
    ).read_text()


def test_select_n_neighbors_checks_x_rows_with_an_explicit_grid():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 3))
    nets = [[np.maximum(X @ rng.normal(size=(3, 6)), 0) for _ in range(5)]]
    with pytest.raises(ValueError, match="X has 40 samples, the layers have 50"):
        select_n_neighbors(nets, [8, 10], X=X[:40], connect="mst")


@pytest.mark.parametrize("n_jobs", ["2", 1.5, True])
def test_n_jobs_of_the_wrong_type_is_a_clear_error(n_jobs):
    rng = np.random.RandomState(0)
    layers = [rng.normal(size=(30, 3)) for _ in range(4)]
    with pytest.raises(TypeError, match=rf"ricci_flow: n_jobs must be None or a "
                       rf"non-zero int.*; got {type(n_jobs).__name__} {n_jobs!r}"):
        ricci_flow(layers, 5, n_jobs=n_jobs)
    with pytest.raises(TypeError, match="n_jobs must be None or an int"):
        geodesic_mass(knn_graph(layers[0], 5), n_jobs=n_jobs)


def test_layer_activations_batch_size_true_is_reported_as_true():
    from sk_ricci.nn import layer_activations

    clf, X = _fitted(3)
    with pytest.raises(ValueError, match="got True"):
        layer_activations(clf, X, batch_size=True)


# --------------------------------------------------------------------------- #
# 10. one-line CLI errors
# --------------------------------------------------------------------------- #
def test_cli_output_under_a_file_is_one_line(capsys):
    assert main(["study", *TINY_FLAGS, "--output", "/dev/null/x"]) == 1
    _one_line_error(capsys, "study", "/dev/null/x")
    assert main(["demo", "--quick", "--output", "/dev/null/x"]) == 1
    _one_line_error(capsys, "demo", "/dev/null/x")


def test_cli_bad_run_table_is_one_line(tmp_path, capsys):
    toml = tmp_path / "study.toml"
    toml.write_text("repeats = 1\n[run]\noutput = 5\n")
    assert main(["study", "--config", str(toml)]) == 1
    _one_line_error(capsys, "study", "output", "5")
    toml.write_text("repeats = 1\n[run]\nn_jobs = 'many'\n")
    assert main(["study", "--config", str(toml)]) == 1
    _one_line_error(capsys, "study", "n_jobs")


def test_cli_config_json_that_is_a_list_is_one_line(tiny_study, tmp_path, capsys):
    src, data = tiny_study
    out = _copy_study(src, tmp_path / "s", data)
    (out / "config.json").write_text("[1, 2, 3]\n")
    assert main(["report", str(out)]) == 1
    _one_line_error(capsys, "report", "config.json")
    assert main(["study", *TINY_FLAGS, "--output", str(out)]) == 1
    _one_line_error(capsys, "study", "config.json")


def test_cli_row_missing_fields_is_one_line(tiny_study, tmp_path, capsys):
    src, data = tiny_study
    first, second = data.splitlines()
    row = json.loads(second)
    del row["accuracy"], row["flow"]
    out = _copy_study(
        src, tmp_path / "s", first + b"\n" + json.dumps(row).encode() + b"\n"
    )
    assert main(["report", str(out)]) == 1
    _one_line_error(capsys, "report", "line 2", "accuracy", "flow")
    assert main(["study", *TINY_FLAGS, "--output", str(out)]) == 1
    _one_line_error(capsys, "study", "line 2")


def test_cli_flow_of_a_non_npz_file_says_so(tmp_path, capsys):
    script = tmp_path / "some_script.py"
    script.write_text("print('hello')\n")
    assert main(["flow", str(script), "--n-neighbors", "5"]) == 1
    last = _one_line_error(capsys, "flow", "not an .npz file", "numpy.savez")
    assert "pickled" not in last
    npy = tmp_path / "one.npy"
    np.save(npy, np.zeros((5, 2)))
    assert main(["flow", str(npy), "--n-neighbors", "5"]) == 1
    _one_line_error(capsys, "flow", "not an .npz file")


def test_package_still_imports_without_torch_side_effects():
    # the new checks must not make ``import sk_ricci`` import torch
    code = "import sys, sk_ricci; print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.stdout.strip() == "False", proc.stderr
    assert sk_ricci.__version__


def test_one_torch_thread_restores_the_count_even_on_error():
    """The demo and the study train on one torch thread and give the caller's
    thread count back, also when training raises."""
    import torch

    from sk_ricci.nn._threads import one_torch_thread

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pytest.raises(RuntimeError, match="boom"), one_torch_thread():
            assert torch.get_num_threads() == 1
            raise RuntimeError("boom")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
