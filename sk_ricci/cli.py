"""The ``sk-ricci`` command: demo, study, report and flow.

Exit status: 0 on success, 2 for usage errors (argparse), 1 with a one-line
message for expected errors (bad configuration, refused output folder,
missing data files or optional packages), 130 when interrupted.
"""

import argparse
import os
import sys
import zipfile
from pathlib import Path

# Nothing heavy is imported here: ``sk-ricci --version`` and ``--help`` import
# neither numpy nor the library, and each subcommand imports what it needs
# when it runs (its flags are built only when it is chosen, see _Parser).

__all__ = ["main"]


class CLIError(Exception):
    """An expected error, printed as one line without a traceback."""


class _Interrupted(CLIError):
    """Ctrl-C during a study (exit status 130)."""


def is_interrupt(exc):
    """Ctrl-C, also as the SystemError of an interrupted numba kernel (see
    :func:`sk_ricci.study._run.is_interrupt`)."""
    if isinstance(exc, KeyboardInterrupt):
        return True
    from .study._run import is_interrupt

    return is_interrupt(exc)


def _comma_list(kind=str):
    def parse(text):
        try:
            values = [kind(v.strip()) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated list of {kind.__name__}, got {text!r}"
            ) from None
        if not values:
            raise argparse.ArgumentTypeError("expected at least one value")
        return values

    parse.__name__ = f"list of {kind.__name__}"
    return parse


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {value}")
    return value


def _seed(text):
    """A seed numpy accepts: an int in [0, 2**32 - 1]."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(
            f"expected an int in [0, 2**32 - 1], got {value}"
        )
    return value


def _n_jobs(text):
    """joblib's n_jobs: any non-zero int (-1: all cores, -2: all but one)."""
    from ._param_validation import NJobs

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int, got {text!r}") from None
    if not NJobs().is_satisfied_by(value):
        raise argparse.ArgumentTypeError(f"expected {NJobs()}, got {value}")
    return value


def _threshold(text):
    name, sep, value = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected PROBLEM=ACCURACY such as C=0.9, got {text!r}"
        ) from None


def _split(text):
    name, sep, value = text.partition("=")
    train, slash, test = value.partition("/")
    try:
        if not (sep and slash):
            raise ValueError
        return name.strip(), (int(train), int(test))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected PROBLEM=TRAIN/TEST such as mnist_1_7=500/500, got {text!r}"
        ) from None


# --------------------------------------------------------------------------- #
# demo
# --------------------------------------------------------------------------- #
def _demo(args):
    from ._demo import run_demo

    run_demo(
        quick=args.quick, output=args.output, n_jobs=args.n_jobs,
        random_state=args.random_state, quiet=args.quiet,
    )
    return 0


# --------------------------------------------------------------------------- #
# study / report
# --------------------------------------------------------------------------- #
#: How the text of a study flag is read (a field's ``type`` metadata).
_FLAG_TYPES = {
    "list": _comma_list(),
    "int list": _comma_list(int),
    "positive int": _positive_int,
    "int": int,
    "float": float,
    "problem=accuracy": _threshold,
    "problem=sizes": _split,
}


def _default_text(f):
    """A field's default as the help shows it."""
    import dataclasses

    if "default_help" in f.metadata:
        return f.metadata["default_help"]
    default = f.default_factory() if f.default is dataclasses.MISSING else f.default
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, tuple):
        return ", ".join(map(str, default))
    return "none" if default is None else str(default)


def _add_config_flags(parser):
    """One flag per :class:`~sk_ricci.study.StudyConfig` field, generated from
    the field's metadata; its default is the field's. A flag not given is
    absent from the namespace (the TOML file or the default applies)."""
    import dataclasses

    from .study import StudyConfig

    for f in dataclasses.fields(StudyConfig):
        meta = f.metadata
        flags = meta.get("flags", ("--" + f.name.replace("_", "-"),))
        kwargs = {
            "dest": f.name, "default": argparse.SUPPRESS,
            "help": f"{meta['help']} (default: {_default_text(f)})".replace(
                "%", "%%"
            ),
        }
        kind = meta.get("type")
        if kind == "bool":
            kwargs["action"] = argparse.BooleanOptionalAction
        elif kind is not None:
            kwargs["type"] = _FLAG_TYPES[kind]
        if meta.get("repeat"):
            kwargs["action"] = "append"
        for key in ("metavar", "choices"):
            if key in meta:
                kwargs[key] = meta[key]
        parser.add_argument(*flags, **kwargs)


