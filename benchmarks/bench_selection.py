"""Does flow strength select models? An honest, label-free selection benchmark.

Pools of ReLU networks (``sk_ricci.nn.ReLUMLPClassifier``) that differ *by
design* in test accuracy are trained on each problem:

- ``under_training``: wide networks of depth 5 and 11 stopped after 1, 2, 5,
  10 or 30 epochs;
- ``label_noise``: networks trained (100 epochs) on 0%, 20% or 40% flipped
  training labels (memorisation), depth 5 and 11, two seeds;
- ``architecture``: narrow / wide / bottleneck x depth 5 / 11, two seeds,
  50 epochs;
- untrained controls (narrow / wide / bottleneck x depth 5 / 11, freshly
  initialised) are mixed into each of these pools.

Pools analysed per problem: the three above (controls included), ``all``
(every network) and ``all_trained`` (every trained network, no controls).

Each network is scored LABEL-FREE on a clean validation split (disjoint from
its training and test data): every statistic is a scorer of the library
(``RicciFlowScorer`` configurations, ``NuclearNormScorer``, ``RankMeScorer``)
applied to the same validation activations; validation accuracy (which needs
labels) is the labelled reference. Test accuracy is measured on a separate
test split. For each statistic and pool: Spearman correlation with test
accuracy, with a bootstrap 95% interval (networks resampled, fixed seed), and
the test accuracy of the network the statistic picks (its maximum; ties
averaged; NaN scores rank last, as scikit-learn's searches rank them).

The networks of one problem that share their training labels (all but the
label-noise variants) train together with ``sk_ricci.nn.fit_many``, which
gives each exactly the weights a lone ``fit`` gives it (``--one-at-a-time``
trains them one by one instead, with the same results).

Every network's validation activations, probabilities and accuracies are
cached under ``--out`` (default ``benchmarks/_out/selection``), so statistics
can be recomputed without retraining (``--recompute``); each statistic's value
is cached next to them with its definition (the scorer's repr) and reused
while the definition is unchanged (``--fresh-statistics`` recomputes all).

    python benchmarks/bench_selection.py                      # full run
    python benchmarks/bench_selection.py --recompute          # statistics only
    python benchmarks/bench_selection.py --quick --out /tmp/q # smoke run
"""

import argparse
import json
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import rankdata, spearmanr

import sk_ricci
from sk_ricci import RicciFlowScorer, nuclear_norm_score, rankme
from sk_ricci._options import FlowOptions
from sk_ricci._scorer import flow_statistic

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "_out" / "selection"
DEFAULT_FASHION = ROOT / ".." / "shared" / "data" / "fashion-mnist" / (
    "sandal_vs_ankle_boot_test.npz")
PROBLEMS = ("A", "B", "C", "digits_1_7", "digits_6_8", "fashion_sandal_boot")
DESIGNED_POOLS = ("under_training", "label_noise", "architecture")
POOLS = DESIGNED_POOLS + ("all", "all_trained")
KS = (10, 30, 50)

# The criterion that chooses RicciFlowScorer's defaults, fixed before the
# results were seen: among flow statistics only, the highest median Spearman
# over the (problem x designed pool) cells; ties broken by the higher minimum.
CRITERION = ("highest median Spearman over the problem x {under_training, "
             "label_noise, architecture} cells, among flow statistics; ties "
             "broken by the higher minimum over the same cells")


# -- data --------------------------------------------------------------------


def _split(X, y, n_train, n_val, n_test, seed):
    """Stratified disjoint train / validation / test split."""
    from sklearn.model_selection import train_test_split

    X_tr, X_rest, y_tr, y_rest = train_test_split(
        X, y, train_size=n_train, stratify=y, random_state=seed)
    X_val, X_te, y_val, y_te = train_test_split(
        X_rest, y_rest, train_size=n_val, test_size=n_test, stratify=y_rest,
        random_state=seed + 1)
    return X_tr, y_tr, X_val, y_val, X_te, y_te


