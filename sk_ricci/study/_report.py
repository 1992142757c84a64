"""The report of a study's output folder: tables, ``report.md``, figures.

:func:`make_report` reads ``config.json`` and ``results.jsonl`` (complete or
not), analyses them (:func:`~sk_ricci.study.analyse_study`) and writes
``results.csv`` (one row per network), ``aggregated.csv`` (the aggregated
coefficient per group and k), ``report.md`` and the Fig. 3 and Fig. 4
analogues. Plain ``csv`` and markdown: the report needs neither pandas nor
any other optional package (matplotlib draws the figures).
"""

import csv
import io
import json
import math
import warnings
from pathlib import Path

import numpy as np

from .._param_validation import check_flags
from ..exceptions import OutputFolderError, ResultsFileWarning
from ._analysis import CSV_COLUMNS, analyse_study
from ._config import RESULTS_VERSION, StudyConfig
from ._results import CONFIG_FILE, flow_result, load_results, write_atomic


def _fmt(v, spec=".3f"):
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return "-" if not math.isfinite(v) else format(v, spec)
    return str(v)


def _write_csv(path, columns, rows):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(row.get(c)) for c in columns])
    write_atomic(path, buf.getvalue())


def _csv_value(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else "nan"
    return v


def _pct(a, b):
    return f"{100 * a / b:.1f}%" if b else "n/a"


def _report_markdown(analysis, figures):
    out = ["# Ricci-flow study report", ""]
    for section in (
        _md_settings(analysis),
        _md_networks(analysis),
        _md_rho(analysis),
        _md_problems(analysis),
        _md_groups(analysis),
        _md_regression(analysis),
        _md_regression_by_kind(analysis),
        _md_figures(figures),
    ):
        out += section
    return "\n".join(out)


def _md_settings(analysis):
    cfg, c = analysis.config, analysis.counts
    out = [
        ("Reproduction of Baptista et al., \"Deep Learning as Ricci Flow\" "
        "(arXiv:2404.14265), section 3, with sk_ricci."),
        "",
        f"- problems: {', '.join(cfg.problems)}",
        (f"- architectures: {', '.join(cfg.architectures)}; depths: "
        f"{', '.join(map(str, cfg.depths))}; repeats: {cfg.repeats}"),
        (f"- n_train={cfg.n_train}, n_test={cfg.n_test}, max_epochs="
        f"{cfg.max_epochs}, batch_size={cfg.batch_size}, lr={cfg.lr}, "
        f"optimizer={cfg.optimizer}, standardize={cfg.standardize!r}"),
        (f"- graphs: symmetrize={cfg.symmetrize!r}, connect={cfg.connect!r}; "
        f"seed={cfg.seed}; config hash `{analysis.config_hash}`"),
    ]
    sizes = _split_sizes(analysis)
    if sizes:
        out.append(
            "- training / test points per problem, as trained and analysed: "
            + ", ".join(f"{p} {a}/{b}" for p, (a, b) in sizes.items())
        )
    out += [_md_inputs(cfg), ""]
    if c["trained"] < c["expected"]:
        out += [
            (f"**Incomplete study: {c['trained']} of {c['expected']} networks "
            "trained.** Run the same command again to resume."),
            "",
        ]
    return out


def _split_sizes(analysis):
    """problem -> (n_train, n_test) of its trained networks, in the
    configuration's order ("?" where its rows disagree)."""
    seen = {}
    for row in analysis.table:
        seen.setdefault(row["problem"], set()).add((row["n_train"], row["n_test"]))
    return {
        p: (next(iter(seen[p])) if len(seen[p]) == 1 else ("?", "?"))
        for p in analysis.config.problems
        if p in seen
    }


def _md_inputs(cfg):
    """How the inputs are scaled, as the ``standardize`` setting says."""
    from ..datasets import REGISTRY

    scaled = [
        p for p in cfg.problems
        if cfg.standardize == "all"
        or (cfg.standardize == "synthetic" and REGISTRY[p].source == "synthetic")
    ]
    raw = [p for p in cfg.problems if p not in scaled]
    parts = []
    if scaled:
        parts.append(
            "standardised (mean 0, variance 1 per feature, fitted on the "
            "training points): " + ", ".join(scaled)
        )
    if raw:
        parts.append(
            "raw (image pixels unscaled, as the paper used them): " + ", ".join(raw)
        )
    return "- inputs " + "; ".join(parts)


def _md_networks(analysis):
    cfg, c = analysis.config, analysis.counts
    out = [
        "## Networks",
        "",
        "| trained | passing the accuracy threshold | connected at k* | analysed |",
        "|---:|---:|---:|---:|",
        f"| {c['trained']} | {c['passed']} | {c['connected']} | {c['analysed']} |",
        "",
        ("Exclusions: "
        f"{c['diverged']} diverged in training (non-finite loss or activations), "
        f"{c['below_threshold']} below the accuracy threshold, "
        f"{c['no_k_star']} in a group without a defined k*, "
        f"{c['disconnected']} with a disconnected layer graph at k*, "
        f"{c['undefined_rho']} with an undefined rho (constant series). "
        "(Paper: 1,512 trained, 1,361 passing, 1,227 connected and analysed.)"),
        "",
    ]
    if analysis.diverged:
        out += ["Diverged networks (excluded):", ""]
        out += [f"- {d['network_id']}: {d['cause']}" for d in analysis.diverged]
        out += [""]
    if analysis.not_in_config:
        out += [
            (f"Ignored {len(analysis.not_in_config)} row(s) of networks not in "
            "the configuration: " + ", ".join(analysis.not_in_config[:10])
            + (" ..." if len(analysis.not_in_config) > 10 else "")),
            "",
        ]
    return out + [
        "Accuracy thresholds (strictly greater): "
        + ", ".join(f"{p} > {cfg.threshold(p):g}" for p in cfg.problems),
        "",
    ]


def _md_rho(analysis):
    c = analysis.counts
    out = ["## Ricci coefficient at k*", ""]
    rhos = [t["rho"] for t in analysis.table if t["analysed"]]
    if not rhos:
        return out + ["No network was analysed.", ""]
    return out + [
        (f"{c['negative']} of {c['analysed']} analysed networks "
        f"({_pct(c['negative'], c['analysed'])}) have a negative Ricci "
        "coefficient rho (Ricci-flow-like); mean rho "
        f"{np.mean(rhos):.3f}, median {np.median(rhos):.3f}. (Paper: 1,144 of "
        "1,227, 93.2%; partly by construction, since k* minimises the "
        "aggregated coefficient.)"),
        "",
    ]


#: k*/n per kind of problem as the paper reports it (section 3).
PAPER_K_STAR_SHARE = {
    "A": "3-10%", "B": "0.6-1%", "C": "0.6-5%", "mnist": "12.5-25%",
    "fashion": "12.5-25%", "digits": "12.5-25% (MNIST)",
}

#: The kinds of problem whose regressions the report shows one by one.
_KINDS = (
    ("synthetic (A, B, C)", ("synthetic",)),
    ("MNIST pairs", ("mnist",)),
    ("Fashion-MNIST pairs", ("fashion",)),
    ("8x8 digits pairs", ("digits",)),
)


def _md_problems(analysis):
    """One row per problem: counts, share negative, median rho, k*/n range."""
    from ..datasets import REGISTRY

    out = [
        "## Per problem",
        "",
        ("| problem | trained | passing | analysed | negative rho | share "
         "negative | median rho at k* | k*/n over its groups | paper's k*/n |"),
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for problem in analysis.config.problems:
        groups = [g for g in analysis.groups if g["problem"] == problem]
        if not groups:
            continue
        rows = [t for t in analysis.table if t["problem"] == problem]
        rhos = [t["rho"] for t in rows if t["analysed"]]
        shares = [
            100 * g["k_star"] / g["n_test"] for g in groups if g["k_star"] is not None
        ]
        span = (
            "" if not shares else f"{min(shares):.1f}%" if min(shares) == max(shares)
            else f"{min(shares):.1f}-{max(shares):.1f}%"
        )
        source = REGISTRY[problem].source
        paper = PAPER_K_STAR_SHARE.get(problem, PAPER_K_STAR_SHARE.get(source, ""))
        negative = sum(r < 0 for r in rhos)
        out.append(
            f"| {problem} | {len(rows)} | {sum(bool(t['passed_threshold']) for t in rows)}"
            f" | {len(rhos)} | {negative} | {_pct(negative, len(rhos))} | "
            f"{_fmt(float(np.median(rhos)) if rhos else None, '.2f')} | {span} | "
            f"{paper} |"
        )
    return out + [""]


def _md_groups(analysis):
    out = [
        "## Scale k* per group",
        "",
        ("k* minimises the aggregated coefficient (one Pearson correlation over "
        "the pooled (eta_l, Ric_l) of the networks passing the threshold)."),
        "",
        ("| problem | architecture | depth | trained | passing | k* | k*/n | "
        "aggregated rho at k* | analysed | negative rho | median rho |"),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for g in analysis.groups:
        ks = g["k_star"]
        out.append(
            f"| {g['problem']} | {g['architecture']} | {g['depth']} | "
            f"{g['n_trained']} | {g['n_passed']} | {'' if ks is None else ks} | "
            f"{'' if ks is None else _pct(ks, g['n_test'])} | "
            f"{_fmt(g['aggregated_at_k_star'])} | {g['n_analysed']} | "
            f"{g['n_negative']} | {_fmt(g['median_rho'])} |"
        )
    return out


def _md_regression(analysis):
    out = ["", "## Regression", ""]
    reg = analysis.regression
    if reg is None:
        return out + [f"Linear model not fitted ({analysis.regression_note}).", ""]
    b, _se, t, p = reg.term("rho")
    return out + [
        (f"Ordinary least squares, {analysis.regression_note}; "
        f"n = {reg.n_samples}, residual df = {reg.df_resid}, "
        f"R^2 = {reg.r_squared:.3f}."),
        "",
        reg.to_markdown(),
        "",
        (f"Coefficient of rho: {b:.4g} (t = {t:.2f}, p = {p:.3g}); the paper "
        "reports t = -2.27, p = 0.023 (more negative rho goes with higher "
        "accuracy)."),
        "",
    ]


def _md_regression_by_kind(analysis):
    """The regression restricted to each kind of problem present, one by one
    (the paper fits one model over all of its problems)."""
    from ..datasets import REGISTRY
    from ._analysis import _regression

    cfg = analysis.config
    present = [
        (label, [p for p in cfg.problems if REGISTRY[p].source in sources])
        for label, sources in _KINDS
    ]
    present = [(label, problems) for label, problems in present if problems]
    if len(present) < 2:
        return []
    out = [
        "## Regression by kind of problem",
        "",
        ("The same model, accuracy ~ rho + problem + architecture + depth, fitted "
         "on the analysed networks of one kind of problem at a time."),
        "",
        "| problems | n | coefficient of rho | s.e. | t | p | R^2 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, problems in present:
        table = [t for t in analysis.table if t["problem"] in problems]
        reg, note = _regression(table, cfg.replace(problems=problems))
        n = sum(bool(t["analysed"]) for t in table)
        if reg is None:
            out.append(f"| {label} | {n} | not fitted ({note}) | | | | |")
            continue
        b, se, t, p = reg.term("rho")
        out.append(
            f"| {label} | {reg.n_samples} | {b:.4g} | {se:.3g} | {t:.2f} | "
            f"{p:.3g} | {reg.r_squared:.3f} |"
        )
    return out + [""]


def _md_figures(figures):
    out = ["## Figures", ""]
    for name, (path, caption) in figures.items():
        if path is None:
            out.append(f"- {name}: not drawn ({caption})")
        else:
            out += [f"![{name}]({Path(path).name})", "", caption, ""]
    return out + [
        "",
        ("Files: `results.csv` (one row per network), `aggregated.csv` (the "
        "aggregated coefficient per group and k), `results.jsonl` (raw rows with "
        "Ric_l and eta_l at every k), `config.json`."),
        "",
    ]


def _representatives(analysis):
    """Per problem: the median-rho network of its strongest deepest group."""
    reps = []
    rows = {r["network_id"]: r for r in analysis.rows}
    for problem in analysis.config.problems:
        groups = [
            g for g in analysis.groups
            if g["problem"] == problem and g["n_analysed"] > 0
        ]
        if not groups:
            continue
        deepest = max(g["depth"] for g in groups)
        best = min(
            (g for g in groups if g["depth"] == deepest),
            key=lambda g: g["aggregated_at_k_star"],
        )
        members = [
            t for t in analysis.table
            if t["analysed"] and (t["problem"], t["architecture"], t["depth"])
            == (problem, best["architecture"], best["depth"])
        ]
        median = float(np.median([t["rho"] for t in members]))
        chosen = min(members, key=lambda t: (abs(t["rho"] - median), t["repeat"]))
        row = rows[chosen["network_id"]]
        j = [e["n_neighbors"] for e in row["flow"]].index(best["k_star"])
        reps.append((
            chosen,
            flow_result(row["flow"][j], row["symmetrize"], row["connect"]),
        ))
    return reps


def make_report(output, *, figures=True):
    """(Re)make ``results.csv``, ``aggregated.csv``, ``report.md`` and figures.

    Parameters
    ----------
    output : str or path-like
        A study's output folder (with ``config.json`` and ``results.jsonl``).
    figures : bool, default=True
        Draw the PNG figures (needs matplotlib).

    Returns
    -------
    analysis : StudyAnalysis

    Warns
    -----
    ResultsFileWarning
        When ``config.json`` records another configuration hash than this
        version of sk_ricci computes (a folder of an earlier results
        version, which ``sk-ricci study`` refuses to resume); the report
        then shows the recorded hash.
    """
    check_flags("make_report", figures=figures)
    output = Path(output)
    cfg_path = output / CONFIG_FILE
    if not cfg_path.exists():
        raise OutputFolderError(
            f"{str(output)!r} is not a study folder (no {CONFIG_FILE}); pass the "
            "--output folder of `sk-ricci study`"
        )
    try:
        saved = json.loads(cfg_path.read_text())
        if not isinstance(saved, dict) or not isinstance(saved.get("config"), dict):
            raise TypeError(
                "expected a JSON object with a 'config' object, got "
                f"{type(saved).__name__}"
            )
        config = StudyConfig.from_dict(saved["config"])
    except (ValueError, KeyError, TypeError) as exc:
        raise OutputFolderError(
            f"{cfg_path} is unreadable ({exc}); re-run the study with --overwrite "
            "or restore the file"
        ) from None
    stored_hash = _check_version(saved, config, output)
    rows = load_results(output)
    analysis = analyse_study(rows, config)
    analysis.config_hash = stored_hash
    try:
        _write_report_files(output, analysis, figures)
    except PermissionError as exc:
        raise OutputFolderError(
            f"cannot write the report into {str(output)!r} ({exc.strerror}: "
            f"{exc.filename}); make the folder writable, or copy it and run "
            "the report there"
        ) from None
    return analysis


def _check_version(saved, config, output):
    """The configuration hash that ``config.json`` records (the one that
    guards the folder), with a :class:`~sk_ricci.exceptions.ResultsFileWarning`
    when this version of sk_ricci computes another one for the same
    configuration: then ``sk-ricci study`` refuses to resume the folder. A
    ``config.json`` without a hash gives the hash computed now."""
    stored = saved.get("config_hash")
    if not isinstance(stored, str) or stored == config.config_hash:
        return config.config_hash
    version = saved.get("results_version", 1)
    if version != RESULTS_VERSION:
        why = (
            f"was written by an earlier sk_ricci (results version {version}; "
            f"this one writes version {RESULTS_VERSION}, whose synthetic "
            "problems or default k grid differ)"
        )
    else:
        why = "records a configuration hash that its configuration does not give"
    warnings.warn(
        f"{str(output)!r} {why}: the report shows its rows as they are, under "
        f"its config hash {stored} (this version computes {config.config_hash}), "
        "but `sk-ricci study` will not resume this folder; run the study again "
        "with a new --output (or --overwrite) for results of this version",
        ResultsFileWarning,
        stacklevel=3,
    )
    return stored


def _write_report_files(output, analysis, figures):
    _write_csv(output / "results.csv", CSV_COLUMNS, analysis.table)
    agg_rows = [
        {
            "problem": g["problem"], "architecture": g["architecture"],
            "depth": g["depth"], "n_neighbors": k, "aggregated_coefficient": a,
            "n_networks": m, "is_k_star": k == g["k_star"],
        }
        for g in analysis.groups
        for k, a, m in zip(g["n_neighbors"], g["aggregated"], g["n_pooled"])
    ]
    _write_csv(
        output / "aggregated.csv",
        ("problem", "architecture", "depth", "n_neighbors",
         "aggregated_coefficient", "n_networks", "is_k_star"),
        agg_rows,
    )
    drawn = {}
    if figures:
        drawn = _draw_figures(analysis, output)
    write_atomic(output / "report.md", _report_markdown(analysis, drawn))


def _draw_figures(analysis, output):
    from .. import plotting

    drawn = {}
    path = output / "fig3_aggregated_coefficient.png"
    if any(np.isfinite(g["aggregated"]).any() for g in analysis.groups):
        fig = plotting.plot_aggregated_heatmap(analysis.groups)
        plotting.save_figure(fig, path)
        drawn["Fig. 3 analogue"] = (
            path,
            ("Aggregated Ricci coefficient over k per problem, architecture and "
            "depth (blue = negative = Ricci-flow-like); the box marks k*."),
        )
    else:
        drawn["Fig. 3 analogue"] = (None, "no network passed a threshold")
    reps = _representatives(analysis)
    path = output / "fig4_flow.png"
    if reps:
        fig = plotting.plot_flow_panels(
            [res for _, res in reps],
            titles=[
                f"{t['problem']} {t['architecture']}/{t['depth']} r{t['repeat']}"
                for t, _ in reps
            ],
        )
        plotting.save_figure(fig, path)
        drawn["Fig. 4 analogue"] = (
            path,
            ("Total Forman-Ricci curvature Ric_l (x) against the geodesic change "
            "eta_l = g_{l+1} - g_l (y), per layer l, at k*, for the median-rho "
            "network of the deepest group with the most negative aggregated "
            "coefficient of each problem. (The paper's Fig. 4 swaps these axis "
            "labels.)"),
        )
    else:
        drawn["Fig. 4 analogue"] = (None, "no analysed network")
    return drawn