#: The ``[run]`` settings: how a study runs, not what it computes.
_RUN_DEFAULTS = {
    "n_jobs": 1,
    "backend": "loky",
    "scheduler_address": None,
    "quiet": False,
    "output": "sk_ricci_output/study",
}


def _study_config(args):
    """The configuration and run options of ``sk-ricci study``: the flags
    override the ``--config`` TOML file, which overrides the defaults."""
    import dataclasses

    from .study import StudyConfig, load_config

    if args.config:
        config, run = load_config(args.config)
    else:
        config, run = StudyConfig(), {}
    changes = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(StudyConfig)
        if hasattr(args, f.name)
    }
    if "thresholds" in changes:
        changes["thresholds"] = {**config.thresholds, **dict(changes["thresholds"])}
    if "splits" in changes:
        changes["splits"] = {**config.splits, **dict(changes["splits"])}
    config = config.replace(**changes)
    options = {key: run.get(key, default) for key, default in _RUN_DEFAULTS.items()}
    options["quiet"] = bool(options["quiet"])
    for key in ("n_jobs", "backend", "scheduler_address", "output"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    if args.quiet:
        options["quiet"] = True
    return config, options


def _study(args):
    from .study import run_study

    config, options = _study_config(args)
    output = Path(options.pop("output"))
    quiet = options["quiet"]
    n = len(config.networks())
    if not quiet:
        print(
            f"sk-ricci study: {n} networks ({len(config.problems)} problems x "
            f"{len(config.architectures)} architectures x {len(config.depths)} "
            f"depths x {config.repeats} repeats) -> {output} "
            f"[backend={options['backend']}, n_jobs={options['n_jobs']}]",
            file=sys.stderr,
            flush=True,
        )
    try:
        analysis = run_study(
            config, output, overwrite=args.overwrite, report=not args.no_report,
            **options,
        )
    except (KeyboardInterrupt, SystemError) as exc:
        if not is_interrupt(exc):
            raise  # a genuine SystemError is a bug: its traceback is shown
        raise _Interrupted(
            f"interrupted; every finished network is saved in {output}; run the "
            "same command again to resume"
        ) from None
    if analysis is not None:
        _print_summary(analysis, output)
    return 0


def _print_summary(analysis, output):
    c = analysis.counts
    diverged = f" ({c['diverged']} diverged)" if c.get("diverged") else ""
    print(
        f"{c['trained']}/{c['expected']} networks trained{diverged}, {c['passed']} "
        f"passing the accuracy threshold, {c['connected']} connected at k*, "
        f"{c['analysed']} analysed, {c['negative']} with negative rho."
    )
    if analysis.regression is not None:
        b, _, t, p = analysis.regression.term("rho")
        print(f"Regression of accuracy on rho (+ dummies): coef {b:.4g}, t = "
              f"{t:.2f}, p = {p:.3g}.")
    print(f"Report: {Path(output) / 'report.md'}")
    for name in ("results.csv", "aggregated.csv", "fig3_aggregated_coefficient.png",
                 "fig4_flow.png"):
        if (Path(output) / name).exists():
            print(f"  {Path(output) / name}")


def _report(args):
    from .study import make_report

    analysis = make_report(args.output_dir, figures=not args.no_figures)
    _print_summary(analysis, args.output_dir)
    return 0


# --------------------------------------------------------------------------- #
# flow
# --------------------------------------------------------------------------- #
def _flow(args):
    from . import ricci_flow

    if args.output is not None and args.format == "table":
        raise CLIError(
            f"--output {args.output} needs --format csv or --format json; the "
            "table is printed to standard output"
        )
    to_stdout = args.format != "table" and args.output in (None, "-")
    output = None if args.format == "table" or to_stdout else args.output
    # every path is checked before any computation: a bad --figure fails
    # now, not after the table, and no output replaces the input
    figure = _figure_path(args.figure) if args.figure else None
    if output is not None:
        _check_folder("--output", output)
    _check_not_input(args.file, ("--output", output), ("--figure", figure))
    if output is not None and figure is not None and _same_file(output, figure):
        raise CLIError(
            f"--output {output} and --figure {figure} are the same file; pass "
            "two different file names"
        )
    layers, keys = _read_layers(args.file, args.layers)
    try:
        # sk_ricci's warnings (a disconnected graph, an undefined coefficient)
        # reach the user, as one line each (see main)
        results = ricci_flow(
            layers, args.n_neighbors, symmetrize=args.symmetrize,
            connect=None if args.connect == "none" else args.connect,
            layer_names=keys,
        )
    except (ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from None
    if args.format != "table":
        _write_flow(results, args.format, output)
    if not to_stdout:
        _print_flow(results, layers, keys)
        if output is not None:
            print(f"{args.format.upper()}: {output}")
    if figure is not None:
        from .plotting import plot_flow_panels, save_figure

        titles = [f"k = {r.n_neighbors}" for r in results]
        fig = plot_flow_panels(results, titles=titles)
        try:
            save_figure(fig, figure)
        except OSError as exc:
            raise CLIError(
                f"cannot write --figure {figure!r} ({exc.strerror or exc}); pass "
                "a file in a writable folder"
            ) from None
        if not to_stdout:
            print(f"Figure: {figure}")
    return 0


def _read_layers(path, names):
    """The arrays of an .npz file (all, in file order, or ``names``) and their
    names; every member must be an array (numpy.savez writes .npy members)."""
    import numpy as np

    if os.path.isfile(path) and not zipfile.is_zipfile(path):
        raise CLIError(
            f"{path!r} is not an .npz file (a zip of arrays); save the layers "
            "with numpy.savez('layers.npz', layer1=A1, layer2=A2, ...)"
        )
    hint = "save the layers with numpy.savez('layers.npz', layer1=A1, ...)"
    try:
        with np.load(path) as npz:
            arrays = [m[:-4] for m in npz.zip.namelist() if m.endswith(".npy")]
            if not arrays:
                raise CLIError(
                    f"{path!r} holds no arrays: it is a zip whose members "
                    f"{npz.files[:5]} are not .npy files; {hint}"
                )
            keys = names or list(npz.files)
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise CLIError(f"{path} has no array(s) {missing}; it holds {arrays}")
            other = [k for k in keys if k not in arrays]
            if other:
                raise CLIError(
                    f"member(s) {other} of {path!r} are not arrays (not .npy "
                    f"files); pass --layers with array names from {arrays}"
                )
            layers = [np.asarray(npz[k]) for k in keys]
    except FileNotFoundError:
        raise CLIError(f"file {path!r} does not exist") from None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise CLIError(f"cannot read {path!r} as .npz: {exc}") from None
    return layers, keys


def _figure_path(path):
    """The file ``--figure`` writes, as matplotlib names it (no extension:
    ``savefig.format`` appended), refused up front if its format is not one
    matplotlib writes or its folder does not exist."""
    try:
        import matplotlib
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise ImportError(
            "--figure needs matplotlib; install it with pip install matplotlib"
        ) from None
    fmt = os.path.splitext(path)[1][1:]
    if not fmt:
        fmt = matplotlib.rcParams["savefig.format"]
        path = path.rstrip(".") + "." + fmt
    formats = FigureCanvasBase.get_supported_filetypes()
    if fmt.lower() not in formats:
        raise CLIError(
            f"--figure {path}: matplotlib cannot write .{fmt} files; pass a "
            f"file name ending in one of .{', .'.join(sorted(formats))} (e.g. "
            "flow.png)"
        )
    _check_folder("--figure", path)
    return path


def _check_folder(flag, path):
    """Refuse an output file whose folder does not exist, before computing."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(
            f"{flag} {path}: the folder {folder!r} does not exist or is not a "
            "folder; pass a file in an existing folder"
        )


def _same_file(a, b):
    """Whether paths ``a`` and ``b`` name one file (links and ``..`` resolved)."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
        return os.path.realpath(a) == os.path.realpath(b)
    except OSError:
        return False


def _check_not_input(source, *targets):
    """Refuse an output path (``(flag, path)``) that is the input file."""
    for flag, path in targets:
        if path is not None and _same_file(path, source):
            raise CLIError(
                f"{flag} {path} is the input file {source}; writing it would "
                f"replace the layers; pass another {flag} file"
            )


def _print_flow(results, layers, keys):
    print(f"{len(layers)} layers of {layers[0].shape[0]} points ({', '.join(keys)})")
    print(f"{'k':>6} {'rho':>8} {'adj.paper':>10} {'adj.fisher':>10}  connected")
    for r in results:
        print(
            f"{r.n_neighbors:>6} {r.coefficient:>8.3f} {r.adjusted_paper:>10.3f} "
            f"{r.adjusted_fisher:>10.3f}  {'yes' if r.all_connected else 'no'}"
        )


def _json_safe(value):
    """NaN and infinities -> None, recursively: strict JSON has neither."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _write_flow(results, fmt, path):
    """CSV (one row per scale and layer) or JSON (one object per scale) of the
    results, to ``path`` or to stdout when ``path`` is None."""
    import csv
    import json

    try:
        # closed in the finally below (stdout is not)
        f = (
            sys.stdout if path is None
            else open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115
        )
    except OSError as exc:
        raise CLIError(
            f"cannot write --output {path!r} ({exc.strerror or exc}); pass a "
            "file in a writable folder"
        ) from None
    try:
        if fmt == "json":
            json.dump(
                [_json_safe(r.to_dict()) for r in results], f, indent=2,
                allow_nan=False,
            )
            f.write("\n")
        else:
            rows = [row for r in results for row in r.layer_rows()]
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    finally:
        if path is not None:
            f.close()


# --------------------------------------------------------------------------- #
# parser
# --------------------------------------------------------------------------- #
def _version():
    from . import __version__

    return __version__


def _demo_n_jobs():
    from ._demo import default_n_jobs

    return default_n_jobs()


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose arguments are added the first time it
    parses or formats its help (``populate(parser)``): the subcommands' flags
    (the study's come from :class:`~sk_ricci.study.StudyConfig`, which imports
    numpy, SciPy and scikit-learn) are built only for the subcommand that
    runs, so ``sk-ricci --version`` and ``sk-ricci --help`` start at once."""

    def __init__(self, *args, populate=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._populate = populate

    def populate(self):
        """Add the arguments now (once); returns the parser."""
        populate, self._populate = self._populate, None
        if populate is not None:
            populate(self)
        return self

    def parse_known_args(self, args=None, namespace=None):
        return super(_Parser, self.populate()).parse_known_args(args, namespace)

    def format_help(self):
        return super(_Parser, self.populate()).format_help()

    def format_usage(self):
        return super(_Parser, self.populate()).format_usage()


def _build_parser(lazy=False):
    """The ``sk-ricci`` parser; with ``lazy``, each subcommand's flags are
    added only when that subcommand is parsed or its help is shown (what
    :func:`main` does), otherwise at once."""
    parser = _Parser(
        prog="sk-ricci",
        description=(
            "Discrete Ricci flow of ReLU networks (Baptista et al., 'Deep "
            "Learning as Ricci Flow'): a demo, the paper's study, its report, "
            "and the flow of saved layers."
        ),
    )
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_add_demo, _add_study, _add_report, _add_flow):
        p = add(sub)
        if not lazy:
            p.populate()
    return parser


def _add_demo(sub):
    return sub.add_parser(
        "demo",
        help="rank ReLU architectures by accuracy and flow strength (GridSearchCV)",
        description=(
            "Train a small grid of ReLU networks (architecture x depth) on the "
            "entangled spirals (problem A) with GridSearchCV, scoring accuracy and "
            "flow strength (RicciFlowScorer, connect='mst'); print a table and "
            "write demo_results.csv, two PNG figures and demo.log (progress per "
            "candidate and fold, also shown on stderr)."
        ),
        populate=_demo_flags,
    )


def _demo_flags(p):
    p.add_argument("--output", default="sk_ricci_output/demo",
                   help="output folder (default: %(default)s)")
    p.add_argument("--quick", action="store_true",
                   help="a shorter version (fewer points, candidates and folds; "
                        "the networks still learn the spirals)")
    p.add_argument("--n-jobs", type=_n_jobs, default=_demo_n_jobs(),
                   help="GridSearchCV worker processes, -1 for all cores, -2 for "
                        "all but one "
                        "(default: %(default)s)")
    p.add_argument("--random-state", type=_seed, default=0,
                   help="seed of the data and the networks (default: %(default)s)")
    p.add_argument("--quiet", action="store_true",
                   help="print only the results (progress still goes to "
                        "OUTPUT/demo.log)")
    p.set_defaults(func=_demo)


def _add_study(sub):
    return sub.add_parser(
        "study",
        help="run (or resume) the paper's study",
        description=(
            "Problems x architectures x depths x repeats, as in the paper. Every "
            "finished network is saved at once in OUTPUT/results.jsonl: stop the "
            "run any time and start the same command again to resume. Flags "
            "override the --config TOML file, which overrides the paper's "
            "defaults."
        ),
        populate=_study_flags,
    )


def _study_flags(p):
    p.add_argument("--config", metavar="FILE.toml",
                   help="TOML file of study settings (and a [run] table)")
    _add_config_flags(p)
    p.add_argument("--output", help="output folder (default: sk_ricci_output/study)")
    p.add_argument("--n-jobs", type=_n_jobs,
                   help="worker processes (-1: all cores, -2: all but one, ...; "
                        "default 1)")
    p.add_argument("--backend", choices=["loky", "dask", "ray"],
                   help="loky (this machine, default), dask or ray")
    p.add_argument("--scheduler-address",
                   help="Dask scheduler (tcp://host:8786) or Ray address; "
                        "default: a local cluster")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--overwrite", action="store_true",
                   help="delete the study files in --output and start again")
    p.add_argument("--no-report", action="store_true",
                   help="train only; make the report later with `sk-ricci report`")
    p.set_defaults(func=_study)


def _add_report(sub):
    return sub.add_parser(
        "report",
        help="re-make report.md, tables and figures from a study folder",
        description=(
            "Read OUTPUT_DIR/config.json and results.jsonl (complete or not) and "
            "write results.csv, aggregated.csv, report.md and the figures."
        ),
        populate=_report_flags,
    )


def _report_flags(p):
    p.add_argument("output_dir", metavar="OUTPUT_DIR")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.set_defaults(func=_report)


def _add_flow(sub):
    return sub.add_parser(
        "flow",
        help="Ricci flow of layers saved in an .npz file",
        description=(
            "Run sk_ricci.ricci_flow on the arrays of an .npz file (one per "
            "layer, in file order or as named by --layers) and print rho; "
            "--format csv|json writes the per-layer numbers (Ric_l, g_l, eta_l) "
            "as well."
        ),
        populate=_flow_flags,
    )


def _flow_flags(p):
    p.add_argument("file", metavar="FILE.npz",
                   help="an .npz file holding one (n_samples, width) array per "
                        "layer, e.g. from numpy.savez")
    p.add_argument("--n-neighbors", type=_comma_list(int), required=True,
                   metavar="K1,K2,...",
                   help="the scale k of the kNN graphs; several values give one "
                        "result each from one neighbour search")
    p.add_argument("--layers", type=_comma_list(), metavar="NAME,...",
                   help="array names in layer order (default: all, in file order)")
    p.add_argument("--symmetrize", choices=["max", "min", "sum"], default="max",
                   help="kNN graph convention: max joins i and j if either "
                        "is among the other's neighbours, min if both are, sum "
                        "gives mutual pairs weight 2 (default: max)")
    p.add_argument("--connect", choices=["none", "mst"], default="none",
                   help="none: the paper's graphs, as ricci_flow builds them; a "
                        "disconnected layer graph makes rho NaN; mst: add each "
                        "layer's minimum spanning tree, so rho is always "
                        "defined (what RicciFlowScorer uses by default, since "
                        "a NaN would rank the best-separated networks last) "
                        "(default: none)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table",
                   help="table: print rho per k (default); csv: one row per k "
                        "and layer; json: one object per k")
    p.add_argument("--output", metavar="FILE",
                   help="file for --format csv or json, never the input file "
                        "(default: standard output, without the table)")
    p.add_argument("--figure", metavar="FILE.png",
                   help="also draw Ric_l against eta_l for every k, in the "
                        "format of the file's extension (none: .png)")
    p.set_defaults(func=_flow)


def _error_message(exc):
    if not isinstance(exc, OSError) or exc.filename is None:
        return str(exc)
    # an OS error about a path: "Permission denied: 'x'" plus what to do
    import errno

    message = f"{exc.strerror or type(exc).__name__}: {exc.filename!r}"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR):
        message += "; pass a writable --output folder"
    return message


