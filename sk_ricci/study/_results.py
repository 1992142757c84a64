"""The files of a study's output folder: rows written and read back.

``results.jsonl`` holds one JSON line per finished network, appended by
:class:`ResultsLog` and read by :func:`load_results`; the row of a network is
made by :func:`network_row` (or :func:`diverged_row`) and a stored flow entry
is turned back into a :class:`~sk_ricci.RicciFlowResult` by
:func:`flow_result`, side by side, so that the two cannot drift apart.
``config.json`` records the configuration and its hash
(:func:`prepare_output` refuses a folder holding another study), and
:class:`FolderLock` keeps a second study out of a folder in use.
"""

import contextlib
import json
import math
import os
import time
import warnings
from pathlib import Path

import numpy as np

from .._flow import RicciFlowResult
from .._param_validation import check_flags
from ..exceptions import OutputFolderError, ResultsFileWarning
from ._config import RESULTS_VERSION

RESULTS_FILE = "results.jsonl"
CONFIG_FILE = "config.json"
#: Advisory lock held by the study writing into a folder (holds its pid).
LOCK_FILE = ".sk_ricci.lock"
#: Every file the study writes into its output folder (``--overwrite`` deletes
#: exactly these).
OUTPUT_FILES = (
    RESULTS_FILE,
    CONFIG_FILE,
    "results.csv",
    "aggregated.csv",
    "report.md",
    "fig3_aggregated_coefficient.png",
    "fig4_flow.png",
)
#: Columns that depend on the machine, not on the seeds.
TIMING_COLUMNS = ("fit_time_s", "flow_time_s")


# --------------------------------------------------------------------------- #
# Rows: written (encoding) and read back (decoding)
# --------------------------------------------------------------------------- #
#: Fields of a result row (:func:`sk_ricci.study.run_study` writes them).
ROW_FIELDS = (
    "network_id", "problem", "architecture", "depth", "repeat", "seed",
    "hidden_layer_sizes", "n_train", "n_test", "max_epochs", "batch_size", "lr",
    "optimizer", "validation_fraction", "symmetrize", "connect", "accuracy",
    "train_accuracy", "flow",
)
#: Fields of a row of a network whose training diverged (``status="diverged"``).
DIVERGED_ROW_FIELDS = (
    "network_id", "problem", "architecture", "depth", "repeat", "seed", "status",
    "cause",
)
FLOW_FIELDS = (
    "n_neighbors", "total_curvature", "geodesic_mass", "eta", "n_components",
    "coefficient", "adjusted_paper", "adjusted_fisher",
)


def _finite_or_none(values):
    return [v if math.isfinite(v) else None
            for v in np.asarray(values, dtype=float).tolist()]


def _scalar(v):
    v = float(v)
    return v if math.isfinite(v) else None


def _flow_entry(result):
    """The stored form of one :class:`~sk_ricci.RicciFlowResult` (JSON-ready:
    NaN and infinities become None); :func:`flow_result` reverses it."""
    return {
        "n_neighbors": int(result.n_neighbors),
        "total_curvature": _finite_or_none(result.total_curvature),
        "geodesic_mass": _finite_or_none(result.geodesic_mass),
        "eta": _finite_or_none(result.eta),
        "n_components": [int(c) for c in result.n_components],
        "coefficient": _scalar(result.coefficient),
        "adjusted_paper": _scalar(result.adjusted_paper),
        "adjusted_fisher": _scalar(result.adjusted_fisher),
    }


def _network_fields(net):
    return {
        "network_id": net.network_id, "problem": net.problem,
        "architecture": net.architecture, "depth": net.depth,
        "repeat": net.repeat, "seed": net.seed,
    }


def network_row(net, options, measured):
    """The row of a trained network (:data:`ROW_FIELDS` and the timings).

    ``measured`` holds ``layers``, ``n_train``, ``n_test``, ``accuracy``,
    ``train_accuracy``, ``fit_time``, ``flow_time`` and ``results`` (the
    :class:`~sk_ricci.RicciFlowResult` of every k).
    """
    flow = options["flow"]
    return {
        **_network_fields(net),
        "hidden_layer_sizes": [int(a.shape[1]) for a in measured["layers"]],
        "n_train": measured["n_train"],
        "n_test": measured["n_test"],
        "max_epochs": options["max_epochs"],
        "batch_size": options["batch_size"],
        "lr": options["lr"],
        "optimizer": options["optimizer"],
        "validation_fraction": options["validation_fraction"],
        "symmetrize": flow.symmetrize,
        "connect": flow.connect,
        "accuracy": measured["accuracy"],
        "train_accuracy": measured["train_accuracy"],
        "fit_time_s": round(measured["fit_time"], 4),
        "flow_time_s": round(measured["flow_time"], 4),
        "flow": [_flow_entry(r) for r in measured["results"]],
    }


