"""Analysis and report of the paper's study: OLS, k*, exclusions, figures.

:func:`analyse_study` picks, per (problem, architecture, depth), the scale k*
that minimises the aggregated coefficient over the networks that pass the
accuracy threshold, computes every network's rho and adjusted rho at k*,
counts the exclusions (below threshold, disconnected at k*), and regresses
accuracy on rho plus problem, architecture and depth dummies (:func:`ols`).
:func:`make_report` writes ``results.csv``, ``aggregated.csv``, ``report.md``
and the figures of a study's output folder. Import these names from
:mod:`sk_ricci.study`.
"""

import csv
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._flow import aggregated_ricci_coefficient
from ._study_config import (
    CONFIG_FILE,
    StudyConfig,
    _write_atomic,
    flow_result,
    load_results,
)
from .exceptions import DisconnectedGraphWarning, OutputFolderError


# --------------------------------------------------------------------------- #
# Ordinary least squares
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class OLSResult:
    """Ordinary least squares fit with classical standard errors.

    Attributes
    ----------
    names : list of str
    coef, stderr, t, p : ndarray of shape (n_terms,)
        Coefficients, standard errors, t statistics and two-sided p-values
        (Student t with ``df_resid`` degrees of freedom).
    n_samples, df_resid : int
    r_squared : float
    """

    names: list
    coef: np.ndarray
    stderr: np.ndarray
    t: np.ndarray
    p: np.ndarray
    n_samples: int
    df_resid: int
    r_squared: float

    def term(self, name):
        """(coef, stderr, t, p) of one term."""
        i = self.names.index(name)
        return self.coef[i], self.stderr[i], self.t[i], self.p[i]

    def to_markdown(self):
        lines = [
            "| term | coefficient | std. error | t | p |",
            "|---|---:|---:|---:|---:|",
        ]
        for i, name in enumerate(self.names):
            lines.append(
                f"| {name} | {self.coef[i]:.4g} | {self.stderr[i]:.3g} | "
                f"{self.t[i]:.3f} | {self.p[i]:.3g} |"
            )
        return "\n".join(lines)


