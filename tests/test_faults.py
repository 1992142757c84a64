"""Fault injection: a study killed mid-run, concurrent readers and writers of
``results.jsonl``, corrupt or truncated files, read-only output folders.

Studies are tiny (one problem, 1-epoch networks on 60 points).
"""

import builtins
import errno
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest
from _settings import SMALL_STUDY, SMALL_STUDY_FLAGS

from sk_ricci.cli import main
from sk_ricci.study import (
    OutputFolderError,
    StudyConfig,
    load_results,
    make_report,
    run_study,
)


def _ids(output):
    return [r["network_id"] for r in load_results(output)]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("finished")
    run_study(StudyConfig(**SMALL_STUDY), out, quiet=True)
    return out


# --------------------------------------------------------------------------- #
# read-only folders (chmod, or simulated where the tests run as root)
# --------------------------------------------------------------------------- #
@pytest.fixture
def read_only(monkeypatch):
    """Make a folder read-only. Root ignores permission bits, so there every
    write below the folder fails with EACCES as the OS would report it."""

    def make(path):
        path = Path(path)
        for p in [path, *path.rglob("*")]:
            p.chmod(0o555 if p.is_dir() else 0o444)
        probe = path / ".probe"
        try:
            probe.touch()
        except PermissionError:
            return path  # the OS enforces it
        probe.unlink()
        root = os.path.realpath(path)

        def inside(target):
            try:
                target = os.fspath(target)
            except TypeError:
                return False
            if isinstance(target, bytes):
                target = os.fsdecode(target)
            full = os.path.realpath(os.path.join(os.getcwd(), target))
            return full == root or full.startswith(root + os.sep)

        def deny(target):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), target)

        real_open, real_os_open = builtins.open, os.open

        def fake_open(file, mode="r", *args, **kwargs):
            if any(c in mode for c in "wax+") and inside(file):
                deny(file)
            return real_open(file, mode, *args, **kwargs)

        def fake_os_open(file, flags, *args, **kwargs):
            writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
            if flags & writing and inside(file):
                deny(file)
            return real_os_open(file, flags, *args, **kwargs)

        def guard(real):
            def fake(target, *args, **kwargs):
                if inside(target):
                    deny(target)
                return real(target, *args, **kwargs)
            return fake

        def guard2(real):
            def fake(src, dst, *args, **kwargs):
                if inside(src) or inside(dst):
                    deny(dst)
                return real(src, dst, *args, **kwargs)
            return fake

        monkeypatch.setattr(builtins, "open", fake_open)
        monkeypatch.setattr(io, "open", fake_open)
        monkeypatch.setattr(os, "open", fake_os_open)
        for name in ("mkdir", "unlink", "remove", "rmdir"):
            monkeypatch.setattr(os, name, guard(getattr(os, name)))
        for name in ("replace", "rename"):
            monkeypatch.setattr(os, name, guard2(getattr(os, name)))
        return path

    made = []
    yield lambda path: made.append(make(path)) or made[-1]
    for path in made:
        for p in [path, *path.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)


def _one_line(capsys, command, *needles):
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"sk-ricci {command}: error:"), err
    for needle in needles:
        assert needle in last, (needle, last)


def test_read_only_folder_new_study(tmp_path, read_only, capsys):
    (tmp_path / "ro").mkdir()
    parent = read_only(tmp_path / "ro")
    out = parent / "study"
    assert main(
        ["study", *SMALL_STUDY_FLAGS, "--repeats", "1", "--output", str(out)]
    ) == 1
    _one_line(capsys, "study", str(parent), "writable")