def load_problem(name, quick, fashion_path):
    """(X_train, y_train, X_val, y_val, X_test, y_test) or None if absent."""
    from sk_ricci.datasets import load_digits_pair, make_problem

    if name in ("A", "B", "C"):
        n = (160, 80, 80) if quick else (800, 400, 400)
        X, y = make_problem(name, sum(n), random_state=0)
        return _split(X, y, *n, seed=0)
    if name.startswith("digits_"):
        a, b = (int(c) for c in name.split("_")[1:])
        X, y = load_digits_pair((a, b))
        X = X / 16.0
        m = len(y)
        n_val = n_test = m // 4
        return _split(X, y, m - 2 * n_val, n_val, n_test, seed=0)
    if name == "fashion_sandal_boot":
        path = Path(fashion_path)
        if not path.exists():
            print(f"note: {path} not found; problem {name} skipped "
                  "(pass --fashion-path)")
            return None
        with np.load(path) as d:
            X, y = d["X"].astype(np.float64) / 255.0, d["y"]
        y = (y == y.max()).astype(np.int64)
        # the file is a test split: make our own disjoint train/val/test
        n = (200, 100, 100) if quick else (1000, 400, 600)
        return _split(X, y, *n, seed=0)
    raise ValueError(f"unknown problem {name!r}; choose from {PROBLEMS}")


# -- pools -------------------------------------------------------------------


def pool_specs(quick):
    """Network specifications: dicts with pool, architecture, depth, epochs,
    noise, seed, trained."""
    specs = []
    if quick:
        epochs, depths, seeds, noise_epochs, arch_epochs = (1, 5), (5,), (0,), 5, 5
        noises, archs = (0.0, 0.4), ("narrow", "wide")
    else:
        epochs, depths, seeds, noise_epochs, arch_epochs = (
            (1, 2, 5, 10, 30), (5, 11), (0, 1), 100, 50)
        noises, archs = (0.0, 0.2, 0.4), ("narrow", "wide", "bottleneck")
    for d in depths:
        for e in epochs:
            specs.append({"pool": "under_training", "architecture": "wide",
                              "depth": d, "epochs": e, "noise": 0.0, "seed": 0, "trained": True})
    for noise in noises:
        for d in depths:
            for s in seeds:
                specs.append({"pool": "label_noise", "architecture": "wide", "depth": d,
                                  "epochs": noise_epochs, "noise": noise, "seed": s,
                                  "trained": True})
    for a in archs:
        for d in depths:
            for s in seeds:
                specs.append({"pool": "architecture", "architecture": a, "depth": d,
                                  "epochs": arch_epochs, "noise": 0.0, "seed": s,
                                  "trained": True})
    for a in archs:
        for d in depths:
            specs.append({"pool": "control", "architecture": a, "depth": d, "epochs": 0,
                              "noise": 0.0, "seed": 0, "trained": False})
    for i, spec in enumerate(specs):
        spec["id"] = i
    return specs


def _seed(spec, problem_index):
    return 10_000 * problem_index + 100 * spec["id"] + spec["seed"]


def _labels(spec, y_tr, seed):
    """The training labels of one network (``noise`` of them flipped)."""
    y_fit = y_tr.copy()
    if spec["noise"] > 0:
        rng = np.random.default_rng(seed)
        flip = rng.random(len(y_fit)) < spec["noise"]
        y_fit[flip] = 1 - y_fit[flip]
    return y_fit


def _classifier(spec, seed):
    from sk_ricci.nn import ReLUMLPClassifier

    return ReLUMLPClassifier(
        architecture=spec["architecture"], depth=spec["depth"],
        max_epochs=max(1, spec["epochs"]), validation_fraction=None,
        random_state=seed,
    )


def _record(clf, spec, seed, data):
    """Validation activations, probabilities and accuracies of a fitted
    network; an untrained control gets fresh initial weights first."""
    import torch

    from sk_ricci.nn import layer_activations

    _, _, X_val, y_val, X_te, y_te = data
    if not spec["trained"]:
        clf.module_.reset_parameters(torch.Generator().manual_seed(seed))
    layers = layer_activations(clf, X_val)
    return {
        "layers": [a.astype(np.float32) for a in layers],
        "proba": clf.predict_proba(X_val),
        "val_accuracy": float(clf.score(X_val, y_val)),
        "test_accuracy": float(clf.score(X_te, y_te)),
    }