def ols(X, y, names=None):
    """Least squares ``y ~ X`` with standard errors, t and p-values.

    ``X`` must already hold the intercept column if one is wanted. The
    variance of the coefficients is ``s^2 (X'X)^-1`` with
    ``s^2 = RSS / (n - p)``; p-values are two-sided from Student's t with
    ``n - p`` degrees of freedom (``scipy.stats.t``).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_terms)
        Design matrix of full column rank, ``n_samples > n_terms``.
    y : array-like of shape (n_samples,)
    names : list of str, default=None
        Term names (``x0, x1, ...`` by default).

    Returns
    -------
    result : OLSResult

    Examples
    --------
    >>> import numpy as np
    >>> from sk_ricci.study import ols
    >>> x = np.array([1.0, 2, 3, 4, 5])
    >>> res = ols(np.column_stack([np.ones(5), x]), [1.0, 3, 2, 5, 4],
    ...           ["intercept", "x"])
    >>> np.round(res.coef, 3).tolist(), round(float(res.stderr[1]), 4)
    ([0.6, 0.8], 0.3464)
    """
    from scipy import stats

    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X of shape {X.shape} and y of shape {y.shape} do not match; pass "
            "X (n_samples, n_terms) and y (n_samples,)"
        )
    n, p = X.shape
    names = [f"x{i}" for i in range(p)] if names is None else list(names)
    if len(names) != p:
        raise ValueError(f"{len(names)} names for {p} columns")
    if n <= p:
        raise ValueError(
            f"{n} samples for {p} terms; least squares needs more samples than terms"
        )
    rank = np.linalg.matrix_rank(X)
    if rank < p:
        raise ValueError(
            f"the design matrix has rank {rank} < {p} terms (collinear terms); "
            "drop a column"
        )
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    df = n - p
    rss = float(resid @ resid)
    sigma2 = rss / df
    cov = sigma2 * np.linalg.inv(X.T @ X)
    stderr = np.sqrt(np.clip(np.diag(cov), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = coef / stderr
    pval = 2 * stats.t.sf(np.abs(t), df)
    tss = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - rss / tss if tss > 0 else np.nan
    return OLSResult(names, coef, stderr, t, pval, n, df, r2)


# --------------------------------------------------------------------------- #
# Analysis
# --------------------------------------------------------------------------- #
@dataclass
class StudyAnalysis:
    """Analysis of a study's rows (see :func:`analyse_study`).

    Attributes
    ----------
    config : StudyConfig
    table : list of dict
        One row per network, the columns of ``results.csv``.
    groups : list of dict
        One per (problem, architecture, depth): counts, k*, the aggregated
        coefficient curve over the k grid.
    regression : OLSResult or None
        accuracy ~ rho + problem + architecture + depth over the analysed
        networks; None when it cannot be fitted (``regression_note`` says why).
    regression_note : str
    counts : dict
        Networks expected, trained (diverged included), diverged, passing,
        with k*, connected at k*, analysed, negative rho; rows not in the
        configuration (``not_in_config``, not counted as trained).
    diverged : list of dict
        ``network_id`` and ``cause`` of every network whose training diverged
        (non-finite loss or activations); excluded from the analysis.
    not_in_config : list of str
        Ids of rows whose network the configuration does not have; ignored.
    """

    config: StudyConfig
    table: list
    groups: list
    regression: object
    regression_note: str
    counts: dict
    rows: list = field(repr=False, default_factory=list)
    #: networks whose training diverged: network_id and cause
    diverged: list = field(default_factory=list)
    #: ids of rows whose network is not in the configuration (not counted)
    not_in_config: list = field(default_factory=list)


CSV_COLUMNS = (
    "network_id", "problem", "architecture", "depth", "repeat", "seed",
    "hidden_layer_sizes", "n_train", "n_test", "max_epochs", "batch_size", "lr",
    "optimizer", "validation_fraction", "symmetrize", "connect", "accuracy",
    "train_accuracy", "threshold", "passed_threshold", "k_star", "rho",
    "adjusted_paper", "adjusted_fisher", "connected_at_k_star", "analysed",
    "fit_time_s", "flow_time_s",
)


def _nan(v):
    return np.nan if v is None else float(v)


def analyse_study(rows, config):
    """k* per group, per-network rho at k*, exclusions and the regression.

    Parameters
    ----------
    rows : list of dict
        Rows of ``results.jsonl`` (:func:`load_results`).
    config : StudyConfig

    Returns
    -------
    analysis : StudyAnalysis
    """
    order = {n.network_id: i for i, n in enumerate(config.networks())}
    # rows of networks the configuration does not have (a hand edit, a copied
    # file) are not counted
    strangers = [r["network_id"] for r in rows if r["network_id"] not in order]
    rows = sorted(
        (r for r in rows if r["network_id"] in order),
        key=lambda r: order[r["network_id"]],
    )
    diverged = [r for r in rows if r.get("status") == "diverged"]
    rows = [r for r in rows if r.get("status") != "diverged"]
    by_group = {}
    for row in rows:
        key = (row["problem"], row["architecture"], int(row["depth"]))
        by_group.setdefault(key, []).append(row)
    table, groups = [], []
    for key in sorted(
        by_group,
        key=lambda k: (
            config.problems.index(k[0]) if k[0] in config.problems else 99,
            config.architectures.index(k[1]) if k[1] in config.architectures else 99,
            k[2],
        ),
    ):
        problem, arch, depth = key
        members = by_group[key]
        threshold = config.threshold(problem)
        passed = [r for r in members if r["accuracy"] > threshold]
        ks = [e["n_neighbors"] for e in members[0]["flow"]]
        curve, pooled = [], []
        for j, k in enumerate(ks):
            if passed:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DisconnectedGraphWarning)
                    agg = aggregated_ricci_coefficient(
                        [
                            flow_result(r["flow"][j], r["symmetrize"], r["connect"])
                            for r in passed
                        ]
                    )
                curve.append(float(agg.coefficient))
                pooled.append(agg.n_networks)
            else:
                curve.append(np.nan)
                pooled.append(0)
        curve_arr = np.array(curve, dtype=float)
        if np.isfinite(curve_arr).any():
            j_star = int(np.nanargmin(curve_arr))
            k_star = int(ks[j_star])
        else:
            j_star, k_star = None, None
        n_connected = n_analysed = n_negative = 0
        rhos = []
        for r in members:
            ok = r["accuracy"] > threshold
            entry = r["flow"][j_star] if j_star is not None else None
            connected = (
                bool(all(c == 1 for c in entry["n_components"]))
                if entry is not None else None
            )
            rho = _nan(entry["coefficient"]) if entry is not None else np.nan
            analysed = bool(ok and connected and math.isfinite(rho))
            if ok and connected:
                n_connected += 1
            if analysed:
                n_analysed += 1
                rhos.append(rho)
                n_negative += rho < 0
            table.append({
                "network_id": r["network_id"],
                "problem": problem,
                "architecture": arch,
                "depth": depth,
                "repeat": r["repeat"],
                "seed": r["seed"],
                "hidden_layer_sizes": "-".join(map(str, r["hidden_layer_sizes"])),
                "n_train": r["n_train"],
                "n_test": r["n_test"],
                "max_epochs": r["max_epochs"],
                "batch_size": r["batch_size"],
                "lr": r["lr"],
                "optimizer": r["optimizer"],
                "validation_fraction": r["validation_fraction"],
                "symmetrize": r["symmetrize"],
                "connect": r["connect"] or "none",
                "accuracy": r["accuracy"],
                "train_accuracy": r["train_accuracy"],
                "threshold": threshold,
                "passed_threshold": ok,
                "k_star": k_star,
                "rho": rho,
                "adjusted_paper": (
                    _nan(entry["adjusted_paper"]) if entry is not None else np.nan
                ),
                "adjusted_fisher": (
                    _nan(entry["adjusted_fisher"]) if entry is not None else np.nan
                ),
                "connected_at_k_star": connected,
                "analysed": analysed,
                "fit_time_s": r.get("fit_time_s"),
                "flow_time_s": r.get("flow_time_s"),
            })
        groups.append({
            "problem": problem,
            "architecture": arch,
            "depth": depth,
            "n_test": members[0]["n_test"],
            "threshold": threshold,
            "n_trained": len(members),
            "n_passed": len(passed),
            "n_connected": n_connected,
            "n_analysed": n_analysed,
            "n_negative": int(n_negative),
            "median_rho": float(np.median(rhos)) if rhos else np.nan,
            "n_neighbors": ks,
            "aggregated": curve,
            "n_pooled": pooled,
            "k_star": k_star,
            "aggregated_at_k_star": (
                curve[j_star] if j_star is not None else np.nan
            ),
        })
    counts = {
        "expected": len(order),
        "trained": len(table) + len(diverged),
        "diverged": len(diverged),
        "not_in_config": len(strangers),
        "passed": sum(t["passed_threshold"] for t in table),
        "below_threshold": sum(not t["passed_threshold"] for t in table),
        "no_k_star": sum(
            t["passed_threshold"] and t["k_star"] is None for t in table
        ),
        "disconnected": sum(
            t["passed_threshold"] and t["connected_at_k_star"] is False
            for t in table
        ),
        "connected": sum(
            bool(t["passed_threshold"] and t["connected_at_k_star"]) for t in table
        ),
        "analysed": sum(t["analysed"] for t in table),
        "negative": sum(t["analysed"] and t["rho"] < 0 for t in table),
    }
    counts["undefined_rho"] = counts["connected"] - counts["analysed"]
    regression, note = _regression(table, config)
    analysis = StudyAnalysis(config, table, groups, regression, note, counts, rows)
    analysis.diverged = [
        {"network_id": r["network_id"], "cause": r["cause"]} for r in diverged
    ]
    analysis.not_in_config = strangers
    return analysis


def _regression(table, config):
    data = [t for t in table if t["analysed"]]
    if not data:
        return None, "no analysed network"
    names, cols = ["intercept", "rho"], [
        np.ones(len(data)), np.array([t["rho"] for t in data])
    ]
    factors = (
        ("problem", list(config.problems)),
        ("architecture", list(config.architectures)),
        ("depth", list(config.depths)),
    )
    for factor, levels in factors:
        present = [lv for lv in levels if any(t[factor] == lv for t in data)]
        for level in present[1:]:
            names.append(f"{factor}[{level}]")
            cols.append(np.array([float(t[factor] == level) for t in data]))
    X = np.column_stack(cols)
    y = np.array([t["accuracy"] for t in data])
    try:
        return ols(X, y, names), (
            "accuracy ~ rho + problem + architecture + depth (dummies against "
            "the first level present)"
        )
    except (ValueError, np.linalg.LinAlgError) as exc:
        return None, f"not fitted: {exc}"


# --------------------------------------------------------------------------- #
# Report
# --------------------------------------------------------------------------- #
def _fmt(v, spec=".3f"):
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return "-" if not math.isfinite(v) else format(v, spec)
    return str(v)


def _write_csv(path, columns, rows):
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(row.get(c)) for c in columns])
    _write_atomic(path, buf.getvalue())