def test_read_only_folder_resume_report_overwrite(finished, tmp_path, read_only,
                                                  capsys):
    out = tmp_path / "copy"
    shutil.copytree(finished, out)
    # drop the last row: a resume has work to do
    lines = (out / "results.jsonl").read_bytes().splitlines(keepends=True)
    (out / "results.jsonl").write_bytes(lines[0])
    before = (out / "results.jsonl").read_bytes()
    read_only(out)
    for argv, command in (
        (["study", *SMALL_STUDY_FLAGS, "--repeats", "2", "--output", str(out)],
         "study"),
        (["study", *SMALL_STUDY_FLAGS, "--repeats", "2", "--output", str(out),
          "--overwrite"], "study"),
        (["report", str(out)], "report"),
    ):
        assert main(argv) == 1, argv
        _one_line(capsys, command, str(out), "writable")
    assert (out / "results.jsonl").read_bytes() == before


def test_read_only_folder_demo(tmp_path, read_only, capsys):
    (tmp_path / "ro").mkdir()
    parent = read_only(tmp_path / "ro")
    assert main(["demo", "--quick", "--output", str(parent / "demo")]) == 1
    _one_line(capsys, "demo", str(parent), "writable")


def test_read_only_results_can_still_be_read(finished, tmp_path, read_only):
    out = tmp_path / "copy"
    shutil.copytree(finished, out)
    read_only(out)
    assert _ids(out) == ["A/narrow/d5/r0", "A/narrow/d5/r1"]


# --------------------------------------------------------------------------- #
# killed mid-run, resumed: nothing lost, nothing duplicated
# --------------------------------------------------------------------------- #
def test_killed_twice_then_resumed(finished, tmp_path):
    out = tmp_path / "killed"
    results = out / "results.jsonl"
    argv = [sys.executable, "-m", "sk_ricci.cli", "study", *SMALL_STUDY_FLAGS,
            "--repeats", "6", "--output", str(out), "--no-report"]
    for target in (1, 3):
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                if results.exists() and results.read_bytes().count(b"\n") >= target:
                    break
                time.sleep(0.01)
            assert proc.poll() is None, "the study finished before the kill"
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
    # a torn write at the moment of the kill is simulated on top
    with open(results, "ab") as f:
        f.write(b'{"network_id": "A/narrow/d5/r5", "acc')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(argv[3:]) == 0
    ids = _ids(out)
    assert sorted(ids) == sorted(f"A/narrow/d5/r{i}" for i in range(6))
    lines = results.read_bytes().splitlines()
    assert len(lines) == 6 and all(json.loads(x) for x in lines)
    # the rows equal those of an uninterrupted run (timing aside)
    ref = {r["network_id"]: r for r in load_results(finished)}
    for row in load_results(out):
        if row["network_id"] in ref:
            for col in ("fit_time_s", "flow_time_s"):
                row.pop(col)
                ref[row["network_id"]].pop(col, None)
            assert row == ref[row["network_id"]]


# --------------------------------------------------------------------------- #
# concurrent readers and writers
# --------------------------------------------------------------------------- #
WRITER = textwrap.dedent(
    """
    import sys
    from sk_ricci.study._results import ResultsLog
    log = ResultsLog(sys.argv[1])
    pad = "x" * int(sys.argv[3])
    for i in range(int(sys.argv[2])):
        log.append({"network_id": f"n{i}", "problem": "A", "architecture":
                    "wide", "depth": 5, "repeat": i, "seed": i,
                    "status": "diverged", "cause": pad})
    log.close()
    """
)


def test_readers_never_lose_rows_a_writer_appends(tmp_path):
    path = tmp_path / "results.jsonl"
    n_rows, size = 120, 256 * 1024
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen([sys.executable, str(script), str(path), str(n_rows),
                             str(size)])
    from sk_ricci.study._results import ResultsLog

    seen = 0
    try:
        while proc.poll() is None:
            if path.exists():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    rows = ResultsLog(path).load()
                assert len(rows) >= seen  # rows only ever appear
                seen = len(rows)
    finally:
        proc.wait(timeout=300)
    assert proc.returncode == 0
    rows = ResultsLog(path).load()
    assert list(rows) == [f"n{i}" for i in range(n_rows)]
    assert path.read_bytes().count(b"\n") == n_rows