def train_one(spec, data, problem_index):
    """Train one network alone with ``fit`` and return its record."""
    X_tr, y_tr = data[:2]
    seed = _seed(spec, problem_index)
    clf = _classifier(spec, seed).fit(X_tr, _labels(spec, y_tr, seed))
    return _record(clf, spec, seed, data)


def iter_train_many(specs, data, problem_index):
    """``(spec, record)`` for every spec, each record as :func:`train_one`
    gives it, yielded as each group of networks finishes.

    The networks that share their training labels (every network but the
    label-noise variants, each of which has its own flipped labels) train
    together with :func:`sk_ricci.nn.fit_many`, which batches those of one
    shape and number of epochs and gives each network exactly the weights a
    lone ``fit`` gives it.
    """
    from sk_ricci.nn import fit_many

    X_tr, y_tr = data[:2]
    groups = {}
    for spec in specs:
        seed = _seed(spec, problem_index)
        y_fit = _labels(spec, y_tr, seed)
        key = (y_fit.dtype.str, y_fit.tobytes())
        groups.setdefault(key, (y_fit, []))[1].append(
            (spec, seed, _classifier(spec, seed)))
    for y_fit, members in groups.values():
        fit_many([clf for _, _, clf in members], X_tr, y_fit)
        for spec, seed, clf in members:
            yield spec, _record(clf, spec, seed, data)


def train_many(specs, data, problem_index):
    """Records of ``specs``, in order, as :func:`train_one` gives them
    (trained together, see :func:`iter_train_many`)."""
    records = {spec["id"]: record for spec, record
               in iter_train_many(specs, data, problem_index)}
    return [records[spec["id"]] for spec in specs]


def cache_path(out, problem, spec):
    return out / "cache" / problem / f"net{spec['id']:03d}.npz"


def save_net(path, record, spec):
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"layer{i:02d}": a for i, a in enumerate(record["layers"])}
    np.savez_compressed(
        path, proba=record["proba"], val_accuracy=record["val_accuracy"],
        test_accuracy=record["test_accuracy"], spec=json.dumps(spec), **arrays)


def load_net(path):
    with np.load(path) as d:
        names = sorted(k for k in d.files if k.startswith("layer"))
        return {
            "layers": [d[k].astype(np.float64) for k in names],
            "proba": d["proba"], "val_accuracy": float(d["val_accuracy"]),
            "test_accuracy": float(d["test_accuracy"]),
            "spec": json.loads(str(d["spec"])),
        }


# -- statistics --------------------------------------------------------------


def _curvature_available(name):
    try:
        FlowOptions(curvature=name)
    except (ValueError, TypeError):
        return False
    return True


def statistic_table():
    """(name, family, spec) for every statistic. Flow statistics are
    ``RicciFlowScorer`` parameter dicts; the rest are named functions."""
    ks = list(KS)
    stats = []

    def flow(name, **params):
        # every option explicit: the statistic must not change with the
        # scorer's defaults (which this benchmark chooses)
        params = {"statistic": "rho", "connect": None, "curvature": "forman",
                  **params}
        stats.append((name, "flow", params))

    for conn, tag in ((None, ""), ("mst", "_mst")):
        for k in ks:
            flow(f"rho_k{k}{tag}", n_neighbors=k, connect=conn)
        flow(f"rho_kavg{tag}", n_neighbors=ks, connect=conn)
        for stat in ("adjusted_paper", "adjusted_fisher"):
            flow(f"{stat}_k30{tag}", n_neighbors=30, statistic=stat, connect=conn)
    flow("rho_k30_mst_input", n_neighbors=30, connect="mst", include_input=True)
    flow("rho_kavg_mst_input", n_neighbors=ks, connect="mst", include_input=True)
    if hasattr(sk_ricci, "local_ricci_flow"):
        curvatures = ["forman"] + [c for c in ("approx_ollivier",)
                                   if _curvature_available(c)]
        for curv in curvatures:
            ctag = "" if curv == "forman" else f"_{curv}"
            for stat in ("local_mean", "local_share_negative"):
                for k in ks:
                    flow(f"{stat}_k{k}_mst{ctag}", n_neighbors=k, statistic=stat,
                         connect="mst", curvature=curv)
                flow(f"{stat}_kavg_mst{ctag}", n_neighbors=ks, statistic=stat,
                     connect="mst", curvature=curv)
                if curv == "forman":
                    flow(f"{stat}_k30_mst_input", n_neighbors=30, statistic=stat,
                         connect="mst", curvature=curv, include_input=True)
    stats.append(("nuclear_norm", "baseline", "NuclearNormScorer()"))
    stats.append(("rankme_last", "baseline", "RankMeScorer()"))
    stats.append(("val_accuracy", "labelled", "accuracy on the validation split"))
    return stats