def diverged_row(net, options, cause, fit_time):
    """The row of a network whose training diverged (:data:`DIVERGED_ROW_FIELDS`);
    recorded, excluded from the analysis, never retried."""
    return {
        **_network_fields(net), "status": "diverged", "cause": cause,
        "lr": options["lr"], "max_epochs": options["max_epochs"],
        "fit_time_s": round(fit_time, 4),
    }


def _as_float_array(values):
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def flow_result(entry, symmetrize="max", connect=None):
    """Rebuild a :class:`~sk_ricci.RicciFlowResult` from a stored row's entry."""
    ncomp = np.asarray(entry["n_components"], dtype=np.int64)
    mass = _as_float_array(entry["geodesic_mass"])
    mass[ncomp > 1] = np.inf
    nan = np.nan
    return RicciFlowResult(
        n_neighbors=int(entry["n_neighbors"]),
        total_curvature=_as_float_array(entry["total_curvature"]),
        geodesic_mass=mass,
        eta=_as_float_array(entry["eta"]),
        coefficient=nan if entry["coefficient"] is None else entry["coefficient"],
        adjusted_paper=(
            nan if entry["adjusted_paper"] is None else entry["adjusted_paper"]
        ),
        adjusted_fisher=(
            nan if entry["adjusted_fisher"] is None else entry["adjusted_fisher"]
        ),
        connected=ncomp == 1,
        n_components=ncomp,
        symmetrize=symmetrize,
        connect=connect,
    )


