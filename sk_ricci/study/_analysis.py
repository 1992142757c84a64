"""Analysis of the paper's study: k*, rho at k*, exclusions, regression.

:func:`analyse_study` picks, per (problem, architecture, depth), the scale k*
that minimises the aggregated coefficient over the networks that pass the
accuracy threshold, computes every network's rho and adjusted rho at k*,
counts the exclusions (below threshold, disconnected at k*), and regresses
accuracy on rho plus problem, architecture and depth dummies (:func:`ols`,
ordinary least squares with classical standard errors). Its report is made by
:mod:`sk_ricci.study._report`.
"""

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from .._aggregate import aggregated_ricci_coefficient
from ..exceptions import DisconnectedGraphWarning
from ._config import StudyConfig
from ._results import flow_result


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
    from scipy import linalg, stats

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
    # QR, not inv(X'X): forming X'X squares the condition number, which ruins
    # the standard errors of a term with a large offset (a depth of 11 next
    # to an intercept is mild; a raw sample size is not)
    Q, R = np.linalg.qr(X)
    coef = linalg.solve_triangular(R, Q.T @ y)
    resid = y - X @ coef
    df = n - p
    rss = float(resid @ resid)
    sigma2 = rss / df
    R_inv = linalg.solve_triangular(R, np.eye(p))
    stderr = np.sqrt(sigma2 * (R_inv**2).sum(axis=1))
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
    config_hash : str
        The hash the report shows: the one ``config.json`` records
        (:func:`make_report`), else ``config.config_hash``.
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
    #: the configuration hash the report shows: the one ``config.json``
    #: records when there is one (:func:`make_report`), else the config's
    config_hash: str = None

    def __post_init__(self):
        if self.config_hash is None:
            self.config_hash = self.config.config_hash


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
    table, groups = [], []
    for key, members in _by_group(rows, config):
        group, group_table = _analyse_group(key, members, config.threshold(key[0]))
        groups.append(group)
        table += group_table
    counts = _counts(table, len(order), len(diverged), len(strangers))
    regression, note = _regression(table, config)
    analysis = StudyAnalysis(config, table, groups, regression, note, counts, rows)
    analysis.diverged = [
        {"network_id": r["network_id"], "cause": r["cause"]} for r in diverged
    ]
    analysis.not_in_config = strangers
    return analysis


def _by_group(rows, config):
    """(problem, architecture, depth) and its rows, in the configuration's order."""
    by_group = {}
    for row in rows:
        key = (row["problem"], row["architecture"], int(row["depth"]))
        by_group.setdefault(key, []).append(row)

    def rank(key):
        return (
            config.problems.index(key[0]) if key[0] in config.problems else 99,
            config.architectures.index(key[1])
            if key[1] in config.architectures else 99,
            key[2],
        )

    return [(key, by_group[key]) for key in sorted(by_group, key=rank)]


def _aggregated_curve(passed, ks):
    """The aggregated coefficient of the passing networks at every k, and how
    many networks each pools."""
    curve, pooled = [], []
    for j in range(len(ks)):
        if not passed:
            curve.append(np.nan)
            pooled.append(0)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DisconnectedGraphWarning)
            agg = aggregated_ricci_coefficient(
                [flow_result(r["flow"][j], r["symmetrize"], r["connect"])
                 for r in passed]
            )
        curve.append(float(agg.coefficient))
        pooled.append(agg.n_networks)
    return curve, pooled


def _analyse_group(key, members, threshold):
    """The group's summary and its networks' rows of ``results.csv``."""
    problem, arch, depth = key
    passed = [r for r in members if r["accuracy"] > threshold]
    ks = [e["n_neighbors"] for e in members[0]["flow"]]
    curve, pooled = _aggregated_curve(passed, ks)
    j_star, k_star = None, None
    if np.isfinite(np.array(curve, dtype=float)).any():
        j_star = int(np.nanargmin(np.array(curve, dtype=float)))
        k_star = int(ks[j_star])
    table = [_table_row(r, threshold, k_star, j_star) for r in members]
    rhos = [t["rho"] for t in table if t["analysed"]]
    group = {
        "problem": problem,
        "architecture": arch,
        "depth": depth,
        "n_test": members[0]["n_test"],
        "threshold": threshold,
        "n_trained": len(members),
        "n_passed": len(passed),
        "n_connected": sum(
            bool(t["passed_threshold"] and t["connected_at_k_star"]) for t in table
        ),
        "n_analysed": len(rhos),
        "n_negative": int(sum(rho < 0 for rho in rhos)),
        "median_rho": float(np.median(rhos)) if rhos else np.nan,
        "n_neighbors": ks,
        "aggregated": curve,
        "n_pooled": pooled,
        "k_star": k_star,
        "aggregated_at_k_star": curve[j_star] if j_star is not None else np.nan,
    }
    return group, table


def _table_row(r, threshold, k_star, j_star):
    """One network's row of ``results.csv`` (:data:`CSV_COLUMNS`)."""
    ok = r["accuracy"] > threshold
    entry = r["flow"][j_star] if j_star is not None else None
    connected = (
        bool(all(c == 1 for c in entry["n_components"]))
        if entry is not None else None
    )
    rho = _nan(entry["coefficient"]) if entry is not None else np.nan
    row = {
        **r,
        "depth": int(r["depth"]),
        "hidden_layer_sizes": "-".join(map(str, r["hidden_layer_sizes"])),
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
        "analysed": bool(ok and connected and math.isfinite(rho)),
        "fit_time_s": r.get("fit_time_s"),
        "flow_time_s": r.get("flow_time_s"),
    }
    return {c: row[c] for c in CSV_COLUMNS}


def _counts(table, expected, n_diverged, n_strangers):
    """Networks expected, trained, excluded (and why) and analysed."""
    counts = {
        "expected": expected,
        "trained": len(table) + n_diverged,
        "diverged": n_diverged,
        "not_in_config": n_strangers,
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
    return counts


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