def test_two_writers_one_folder_train_each_network_once(tmp_path):
    out = tmp_path / "race"
    argv = [sys.executable, "-m", "sk_ricci.cli", "study", *SMALL_STUDY_FLAGS,
            "--repeats", "4", "--output", str(out), "--no-report"]
    procs = [subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE) for _ in range(2)]
    errs = [p.communicate(timeout=300)[1].decode() for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes in ([0, 0], [0, 1]), (codes, errs)
    if codes == [0, 1]:
        assert any("in use by another" in e for e in errs), errs
    ids = _ids(out)
    assert sorted(ids) == sorted(f"A/narrow/d5/r{i}" for i in range(4))
    assert (out / "results.jsonl").read_bytes().count(b"\n") == 4


# --------------------------------------------------------------------------- #
# corrupt or truncated files
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "damage, match",
    [
        (lambda d: [d[0], b"\x00\x00\x00\n", *d[1:]], "line 2 of .* is not a "),
        (lambda d: [d[0], b"[1, 2]\n", *d[1:]], "line 2 of .* is not a "),
        (lambda d: b"\xff\xfe garbage\n" + b"".join(d), "line 1 of .* is not a "),
    ],
)
def test_corrupt_results_lines_are_errors(finished, tmp_path, damage, match):
    out = tmp_path / "c"
    shutil.copytree(finished, out)
    lines = (out / "results.jsonl").read_bytes().splitlines(keepends=True)
    data = damage(lines)
    data = data if isinstance(data, bytes) else b"".join(data)
    (out / "results.jsonl").write_bytes(data)
    with pytest.raises(OutputFolderError, match=match):
        load_results(out)
    assert (out / "results.jsonl").read_bytes() == data


@pytest.mark.parametrize(
    "text", ["", "{", "[1, 2, 3]", '{"config": []}', '{"config_hash": 5}', "\x00"]
)
def test_corrupt_config_json_is_an_error(finished, tmp_path, text):
    out = tmp_path / "c"
    shutil.copytree(finished, out)
    (out / "config.json").write_text(text)
    with pytest.raises(OutputFolderError, match="config.json"):
        make_report(out, figures=False)
    with pytest.raises(OutputFolderError, match="config.json"):
        run_study(StudyConfig(**SMALL_STUDY), out, quiet=True, report=False)