# --------------------------------------------------------------------------- #
# results.jsonl: append-only JSON lines, one per network
# --------------------------------------------------------------------------- #
class ResultsLog:
    """``results.jsonl``: one JSON line per finished network.

    Each row is one JSON line written by a single ``os.write`` on a file
    opened with ``O_APPEND`` and fsynced at once, by the one process that
    holds the folder's lock (:class:`FolderLock`). Reading (:meth:`load`)
    never modifies the file: an incomplete last line (a run killed mid-write,
    or a row being appended right now) is ignored with a warning. The writer
    repairs such a tail under the lock before appending (:meth:`repair`).
    """

    def __init__(self, path):
        self.path = Path(path)
        self._fd = None

    def _damaged(self, i, why):
        return OutputFolderError(
            f"line {i} of {self.path} {why}; the file was edited or damaged. "
            "Delete that line (its network is trained again), or pass "
            "--overwrite to start the study again"
        )

    def _row(self, line, i):
        try:
            row = json.loads(line)
        except ValueError:
            raise self._damaged(i, "is not a result row (not JSON)") from None
        if not isinstance(row, dict) or not isinstance(row.get("network_id"), str):
            raise self._damaged(i, "is not a result row (no network_id)")
        diverged = row.get("status") == "diverged"
        fields = DIVERGED_ROW_FIELDS if diverged else ROW_FIELDS
        missing = [f for f in fields if f not in row]
        if not missing and not diverged:
            flow = row["flow"]
            if not isinstance(flow, list) or not all(
                isinstance(e, dict) and all(f in e for f in FLOW_FIELDS)
                for e in flow
            ):
                missing = ["flow (one entry per k with " + ", ".join(FLOW_FIELDS)
                           + ")"]
        if missing:
            raise self._damaged(
                i, f"(network {row['network_id']}) lacks the field(s) "
                f"{', '.join(missing)}"
            )
        return row

    def _read(self):
        """(rows, length of the complete part, incomplete tail or b'')."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}, 0, b""
        lines = data.split(b"\n")
        tail = lines.pop()  # after the last newline; b"" if the file ends in one
        rows = {}
        for i, line in enumerate(lines, start=1):
            if line.strip():
                row = self._row(line, i)
                rows.setdefault(row["network_id"], row)
        complete = len(data) - len(tail)
        if tail.strip():
            try:
                row = json.loads(tail)
            except ValueError:
                return rows, complete, tail  # a row cut short: incomplete
            row = self._row(tail, len(lines) + 1)  # complete, newline missing
            rows.setdefault(row["network_id"], row)
            return rows, len(data), b""
        return rows, complete, tail

    def load(self):
        """Rows already written, keyed by network id (first wins).

        Never modifies the file. An incomplete last line is ignored, with a
        :class:`~sk_ricci.exceptions.ResultsFileWarning`.
        """
        rows, _, tail = self._read()
        if tail.strip():
            warnings.warn(
                f"{self.path} has an incomplete last line ({len(tail)} bytes: a "
                "run killed while writing, or a row being written right now); "
                "it is ignored. The next run of the study on this folder "
                "removes it and trains that network again",
                ResultsFileWarning,
                stacklevel=2,
            )
        return rows

    def repair(self):
        """Make the file end with a complete line (the writer, under the lock).

        A complete last row without its newline gets one; an incomplete tail
        is cut off. A symbolic link is never truncated.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResultsFileWarning)
            try:
                data = self.path.read_bytes()
            except FileNotFoundError:
                return
        if not data or data.endswith(b"\n"):
            return
        _, complete, tail = self._read()
        if not tail.strip() and complete == len(data):
            self._write(b"\n")  # a complete row that lacked its newline
            return
        if self.path.is_symlink():
            raise OutputFolderError(
                f"{self.path} is a symbolic link (to {os.readlink(self.path)}) "
                f"and its last line is incomplete ({len(data) - complete} bytes); "
                "sk_ricci does not truncate a file through a link: delete that "
                "last line by hand, or replace the link with a regular file"
            )
        with open(self.path, "r+b") as f:
            f.truncate(complete)
            f.flush()
            os.fsync(f.fileno())

    def _write(self, data):
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        os.fsync(self._fd)

    def append(self, row):
        self._write((json.dumps(row, sort_keys=True, allow_nan=False) + "\n").encode())

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class FolderLock:
    """Advisory lock on an output folder: one study writes into it at a time.

    An ``flock`` (``msvcrt.locking`` on Windows) on ``.sk_ricci.lock``, which
    holds the owner's pid. The operating system releases it when the process
    ends, however it ends; the file stays.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self._fd = None

    def __enter__(self):
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputFolderError(
                f"output folder {str(self.folder)!r} is not writable "
                f"({exc.strerror}: {exc.filename}); pass a writable --output "
                "folder"
            ) from None
        try:
            _lock_fd(fd)
        except OSError:
            try:
                pid = os.read(fd, 64).decode(errors="replace").strip()
            finally:
                os.close(fd)
            who = f" (process {pid})" if pid.isdigit() else ""
            raise OutputFolderError(
                f"output folder {str(self.folder)!r} is in use by another "
                f"sk-ricci study{who}; wait for it to finish, or pass another "
                "--output folder"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc):
        if self._fd is not None:
            _unlock_fd(self._fd)
            os.close(self._fd)
            self._fd = None


try:
    import fcntl

    def _lock_fd(fd):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock_fd(fd):
        fcntl.flock(fd, fcntl.LOCK_UN)

except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _lock_fd(fd):
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock_fd(fd):
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _results_path(output):
    """``results.jsonl`` of a study folder, or the results file itself."""
    path = Path(output)
    if path.is_dir():
        return path / RESULTS_FILE
    if path.is_file():
        return path
    raise FileNotFoundError(
        f"{str(path)!r} does not exist; pass a study's output folder (the "
        f"--output of `sk-ricci study`) or its {RESULTS_FILE}"
    )


def load_results(output, *, as_frame=False):
    """The rows of a study's ``results.jsonl`` (list of dict, in file order).

    Parameters
    ----------
    output : str or path-like
        A study's output folder, or its ``results.jsonl`` file. A folder
        whose study has not finished a network yet (no ``results.jsonl``)
        gives no rows; a path that does not exist is a
        :class:`FileNotFoundError`.
    as_frame : bool, default=False
        Return a tidy pandas DataFrame (pandas imported lazily) with one row
        per network and scale k: the network's scalar fields
        (``network_id``, ``problem``, ``architecture``, ``depth``,
        ``accuracy``, ...) and, from its ``flow`` entry at that k,
        ``n_neighbors``, ``coefficient``, ``adjusted_paper``,
        ``adjusted_fisher``, ``all_connected`` and the per-layer lists
        ``total_curvature``, ``geodesic_mass``, ``eta`` and
        ``n_components``. Every network is in it: the ``status`` column is
        ``"ok"`` for a measured network and ``"diverged"`` for one whose
        training diverged, which has a single row with its ``cause`` and
        missing (NaN) flow columns.

    A network id written twice (a hand edit) keeps its first row.
    """
    check_flags("load_results", as_frame=as_frame)
    path = _results_path(output)
    if path.is_dir():
        raise IsADirectoryError(
            f"{str(path)!r} is a folder, not a results file; pass the study's "
            "output folder"
        )
    if not path.exists() and not (path.parent / CONFIG_FILE).exists():
        raise FileNotFoundError(
            f"{str(path.parent)!r} holds neither {RESULTS_FILE} nor "
            f"{CONFIG_FILE}: it is not a study's output folder; pass the "
            "--output folder of `sk-ricci study`"
        )
    rows = list(ResultsLog(path).load().values())
    if not as_frame:
        return rows
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            "load_results(as_frame=True) needs pandas; install it with `pip "
            "install pandas`, or use as_frame=False"
        ) from None
    records = []
    for row in rows:
        base = {k: v for k, v in row.items() if k != "flow"}
        base["status"] = row.get("status", "ok")
        base.setdefault("cause", None)
        if "flow" not in row:  # diverged: no flow, one row all the same
            records.append({
                **base, **dict.fromkeys(FLOW_FIELDS), "all_connected": None,
            })
            continue
        for entry in row["flow"]:
            flat = {**base, **entry}
            flat["all_connected"] = all(c == 1 for c in entry["n_components"])
            records.append(flat)
    return pd.DataFrame.from_records(records)


def write_atomic(path, text):
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# --------------------------------------------------------------------------- #
# The output folder: config.json guards it
# --------------------------------------------------------------------------- #
def _describe_difference(old, new):
    diffs = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            diffs.append(f"{key}: {old.get(key)!r} -> {new.get(key)!r}")
    return "; ".join(diffs) or "unknown fields"


def prepare_output(output, config, overwrite):
    """Check (or clean) the output folder; returns the saved config or None."""
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise OutputFolderError(f"output {str(output)!r} exists and is not a folder")
    cfg_path = output / CONFIG_FILE
    if overwrite:
        for name in OUTPUT_FILES:
            with contextlib.suppress(FileNotFoundError):
                (output / name).unlink()
        return None
    if cfg_path.exists():
        try:
            saved = json.loads(cfg_path.read_text())
            saved_hash = saved["config_hash"]
            if not isinstance(saved_hash, str):
                raise TypeError("config_hash is not a string")
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise OutputFolderError(
                f"{cfg_path} is unreadable ({type(exc).__name__}: {exc}); pass "
                "--overwrite to start again or a new --output folder"
            ) from None
        if saved_hash != config.config_hash:
            old_config = saved.get("config", {})
            old = {
                k: v
                for k, v in (old_config if isinstance(old_config, dict) else {}).items()
                if k not in ("data_home", "download")
            }
            old["results_version"] = saved.get("results_version", 1)
            new = {
                **config.to_dict(hashed_only=True),
                "results_version": RESULTS_VERSION,
            }
            raise OutputFolderError(
                f"output folder {str(output)!r} holds a study with a different "
                f"configuration (config hash {saved_hash} != {config.config_hash}; "
                f"{_describe_difference(old, new)}); "
                "pass a new --output folder, or --overwrite to delete its results"
            )
        return saved
    if (output / RESULTS_FILE).exists():
        raise OutputFolderError(
            f"output folder {str(output)!r} has {RESULTS_FILE} but no "
            f"{CONFIG_FILE}, so its configuration is unknown; pass a new --output "
            "folder, or --overwrite to delete its results"
        )
    return None


def write_config(output, config, n_networks, splits=None):
    """Write ``config.json``; ``splits`` (problem -> sizes of its training and
    test sets as loaded) is recorded beside the configuration."""
    from .. import __version__

    payload = {
        "config": config.to_dict(),
        "splits": splits or {},
        "config_hash": config.config_hash,
        "results_version": RESULTS_VERSION,
        "n_networks": n_networks,
        "sk_ricci_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_atomic(Path(output) / CONFIG_FILE, json.dumps(payload, indent=2) + "\n")