class _Memo:
    """Per-network memo of flow results by (statistic kind, k, options), so
    that statistics sharing a measurement (rho and its adjusted forms, single
    k and the mean over k) compute it once. Each single-k result is exactly
    what ``RicciFlowScorer(k, ...).measure_layers`` returns."""

    def __init__(self, hidden, X_val, plan=None):
        self.hidden, self.X_val, self.results = hidden, X_val, {}
        self.plan = plan or {}

    @staticmethod
    def _options(params):
        statistic = params.get("statistic", "rho")
        kind = "local" if statistic.startswith("local") else "global"
        return (kind, params.get("connect"), params.get("curvature", "forman"),
                params.get("include_input", False))

    @classmethod
    def make_plan(cls, stats):
        """The scales each option set needs, so each is measured in one call."""
        plan = {}
        for _, family, spec in stats:
            if family == "flow":
                ks = spec["n_neighbors"]
                ks = list(ks) if isinstance(ks, (list, tuple)) else [ks]
                plan.setdefault(cls._options(spec), set()).update(ks)
        return plan

    def value(self, params):
        params = dict(params)
        ks = params.pop("n_neighbors")
        ks = list(ks) if isinstance(ks, (list, tuple)) else [ks]
        statistic = params.get("statistic", "rho")
        values = []
        options = self._options(params)
        for k in ks:
            if (k,) + options not in self.results:
                # one call for every scale this option set needs: one
                # neighbour search per layer, the same graphs as single k
                scales = sorted(self.plan.get(options, set(KS)) | {k})
                scorer = RicciFlowScorer(scales, **params)
                layers = self.hidden
                if scorer.include_input:
                    layers = [self.X_val] + list(layers)
                for kk, res in zip(scales, scorer.measure_layers(layers)):
                    self.results[(kk,) + options] = res
            values.append(flow_statistic(self.results[(k,) + options], statistic))
        return float(np.mean(values))


def definition(family, spec):
    """Every parameter that changes the value, spelled out (independent of
    the scorer's defaults)."""
    if family != "flow":
        return spec
    params = RicciFlowScorer(**spec).get_params()
    shown = ", ".join(f"{k}={v!r}" for k, v in sorted(params.items())
                      if k not in ("n_jobs", "batch_size"))
    return f"RicciFlowScorer({shown})"


def compute_statistics(record, X_val, stats, known=None):
    """Every statistic of one network; ``known`` maps name -> (definition,
    value) from an earlier run, reused when the definition is unchanged."""
    memo = _Memo(record["layers"], X_val, _Memo.make_plan(stats))
    known = known or {}
    row = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, family, spec in stats:
            if name in known and known[name][0] == definition(family, spec):
                row[name] = known[name][1]
            elif family == "flow":
                row[name] = memo.value(spec)
            elif name == "nuclear_norm":
                row[name] = nuclear_norm_score(record["proba"])
            elif name == "rankme_last":
                row[name] = rankme(record["layers"][-1])
            elif name == "val_accuracy":
                row[name] = record["val_accuracy"]
    return row


# -- analysis ----------------------------------------------------------------


def _fill_nan(values):
    """NaN scores rank last (below every finite score)."""
    v = np.asarray(values, dtype=np.float64)
    if np.isnan(v).all():
        return v
    low = np.nanmin(v) - 1.0
    return np.where(np.isnan(v), low, v)


def _spearman_rows(S, A):
    """Spearman of each row pair of S and A (B x n), NaN where constant."""
    rs = rankdata(S, axis=1)
    ra = rankdata(A, axis=1)
    rs -= rs.mean(axis=1, keepdims=True)
    ra -= ra.mean(axis=1, keepdims=True)
    den = np.sqrt((rs ** 2).sum(axis=1) * (ra ** 2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rs * ra).sum(axis=1) / den, np.nan)


