"""Test the published claims where flow strength is said to help.

Three claims, each its own table (the rules, the distances and the problems
were written into ``docs/selection.md``, "Published claims", before the run):

1. **Early stopping** (Hehl, von Renesse and Weber, arXiv:2509.22362, their
   Sec. 4.3): networks are trained with a checkpoint after every epoch; at
   each checkpoint the flow statistic, the nuclear norm (label-free, on a
   clean validation split) and the validation and test accuracy are recorded.
   The same stopping rule picks an epoch driven by each signal; the picks are
   compared with the epoch of best validation accuracy.
2. **Depth selection** (their Sec. 4.4): networks of 1 to 11 hidden layers;
   the same rule over depths, driven by each signal, plus a reading on the
   per-layer coefficients of the deepest network; compared with the depth of
   best validation accuracy.
3. **Well-trained regime** (Baptista et al.'s and Hehl et al.'s regime): on
   ``bench_selection.py``'s well-trained pools, the partial Spearman
   correlation of ``RicciFlowScorer()`` with test accuracy given
   ``NuclearNormScorer``'s statistic, with a bootstrap interval.

    python benchmarks/bench_claims.py \\
        --mnist-path PATH/mnist_1_7_6_8_subset.npz \\
        --fashion-path PATH/sandal_vs_ankle_boot_test.npz
    python benchmarks/bench_claims.py --quick --out /tmp/claims   # smoke run
    python benchmarks/bench_claims.py --from-json benchmarks/_out/claims/claims.json

Results (tables and a JSON of every run) go to ``--out`` (default
``benchmarks/_out/claims``); the well-trained networks are cached in
``bench_selection.py``'s format under ``--selection-out`` and reused.
"""

import argparse
import importlib.util
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import rankdata, spearmanr

from sk_ricci import RicciFlowScorer, nuclear_norm_score

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "_out" / "claims"


