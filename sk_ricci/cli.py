"""The ``sk-ricci`` command: demo, study, report and flow.

Exit status: 0 on success, 2 for usage errors (argparse), 1 with a one-line
message for expected errors (bad configuration, refused output folder,
missing data files or optional packages), 130 when interrupted.
"""

import argparse
import os
import sys
import time
from pathlib import Path

__all__ = ["main"]


class CLIError(Exception):
    """An expected error, printed as one line without a traceback."""


class _Interrupted(CLIError):
    """Ctrl-C during a study (exit status 130)."""


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


def _n_jobs(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int, got {text!r}") from None
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(
            f"expected a positive int or -1 (all cores), got {value}"
        )
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


# --------------------------------------------------------------------------- #
# demo
# --------------------------------------------------------------------------- #
DEMO_SETTINGS = {
    # points (train + test), test points, epochs, learning rate, CV folds, depths
    "full": {"n_samples": 1300, "n_test": 300, "max_epochs": 100, "lr": 3e-3,
             "cv": 3, "depths": [5, 11]},
    "quick": {"n_samples": 700, "n_test": 200, "max_epochs": 40, "lr": 3e-3,
              "cv": 2, "depths": [5, 11]},
}

# worker processes (loky) keep torch and numba at one thread each, so the
# parallel demo does not oversubscribe the cores
DEMO_N_JOBS = max(1, min(4, os.cpu_count() or 1))


def _demo(args):
    import torch

    # the demo's networks are tiny, and tiny networks train fastest on one
    # torch thread
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run_demo(args)
    finally:
        torch.set_num_threads(threads)


def _run_demo(args):
    import warnings

    import numpy as np
    from sklearn.model_selection import GridSearchCV, train_test_split
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from . import RicciFlowScorer
    from .datasets import make_entangled_spirals
    from .nn import ReLUMLPClassifier
    from .plotting import (
        RicciFlowDisplay,
        plot_accuracy_vs_flow,
        save_figure,
    )

    t0 = time.perf_counter()
    s = DEMO_SETTINGS["quick" if args.quick else "full"]
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    X, y = make_entangled_spirals(s["n_samples"], random_state=args.random_state)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=s["n_test"], stratify=y, random_state=args.random_state
    )
    # the paper's statistic (the demo draws its global flow)
    scorer = RicciFlowScorer(n_neighbors=0.05, connect="mst", statistic="rho",
                             curvature="forman")
    grid = {
        "net__architecture": ["narrow", "wide", "bottleneck"],
        "net__depth": s["depths"],
    }
    model = Pipeline([
        ("scale", StandardScaler()),
        ("net", ReLUMLPClassifier(
            max_epochs=s["max_epochs"], lr=s["lr"],
            random_state=args.random_state)),
    ])
    search = GridSearchCV(
        model,
        grid,
        scoring={"accuracy": "accuracy", "flow": scorer},
        refit="accuracy",
        cv=s["cv"],
        n_jobs=args.n_jobs,
    )
    n_candidates = len(grid["net__architecture"]) * len(grid["net__depth"])
    if not args.quiet:
        print(
            f"sk-ricci demo: problem A (entangled spirals), {len(y_train)} training "
            f"and {len(y_test)} test points, standardised\n"
            "GridSearchCV over architecture x depth "
            f"({n_candidates} candidates x {s['cv']} folds, {s['max_epochs']} "
            f"epochs, lr={s['lr']}), scoring accuracy and {scorer!r} ...",
            flush=True,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        search.fit(X_train, y_train)
    cv = search.cv_results_
    rows = []
    for i, params in enumerate(cv["params"]):
        row = {
            "architecture": params["net__architecture"],
            "depth": params["net__depth"],
            "mean_test_accuracy": float(cv["mean_test_accuracy"][i]),
            "std_test_accuracy": float(cv["std_test_accuracy"][i]),
            "mean_test_flow": float(cv["mean_test_flow"][i]),
            "std_test_flow": float(cv["std_test_flow"][i]),
            "rank_test_accuracy": int(cv["rank_test_accuracy"][i]),
            "rank_test_flow": int(cv["rank_test_flow"][i]),
            "mean_fit_time": float(cv["mean_fit_time"][i]),
        }
        for k in range(s["cv"]):
            row[f"split{k}_test_accuracy"] = float(cv[f"split{k}_test_accuracy"][i])
            row[f"split{k}_test_flow"] = float(cv[f"split{k}_test_flow"][i])
        rows.append(row)
    csv_path = output / "demo_results.csv"
    _write_rows(csv_path, rows)

    best = search.best_estimator_
    test_accuracy = float(best.score(X_test, y_test))
    result = scorer.measure(best, X_test)
    best_params = search.best_params_
    name = f"{best_params['net__architecture']}/{best_params['net__depth']}"
    disp = RicciFlowDisplay.from_result(result, name=f"best network {name}, test set")
    flow_path = output / "demo_flow.png"
    save_figure(disp.figure_, flow_path)
    scatter = plot_accuracy_vs_flow(
        [r["mean_test_accuracy"] for r in rows],
        [r["mean_test_flow"] for r in rows],
        labels=[f"{r['architecture']}/{r['depth']}" for r in rows],
        best=int(search.best_index_),
    )
    scatter_path = output / "demo_accuracy_vs_flow.png"
    save_figure(scatter, scatter_path)

    acc_rank = np.array([r["rank_test_accuracy"] for r in rows], dtype=float)
    flow_rank = np.array([r["rank_test_flow"] for r in rows], dtype=float)
    agreement = float(np.corrcoef(acc_rank, flow_rank)[0, 1]) if len(rows) > 2 else 0.0
    print()
    print(_table(rows))
    print()
    print(
        f"Refitted on accuracy: {name}: test accuracy {test_accuracy:.3f}, flow "
        f"strength {-result.coefficient:.3f} (rho = {result.coefficient:.3f} at "
        f"k = {result.n_neighbors} on {len(y_test)} test points)."
    )
    print(f"Rank agreement of accuracy and flow strength (Spearman): {agreement:+.2f}")
    print(f"Done in {time.perf_counter() - t0:.0f} s. Files:")
    for path in (csv_path, flow_path, scatter_path):
        print(f"  {path}")
    return 0


def _write_rows(path, rows):
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _table(rows):
    head = (
        f"{'architecture':<12} {'depth':>5}  {'accuracy':>15}  "
        f"{'flow strength':>15}  {'rank acc':>8}  {'rank flow':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['architecture']:<12} {r['depth']:>5}  "
            f"{r['mean_test_accuracy']:>7.3f} +- {r['std_test_accuracy']:.3f}  "
            f"{r['mean_test_flow']:>7.3f} +- {r['std_test_flow']:.3f}  "
            f"{r['rank_test_accuracy']:>8}  {r['rank_test_flow']:>9}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- #
# study / report
# --------------------------------------------------------------------------- #
_STUDY_FLAGS = {
    # argparse dest -> StudyConfig field
    "problems": "problems",
    "architectures": "architectures",
    "depths": "depths",
    "repeats": "repeats",
    "n_train": "n_train",
    "n_test": "n_test",
    "epochs": "max_epochs",
    "batch_size": "batch_size",
    "lr": "lr",
    "k_grid": "n_neighbors",
    "symmetrize": "symmetrize",
    "seed": "seed",
    "data_home": "data_home",
}


def _study_config(args):
    from .study import StudyConfig, load_config

    if args.config:
        config, run = load_config(args.config)
    else:
        config, run = StudyConfig(), {}
    changes = {
        field: getattr(args, dest)
        for dest, field in _STUDY_FLAGS.items()
        if getattr(args, dest) is not None
    }
    if args.connect is not None:
        changes["connect"] = None if args.connect == "none" else args.connect
    if args.download:
        changes["download"] = True
    if args.threshold:
        changes["thresholds"] = {**config.thresholds, **dict(args.threshold)}
    values = {**config.to_dict(), **changes}
    config = StudyConfig.from_dict(values)
    options = {
        "n_jobs": run.get("n_jobs", 1),
        "backend": run.get("backend", "loky"),
        "scheduler_address": run.get("scheduler_address"),
        "quiet": bool(run.get("quiet", False)),
        "output": run.get("output", "sk_ricci_output/study"),
    }
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
    except KeyboardInterrupt:
        raise _Interrupted(
            f"interrupted; every finished network is saved in {output}; run the "
            "same command again to resume"
        ) from None
    if analysis is not None:
        _print_summary(analysis, output)
    return 0


def _print_summary(analysis, output):
    c = analysis.counts
    print(
        f"{c['trained']}/{c['expected']} networks trained, {c['passed']} passing "
        f"the accuracy threshold, {c['connected']} connected at k*, "
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
    import numpy as np

    from . import ricci_flow

    try:
        with np.load(args.file) as npz:
            keys = args.layers or list(npz.files)
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise CLIError(
                    f"{args.file} has no array(s) {missing}; it holds {npz.files}"
                )
            layers = [np.asarray(npz[k]) for k in keys]
    except FileNotFoundError:
        raise CLIError(f"file {args.file!r} does not exist") from None
    except (OSError, ValueError) as exc:
        raise CLIError(f"cannot read {args.file!r} as .npz: {exc}") from None
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = ricci_flow(
                layers, args.n_neighbors, symmetrize=args.symmetrize,
                connect=None if args.connect == "none" else args.connect,
            )
    except (ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from None
    print(f"{len(layers)} layers of {layers[0].shape[0]} points ({', '.join(keys)})")
    print(f"{'k':>6} {'rho':>8} {'adj.paper':>10} {'adj.fisher':>10}  connected")
    for r in results:
        print(
            f"{r.n_neighbors:>6} {r.coefficient:>8.3f} {r.adjusted_paper:>10.3f} "
            f"{r.adjusted_fisher:>10.3f}  {'yes' if r.all_connected else 'no'}"
        )
    if args.figure:
        from .plotting import plot_flow_panels, save_figure

        titles = [f"k = {r.n_neighbors}" for r in results]
        fig = plot_flow_panels(results, titles=titles)
        save_figure(fig, args.figure)
        print(f"Figure: {args.figure}")
    return 0


# --------------------------------------------------------------------------- #
# parser
# --------------------------------------------------------------------------- #
def _build_parser():
    parser = argparse.ArgumentParser(
        prog="sk-ricci",
        description=(
            "Discrete Ricci flow of ReLU networks (Baptista et al., 'Deep "
            "Learning as Ricci Flow'): a demo, the paper's study, its report, "
            "and the flow of saved layers."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "demo",
        help="rank ReLU architectures by accuracy and flow strength (GridSearchCV)",
        description=(
            "Train a small grid of ReLU networks (architecture x depth) on the "
            "entangled spirals (problem A) with GridSearchCV, scoring accuracy and "
            "flow strength (RicciFlowScorer, connect='mst'); print a table and "
            "write demo_results.csv and two PNG figures."
        ),
    )
    p.add_argument("--output", default="sk_ricci_output/demo",
                   help="output folder (default: %(default)s)")
    p.add_argument("--quick", action="store_true",
                   help="a ~20 s version (fewer points, epochs and folds)")
    p.add_argument("--n-jobs", type=_n_jobs, default=DEMO_N_JOBS,
                   help="GridSearchCV worker processes, -1 for all cores "
                        "(default: %(default)s)")
    p.add_argument("--random-state", type=int, default=0,
                   help="seed of the data and the networks (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="print only the results")
    p.set_defaults(func=_demo)

    p = sub.add_parser(
        "study",
        help="run (or resume) the paper's study",
        description=(
            "Problems x architectures x depths x repeats, as in the paper. Every "
            "finished network is saved at once in OUTPUT/results.jsonl: stop the "
            "run any time and start the same command again to resume. Flags "
            "override the --config TOML file, which overrides the paper's "
            "defaults."
        ),
    )
    p.add_argument("--config", metavar="FILE.toml",
                   help="TOML file of study settings (and a [run] table)")
    p.add_argument("--problems", type=_comma_list(),
                   help="comma-separated, e.g. A,B,C,digits_1_7 (default: the "
                        "paper's seven; MNIST/Fashion need --data-home or --download)")
    p.add_argument("--architectures", type=_comma_list(),
                   help="subset of narrow,wide,bottleneck")
    p.add_argument("--depths", type=_comma_list(int), help="e.g. 5,11")
    p.add_argument("--repeats", type=_positive_int,
                   help="networks per problem, architecture and depth (paper: 36)")
    p.add_argument("--n-train", type=_positive_int, help="training points (1000)")
    p.add_argument("--n-test", type=_positive_int, help="test points (1000)")
    p.add_argument("--epochs", type=_positive_int, help="training epochs (50)")
    p.add_argument("--batch-size", type=_positive_int, help="mini-batch size (32)")
    p.add_argument("--lr", type=float, help="learning rate (0.001)")
    p.add_argument("--k-grid", type=_comma_list(int), metavar="K1,K2,...",
                   help="n_neighbors grid for every problem (default: the "
                        "paper's grid, scaled to n_test)")
    p.add_argument("--threshold", type=_threshold, action="append",
                   metavar="PROBLEM=ACC",
                   help="accuracy threshold of a problem (repeatable)")
    p.add_argument("--symmetrize", choices=["sum", "max", "min"],
                   help="kNN graph convention (default: sum, the authors' script)")
    p.add_argument("--connect", choices=["none", "mst"],
                   help="none: disconnected layers exclude a network (paper); "
                        "mst: add each layer's minimum spanning tree")
    p.add_argument("--seed", type=int, help="base seed (0)")
    p.add_argument("--data-home", help="folder of the MNIST / Fashion-MNIST files")
    p.add_argument("--download", action="store_true",
                   help="download missing MNIST / Fashion-MNIST files")
    p.add_argument("--output", help="output folder (default: sk_ricci_output/study)")
    p.add_argument("--n-jobs", type=_n_jobs,
                   help="worker processes (-1: all cores; default 1)")
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

    p = sub.add_parser(
        "report",
        help="re-make report.md, tables and figures from a study folder",
        description=(
            "Read OUTPUT_DIR/config.json and results.jsonl (complete or not) and "
            "write results.csv, aggregated.csv, report.md and the figures."
        ),
    )
    p.add_argument("output_dir", metavar="OUTPUT_DIR")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.set_defaults(func=_report)

    p = sub.add_parser(
        "flow",
        help="Ricci flow of layers saved in an .npz file",
        description=(
            "Run sk_ricci.ricci_flow on the arrays of an .npz file (one per "
            "layer, in file order or as named by --layers) and print rho."
        ),
    )
    p.add_argument("file", metavar="FILE.npz")
    p.add_argument("--n-neighbors", type=_comma_list(int), required=True,
                   metavar="K1,K2,...")
    p.add_argument("--layers", type=_comma_list(), metavar="NAME,...",
                   help="array names in layer order (default: all, in file order)")
    p.add_argument("--symmetrize", choices=["max", "min", "sum"], default="max")
    p.add_argument("--connect", choices=["none", "mst"], default="none")
    p.add_argument("--figure", metavar="FILE.png",
                   help="also draw Ric_l against eta_l for every k")
    p.set_defaults(func=_flow)
    return parser


def main(argv=None):
    """Run the ``sk-ricci`` command; returns the exit status."""
    args = _build_parser().parse_args(argv)
    from .exceptions import OutputFolderError, StudyConfigError

    try:
        return args.func(args)
    except (
        CLIError, StudyConfigError, OutputFolderError, FileNotFoundError, ImportError
    ) as exc:
        message = " ".join(str(exc).split())
        print(f"sk-ricci {args.command}: error: {message}", file=sys.stderr)
        return 130 if isinstance(exc, _Interrupted) else 1
    except KeyboardInterrupt:
        print(f"sk-ricci {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