def analyse_cell(values, acc, n_boot, seed):
    v = _fill_nan(values)
    acc = np.asarray(acc, dtype=np.float64)
    n = len(acc)
    if np.isnan(v).all() or np.ptp(v) == 0 or np.ptp(acc) == 0:
        rho = np.nan
    else:
        rho = float(spearmanr(v, acc).statistic)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    boot = _spearman_rows(v[idx], acc[idx]) if not np.isnan(v).all() else np.full(
        n_boot, np.nan)
    lo, hi = (np.nanpercentile(boot, [2.5, 97.5]) if np.isfinite(boot).any()
              else (np.nan, np.nan))
    if np.isnan(v).all():
        picked = np.nan
    else:
        best = v == np.max(v)
        picked = float(acc[best].mean())  # ties: expected accuracy of a random pick
    return {"spearman": rho, "lo": float(lo), "hi": float(hi), "picked": picked,
                "best": float(acc.max()), "median": float(np.median(acc)),
                "n": n, "n_nan": int(np.isnan(np.asarray(values, float)).sum())}


def pool_members(pool, nets):
    if pool == "all":
        return list(range(len(nets)))
    if pool == "all_trained":
        return [i for i, s in enumerate(nets) if s["pool"] != "control"]
    return [i for i, s in enumerate(nets) if s["pool"] in (pool, "control")]


def analyse(per_problem, stats, n_boot):
    cells = []
    for problem, (specs, rows) in per_problem.items():
        acc_all = np.array([r["test_accuracy"] for r in rows])
        for pool in POOLS:
            members = pool_members(pool, specs)
            for j, (name, family, _) in enumerate(stats):
                vals = np.array([rows[i][name] for i in members])
                res = analyse_cell(vals, acc_all[members], n_boot, seed=12345)
                cells.append(dict(problem=problem, pool=pool, statistic=name,
                                  family=family, **res))
    return cells


def _fmt(x, digits=2):
    return "nan" if x is None or not np.isfinite(x) else f"{x:+.{digits}f}"