def _load_selection():
    """``bench_selection.py`` as a module (problems, pools, training, cache)."""
    path = Path(__file__).resolve().parent / "bench_selection.py"
    spec = importlib.util.spec_from_file_location("bench_selection", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_selection", module)
    spec.loader.exec_module(module)
    return module


# -- the pre-registered protocol (docs/selection.md, "Published claims") -----

#: Hehl et al.'s statistic as their code computes it: the mean local Ricci
#: evolution coefficient, approximate Ollivier curvature, k = 50, plain
#: max-symmetrised kNN graphs (no MST), layers = input, hidden, output
HEHL_SCORER = {"n_neighbors": 50, "statistic": "local_mean",
               "curvature": "approx_ollivier", "include_input": True,
               "include_output": True, "connect": None, "symmetrize": "max"}
#: patience of the stopping rule, in checkpoints (epochs or depths)
PATIENCE = {"epochs": 3, "depths": 2}
#: the stated distances: a pick is "close" when it lands within EPOCH_TOL
#: epochs (DEPTH_TOL hidden layers) of the best by validation accuracy, and
#: "as good" when its test accuracy is within ACC_TOL of that best's
EPOCH_TOL, DEPTH_TOL, ACC_TOL = 2, 2, 0.01
EARLY = {"problems": ("A", "mnist_1_7", "fashion_sandal_boot"),
         "families": ("relu_mlp", "sk_mlp"),
         "archs": {"w5": (50,) * 5, "w7": (50,) * 7},
         "noises": (0.0, 0.2), "seeds": (0, 1), "epochs": 40}
DEPTH = {"problems": ("A", "mnist_1_7", "fashion_sandal_boot"),
         "families": ("relu_mlp", "sk_mlp"), "width": 50,
         "depths": tuple(range(1, 12)), "seeds": (0, 1, 2),
         "epochs": {"relu_mlp": 50, "sk_mlp": 200}}
N_BOOT = 2000
DRIVERS = ("hehl_local_mean", "default_flow", "nuclear_norm", "val_accuracy")


# -- the rules ----------------------------------------------------------------


def _finite_or_low(values):
    """NaN never counts as an improvement: it becomes -inf."""
    v = np.asarray(values, dtype=np.float64)
    return np.where(np.isnan(v), -np.inf, v)


def argmax_pick(values):
    """Index of the greatest value (first on ties); NaN never picked unless
    every value is NaN (then index 0)."""
    v = _finite_or_low(values)
    if v.size == 0:
        raise ValueError("argmax_pick needs at least one value; got none.")
    return int(np.argmax(v))


def patience_pick(values, patience):
    """Early stopping on a greater-is-better series, read in order.

    Walk the checkpoints in order, keeping the best value so far; a
    checkpoint improves when it is strictly greater than the best so far (NaN
    never improves; the first checkpoint is the initial best). Stop at the
    first checkpoint that ends ``patience`` consecutive checkpoints without
    improvement, or at the last checkpoint. Returns ``(picked, stopped)``:
    the index of the best checkpoint so far when stopping (the one restored)
    and the index where the rule stopped.
    """
    if int(patience) != patience or patience < 1:
        raise ValueError(f"patience must be an integer >= 1; got {patience!r}.")
    v = _finite_or_low(values)
    if v.size == 0:
        raise ValueError("patience_pick needs at least one value; got none.")
    best, since = 0, 0
    for i in range(1, v.size):
        if v[i] > v[best]:
            best, since = i, 0
        else:
            since += 1
            if since >= patience:
                return best, i
    return best, v.size - 1


def layer_depth_pick(layer_coefficients, max_depth):
    """Depth from the per-layer coefficients of the deepest network.

    ``layer_coefficients[t]`` is the coefficient of the transition from layer
    ``t`` to ``t + 1`` of ``[X, h_1, ..., h_D, output]``; the most negative
    (most Ricci-flow-like) transition ``t`` ends at layer ``t + 1``, so the
    pick is ``t + 1`` hidden layers, at most ``max_depth`` (NaN never
    picked; all NaN gives ``max_depth``).
    """
    c = np.asarray(layer_coefficients, dtype=np.float64)
    if c.size == 0:
        raise ValueError("layer_depth_pick needs at least one coefficient.")
    if np.isnan(c).all():
        return int(max_depth)
    t = int(np.nanargmin(c))
    return int(min(t + 1, max_depth))


def partial_spearman(x, y, z):
    """Spearman correlation of ``x`` and ``y`` given ``z``.

    The Pearson correlation of the residuals of ``rank(x)`` and ``rank(y)``
    after a least-squares fit on ``[1, rank(z)]`` (ties get average ranks).
    NaN when a residual is constant.
    """
    x, y, z = (np.asarray(a, dtype=np.float64) for a in (x, y, z))
    if not (x.shape == y.shape == z.shape) or x.ndim != 1:
        raise ValueError(
            "partial_spearman needs three 1-D arrays of one length; got shapes "
            f"{x.shape}, {y.shape}, {z.shape}.")
    if x.size < 4 or np.isnan(np.concatenate([x, y, z])).any():
        return np.nan
    rx, ry, rz = rankdata(x), rankdata(y), rankdata(z)
    A = np.column_stack([np.ones_like(rz), rz])
    ex = rx - A @ np.linalg.lstsq(A, rx, rcond=None)[0]
    ey = ry - A @ np.linalg.lstsq(A, ry, rcond=None)[0]
    den = np.sqrt((ex @ ex) * (ey @ ey))
    if den <= 1e-12 * max(1.0, float(rx @ rx)):
        return np.nan
    return float(ex @ ey / den)


def partial_spearman_interval(x, y, z, n_boot=N_BOOT, seed=0):
    """Bootstrap 95% percentile interval of :func:`partial_spearman`
    (resampling networks; resamples where it is undefined are dropped)."""
    x, y, z = (np.asarray(a, dtype=np.float64) for a in (x, y, z))
    rng = np.random.default_rng(seed)
    n = x.size
    if n < 4:
        return np.nan, np.nan
    vals = []
    for _ in range(n_boot):
        i = rng.integers(0, n, n)
        vals.append(partial_spearman(x[i], y[i], z[i]))
    vals = np.asarray(vals)
    if not np.isfinite(vals).any():
        return np.nan, np.nan
    lo, hi = np.nanpercentile(vals, [2.5, 97.5])
    return float(lo), float(hi)


def pick_summary(picks, best, test_acc, tol):
    """For one run: each pick's distance to ``best`` and its test accuracy
    lost against ``best``'s and against the run's best test accuracy."""
    test_acc = np.asarray(test_acc, dtype=np.float64)
    out = {}
    for name, p in picks.items():
        out[name] = {
            "pick": int(p), "distance": int(abs(p - best)),
            "close": bool(abs(p - best) <= tol),
            "lost_vs_val": float(test_acc[best] - test_acc[p]),
            "lost_vs_oracle": float(test_acc.max() - test_acc[p]),
        }
    return out


# -- signals of one fitted network ---------------------------------------------


def signals(clf, X_val, y_val, X_te, y_te, with_layers=False):
    """Every signal of one fitted network on the validation split (the flow
    statistics and the nuclear norm read no label) and its accuracies."""
    hehl = RicciFlowScorer(**HEHL_SCORER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row = {"default_flow": float(RicciFlowScorer()(clf, X_val)),
               "nuclear_norm": float(nuclear_norm_score(clf.predict_proba(X_val))),
               "val_accuracy": float(clf.score(X_val, y_val)),
               "test_accuracy": float(clf.score(X_te, y_te))}
        if with_layers:
            res = hehl.measure(clf, X_val)
            row["hehl_local_mean"] = -float(res.mean)
            row["layer_coefficients"] = [float(c) for c in res.layer_coefficients]
        else:
            row["hehl_local_mean"] = float(hehl(clf, X_val))
    return row


# -- claim 1: early stopping ---------------------------------------------------


def _make(family, hidden, epochs, seed, n_train):
    if family == "relu_mlp":
        from sk_ricci.nn import ReLUMLPClassifier

        return ReLUMLPClassifier(hidden_layer_sizes=hidden, max_epochs=epochs,
                                 validation_fraction=None, random_state=seed)
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=hidden, activation="relu",
                         max_iter=epochs, random_state=seed)


def _noisy(y, noise, seed):
    y = np.asarray(y).copy()
    if noise > 0:
        flip = np.random.default_rng(seed).random(len(y)) < noise
        y[flip] = 1 - y[flip]
    return y


def checkpoint_run(family, hidden, epochs, seed, data, noise):
    """Signals at epoch 0 and after every epoch of one training run.

    Epoch 0 is one pass at a learning rate of 1e-12 (the initial weights, to
    float precision; the optimizer's moment estimates see one epoch of
    gradients); then the learning rate is set to 1e-3 and each further
    ``partial_fit`` call trains one epoch.
    """
    from sklearn.exceptions import ConvergenceWarning

    X_tr, y_tr, X_val, y_val, X_te, y_te = data
    y_fit = _noisy(y_tr, noise, 1000 + seed)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if family == "relu_mlp":
            clf = _make(family, hidden, 1, seed, len(y_tr))
            clf.set_params(optimizer__lr=1e-12).fit(X_tr, y_fit)
            for g in clf.net_.optimizer_.param_groups:
                g["lr"] = 1e-3
            Xf, yf = X_tr.astype(np.float32), y_fit.astype(np.float32)

            def step():
                clf.net_.partial_fit(Xf, yf)
        else:
            clf = _make(family, hidden, 1, seed, len(y_tr))
            clf.set_params(learning_rate_init=1e-12)
            clf.partial_fit(X_tr, y_fit, classes=np.array([0, 1]))
            clf.learning_rate_init = clf._optimizer.learning_rate_init = 1e-3

            def step():
                clf.partial_fit(X_tr, y_fit)
        rows.append(signals(clf, X_val, y_val, X_te, y_te))
        for _ in range(epochs):
            step()
            rows.append(signals(clf, X_val, y_val, X_te, y_te))
    return rows


def run_early(sel, args, log):
    runs = []
    problems = EARLY["problems"]
    archs = EARLY["archs"]
    epochs = 4 if args.quick else EARLY["epochs"]
    seeds = EARLY["seeds"][:1] if args.quick else EARLY["seeds"]
    for problem in problems:
        data = sel.load_problem(problem, args.quick, args.fashion_path,
                                args.mnist_path)
        if data is None:
            continue
        for family in EARLY["families"]:
            for arch, hidden in archs.items():
                for noise in EARLY["noises"]:
                    for seed in seeds:
                        t = time.perf_counter()
                        rows = checkpoint_run(family, hidden, epochs, seed, data, noise)
                        runs.append({"problem": problem, "family": family,
                                     "arch": arch, "noise": noise, "seed": seed,
                                     "rows": rows,
                                     "seconds": time.perf_counter() - t})
                        log(f"early {problem} {family} {arch} noise={noise} "
                            f"seed={seed}: {runs[-1]['seconds']:.1f}s")
    return runs


def evaluate_series(rows, patience, tol, order=None):
    """Picks of every (driver, rule) on one run's rows (a list of signal
    dicts in checkpoint order) against the best by validation accuracy."""
    test = [r["test_accuracy"] for r in rows]
    best = argmax_pick([r["val_accuracy"] for r in rows])
    picks = {}
    for d in DRIVERS:
        series = [r[d] for r in rows]
        picks[f"{d}/argmax"] = argmax_pick(series)
        picks[f"{d}/patience"] = patience_pick(series, patience)[0]
    return best, pick_summary(picks, best, test, tol)


def rule_table(evaluated, tol_name, tol, acc_tol=ACC_TOL, extra=()):
    """Rows: (driver/rule, n, share close, share within acc_tol of the
    val-best's test accuracy, median and mean accuracy lost, median lost
    against the run's best test accuracy)."""
    names = list(evaluated[0][1]) if evaluated else []
    lines = [f"| rule (driver/reading) | runs | within {tol} {tol_name} | test acc within "
             f"{100 * acc_tol:.0f} pp | median lost (pp) | mean lost (pp) | "
             "median lost vs run's best test (pp) | median distance |",
             "|---|---|---|---|---|---|---|---|"]
    for name in names + list(extra):
        s = [e[1][name] for e in evaluated if name in e[1]]
        if not s:
            continue
        close = np.mean([x["close"] for x in s])
        good = np.mean([x["lost_vs_val"] <= acc_tol + 1e-12 for x in s])
        lost = np.array([x["lost_vs_val"] for x in s]) * 100
        oracle = np.array([x["lost_vs_oracle"] for x in s]) * 100
        dist = np.median([x["distance"] for x in s])
        lines.append(f"| {name} | {len(s)} | {close:.2f} | {good:.2f} | "
                     f"{np.median(lost):+.1f} | {np.mean(lost):+.1f} | "
                     f"{np.median(oracle):.1f} | {dist:g} |")
    return "\n".join(lines)


def tracking_table(runs):
    """Per problem: the median over its runs of the Spearman correlation,
    over one run's checkpoints, of each signal with test accuracy."""
    problems = list(dict.fromkeys(r["problem"] for r in runs))
    lines = ["| problem | runs | " + " | ".join(DRIVERS) + " |",
             "|---|---|" + "---|" * len(DRIVERS)]
    for problem in problems:
        sub = [r for r in runs if r["problem"] == problem]
        cells = []
        for d in DRIVERS:
            vals = []
            for r in sub:
                s = np.array([x[d] for x in r["rows"]], dtype=np.float64)
                t = np.array([x["test_accuracy"] for x in r["rows"]], dtype=np.float64)
                ok = np.isfinite(s)
                vals.append(_spearman(s[ok], t[ok]))
            vals = np.asarray(vals, dtype=np.float64)
            cells.append(f"{np.nanmedian(vals):+.2f}" if np.isfinite(vals).any()
                         else "nan")
        lines.append(f"| {problem} | {len(sub)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- claim 2: depth selection --------------------------------------------------


def run_depth(sel, args, log):
    from sklearn.exceptions import ConvergenceWarning

    runs = []
    depths = (1, 2, 3) if args.quick else DEPTH["depths"]
    seeds = DEPTH["seeds"][:1] if args.quick else DEPTH["seeds"]
    for problem in DEPTH["problems"]:
        data = sel.load_problem(problem, args.quick, args.fashion_path,
                                args.mnist_path)
        if data is None:
            continue
        X_tr, y_tr, X_val, y_val, X_te, y_te = data
        for family in DEPTH["families"]:
            epochs = 3 if args.quick else DEPTH["epochs"][family]
            for seed in seeds:
                t = time.perf_counter()
                clfs = [_make(family, (DEPTH["width"],) * d, epochs,
                              100 * d + seed, len(y_tr)) for d in depths]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    if family == "relu_mlp":
                        from sk_ricci.nn import fit_many

                        fit_many(clfs, X_tr, y_tr)
                    else:
                        for c in clfs:
                            c.fit(X_tr, y_tr)
                rows = [signals(c, X_val, y_val, X_te, y_te,
                                with_layers=(d == depths[-1]))
                        for d, c in zip(depths, clfs)]
                runs.append({"problem": problem, "family": family, "seed": seed,
                             "depths": list(depths), "rows": rows,
                             "seconds": time.perf_counter() - t})
                log(f"depth {problem} {family} seed={seed}: "
                    f"{runs[-1]['seconds']:.1f}s")
    return runs


def evaluate_depth(run):
    rows, depths = run["rows"], run["depths"]
    best, summary = evaluate_series(rows, PATIENCE["depths"], DEPTH_TOL)
    coefs = rows[-1].get("layer_coefficients")
    if coefs is not None:
        d = layer_depth_pick(coefs, depths[-1])
        idx = depths.index(d) if d in depths else len(depths) - 1
        summary.update(pick_summary({"hehl_layer_coefficients/most_negative": idx},
                                    best, [r["test_accuracy"] for r in rows],
                                    DEPTH_TOL))
    return best, summary


def constant_depth_table(runs, constants=(1, 2, 3, 6, 11)):
    """How often a fixed depth lands within DEPTH_TOL layers of the
    validation-best depth and within ACC_TOL of its test accuracy."""
    lines = ["| constant depth | runs | within 2 layers | test acc within 1 pp |",
             "|---|---|---|---|"]
    for c in constants:
        close, good, n = [], [], 0
        for r in runs:
            if c not in r["depths"]:
                continue
            n += 1
            i, b = r["depths"].index(c), r["depths"].index(r["best_val_depth"])
            acc = [x["test_accuracy"] for x in r["rows"]]
            close.append(abs(c - r["best_val_depth"]) <= DEPTH_TOL)
            good.append(acc[b] - acc[i] <= ACC_TOL + 1e-12)
        if n:
            lines.append(f"| {c} | {n} | {np.mean(close):.2f} | {np.mean(good):.2f} |")
    return "\n".join(lines)


# -- claim 3: well-trained regime ----------------------------------------------


def run_well_trained(sel, args, log):
    from sk_ricci._scorer import _input_layer

    out = Path(args.selection_out)
    pools = []
    problems = ("A", "mnist_1_7") if args.quick else sel.PROBLEMS
    for pi, problem in enumerate(sel.PROBLEMS):
        if problem not in problems:
            continue
        data = sel.load_problem(problem, args.quick, args.fashion_path,
                                args.mnist_path)
        if data is None:
            continue
        X_val = data[2]
        for family in sel.FAMILIES:
            t = time.perf_counter()
            specs = [s for s in sel.pool_specs(family, quick=args.quick)
                     if "well_trained" in s["pools"]]
            missing = [s for s in specs
                       if not sel.cache_path(out, problem, s).exists()]
            if missing:
                for spec, record in sel.iter_train_many(missing, data, pi):
                    sel.save_net(sel.cache_path(out, problem, spec), record, spec)
            records = [sel.load_net(sel.cache_path(out, problem, s)) for s in specs]
            rows = [{"val_accuracy": (r["val_accuracy"], 0.0)} for r in records]
            members = sel.well_trained_members(specs, rows)
            flow, nuc, acc = [], [], []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for i in members:
                    r = records[i]
                    flow.append(RicciFlowScorer().score_layers(
                        [_input_layer(X_val)] + r["layers"]))
                    nuc.append(nuclear_norm_score(r["proba"]))
                    acc.append(r["test_accuracy"])
            flow, nuc, acc = map(np.asarray, (flow, nuc, acc))
            pools.append({"problem": problem, "family": family,
                          "n": len(members), "flow": flow.tolist(),
                          "nuclear": nuc.tolist(), "test_accuracy": acc.tolist(),
                          "seconds": time.perf_counter() - t})
            log(f"well_trained {problem} {family}: n={len(members)} "
                f"{pools[-1]['seconds']:.1f}s")
    return pools


def _spearman(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.size < 3 or np.isnan(a).any() or np.ptp(a) == 0 or np.ptp(b) == 0:
        return np.nan
    return float(spearmanr(a, b).statistic)


def nan_last(values):
    """NaN scores rank last (below every finite score), as scikit-learn's
    searches and ``bench_selection.py`` rank them."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0 or np.isnan(v).all():
        return v
    return np.where(np.isnan(v), np.nanmin(v) - 1.0, v)


def well_trained_table(pools, n_boot):
    """Per pool: Spearman of the flow score and of the nuclear norm with test
    accuracy and the partial Spearman of the flow score given the nuclear
    norm, (a) with NaN flow scores ranked last (what a search sees) and (b)
    on the networks with a finite flow score only."""
    lines = ["| problem | family | networks (NaN flow) | test acc range | Spearman "
             "flow | Spearman nuclear | partial, NaN last | 95% bootstrap | "
             "partial, finite only | 95% bootstrap |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    meds = {"nan_last": [], "finite": []}
    for k, p in enumerate(pools):
        f, z, a = (np.asarray(p[x], dtype=np.float64)
                   for x in ("flow", "nuclear", "test_accuracy"))
        ok = np.isfinite(f)
        fl = nan_last(f)
        p["n_nan"] = int((~ok).sum())
        p["spearman_flow"] = _spearman(fl, a)
        p["spearman_nuclear"] = _spearman(z, a)
        p["partial"] = partial_spearman(fl, a, z)
        p["partial_lo"], p["partial_hi"] = partial_spearman_interval(
            fl, a, z, n_boot=n_boot, seed=k)
        p["partial_finite"] = partial_spearman(f[ok], a[ok], z[ok])
        p["partial_finite_lo"], p["partial_finite_hi"] = partial_spearman_interval(
            f[ok], a[ok], z[ok], n_boot=n_boot, seed=k)
        meds["nan_last"].append(p["partial"])
        meds["finite"].append(p["partial_finite"])
        rng = f"{a.min():.3f}-{a.max():.3f}" if a.size else "-"
        lines.append(
            f"| {p['problem']} | {p['family']} | {p['n']} ({p['n_nan']}) | {rng} | "
            f"{p['spearman_flow']:+.2f} | {p['spearman_nuclear']:+.2f} | "
            f"{p['partial']:+.2f} | [{p['partial_lo']:+.2f}, {p['partial_hi']:+.2f}] | "
            f"{p['partial_finite']:+.2f} | [{p['partial_finite_lo']:+.2f}, "
            f"{p['partial_finite_hi']:+.2f}] |")
    summary = {}
    for key, lo, hi in (("nan_last", "partial_lo", "partial_hi"),
                        ("finite", "partial_finite_lo", "partial_finite_hi")):
        v = np.asarray(meds[key], dtype=np.float64)
        v = v[np.isfinite(v)]
        los = np.asarray([p[lo] for p in pools], dtype=np.float64)
        his = np.asarray([p[hi] for p in pools], dtype=np.float64)
        summary[key] = float(np.median(v)) if v.size else np.nan
        lines.append(
            f"\n{key}: median partial Spearman over {v.size} pools with a defined "
            f"value {summary[key]:+.2f}; interval above 0 in {int((los > 0).sum())}, "
            f"below 0 in {int((his < 0).sum())} of {len(pools)}.")
    return "\n".join(lines), summary


# -- main ------------------------------------------------------------------------


def main(argv=None):
    sel = _load_selection()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--selection-out", default=str(sel.DEFAULT_OUT),
                    help="bench_selection.py's cache (well-trained networks)")
    ap.add_argument("--fashion-path", default=str(sel.DEFAULT_FASHION))
    ap.add_argument("--mnist-path", default=str(sel.DEFAULT_MNIST))
    ap.add_argument("--quick", action="store_true", help="smoke run")
    ap.add_argument("--only", choices=("early", "depth", "well"), default=None)
    ap.add_argument("--from-json", default=None,
                    help="render the tables from an earlier run's claims.json "
                         "(no training; the parts it holds)")
    args = ap.parse_args(argv)
    loaded = json.loads(Path(args.from_json).read_text()) if args.from_json else None

    def want(part, key):
        return (args.only in (None, part)
                and (loaded is None or key in loaded))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - start:7.1f}s] {msg}", flush=True)

    report, results = [], {}
    if want("early", "early"):
        t = time.perf_counter()
        runs = loaded["early"] if loaded else run_early(sel, args, log)
        evaluated = [evaluate_series(r["rows"], PATIENCE["epochs"], EPOCH_TOL)
                     for r in runs]
        for r, (best, s) in zip(runs, evaluated):
            r["best_val_epoch"], r["picks"] = best, s
        results["early"] = runs
        report += ["## Early stopping", "",
                   f"{len(runs)} runs, {time.perf_counter() - t:.0f} s; patience "
                   f"{PATIENCE['epochs']} epochs.", "",
                   rule_table(evaluated, "epochs", EPOCH_TOL), ""]
        for problem in EARLY["problems"]:
            sub = [e for r, e in zip(runs, evaluated) if r["problem"] == problem]
            if sub:
                report += [f"### {problem}", "", rule_table(sub, "epochs", EPOCH_TOL), ""]
        stops = {d: [patience_pick([x[d] for x in r["rows"]], PATIENCE["epochs"])[1]
                     for r in runs] for d in DRIVERS}
        report += ["Median stopping epoch of the patience rule: " + ", ".join(
            f"{d} {np.median(v):g}" for d, v in stops.items()) + "; best-validation "
            f"epoch median {np.median([e[0] for e in evaluated]):g}.", "",
            "Exploratory (not pre-registered): median over runs of the Spearman "
            "correlation, over the checkpoints of one run, of each signal with "
            "test accuracy:", "", tracking_table(runs), ""]
    if want("depth", "depth"):
        t = time.perf_counter()
        runs = loaded["depth"] if loaded else run_depth(sel, args, log)
        evaluated = [evaluate_depth(r) for r in runs]
        for r, (best, s) in zip(runs, evaluated):
            r["best_val_depth"], r["picks"] = r["depths"][best], s
        results["depth"] = runs
        report += ["## Depth selection", "",
                   f"{len(runs)} runs of {len(runs[0]['depths']) if runs else 0} depths, "
                   f"{time.perf_counter() - t:.0f} s; patience {PATIENCE['depths']} "
                   "depths.", "", rule_table(evaluated, "layers", DEPTH_TOL), "",
                   "Picked depths (hidden layers) per run, validation-best first: "]
        for r in runs:
            report.append(f"- {r['problem']} {r['family']} seed {r['seed']}: val "
                          f"{r['best_val_depth']}; " + ", ".join(
                              f"{k} {r['depths'][v['pick']]}"
                              for k, v in r["picks"].items() if "argmax" in k
                              or "layer" in k))
        report += ["", "Exploratory (not pre-registered): a constant depth, the "
                   "same for every run:", "", constant_depth_table(runs), ""]
    if want("well", "well_trained"):
        t = time.perf_counter()
        pools = loaded["well_trained"] if loaded else run_well_trained(sel, args, log)
        table, med = well_trained_table(pools, 200 if args.quick else N_BOOT)
        results["well_trained"] = pools
        report += ["## Well-trained regime", "",
                   f"{len(pools)} pools, {time.perf_counter() - t:.0f} s.", "", table, ""]
    report.append(f"Total wall time {time.perf_counter() - start:.0f} s.")
    text = "\n".join(report)
    print(text)
    (out / "claims.md").write_text(text + "\n")
    (out / "claims.json").write_text(json.dumps(results, default=float, indent=1))
    return results


if __name__ == "__main__":
    main()