def _csv_value(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else "nan"
    return v


def _pct(a, b):
    return f"{100 * a / b:.1f}%" if b else "n/a"


def _report_markdown(analysis, figures):
    cfg, c = analysis.config, analysis.counts
    out = ["# Ricci-flow study report", ""]
    out += [
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
        f"seed={cfg.seed}; config hash `{cfg.config_hash}`"),
        "",
    ]
    if c["trained"] < c["expected"]:
        out += [
            (f"**Incomplete study: {c['trained']} of {c['expected']} networks "
            "trained.** Run the same command again to resume."),
            "",
        ]
    out += [
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
    out += [
        "Accuracy thresholds (strictly greater): "
        + ", ".join(f"{p} > {cfg.threshold(p):g}" for p in cfg.problems),
        "",
        "## Ricci coefficient at k*",
        "",
    ]
    rhos = [t["rho"] for t in analysis.table if t["analysed"]]
    if rhos:
        out += [
            (f"{c['negative']} of {c['analysed']} analysed networks "
            f"({_pct(c['negative'], c['analysed'])}) have a negative Ricci "
            "coefficient rho (Ricci-flow-like); mean rho "
            f"{np.mean(rhos):.3f}, median {np.median(rhos):.3f}. (Paper: 1,144 of "
            "1,227, 93.2%; partly by construction, since k* minimises the "
            "aggregated coefficient.)"),
            "",
        ]
    else:
        out += ["No network was analysed.", ""]
    out += [
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
    out += ["", "## Regression", ""]
    reg = analysis.regression
    if reg is None:
        out += [f"Linear model not fitted ({analysis.regression_note}).", ""]
    else:
        b, _se, t, p = reg.term("rho")
        out += [
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
    out += ["## Figures", ""]
    for name, (path, caption) in figures.items():
        if path is None:
            out.append(f"- {name}: not drawn ({caption})")
        else:
            out += [f"![{name}]({Path(path).name})", "", caption, ""]
    out += [
        "",
        ("Files: `results.csv` (one row per network), `aggregated.csv` (the "
        "aggregated coefficient per group and k), `results.jsonl` (raw rows with "
        "Ric_l and eta_l at every k), `config.json`."),
        "",
    ]
    return "\n".join(out)


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
    """
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
    rows = load_results(output)
    analysis = analyse_study(rows, config)
    try:
        _write_report_files(output, analysis, figures)
    except PermissionError as exc:
        raise OutputFolderError(
            f"cannot write the report into {str(output)!r} ({exc.strerror}: "
            f"{exc.filename}); make the folder writable, or copy it and run "
            "the report there"
        ) from None
    return analysis


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
    _write_atomic(output / "report.md", _report_markdown(analysis, drawn))


def _draw_figures(analysis, output):
    from . import plotting

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