def summary_table(cells, stats):
    lines = [
        ("| statistic | family | median rho (designed pools) | min | max | "
        "under_training | label_noise | architecture | all | all_trained | "
        "median regret | NaN scores |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    summary = {}
    for name, family, _ in stats:
        mine = [c for c in cells if c["statistic"] == name]
        designed = np.array([c["spearman"] for c in mine if c["pool"] in DESIGNED_POOLS])
        per_pool = {p: np.array([c["spearman"] for c in mine if c["pool"] == p])
                    for p in POOLS}
        regret = np.array([c["best"] - c["picked"] for c in mine
                           if c["pool"] in DESIGNED_POOLS])
        finite = designed[np.isfinite(designed)]
        med = float(np.median(finite)) if finite.size else np.nan
        mn = float(finite.min()) if finite.size else np.nan
        mx = float(finite.max()) if finite.size else np.nan
        n_nan = sum(c["n_nan"] for c in mine if c["pool"] == "all")
        summary[name] = {"family": family, "median": med, "min": mn, "max": mx,
                             "n_undefined": int(designed.size - finite.size)}
        pool_meds = []
        for p in POOLS:
            f = per_pool[p][np.isfinite(per_pool[p])]
            pool_meds.append(_fmt(float(np.median(f)) if f.size else np.nan))
        reg = regret[np.isfinite(regret)]
        lines.append(
            f"| {name} | {family} | {_fmt(med)} | {_fmt(mn)} | {_fmt(mx)} | "
            + " | ".join(pool_meds)
            + f" | {float(np.median(reg)) if reg.size else np.nan:.3f} | {n_nan} |")
    return "\n".join(lines), summary


def cell_table(cells, statistics=None):
    lines = [("| problem | pool | statistic | Spearman [95% CI] | picked test acc | "
             "best | median | n | NaN |"), "|---|---|---|---|---|---|---|---|---|"]
    for c in cells:
        if statistics is not None and c["statistic"] not in statistics:
            continue
        lines.append(
            f"| {c['problem']} | {c['pool']} | {c['statistic']} | "
            f"{_fmt(c['spearman'])} [{_fmt(c['lo'])}, {_fmt(c['hi'])}] | "
            f"{c['picked']:.3f} | {c['best']:.3f} | {c['median']:.3f} | {c['n']} | "
            f"{c['n_nan']} |")
    return "\n".join(lines)


def leave_one_problem_out(cells):
    """The criterion's honesty check: for each problem, choose the flow
    statistic on the other problems only, then report its Spearman on the
    held-out problem's designed pools (no winner's curse)."""
    problems = list(dict.fromkeys(c["problem"] for c in cells))
    flows = list(dict.fromkeys(c["statistic"] for c in cells if c["family"] == "flow"))
    lines = [("| held-out problem | chosen on the others | median rho there (others) | "
             "median rho on the held-out problem | nuclear_norm there |"),
             "|---|---|---|---|---|"]
    if len(problems) < 2:
        return ""

    def med(stat, probs):
        v = np.array([c["spearman"] for c in cells if c["statistic"] == stat
                      and c["problem"] in probs and c["pool"] in DESIGNED_POOLS])
        v = v[np.isfinite(v)]
        return (float(np.median(v)), float(v.min())) if v.size else (np.nan, np.nan)

    for held in problems:
        others = [p for p in problems if p != held]
        scored = [(med(f, others), f) for f in flows]
        scored = [t for t in scored if np.isfinite(t[0][0])]
        (m, _), best = max(scored, key=lambda t: t[0])
        lines.append(f"| {held} | {best} | {_fmt(m)} | {_fmt(med(best, [held])[0])} | "
                     f"{_fmt(med('nuclear_norm', [held])[0])} |")
    return "\n".join(lines)


def choose_default(summary):
    flows = [(name, s) for name, s in summary.items()
             if s["family"] == "flow" and np.isfinite(s["median"])]
    flows.sort(key=lambda t: (t[1]["median"], t[1]["min"]), reverse=True)
    return flows[0] if flows else (None, None)


# -- main --------------------------------------------------------------------


def _commit():
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="tiny smoke run (problem A and digits 1/7, small pools)")
    p.add_argument("--recompute", action="store_true",
                   help="never train: recompute the statistics from the cache")
    p.add_argument("--fresh-statistics", action="store_true",
                   help="recompute every statistic (default: reuse the cached "
                        "value of a statistic whose definition is unchanged)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--fashion-path", type=Path, default=DEFAULT_FASHION)
    p.add_argument("--problems", nargs="+", default=None,
                   help=f"subset of {PROBLEMS}")
    p.add_argument("--n-boot", type=int, default=None,
                   help="bootstrap resamples (default 1000; 100 with --quick)")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--one-at-a-time", action="store_true",
                   help="train each network alone with fit (the reference; "
                        "default: networks sharing their labels train together "
                        "with fit_many, with identical results)")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    problems = args.problems or (("A", "digits_1_7") if args.quick else PROBLEMS)
    n_boot = args.n_boot or (100 if args.quick else 1000)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    stats = statistic_table()
    specs = pool_specs(args.quick)
    t0 = time.perf_counter()
    per_problem, n_trained, train_s, stat_s = {}, 0, 0.0, 0.0
    for pi, problem in enumerate(problems):
        data = load_problem(problem, args.quick, args.fashion_path)
        if data is None:
            continue
        X_val = np.asarray(data[2], dtype=np.float64)
        missing = [spec for spec in specs
                   if not cache_path(out, problem, spec).exists()]
        if missing and args.recompute:
            raise SystemExit(f"--recompute: {cache_path(out, problem, missing[0])} "
                             "missing; run without it")
        if missing:
            t = time.perf_counter()
            problem_index = PROBLEMS.index(problem)
            trained = (((spec, train_one(spec, data, problem_index))
                        for spec in missing) if args.one_at_a_time
                       else iter_train_many(missing, data, problem_index))
            for spec, record in trained:  # saved as each group finishes
                save_net(cache_path(out, problem, spec), record, spec)
            train_s += time.perf_counter() - t
            n_trained += len(missing)
        rows = []
        for spec in specs:
            path = cache_path(out, problem, spec)
            record = load_net(path)
            t = time.perf_counter()
            stats_path = path.with_suffix(".stats.json")
            known = (json.loads(stats_path.read_text())
                     if stats_path.exists() and not args.fresh_statistics else {})
            row = compute_statistics(record, X_val, stats, known)
            known.update({name: (definition(family, spec), row[name])
                          for name, family, spec in stats})
            stats_path.write_text(json.dumps(known))
            stat_s += time.perf_counter() - t
            row.update(test_accuracy=record["test_accuracy"], **{
                f"spec_{k}": v for k, v in record["spec"].items()})
            rows.append(row)
        per_problem[problem] = (specs, rows)
        print(f"[{time.perf_counter() - t0:7.1f} s] {problem}: {len(rows)} networks, "
              f"test accuracy {min(r['test_accuracy'] for r in rows):.3f}.."
              f"{max(r['test_accuracy'] for r in rows):.3f}", flush=True)
    cells = analyse(per_problem, stats, n_boot)
    summary_md, summary = summary_table(cells, stats)
    winner, wstats = choose_default(summary)
    wall = time.perf_counter() - t0
    command = "python " + " ".join([Path(sys.argv[0]).as_posix()] + sys.argv[1:])
    header = [
        "# Selection benchmark",
        "",
        f"- command: `{command}`",
        (f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit "
        f"{_commit()}, Python {platform.python_version()}, sk_ricci {sk_ricci.__version__}"),
        (f"- problems: {', '.join(per_problem)}; networks per problem: {len(specs)} "
        f"(trained this run: {n_trained}); bootstrap resamples: {n_boot}"),
        (f"- wall time {wall:.0f} s (training {train_s:.0f} s, statistics "
        f"{stat_s:.0f} s)"),
        f"- default criterion: {CRITERION}",
        f"- chosen by the criterion: {winner} (median {_fmt(wstats['median'])}, "
        f"min {_fmt(wstats['min'])})" if winner else "- no flow statistic defined",
        "",
        ("Spearman of each statistic with test accuracy: median over the "
        "problem x designed-pool cells, their min and max, then the median over "
        "problems per pool; median regret = median over the designed cells of "
        "(best test accuracy in the pool - test accuracy of the network the "
        "statistic picks); NaN scores = networks (pool `all`, all problems) "
        "whose score is NaN (ranked last)."),
        "",
    ]
    legend = ["", "## Statistics", "", "| name | family | definition |", "|---|---|---|"]
    for name, family, spec in stats:
        if family == "flow":
            d = repr(RicciFlowScorer(**spec))
        else:
            d = spec
        legend.append(f"| {name} | {family} | `{d}` |" if family != "labelled"
                      else f"| {name} | {family} | {d} |")
    acc_lines = ["", "## Test accuracy of each pool", "",
                 "| problem | pool | n | min | median | max |", "|---|---|---|---|---|---|"]
    for problem, (sp, rows) in per_problem.items():
        acc = np.array([r["test_accuracy"] for r in rows])
        for pool in POOLS:
            a = acc[pool_members(pool, sp)]
            acc_lines.append(f"| {problem} | {pool} | {a.size} | {a.min():.3f} | "
                             f"{np.median(a):.3f} | {a.max():.3f} |")
    lopo = leave_one_problem_out(cells)
    lopo_md = ("\n\n## Leave one problem out (the criterion without winner's curse)"
               "\n\n" + lopo + "\n") if lopo else ""
    text = "\n".join(header) + summary_md + "\n" + lopo_md + "\n".join(legend) + \
        "\n" + "\n".join(acc_lines) + "\n\n## Every cell\n\n" + cell_table(cells) + "\n"
    (out / "selection_table.md").write_text(text)
    import csv

    all_rows = [dict(problem=pr, **r) for pr, (_, rows) in per_problem.items()
                for r in rows]
    with open(out / "networks.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(all_rows[0]))
        w.writeheader()
        w.writerows(all_rows)
    with open(out / "cells.json", "w") as f:
        json.dump(cells, f)
    print("\n".join(header) + summary_md + lopo_md)
    print(f"\nfull table: {out / 'selection_table.md'}")
    return cells, summary


if __name__ == "__main__":
    main()