def test_truncated_results_file_resumes(finished, tmp_path):
    out = tmp_path / "t"
    shutil.copytree(finished, out)
    data = (out / "results.jsonl").read_bytes()
    for cut in (0, 7, len(data) // 2, len(data) - 1):
        (out / "results.jsonl").write_bytes(data[:cut])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_study(StudyConfig(**SMALL_STUDY), out, quiet=True, report=False)
        assert sorted(_ids(out)) == ["A/narrow/d5/r0", "A/narrow/d5/r1"]
        assert (out / "results.jsonl").read_bytes().count(b"\n") == 2


# --------------------------------------------------------------------------- #
# sk-ricci flow never writes over its input
# --------------------------------------------------------------------------- #
def _layers_npz(path, n_layers=5):
    import numpy as np

    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    with open(path, "wb") as f:  # savez would append ".npz" to other names
        np.savez(f, **{f"layer{i}": np.maximum(X @ rng.normal(size=(3, 8)), 0)
                       for i in range(n_layers)})
    return path


def test_flow_refuses_to_overwrite_its_input(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    npz = _layers_npz(tmp_path / "L.npz")
    before = npz.read_bytes()
    os.symlink(npz, tmp_path / "link.npz")
    os.link(npz, tmp_path / "hard.npz")
    (tmp_path / "sub").mkdir()
    for fmt in ("csv", "json"):
        for target in ("L.npz", str(npz), "./sub/../L.npz", "link.npz", "hard.npz"):
            argv = ["flow", "L.npz", "--n-neighbors", "5", "--format", fmt,
                    "--output", target]
            assert main(argv) == 1, argv
            _one_line(capsys, "flow", f"--output {target} is the input file",
                      "pass another --output")
            assert npz.read_bytes() == before, argv
    # --figure: an input whose name has a figure's extension
    png = _layers_npz(tmp_path / "layers.png")
    before_png = png.read_bytes()
    for target in ("layers.png", str(png), "./sub/../layers.png"):
        assert main(["flow", str(png), "--n-neighbors", "5", "--figure",
                     target]) == 1
        _one_line(capsys, "flow", f"--figure {target} is the input file")
        assert png.read_bytes() == before_png
    # an output that is not the input is written
    assert main(["flow", "L.npz", "--n-neighbors", "5", "--format", "csv",
                 "--output", "flow.csv"]) == 0
    assert (tmp_path / "flow.csv").read_text().startswith("n_neighbors,layer,")
    assert npz.read_bytes() == before


# --------------------------------------------------------------------------- #
# Ctrl-C: one line and exit status 130 wherever it lands, then resume
# --------------------------------------------------------------------------- #
#: Two networks in two batches (depths 5 and 6): the first is saved before
#: the second is interrupted in its flow.
TWO_BATCHES = [*SMALL_STUDY_FLAGS, "--depths", "5,6", "--repeats", "1",
               "--no-report"]
INTERRUPTED = "interrupted; every finished network is saved in"


def _numba_interrupt():
    """What numba raises when Ctrl-C arrives while a kernel runs."""
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as exc:
        try:
            raise SystemError(
                "CPUDispatcher(<function bfs_distance_sums_serial>) returned a "
                "result with an exception set"
            ) from exc
        except SystemError as wrapped:
            return wrapped


@pytest.fixture(scope="module")
def two_batches_rows(tmp_path_factory):
    """The rows of the uninterrupted study (timings aside)."""
    out = tmp_path_factory.mktemp("uninterrupted")
    assert main(["study", *TWO_BATCHES, "--output", str(out)]) == 0
    return _rows_without_timings(out)


def _rows_without_timings(out):
    rows = load_results(out)
    for row in rows:
        row.pop("fit_time_s")
        row.pop("flow_time_s")
    return sorted(rows, key=lambda r: r["network_id"])


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, _numba_interrupt])
def test_ctrl_c_in_the_flow_is_one_line_exit_130(
    interrupt, two_batches_rows, tmp_path, capsys, monkeypatch
):
    from sk_ricci.study import _run

    out = tmp_path / "s"
    real = _run.ricci_flow
    calls = []

    def flow(layers, *args, **kwargs):
        calls.append(len(layers))
        if len(layers) == 6:
            raise interrupt()
        return real(layers, *args, **kwargs)

    monkeypatch.setattr(_run, "ricci_flow", flow)
    assert main(["study", *TWO_BATCHES, "--output", str(out)]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "SystemError" not in err, err
    assert err.strip().splitlines()[-1] == (
        f"sk-ricci study: error: {INTERRUPTED} {out}; run the same command "
        "again to resume"
    )
    assert calls == [5, 6]
    assert _ids(out) == ["A/narrow/d5/r0"]
    monkeypatch.setattr(_run, "ricci_flow", real)
    assert main(["study", *TWO_BATCHES, "--output", str(out)]) == 0
    assert _rows_without_timings(out) == two_batches_rows


def test_ctrl_c_in_a_batch_stops_it_at_once(tmp_path, capsys, monkeypatch):
    """The networks of a batch after the interrupted one are not measured."""
    from sk_ricci.study import _run

    calls = []

    def flow(layers, *args, **kwargs):
        calls.append(1)
        raise _numba_interrupt()

    monkeypatch.setattr(_run, "ricci_flow", flow)
    argv = ["study", *SMALL_STUDY_FLAGS, "--repeats", "3", "--no-report",
            "--output", str(tmp_path / "s")]
    assert main(argv) == 130
    assert INTERRUPTED in capsys.readouterr().err
    assert calls == [1]


def test_a_genuine_system_error_is_not_taken_for_ctrl_c(tmp_path, monkeypatch):
    from sk_ricci.study import _run

    def flow(layers, *args, **kwargs):
        try:
            raise ValueError("inner")
        except ValueError as exc:
            raise SystemError("a genuine bug") from exc

    monkeypatch.setattr(_run, "ricci_flow", flow)
    with pytest.raises(SystemError, match="a genuine bug"):
        main(["study", *TWO_BATCHES, "--output", str(tmp_path / "s")])


SLOW_FLOW = textwrap.dedent(
    """
    import signal, sys, time
    import numpy as np
    from sk_ricci._kernels import bfs_distance_sums_serial
    from sk_ricci.cli import main
    from sk_ricci.study import _run

    # a ring of 60 nodes: each call is a short numba kernel, so the SIGINT
    # lands in one (numba then raises SystemError) almost every time
    n = 60
    nbrs = [[(i - 1) % n, (i + 1) % n] for i in range(n)]
    indptr = np.arange(0, 2 * n + 1, 2, dtype=np.int64)
    indices = np.array(nbrs, dtype=np.int64).ravel()
    real = _run.ricci_flow

    def flow(layers, *args, **kwargs):
        if len(layers) == 6:
            # compiled (or loaded from numba's cache) before the marker: on a
            # cold cache and a busy machine the SIGINT must not land in the
            # compiler
            bfs_distance_sums_serial(indptr, indices, 1)
            open(sys.argv[1], "w").close()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                bfs_distance_sums_serial(indptr, indices, 1)
        return real(layers, *args, **kwargs)

    _run.ricci_flow = flow
    # Ctrl-C as in a terminal: a process started in the background by a
    # non-interactive shell (a CI script's `... &`) inherits SIGINT ignored,
    # and Python then installs no handler, so the signal would do nothing
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main(sys.argv[2:]))
    """
)


def test_sigint_in_a_numba_kernel_exits_130_then_resumes(
    two_batches_rows, tmp_path
):
    script, marker, out = tmp_path / "slow.py", tmp_path / "in_flow", tmp_path / "s"
    script.write_text(SLOW_FLOW)
    with subprocess.Popen(  # closes its pipes whatever happens
        [sys.executable, str(script), str(marker), "study", *TWO_BATCHES,
         "--output", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    ) as proc:
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                if marker.exists():
                    break
                time.sleep(0.01)
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.3)  # well inside the kernel loop
            os.kill(proc.pid, signal.SIGINT)
            _, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    err = err.decode()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "SystemError" not in err, err
    assert err.strip().splitlines()[-1].startswith(
        f"sk-ricci study: error: {INTERRUPTED} {out}"), err
    assert _ids(out) == ["A/narrow/d5/r0"]
    assert main(["study", *TWO_BATCHES, "--output", str(out)]) == 0
    assert _rows_without_timings(out) == two_batches_rows


def test_only_ctrl_c_and_its_numba_wrapper_count_as_an_interrupt():
    from sk_ricci.study._run import is_interrupt

    def chained(outer, inner):
        try:
            raise inner
        except BaseException:
            try:
                raise outer
            except BaseException as exc:
                return exc

    assert is_interrupt(KeyboardInterrupt())
    assert is_interrupt(_numba_interrupt())
    # numba's wrapper of a wrapper, and a wrapper with only a context
    assert is_interrupt(chained(SystemError("outer"), _numba_interrupt()))
    assert is_interrupt(chained(SystemError("ctx"), KeyboardInterrupt()))
    # genuine errors, even raised while an interrupt was handled, are shown
    assert not is_interrupt(SystemError("a bug"))
    assert not is_interrupt(chained(SystemError("a bug"), ValueError("x")))
    assert not is_interrupt(chained(RuntimeError("cleanup"), KeyboardInterrupt()))
    # a cycle of contexts ends
    a, b = SystemError("a"), SystemError("b")
    a.__context__, b.__context__ = b, a
    assert not is_interrupt(a)