def _warning_line(command):
    """``warnings.showwarning`` printing one line per warning, named by the
    command: "sk-ricci flow: warning: DisconnectedGraphWarning: ..."."""

    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(
            f"sk-ricci {command}: warning: {category.__name__}: {text}",
            file=sys.stderr if file is None else file, flush=True,
        )

    return show


def main(argv=None):
    """Run the ``sk-ricci`` command; returns the exit status.

    Warnings are printed one line each, and none is filtered: every warning
    of sk_ricci (:class:`~sk_ricci.exceptions.SkRicciWarning`) reaches the
    user. Run with every warning shown, the demo, the study (loky, Dask) and
    the flow raised one third-party warning, distributed's "Port 8787 is
    already in use", which the study's LocalCluster now avoids (a free port).
    """
    import warnings

    args = _parse(_build_parser(lazy=True), argv)
    with warnings.catch_warnings():
        warnings.showwarning = _warning_line(args.command)
        return _run_command(args)


def _parse(parser, argv):
    """``parser.parse_args``, except that a flag the subcommand does not know
    is reported with the subcommand's usage (not the top level's) and the
    closest flags it has."""
    import difflib

    args, extra = parser.parse_known_args(argv)
    if not extra:
        return args
    sub = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    ).choices[args.command]
    flags = [o for a in sub._actions for o in a.option_strings]
    hints = []
    for word in extra:
        if word.startswith("-"):
            close = difflib.get_close_matches(word.split("=")[0], flags, n=2)
            if close:
                hints.append(f"{word}: did you mean {' or '.join(close)}?")
    sub.error(
        f"unrecognized arguments: {' '.join(extra)}"
        + (f" ({'; '.join(hints)})" if hints else "")
        + f"; see 'sk-ricci {args.command} --help'"
    )
    return None  # pragma: no cover (error exits)


def _run_command(args):
    from .exceptions import OutputFolderError, StudyConfigError

    try:
        return args.func(args)
    except (
        CLIError, StudyConfigError, OutputFolderError, OSError, ImportError
    ) as exc:
        message = " ".join(_error_message(exc).split())
        print(f"sk-ricci {args.command}: error: {message}", file=sys.stderr)
        return 130 if isinstance(exc, _Interrupted) else 1
    except (KeyboardInterrupt, SystemError) as exc:
        if not is_interrupt(exc):
            raise
        print(f"sk-ricci {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
