"""Does flow strength select models? An honest, label-free selection benchmark.

On each problem, pools of ReLU networks whose test accuracy differs *by
design* are trained, in two model families:

- ``relu_mlp``: :class:`sk_ricci.nn.ReLUMLPClassifier` (RMSprop, lr 1e-3,
  batch 32), trained with :func:`sk_ricci.nn.fit_many`;
- ``sk_mlp``: plain scikit-learn ``MLPClassifier(activation="relu")`` (Adam,
  lr 1e-3, its default batch size).

Pool designs (each holds about 8 networks of one family; see
:func:`pool_specs` for every network):

- ``under_training``: two architectures stopped after 1, 3, 10 or 30 epochs;
- ``label_noise``: two architectures trained on 0%, 10%, 25% or 40% flipped
  training labels;
- ``architecture``: eight architectures from one to eleven hidden layers;
- ``training_size``: two architectures trained on 10%, 25%, 50% or 100% of
  the training split;
- ``regularisation``: two architectures under L2 penalties from none to
  strong (weight decay / ``alpha``);
- ``well_trained``: the architecture grid x two seeds, keeping only the
  networks whose validation accuracy is within 0.05 of the best of them
  (the paper's regime);
- untrained controls (freshly initialised), reported separately: mixed into
  the first three designs as in earlier versions of this benchmark.

Each network is scored LABEL-FREE on a clean validation split (disjoint from
its training and test data): every flow statistic is a ``RicciFlowScorer``
configuration applied to the cached validation activations (the input, the
hidden layers and the network's output; a test checks the equality),
next to ``NuclearNormScorer``, ``RankMeScorer`` and validation accuracy (the
labelled reference). Test accuracy is measured on a separate test split. For
each statistic and pool: the Spearman correlation with test accuracy, a
bootstrap 95% interval and the test accuracy of the network the statistic
picks (its maximum; ties averaged; NaN scores rank last, as scikit-learn's
searches rank them).

The flow statistics form a factorial (statistic x curvature x input layer x
output layer x scale, ``connect="mst"``); the rule that chooses among them
(``CRITERION``) and the two stages the run is split into (``STAGES``) are
written down in ``docs/selection.md`` before the run.

Every network's validation layers, output, probabilities and accuracies are
cached under ``--out`` (default ``benchmarks/_out/selection``), so statistics
can be recomputed without retraining (``--recompute``); each statistic's
value and cost are cached next to them with its definition (the scorer's
parameters) and reused while the definition is unchanged
(``--fresh-statistics`` recomputes all). An interrupted run resumes where it
stopped.

    python benchmarks/bench_selection.py                      # the staged run
    python benchmarks/bench_selection.py --full-factorial     # every statistic everywhere
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
from sk_ricci._scorer import STATISTICS, flow_statistic

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "_out" / "selection"
SHARED = ROOT / ".." / "shared" / "data"
DEFAULT_FASHION = SHARED / "fashion-mnist" / "sandal_vs_ankle_boot_test.npz"
DEFAULT_MNIST = SHARED / "mnist" / "mnist_1_7_6_8_subset.npz"
PROBLEMS = ("A", "B", "C", "digits_1_7", "digits_6_8", "fashion_sandal_boot",
            "mnist_1_7", "mnist_6_8", "tabular_wide")
FAMILIES = ("relu_mlp", "sk_mlp")
DESIGNED_POOLS = ("under_training", "label_noise", "architecture",
                  "training_size", "regularisation", "well_trained")
#: the designs that earlier versions of this benchmark mixed the controls into
WITH_CONTROLS = ("under_training", "label_noise", "architecture")
#: a network is well trained when its validation accuracy is within this
#: margin of the best validation accuracy of the well_trained grid
WELL_TRAINED_MARGIN = 0.05

# -- the factorial of flow statistics ----------------------------------------

#: the flow statistics of the factorial: every one read from a flow result
#: through sk_ricci._scorer.STATISTICS (what RicciFlowScorer returns), plus
#: one pre-registered new statistic computed here (see NEW_STATISTICS)
FACTORIAL_STATISTICS = ("rho", "local_mean", "local_share_negative",
                        "local_layer_mean")
CURVATURES = ("forman", "augmented_forman", "approx_ollivier")
CURVATURE_TAGS = {"forman": "forman", "augmented_forman": "aforman",
                  "approx_ollivier": "aollivier", "ollivier": "ollivier"}
#: scales: k = 10, 30, 50, shares 0.05, 0.1, 0.2, 0.3 of the scored points,
#: and the mean of the statistic over k = 10, 30, 50
SCALES = {"k10": 10, "k30": 30, "k50": 50, "s05": 0.05, "s10": 0.1,
          "s20": 0.2, "s30": 0.3, "kavg": [10, 30, 50]}
QUICK_SCALES = ("k10", "s10")
#: pre-registered new flow statistics (at most two), defined before the run:
#: - local_layer_mean: the negated mean over the layer transitions of
#:   LocalRicciFlowResult.layer_coefficients (each the correlation over the
#:   points of scalar curvature and expansion at one transition); defined for
#:   3 layers, where every per-point local coefficient is +-1. Run in the same
#:   factorial as the others (it reads the same local results).
#: - class_local_mean: curvature on class-conditional graphs built from the
#:   network's *predicted* labels (label-free; TorRicc, arXiv:2602.03951):
#:   local_mean (approx_ollivier, connect="mst", scale share 0.1, hidden
#:   layers only) on the validation points of each predicted class with at
#:   least 10 points, averaged with weights by class size.
NEW_STATISTICS = ("local_layer_mean", "class_local_mean")
#: RicciFlowScorer()'s default before this benchmark (kept as a fixed
#: reference in every stage) and the paper's statistic with the MST
REFERENCE_STATISTICS = ("local_mean_aollivier_k50", "rho_forman_k30")
#: two pre-registered combinations (mean rank within the pool)
COMBINATIONS = {
    "combo_default_nuclear": ("local_mean_aollivier_k50", "nuclear_norm"),
    "combo_winner_nuclear": ("<winner>", "nuclear_norm"),
}

# The criterion that chooses RicciFlowScorer's defaults, fixed before the
# results were seen: among flow statistics only, the highest median Spearman
# over the designed cells; ties broken by the higher minimum.
CRITERION = ("highest median Spearman with test accuracy over the designed "
             "cells (problem x model family x {under_training, label_noise, "
             "architecture, training_size, regularisation, well_trained}, "
             "no untrained controls), among flow statistics; ties broken by "
             "the higher minimum over the same cells")
# The two stages, fixed before the run (docs/selection.md, "Stages").
STAGES = {
    "stage1_problems": ("A", "digits_6_8", "fashion_sandal_boot", "mnist_1_7",
                        "tabular_wide"),
    "stage2_problems": ("B", "C", "digits_1_7", "mnist_6_8"),
    "stage2_top": 12,
    "rule": ("stage 1 computes every flow statistic of the factorial on every "
             "network of the stage-1 problems (both families); the "
             "stage2_top flow statistics ranked best by CRITERION over the "
             "stage-1 designed cells, plus REFERENCE_STATISTICS and the new "
             "statistics' best configuration, go on to stage 2, which "
             "computes them (and the baselines) on every network of the "
             "stage-2 problems; the default is then chosen by CRITERION over "
             "every designed cell of both stages among the stage-2 "
             "statistics"),
}


def _scale_tag(tag):
    return tag


def flow_name(statistic, curvature, scale, include_input, include_output):
    return (f"{statistic}_{CURVATURE_TAGS[curvature]}_{scale}"
            + ("_in" if include_input else "") + ("_out" if include_output else ""))


def statistic_table(quick=False):
    """(name, family, spec) for every statistic. Flow statistics are
    ``RicciFlowScorer`` parameter dicts (every option explicit, so a
    statistic does not change with the scorer's defaults, which this
    benchmark chooses); the rest are named functions."""
    for name in FACTORIAL_STATISTICS:
        if name not in STATISTICS and name not in NEW_STATISTICS:
            raise RuntimeError(f"statistic {name!r} is not in sk_ricci._scorer."
                               "STATISTICS")
    scales = QUICK_SCALES if quick else tuple(SCALES)
    stats = []
    for statistic in FACTORIAL_STATISTICS:
        for curvature in CURVATURES:
            for inp in (False, True):
                for out in (False, True):
                    for tag in scales:
                        stats.append((
                            flow_name(statistic, curvature, tag, inp, out), "flow",
                            {"n_neighbors": SCALES[tag], "statistic": statistic,
                             "connect": "mst", "curvature": curvature,
                             "include_input": inp, "include_output": out}))
    names = {n for n, _, _ in stats}
    for ref in REFERENCE_STATISTICS:
        if ref not in names:  # quick mode: the references are always run
            statistic, ctag, tag = ref.rsplit("_", 2)
            curvature = {v: k for k, v in CURVATURE_TAGS.items()}[ctag]
            stats.append((ref, "flow", {
                "n_neighbors": SCALES[tag], "statistic": statistic,
                "connect": "mst", "curvature": curvature, "include_input": False,
                "include_output": False}))
    stats.append(("class_local_mean", "flow", {
        "n_neighbors": 0.1, "statistic": "local_mean", "connect": "mst",
        "curvature": "approx_ollivier", "include_input": False,
        "include_output": False, "by_predicted_class": True}))
    stats.append(("nuclear_norm", "baseline", "NuclearNormScorer()"))
    stats.append(("rankme_last", "baseline", "RankMeScorer()"))
    stats.append(("val_accuracy", "labelled", "accuracy on the validation split"))
    return stats


def scorer_params(spec):
    """The ``RicciFlowScorer`` parameters of a flow statistic's spec (the
    class-conditional statistic is computed from the scorer's results)."""
    return {k: v for k, v in spec.items() if k != "by_predicted_class"}


def definition(family, spec):
    """Every parameter that changes the value, spelled out (independent of
    the scorer's defaults)."""
    if family != "flow":
        return spec
    params = RicciFlowScorer(**scorer_params(spec)).get_params()
    params["statistic"] = spec["statistic"]
    if spec.get("by_predicted_class"):
        params["by_predicted_class"] = True
    shown = ", ".join(f"{k}={v!r}" for k, v in sorted(params.items())
                      if k not in ("n_jobs", "batch_size"))
    return f"RicciFlowScorer({shown})"


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


def _tabular(quick):
    """A wide tabular problem: 100 features, 10 informative, 20 redundant
    (linear combinations of them), 70 noise; 3% of the labels flipped;
    standardised with the training split's mean and deviation."""
    from sklearn.datasets import make_classification

    n = (160, 80, 80) if quick else (800, 400, 400)
    X, y = make_classification(
        n_samples=sum(n), n_features=100, n_informative=10, n_redundant=20,
        n_repeated=0, n_classes=2, n_clusters_per_class=2, flip_y=0.03,
        class_sep=1.0, random_state=0)
    X_tr, y_tr, X_val, y_val, X_te, y_te = _split(X, y, *n, seed=0)
    mu, sd = X_tr.mean(axis=0), X_tr.std(axis=0)
    return ((X_tr - mu) / sd, y_tr, (X_val - mu) / sd, y_val, (X_te - mu) / sd, y_te)


def load_problem(name, quick, fashion_path, mnist_path=DEFAULT_MNIST):
    """(X_train, y_train, X_val, y_val, X_test, y_test) or None if absent.

    The library's problems are resolved through its registry
    (``sk_ricci.datasets``: source, class pair, loader); the image files are
    the benchmark's own single-split files; ``tabular_wide`` is the
    benchmark's own problem."""
    from sk_ricci.datasets import find_problem, problem_loader

    if name == "tabular_wide":
        return _tabular(quick)
    problem = find_problem(name)
    source = None if problem is None else problem.source
    if source == "synthetic":
        n = (160, 80, 80) if quick else (800, 400, 400)
        X, y = problem_loader(problem)(sum(n), random_state=0)
        return _split(X, y, *n, seed=0)
    if source == "digits":
        X, y = problem_loader(problem)(problem.pair)
        X = X / 16.0
        m = len(y)
        n_val = n_test = m // 4
        return _split(X, y, m - 2 * n_val, n_val, n_test, seed=0)
    if problem is not None and problem.name == "fashion_sandal_boot":
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
    if source == "mnist":
        path = Path(mnist_path)
        if not path.exists():
            print(f"note: {path} not found; problem {name} skipped "
                  "(pass --mnist-path)")
            return None
        a, b = problem.pair
        with np.load(path) as d:
            keep = np.isin(d["y"], (a, b))
            X, y = d["X"][keep].astype(np.float64) / 255.0, d["y"][keep]
        y = (y == b).astype(np.int64)
        # 1,000 images per pair: 500 train / 250 validation / 250 test
        n = (200, 100, 100) if quick else (500, 250, 250)
        return _split(X, y, *n, seed=0)
    raise ValueError(f"unknown problem {name!r}; choose from {PROBLEMS}")


# -- pools -------------------------------------------------------------------

#: the architecture grids: name -> hidden widths
RELU_ARCHS = {"w1": (50,), "w2": (50, 50), "n5": (25,) * 5, "w5": (50,) * 5,
              "b5": (50, 50, 25, 50, 50), "n11": (25,) * 11, "w11": (50,) * 11,
              "b11": (50,) * 5 + (25,) + (50,) * 5}
SK_ARCHS = {"h16": (16,), "h64": (64,), "h16x2": (16, 16), "h64x2": (64, 64),
            "h64x3": (64, 64, 64), "h25x5": (25,) * 5, "h50x5": (50,) * 5,
            "h50x11": (50,) * 11}
#: per family: the epochs of a fully trained network, the two architectures
#: of each two-architecture design, the L2 strengths and the controls
FAMILY_DESIGN = {
    "relu_mlp": {
        "archs": RELU_ARCHS, "epochs": 50, "noise_epochs": 100,
        "two": {"under_training": ("w5", "w11"), "label_noise": ("w5", "w11"),
                "training_size": ("w2", "w5"), "regularisation": ("w2", "w5")},
        "l2": (0.0, 1e-2, 1e-1, 1.0),  # RMSprop weight_decay
        "controls": ("w2", "w5", "n11", "b5"),
    },
    "sk_mlp": {
        "archs": SK_ARCHS, "epochs": 200, "noise_epochs": 300,
        "two": {"under_training": ("h64x2", "h50x5"),
                "label_noise": ("h64x2", "h50x5"),
                "training_size": ("h16", "h64x3"),
                "regularisation": ("h16", "h64x3")},
        "l2": (1e-5, 1e-2, 1.0, 30.0),  # MLPClassifier alpha
        "controls": ("h64", "h64x2", "h50x5", "h50x11"),
    },
}
UNDER_EPOCHS = (1, 3, 10, 30)
NOISES = (0.0, 0.1, 0.25, 0.4)
FRACTIONS = (0.1, 0.25, 0.5, 1.0)
WELL_SEEDS = (0, 1)


def pool_specs(family, quick=False):
    """Network specifications of one family: dicts with pools (the designs
    the network belongs to), arch, hidden, epochs, noise, fraction, l2,
    seed, trained, id."""
    design = FAMILY_DESIGN[family]
    archs, two = design["archs"], design["two"]
    full, l2s = design["epochs"], design["l2"]
    under, noises, fracs, seeds = UNDER_EPOCHS, NOISES, FRACTIONS, WELL_SEEDS
    grid = list(archs)
    controls = design["controls"]
    noise_epochs = design["noise_epochs"]
    if quick:
        full, noise_epochs = 5, 5
        under, noises, fracs, seeds = (1, 2, 5), (0.0, 0.2, 0.4), (0.25, 0.5, 1.0), (0,)
        grid = grid[:1] + grid[3:5]
        l2s = l2s[:1] + l2s[2:]
        two = {k: v[:1] for k, v in two.items()}
        controls = controls[:1]
    specs = []

    def add(pools, arch, epochs=full, noise=0.0, fraction=1.0, l2=None, seed=0,
            trained=True):
        l2 = l2s[0] if l2 is None else l2
        specs.append({"family": family, "pools": list(pools), "arch": arch,
                      "hidden": list(archs[arch]), "epochs": epochs, "noise": noise,
                      "fraction": fraction, "l2": l2, "seed": seed,
                      "trained": trained})

    for a in two["under_training"]:
        for e in under:
            add(["under_training"], a, epochs=e)
    for a in two["label_noise"]:
        for noise in noises:
            add(["label_noise"], a, epochs=noise_epochs, noise=noise)
    for s in seeds:
        for a in grid:
            add((["architecture"] if s == 0 else []) + ["well_trained"], a, seed=s)
    for a in two["training_size"]:
        for f in fracs:
            add(["training_size"], a, fraction=f)
    for a in two["regularisation"]:
        for l2 in l2s:
            add(["regularisation"], a, l2=l2)
    for a in controls:
        add(["control"], a, epochs=0, trained=False)
    for i, spec in enumerate(specs):
        spec["id"] = i
    return specs


def _seed(spec, problem_index):
    return (10_000 * problem_index + 100 * spec["id"] + spec["seed"]
            + (500_000 if spec["family"] == "sk_mlp" else 0))


def _training_set(spec, X_tr, y_tr, seed):
    """The training inputs and labels of one network: a stratified share
    ``fraction`` of the training split (seed 0, the same subset for every
    network of that size), ``noise`` of its labels flipped."""
    from sklearn.model_selection import train_test_split

    if spec["fraction"] < 1.0:
        X_tr, _, y_tr, _ = train_test_split(
            X_tr, y_tr, train_size=spec["fraction"], stratify=y_tr, random_state=0)
    y_fit = y_tr.copy()
    if spec["noise"] > 0:
        rng = np.random.default_rng(seed)
        flip = rng.random(len(y_fit)) < spec["noise"]
        y_fit[flip] = 1 - y_fit[flip]
    return X_tr, y_fit


def _classifier(spec, seed):
    if spec["family"] == "relu_mlp":
        from sk_ricci.nn import ReLUMLPClassifier

        kwargs = {"optimizer__weight_decay": spec["l2"]} if spec["l2"] else {}
        return ReLUMLPClassifier(
            hidden_layer_sizes=tuple(spec["hidden"]),
            max_epochs=max(1, spec["epochs"]), validation_fraction=None,
            random_state=seed, **kwargs)
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=tuple(spec["hidden"]), activation="relu",
        alpha=spec["l2"], max_iter=max(1, spec["epochs"]), random_state=seed)


def _reinitialise(clf, seed):
    """Fresh initial weights (an untrained control): ``reset_parameters``
    for the torch module; for scikit-learn's MLP the Glorot-uniform draw its
    ``_init_coef`` makes for ReLU networks (bound sqrt(6 / (fan_in +
    fan_out)), weights and biases)."""
    if hasattr(clf, "module_"):
        import torch

        clf.module_.reset_parameters(torch.Generator().manual_seed(seed))
        return
    rng = np.random.default_rng(seed)
    for i, W in enumerate(clf.coefs_):
        bound = np.sqrt(6.0 / (W.shape[0] + W.shape[1]))
        clf.coefs_[i] = rng.uniform(-bound, bound, W.shape)
        clf.intercepts_[i] = rng.uniform(-bound, bound, W.shape[1])


def _network_output(clf, X):
    from sk_ricci._scorer import network_output

    return network_output(clf, X)


def _record(clf, spec, seed, data):
    """Validation layers, output, probabilities and accuracies of a fitted
    network; an untrained control gets fresh initial weights first."""
    from sk_ricci.nn import layer_activations

    _, _, X_val, y_val, X_te, y_te = data
    if not spec["trained"]:
        _reinitialise(clf, seed)
    layers = layer_activations(clf, X_val)
    return {
        "layers": [np.asarray(a).astype(np.float32) for a in layers],
        "output": np.asarray(_network_output(clf, X_val), dtype=np.float64),
        "proba": clf.predict_proba(X_val),
        "val_accuracy": float(clf.score(X_val, y_val)),
        "test_accuracy": float(clf.score(X_te, y_te)),
    }


def _quiet_fit(clf, X, y):
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y)


def train_one(spec, data, problem_index):
    """Train one network alone with ``fit`` and return its record."""
    seed = _seed(spec, problem_index)
    X_fit, y_fit = _training_set(spec, data[0], data[1], seed)
    clf = _quiet_fit(_classifier(spec, seed), X_fit, y_fit)
    return _record(clf, spec, seed, data)


def iter_train_many(specs, data, problem_index):
    """``(spec, record)`` for every spec, each record as :func:`train_one`
    gives it, yielded as each group of networks finishes.

    The ``relu_mlp`` networks that share their training set (inputs and
    labels) train together with :func:`sk_ricci.nn.fit_many`, which batches
    those of one shape and number of epochs and gives each network exactly
    the weights a lone ``fit`` gives it (networks with a weight decay are
    fitted one by one inside it). ``sk_mlp`` networks are fitted one by one.
    """
    from sk_ricci.nn import fit_many

    groups = {}
    for spec in specs:
        seed = _seed(spec, problem_index)
        if spec["family"] != "relu_mlp":
            yield spec, train_one(spec, data, problem_index)
            continue
        X_fit, y_fit = _training_set(spec, data[0], data[1], seed)
        key = (X_fit.shape, X_fit.tobytes(), y_fit.dtype.str, y_fit.tobytes())
        groups.setdefault(key, (X_fit, y_fit, []))[2].append(
            (spec, seed, _classifier(spec, seed)))
    for X_fit, y_fit, members in groups.values():
        fit_many([clf for _, _, clf in members], X_fit, y_fit)
        for spec, seed, clf in members:
            yield spec, _record(clf, spec, seed, data)


def train_many(specs, data, problem_index):
    """Records of ``specs``, in order, as :func:`train_one` gives them
    (trained together, see :func:`iter_train_many`)."""
    records = {spec["id"]: record for spec, record
               in iter_train_many(specs, data, problem_index)}
    return [records[spec["id"]] for spec in specs]


def cache_path(out, problem, spec):
    return out / "cache" / problem / spec["family"] / f"net{spec['id']:03d}.npz"


def save_net(path, record, spec):
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"layer{i:02d}": a for i, a in enumerate(record["layers"])}
    np.savez_compressed(
        path, proba=record["proba"], output=record["output"],
        val_accuracy=record["val_accuracy"], test_accuracy=record["test_accuracy"],
        spec=json.dumps(spec), **arrays)


def load_net(path):
    with np.load(path) as d:
        names = sorted(k for k in d.files if k.startswith("layer"))
        return {
            "layers": [d[k].astype(np.float64) for k in names],
            "output": d["output"].astype(np.float64),
            "proba": d["proba"], "val_accuracy": float(d["val_accuracy"]),
            "test_accuracy": float(d["test_accuracy"]),
            "spec": json.loads(str(d["spec"])),
        }


# -- statistics --------------------------------------------------------------


class _Memo:
    """Per-network memo of the per-layer measurements behind every flow
    statistic, so that statistics sharing one compute it once.

    The layers are ``[X, hidden_1, ..., hidden_L, output]``; a statistic
    reads the hidden layers, with the input prepended (``include_input``)
    and the output appended (``include_output``). Each layer's graphs (one
    neighbour search for every scale), geodesic masses and edge curvatures,
    and each pair of successive layers' expansions, are computed once, by
    the library's own kernels, and assembled into exactly the
    ``RicciFlowResult`` / ``LocalRicciFlowResult`` that
    ``RicciFlowScorer(...).measure_layers`` returns for those layers (a test
    checks every statistic against the scorer). ``costs`` records each
    measurement's seconds, so a statistic's cost is the sum of what it reads.
    """

    def __init__(self, hidden, X_val, output, plan=None):
        self.layers = [np.asarray(X_val, dtype=np.float64)] + [
            np.asarray(h, dtype=np.float64) for h in hidden] + [
            np.asarray(output, dtype=np.float64)]
        self.n = self.layers[0].shape[0]
        self.plan = plan or {}  # layer-independent: the ks every layer needs
        self._graphs, self._mass, self._curv, self._exp = {}, {}, {}, {}
        self.costs = {}

    def _timed(self, key, fn):
        t = time.perf_counter()
        value = fn()
        self.costs[key] = time.perf_counter() - t
        return value

    def graph(self, li, k):
        if (li, k) not in self._graphs:
            from sk_ricci._graph import layer_graphs
            from sk_ricci._options import FlowOptions

            ks = sorted(set(self.plan.get("ks", ())) | {k})
            ks = [kk for kk in ks if kk < self.n]
            options = FlowOptions(connect="mst", random_state=0)
            graphs = self._timed(("graph", li), lambda: layer_graphs(
                self.layers[li], ks, options))
            for kk, g in zip(ks, graphs):
                self._graphs[(li, kk)] = g
        return self._graphs[(li, k)]

    def _csr(self, li, k):
        from sk_ricci._graph import csr_graph

        return csr_graph(self.graph(li, k))

    def mass(self, li, k):
        if (li, k) not in self._mass:
            from sk_ricci._geodesics import geodesic_mass_csr

            indptr, cols, _ = self.graph(li, k)
            self._mass[(li, k)] = self._timed(
                ("mass", li, k), lambda: geodesic_mass_csr(indptr, cols, None))
        return self._mass[(li, k)]

    def curvature(self, li, k, kind):
        """(total curvature Ric_l, scalar curvature s_l(x)) of one layer, as
        ``_layer_measures`` and ``local_ricci_flow`` compute them."""
        if (li, k, kind) not in self._curv:
            from sk_ricci._curvature import edge_curvature, total_edge_curvature
            from sk_ricci._kernels.local import row_means

            G = self._csr(li, k)
            graph = self.graph(li, k)
            indptr, _, data = graph

            def compute():
                R = edge_curvature(G, kind)
                scalar = row_means(indptr, data, R)
                if kind == "forman":
                    total = total_edge_curvature(graph, kind)
                elif kind == "augmented_forman":
                    # the library's Forman total + 1.5 x sum of multiplicity x
                    # triangles, its triangles read off R = R_forman + 3 T
                    # (integer sums: exact, the same number)
                    triangles3 = R - edge_curvature(G, "forman")
                    total = total_edge_curvature(graph, "forman") + 0.5 * float(
                        np.dot(data, triangles3))
                else:  # total_edge_curvature's own formula, R computed once
                    total = float(0.5 * np.dot(data, R))
                return total, scalar

            self._curv[(li, k, kind)] = self._timed(("curv", li, k, kind), compute)
        return self._curv[(li, k, kind)]

    def expansion(self, li, k):
        """eta_l(x) from layer li to layer li + 1."""
        if (li, k) not in self._exp:
            from sk_ricci._local import _expansion

            a, b = self.graph(li, k), self.graph(li + 1, k)
            self._exp[(li, k)] = self._timed(("exp", li, k),
                                             lambda: _expansion(a, b, False))
        return self._exp[(li, k)]

    def span(self, include_input, include_output):
        start = 0 if include_input else 1
        stop = len(self.layers) if include_output else len(self.layers) - 1
        return list(range(start, stop))

    def result(self, kind, k, curvature, span):
        """The flow result at one integer scale on the layers ``span``."""
        from sk_ricci._flow import RicciFlowResult, _coefficients
        from sk_ricci._local import _local_result
        from sk_ricci._options import FlowOptions

        options = FlowOptions(connect="mst", curvature=curvature, random_state=0)
        if kind == "global":
            ric = np.array([self.curvature(li, k, curvature)[0] for li in span])
            masses = [self.mass(li, k) for li in span]
            mass = np.array([m.total for m in masses])
            ncomp = np.array([m.n_components for m in masses], dtype=np.int64)
            eta, rho, paper, fisher = _coefficients(ric, mass, k, "nan", ncomp)
            return RicciFlowResult(
                n_neighbors=k, total_curvature=ric, geodesic_mass=mass, eta=eta,
                coefficient=rho, adjusted_paper=paper, adjusted_fisher=fisher,
                connected=ncomp == 1, n_components=ncomp, symmetrize="max",
                connect="mst", layer_names=None)
        S = np.array([self.curvature(li, k, curvature)[1] for li in span[:-1]])
        E = np.array([self.expansion(li, k) for li in span[:-1]])
        return _local_result(k, S, E, options)

    def needs(self, spec):
        """The measurements a flow statistic reads (for its cost)."""
        span = self.span(spec["include_input"], spec["include_output"])
        keys = set()
        for k in _ks(spec["n_neighbors"], self.n):
            if spec["statistic"] == "rho":
                keys |= {("mass", li, k) for li in span}
                keys |= {("curv", li, k, spec["curvature"]) for li in span}
            else:
                keys |= {("curv", li, k, spec["curvature"]) for li in span[:-1]}
                keys |= {("exp", li, k) for li in span[:-1]}
            keys |= {("graph", li) for li in span}
        return keys

    def value(self, spec):
        """The statistic's value: what ``RicciFlowScorer(**spec)`` returns on
        the layers ``span`` (NaN below the statistic's ``min_layers`` in
        ``STATISTICS``, as the scorer gives)."""
        statistic = spec["statistic"]
        span = self.span(spec["include_input"], spec["include_output"])
        kind, min_layers = STATISTICS[statistic].flow, STATISTICS[statistic].min_layers
        if len(span) < min_layers:
            return np.nan
        values = []
        for k in _ks(spec["n_neighbors"], self.n):
            res = self.result(kind, k, spec["curvature"], span)
            values.append(flow_statistic(res, statistic))
        return float(np.mean(values))

    def cost(self, spec):
        return float(sum(self.costs.get(key, 0.0) for key in self.needs(spec)))


def _ks(n_neighbors, n):
    """The integer scales of ``n_neighbors`` for ``n`` scored points, as
    ``RicciFlowScorer`` resolves them."""
    ks = n_neighbors if isinstance(n_neighbors, (list, tuple)) else [n_neighbors]
    return RicciFlowScorer(list(ks))._scales(n)


def class_local_mean(hidden, proba, spec):
    """The pre-registered class-conditional statistic (see NEW_STATISTICS):
    ``RicciFlowScorer(**params).score_layers`` on the points of each
    predicted class with at least 10 points, averaged weighted by size."""
    params = scorer_params(spec)
    pred = np.argmax(np.asarray(proba), axis=1)
    values, weights = [], []
    for c in np.unique(pred):
        rows = pred == c
        if rows.sum() < 10:
            continue
        layers = [np.asarray(h)[rows] for h in hidden]
        if len(layers) < 3:
            return np.nan
        values.append(RicciFlowScorer(**params).score_layers(layers))
        weights.append(rows.sum())
    values, weights = np.array(values, dtype=float), np.array(weights, dtype=float)
    ok = np.isfinite(values)
    if not ok.any():
        return np.nan
    return float(np.average(values[ok], weights=weights[ok]))


def make_plan(stats, n):
    ks = set()
    for _, family, spec in stats:
        if family == "flow" and not spec.get("by_predicted_class"):
            ks.update(_ks(spec["n_neighbors"], n))
    return {"ks": sorted(ks)}


def compute_statistics(record, X_val, stats, known=None):
    """Every statistic of one network: ``{name: (value, cost in s)}``;
    ``known`` maps name -> (definition, value, cost) from an earlier run,
    reused when the definition is unchanged."""
    n = np.asarray(X_val).shape[0]
    known = known or {}
    todo = [s for s in stats
            if not (s[0] in known and known[s[0]][0] == definition(s[1], s[2]))]
    memo = _Memo(record["layers"], X_val, record["output"], make_plan(todo, n))
    row = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, family, spec in stats:
            if name in known and known[name][0] == definition(family, spec):
                row[name] = tuple(known[name][1:3])
                continue
            t = time.perf_counter()
            if family == "flow" and spec.get("by_predicted_class"):
                value = class_local_mean(record["layers"], record["proba"], spec)
                cost = time.perf_counter() - t
            elif family == "flow":
                value = memo.value(spec)
                cost = memo.cost(spec)
            elif name == "nuclear_norm":
                value = nuclear_norm_score(record["proba"])
                cost = time.perf_counter() - t
            elif name == "rankme_last":
                value = rankme(record["layers"][-1])
                cost = time.perf_counter() - t
            else:  # val_accuracy
                value, cost = record["val_accuracy"], 0.0
            row[name] = (float(value), float(cost))
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
    if n < 3 or np.isnan(v).all() or np.ptp(v) == 0 or np.ptp(acc) == 0:
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
            "best": float(acc.max()), "worst": float(acc.min()),
            "median": float(np.median(acc)),
            "n": n, "n_nan": int(np.isnan(np.asarray(values, float)).sum())}


def well_trained_members(specs, rows):
    """The well_trained grid's networks whose validation accuracy is within
    WELL_TRAINED_MARGIN of the grid's best (validation, never test)."""
    grid = [i for i, s in enumerate(specs) if "well_trained" in s["pools"]]
    if not grid:
        return []
    best = max(rows[i]["val_accuracy"][0] for i in grid)
    return [i for i in grid if rows[i]["val_accuracy"][0] >= best - WELL_TRAINED_MARGIN]


def pool_members(pool, specs, rows):
    """Indices of a pool's networks. Designed pools hold no controls;
    ``<design>+controls`` adds them; ``all`` and ``all_trained`` too."""
    if pool == "all":
        return list(range(len(specs)))
    if pool == "all_trained":
        return [i for i, s in enumerate(specs) if s["trained"]]
    if pool == "well_trained":
        return well_trained_members(specs, rows)
    design, _, controls = pool.partition("+")
    return [i for i, s in enumerate(specs)
            if design in s["pools"] or (controls and not s["trained"])]


REPORTED_POOLS = (DESIGNED_POOLS + tuple(f"{p}+controls" for p in WITH_CONTROLS)
                  + ("all", "all_trained"))


def combination_values(rows, members, parts):
    """Mean rank within the pool of two statistics (NaN ranks last; a
    statistic NaN on every network ties them all)."""
    ranks = []
    for p in parts:
        v = _fill_nan([rows[i][p][0] for i in members])
        ranks.append(rankdata(np.where(np.isnan(v), 0.0, v)))
    return np.mean(ranks, axis=0)


def analyse(per_cell, stat_names, n_boot, winner=None):
    """Cells: one per (problem, family, pool, statistic) with its values
    available. ``per_cell`` maps (problem, family) -> (specs, rows)."""
    cells = []
    for (problem, family), (specs, rows) in per_cell.items():
        acc_all = np.array([r["test_accuracy"] for r in rows])
        for pool in REPORTED_POOLS:
            members = pool_members(pool, specs, rows)
            if len(members) < 3:
                continue
            names = [n for n in stat_names if n in rows[members[0]]]
            for name in names:
                vals = np.array([rows[i][name][0] for i in members])
                res = analyse_cell(vals, acc_all[members], n_boot, seed=12345)
                cells.append(dict(problem=problem, model=family, pool=pool,
                                  statistic=name, **res))
            for combo, parts in COMBINATIONS.items():
                parts = tuple(winner if p == "<winner>" else p for p in parts)
                if None in parts or not all(p in rows[members[0]] for p in parts):
                    continue
                vals = combination_values(rows, members, parts)
                res = analyse_cell(vals, acc_all[members], n_boot, seed=12345)
                cells.append(dict(problem=problem, model=family, pool=pool,
                                  statistic=combo, **res))
    return cells


def _fmt(x, digits=2):
    return "nan" if x is None or not np.isfinite(x) else f"{x:+.{digits}f}"


def _criterion_cells(cells, name, problems=None, models=None):
    return np.array([c["spearman"] for c in cells if c["statistic"] == name
                     and c["pool"] in DESIGNED_POOLS
                     and (problems is None or c["problem"] in problems)
                     and (models is None or c["model"] in models)])


def criterion_key(cells, name, problems=None, models=None):
    """(median, min) Spearman over the designed cells; an undefined cell
    (constant statistic or accuracy) is left out; None if no cell."""
    v = _criterion_cells(cells, name, problems, models)
    v = v[np.isfinite(v)]
    if not v.size:
        return None
    return float(np.median(v)), float(v.min())


def choose(cells, candidates, problems=None, models=None):
    """The statistic CRITERION chooses among ``candidates``."""
    scored = [(criterion_key(cells, c, problems, models), c) for c in candidates]
    scored = [t for t in scored if t[0] is not None]
    if not scored:
        return None, None
    scored.sort(key=lambda t: t[0], reverse=True)
    return scored[0][1], scored[0][0]


def rank_flow(cells, candidates, problems=None, models=None):
    scored = [(criterion_key(cells, c, problems, models), c) for c in candidates]
    scored = [t for t in scored if t[0] is not None]
    scored.sort(key=lambda t: t[0], reverse=True)
    return [c for _, c in scored]


def summary_table(cells, names, families, costs, stage_of):
    lines = [
        ("| statistic | family | stage | median rho (designed) | min | max | "
         + " | ".join(DESIGNED_POOLS) + " | relu_mlp | sk_mlp | with controls "
         "| all_trained | median regret | NaN scores | cost (ms/net) |"),
        "|" + "---|" * (13 + len(DESIGNED_POOLS)),
    ]
    summary = {}
    for name in names:
        mine = [c for c in cells if c["statistic"] == name]
        if not mine:
            continue
        designed = np.array([c["spearman"] for c in mine if c["pool"] in DESIGNED_POOLS])
        finite = designed[np.isfinite(designed)]
        med = float(np.median(finite)) if finite.size else np.nan
        mn = float(finite.min()) if finite.size else np.nan
        mx = float(finite.max()) if finite.size else np.nan

        def med_of(pred, mine=mine):
            v = np.array([c["spearman"] for c in mine if pred(c)])
            v = v[np.isfinite(v)]
            return float(np.median(v)) if v.size else np.nan

        per_pool = [med_of(lambda c, p=p: c["pool"] == p) for p in DESIGNED_POOLS]
        per_model = [med_of(lambda c, m=m: c["pool"] in DESIGNED_POOLS
                            and c["model"] == m) for m in FAMILIES]
        controls = med_of(lambda c: c["pool"].endswith("+controls"))
        trained = med_of(lambda c: c["pool"] == "all_trained")
        regret = np.array([c["best"] - c["picked"] for c in mine
                           if c["pool"] in DESIGNED_POOLS])
        reg = regret[np.isfinite(regret)]
        n_nan = sum(c["n_nan"] for c in mine if c["pool"] == "all")
        summary[name] = {"family": families.get(name, "combination"),
                         "median": med, "min": mn, "max": mx,
                         "n_cells": int(designed.size),
                         "n_undefined": int(designed.size - finite.size),
                         "per_pool": dict(zip(DESIGNED_POOLS, per_pool)),
                         "per_model": dict(zip(FAMILIES, per_model)),
                         "cost_ms": costs.get(name, np.nan), "stage": stage_of(name)}
        lines.append(
            f"| {name} | {summary[name]['family']} | {stage_of(name)} | {_fmt(med)} | "
            f"{_fmt(mn)} | {_fmt(mx)} | "
            + " | ".join(_fmt(x) for x in per_pool + per_model + [controls, trained])
            + f" | {float(np.median(reg)) if reg.size else np.nan:.3f} | {n_nan} | "
            f"{costs.get(name, np.nan):.0f} |")
    return "\n".join(lines), summary


def factor_table(cells, stats, problems):
    """Each level of each factor of the flow factorial: over the factorial's
    statistics at that level, the median and the best of their median
    Spearman over the designed cells of ``problems`` (stage 1's, where every
    statistic ran)."""
    designed = [c for c in cells if c["pool"] in DESIGNED_POOLS
                and c["problem"] in problems]
    by_name = {}
    for c in designed:
        by_name.setdefault(c["statistic"], []).append(c["spearman"])
    specs = {n: sp_ for n, fam, sp_ in stats if fam == "flow"
             and not sp_.get("by_predicted_class")}
    scale_tag = {json.dumps(v): k for k, v in SCALES.items()}
    factors = {
        "statistic": lambda sp_: sp_["statistic"],
        "curvature": lambda sp_: sp_["curvature"],
        "include_input": lambda sp_: str(sp_["include_input"]),
        "include_output": lambda sp_: str(sp_["include_output"]),
        "scale": lambda sp_: scale_tag.get(json.dumps(sp_["n_neighbors"]), "?"),
    }
    lines = ["| factor | level | statistics | median of their medians | best median |",
             "|---|---|---|---|---|"]
    for factor, level_of in factors.items():
        levels = {}
        for name, sp_ in specs.items():
            v = np.array(by_name.get(name, []), dtype=float)
            v = v[np.isfinite(v)]
            m = float(np.median(v)) if v.size else np.nan
            if np.isfinite(m):
                levels.setdefault(level_of(sp_), []).append(m)
        for level, meds in levels.items():
            lines.append(f"| {factor} | {level} | {len(meds)} | "
                         f"{_fmt(float(np.median(meds)))} | {_fmt(max(meds))} |")
    return "\n".join(lines)


#: exploratory view (chosen after the run, not used to choose anything): the
#: designed cells whose test accuracy spans at least this much
SPREAD_MIN = 0.05


def spread_table(cells, names):
    """Exploratory, not pre-registered: median (min) Spearman of ``names``
    over the designed cells whose test accuracy spans at least SPREAD_MIN
    (in the others a few test points separate the networks), per design."""
    wide = [c for c in cells if c["pool"] in DESIGNED_POOLS
            and c["best"] - c.get("worst", c["best"]) >= SPREAD_MIN]
    lines = ["| statistic | cells | median (min) | " + " | ".join(DESIGNED_POOLS) + " |",
             "|---|---|---|" + "---|" * len(DESIGNED_POOLS)]
    for name in names:
        mine = [c for c in wide if c["statistic"] == name]
        v = np.array([c["spearman"] for c in mine], dtype=float)
        v = v[np.isfinite(v)]
        if not v.size:
            continue
        per = []
        for pool in DESIGNED_POOLS:
            w = np.array([c["spearman"] for c in mine if c["pool"] == pool], float)
            w = w[np.isfinite(w)]
            per.append(f"{_fmt(float(np.median(w)))} ({w.size})" if w.size else "n/a")
        lines.append(f"| {name} | {v.size} | {_fmt(float(np.median(v)))} "
                     f"({_fmt(float(v.min()))}) | " + " | ".join(per) + " |")
    return "\n".join(lines)


def grid_table(cells, statistics):
    """Median (min) Spearman over the designs of each (problem, family), for
    a few statistics side by side."""
    keys = list(dict.fromkeys((c["problem"], c["model"]) for c in cells))
    lines = ["| problem | model | " + " | ".join(statistics) + " |",
             "|---|---|" + "---|" * len(statistics)]
    for problem, model in keys:
        parts = []
        for name in statistics:
            k = criterion_key(cells, name, problems=[problem], models=[model])
            parts.append(f"{_fmt(k[0])} ({_fmt(k[1])})" if k else "n/a")
        lines.append(f"| {problem} | {model} | " + " | ".join(parts) + " |")
    return "\n".join(lines)


def design_table(cells, statistics):
    """Spearman of each statistic in each designed cell, one row per
    (problem, family), one column per design ("a / b / ..." in the order of
    ``statistics``)."""
    keys = list(dict.fromkeys((c["problem"], c["model"]) for c in cells))
    index = {(c["problem"], c["model"], c["pool"], c["statistic"]): c["spearman"]
             for c in cells}
    lines = ["| problem | model | " + " | ".join(DESIGNED_POOLS) + " |",
             "|---|---|" + "---|" * len(DESIGNED_POOLS)]
    for problem, model in keys:
        parts = []
        for pool in DESIGNED_POOLS:
            vals = [index.get((problem, model, pool, name)) for name in statistics]
            parts.append(" / ".join("n/a" if v is None else _fmt(v) for v in vals))
        lines.append(f"| {problem} | {model} | " + " | ".join(parts) + " |")
    return "\n".join(lines)


def cell_table(cells, statistics=None):
    lines = [("| problem | model | pool | statistic | Spearman [95% CI] | "
              "picked test acc | best | median | n | NaN |"),
             "|---|---|---|---|---|---|---|---|---|---|"]
    for c in cells:
        if statistics is not None and c["statistic"] not in statistics:
            continue
        lines.append(
            f"| {c['problem']} | {c['model']} | {c['pool']} | {c['statistic']} | "
            f"{_fmt(c['spearman'])} [{_fmt(c['lo'])}, {_fmt(c['hi'])}] | "
            f"{c['picked']:.3f} | {c['best']:.3f} | {c['median']:.3f} | {c['n']} | "
            f"{c['n_nan']} |")
    return "\n".join(lines)


def held_out_table(cells, candidates, by, combo=True):
    """The criterion without winner's curse: for each held-out problem (``by
    = "problem"``) or model family (``by = "model"``), choose among
    ``candidates`` on the other designed cells, then report the choice, the
    nuclear norm and the winner + nuclear-norm combination on the held-out
    ones (the combination's ranks computed afresh with the held-out choice)."""
    groups = list(dict.fromkeys(c[by] for c in cells))
    if len(groups) < 2:
        return "", []
    lines = [(f"| held-out {by} | chosen on the others | median (min) there | "
              "median (min) held out | nuclear_norm held out | "
              "chosen + nuclear_norm held out | val_accuracy held out |"),
             "|---|---|---|---|---|---|---|"]
    rows = []
    for held in groups:
        others = [g for g in groups if g != held]
        key = {"problem": "problems", "model": "models"}[by]
        best, score = choose(cells, candidates, **{key: others})
        if best is None:
            continue
        here = {key: [held]}
        chosen = criterion_key(cells, best, **here) or (np.nan, np.nan)
        nuc = criterion_key(cells, "nuclear_norm", **here) or (np.nan, np.nan)
        val = criterion_key(cells, "val_accuracy", **here) or (np.nan, np.nan)
        mixed = (criterion_key(cells, f"heldout_combo:{held}", **here)
                 if combo else None) or (np.nan, np.nan)
        rows.append({"held_out": held, "chosen": best, "there": score,
                     "held": chosen, "nuclear": nuc, "combo": mixed, "val": val})
        lines.append(f"| {held} | {best} | {_fmt(score[0])} ({_fmt(score[1])}) | "
                     f"{_fmt(chosen[0])} ({_fmt(chosen[1])}) | {_fmt(nuc[0])} "
                     f"({_fmt(nuc[1])}) | {_fmt(mixed[0])} ({_fmt(mixed[1])}) | "
                     f"{_fmt(val[0])} ({_fmt(val[1])}) |")
    return "\n".join(lines), rows


def heldout_combo_cells(per_cell, cells, candidates, by, n_boot):
    """Cells of ``heldout_combo:<group>``: the mean rank of the statistic
    chosen without ``group`` and the nuclear norm, on ``group``'s pools."""
    groups = list(dict.fromkeys(c[by] for c in cells))
    key = {"problem": "problems", "model": "models"}[by]
    out = []
    for held in groups:
        best, _ = choose(cells, candidates,
                         **{key: [g for g in groups if g != held]})
        if best is None:
            continue
        for (problem, family), (specs, rows) in per_cell.items():
            if (problem if by == "problem" else family) != held:
                continue
            acc_all = np.array([r["test_accuracy"] for r in rows])
            for pool in DESIGNED_POOLS:
                members = pool_members(pool, specs, rows)
                if len(members) < 3 or best not in rows[members[0]]:
                    continue
                vals = combination_values(rows, members, (best, "nuclear_norm"))
                res = analyse_cell(vals, acc_all[members], n_boot, seed=12345)
                out.append(dict(problem=problem, model=family, pool=pool,
                                statistic=f"heldout_combo:{held}", **res))
    return out


# -- main --------------------------------------------------------------------


#: this file as it was imported (a run reports whether it matches the commit)
_SOURCE = Path(__file__).read_bytes()


def _source_state():
    """Whether the imported benchmark file is the committed one: a run that
    imported an edited file (uncommitted changes, or a file rewritten while it
    started) says so in its header."""
    try:
        committed = subprocess.run(
            ["git", "-C", str(ROOT), "show", "HEAD:benchmarks/bench_selection.py"],
            capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return ("the committed file" if committed == _SOURCE
            else "NOT the committed file (uncommitted or rewritten when imported)")


def _commit():
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _problem_rows(out, problem, family, specs, data, stats, args, clock):
    """Train what the cache lacks, then compute ``stats`` for every network
    of one (problem, family); returns the rows."""
    X_val = np.asarray(data[2], dtype=np.float64)
    missing = [s for s in specs if not cache_path(out, problem, s).exists()]
    if missing and args.recompute:
        raise SystemExit(f"--recompute: {cache_path(out, problem, missing[0])} "
                         "missing; run without it")
    if missing:
        t = time.perf_counter()
        problem_index = PROBLEMS.index(problem)
        trained = (((s, train_one(s, data, problem_index)) for s in missing)
                   if args.one_at_a_time
                   else iter_train_many(missing, data, problem_index))
        for spec, record in trained:  # saved as each network / group finishes
            save_net(cache_path(out, problem, spec), record, spec)
        clock["train"] += time.perf_counter() - t
        clock["n_trained"] += len(missing)
        if not args.quick:
            print(f"    {problem} {family}: trained {len(missing)} networks in "
                  f"{time.perf_counter() - t:.0f} s", flush=True)
    rows = []
    t_stats = time.perf_counter()
    for j, spec in enumerate(specs):
        if j and j % 10 == 0 and not args.quick:
            print(f"    {problem} {family}: statistics of {j}/{len(specs)} networks, "
                  f"{time.perf_counter() - t_stats:.0f} s", flush=True)
        path = cache_path(out, problem, spec)
        record = load_net(path)
        t = time.perf_counter()
        stats_path = path.with_suffix(".stats.json")
        known = (json.loads(stats_path.read_text())
                 if stats_path.exists() and not args.fresh_statistics else {})
        values = compute_statistics(record, X_val, stats, known)
        known.update({name: [definition(family_, sp_), *values[name]]
                      for name, family_, sp_ in stats})
        stats_path.write_text(json.dumps(known))
        clock["stats"] += time.perf_counter() - t
        row = {name: values[name] for name, _, _ in stats}
        row.update(test_accuracy=record["test_accuracy"],
                   val_accuracy=values.get("val_accuracy",
                                           (record["val_accuracy"], 0.0)))
        rows.append(row)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="tiny smoke run (problem A and digits 1/7, small pools, "
                        "scales k=10 and share 0.1 only, one stage)")
    p.add_argument("--recompute", action="store_true",
                   help="never train: recompute the statistics from the cache")
    p.add_argument("--fresh-statistics", action="store_true",
                   help="recompute every statistic (default: reuse the cached "
                        "value of a statistic whose definition is unchanged)")
    p.add_argument("--full-factorial", action="store_true",
                   help="every statistic on every problem (one stage; about 2 "
                        "hours on 2 cores) instead of the two stages")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--fashion-path", type=Path, default=DEFAULT_FASHION)
    p.add_argument("--mnist-path", type=Path, default=DEFAULT_MNIST)
    p.add_argument("--problems", nargs="+", default=None,
                   help=f"subset of {PROBLEMS} (one stage: every statistic)")
    p.add_argument("--stage1-problems", nargs="+", default=None,
                   help="override STAGES' stage-1 problems (smaller runs, tests)")
    p.add_argument("--stage2-problems", nargs="+", default=None,
                   help="override STAGES' stage-2 problems")
    p.add_argument("--families", nargs="+", default=list(FAMILIES),
                   choices=FAMILIES)
    p.add_argument("--n-boot", type=int, default=None,
                   help="bootstrap resamples (default 1000; 100 with --quick)")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--one-at-a-time", action="store_true",
                   help="train each network alone with fit (the reference; "
                        "default: relu_mlp networks sharing their training "
                        "set train together with fit_many, identically)")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    n_boot = args.n_boot or (100 if args.quick else 1000)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    stats = statistic_table(args.quick)
    families = {name: fam for name, fam, _ in stats}
    flow_names = [n for n, fam, _ in stats if fam == "flow"]
    staged = not (args.quick or args.full_factorial or args.problems)
    if args.stage2_problems:
        stage1, stage2 = args.stage1_problems, args.stage2_problems
    elif staged:
        stage1, stage2 = STAGES["stage1_problems"], STAGES["stage2_problems"]
    else:
        stage1 = args.problems or (("A", "digits_1_7") if args.quick else PROBLEMS)
        stage2 = ()
    t0 = time.perf_counter()
    clock = {"train": 0.0, "stats": 0.0, "n_trained": 0}
    per_cell, problem_of_stage = {}, {}

    def run_stage(problems, stage_stats, stage):
        for problem in problems:
            data = load_problem(problem, args.quick, args.fashion_path, args.mnist_path)
            if data is None:
                continue
            for family in args.families:
                specs = pool_specs(family, args.quick)
                rows = _problem_rows(out, problem, family, specs, data, stage_stats,
                                     args, clock)
                per_cell[(problem, family)] = (specs, rows)
                problem_of_stage[problem] = stage
                acc = [r["test_accuracy"] for r in rows]
                print(f"[{time.perf_counter() - t0:7.1f} s] stage {stage} {problem} "
                      f"{family}: {len(rows)} networks, test accuracy "
                      f"{min(acc):.3f}..{max(acc):.3f}", flush=True)

    run_stage(stage1, stats, 1)
    survivors = flow_names
    if stage2:
        cells1 = analyse(per_cell, [n for n, _, _ in stats], 10)
        factorial = [n for n in flow_names if n != "class_local_mean"]
        top = rank_flow(cells1, factorial)[:STAGES["stage2_top"]]
        new_best = rank_flow(cells1, [n for n in factorial
                                      if n.startswith("local_layer_mean")])[:1]
        survivors = list(dict.fromkeys(top + list(REFERENCE_STATISTICS) + new_best
                                       + ["class_local_mean"]))
        (out / "stage2_statistics.json").write_text(json.dumps(survivors))
        stage2_stats = [s for s in stats if s[1] != "flow" or s[0] in survivors]
        run_stage(stage2, stage2_stats, 2)
    all_names = [n for n, _, _ in stats]
    cells = analyse(per_cell, all_names, n_boot)
    winner, wkey = choose(cells, survivors)
    cells = analyse(per_cell, all_names, n_boot, winner=winner)
    for by in ("problem", "model"):
        cells += heldout_combo_cells(per_cell, cells, survivors, by, n_boot)
    costs = {}
    for name in all_names:
        v = [r[name][1] for _, rows in per_cell.values() for r in rows if name in r]
        costs[name] = 1000 * float(np.mean(v)) if v else np.nan

    def stage_of(name):
        if name in survivors or families.get(name) != "flow":
            return "1+2" if stage2 else "1"
        return "1"

    ordered = all_names + list(COMBINATIONS)
    summary_md, summary = summary_table(cells, ordered, families, costs, stage_of)
    wall = time.perf_counter() - t0
    command = "python " + " ".join([Path(sys.argv[0]).as_posix()] + sys.argv[1:])
    n_nets = sum(len(rows) for _, rows in per_cell.values())
    header = [
        "# Selection benchmark",
        "",
        f"- command: `{command}`",
        (f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit "
         f"{_commit()}, Python {platform.python_version()}, sk_ricci "
         f"{sk_ricci.__version__}"),
        f"- benchmark source: {_source_state()}",
        (f"- problems: stage 1 {', '.join(p for p in problem_of_stage if problem_of_stage[p] == 1)}"
         + (f"; stage 2 {', '.join(p for p in problem_of_stage if problem_of_stage[p] == 2)}"
            if stage2 else "")
         + f"; families: {', '.join(args.families)}; {n_nets} networks (trained "
         f"this run: {clock['n_trained']}); bootstrap resamples: {n_boot}"),
        (f"- wall time {wall:.0f} s (training {clock['train']:.0f} s, statistics "
         f"{clock['stats']:.0f} s)"),
        f"- criterion: {CRITERION}",
        (f"- stages: {STAGES['rule']} (stage2_top = {STAGES['stage2_top']}); "
         f"stage-2 statistics: {', '.join(survivors)}" if stage2
         else "- one stage: every statistic on every problem"),
        (f"- chosen by the criterion: {winner} (median {_fmt(wkey[0])}, min "
         f"{_fmt(wkey[1])})" if winner else "- no flow statistic defined"),
        "",
        ("Spearman of each statistic with test accuracy: median over the designed "
         "cells (problem x model family x design, no controls), their min and max, "
         "the median per design and per model family, over the designs with "
         "controls mixed in and over all trained networks; median regret = median "
         "over the designed cells of (best test accuracy in the pool - test "
         "accuracy of the network the statistic picks); NaN scores = networks "
         "(pool `all`) whose score is NaN (ranked last); cost = mean seconds per "
         "network of the measurements the statistic reads, from cached layers."),
        "",
    ]
    sections = [summary_md]
    for by in ("problem", "model"):
        md, _ = held_out_table(cells, survivors, by)
        if md:
            sections.append(f"\n## Leave one {by} out\n\n" + md)
    for family in args.families:
        fam_cells = [c for c in cells if c["model"] == family]
        md, _ = held_out_table(fam_cells, survivors, "problem", combo=False)
        if md:
            sections.append(f"\n## Leave one problem out, {family} only\n\n" + md)
    legend = ["", "## Statistics", "", "| name | family | definition |", "|---|---|---|"]
    for name, family, spec in stats:
        legend.append(f"| {name} | {family} | `{definition(family, spec)}` |")
    for combo, parts in COMBINATIONS.items():
        legend.append(f"| {combo} | combination | mean rank within the pool of "
                      f"{' and '.join(str(winner) if p == '<winner>' else p for p in parts)} |")
    acc_lines = ["", "## Test accuracy of each pool", "",
                 "| problem | model | pool | n | min | median | max |",
                 "|---|---|---|---|---|---|---|"]
    for (problem, family), (specs, rows) in per_cell.items():
        acc = np.array([r["test_accuracy"] for r in rows])
        for pool in REPORTED_POOLS:
            m = pool_members(pool, specs, rows)
            if m:
                a = acc[m]
                acc_lines.append(f"| {problem} | {family} | {pool} | {a.size} | "
                                 f"{a.min():.3f} | {np.median(a):.3f} | {a.max():.3f} |")
    key_stats = list(dict.fromkeys(
        [s for s in (winner,) if s] + list(REFERENCE_STATISTICS)
        + ["nuclear_norm", "val_accuracy", "combo_winner_nuclear"]))
    sections.append(f"\n## Exploratory, not pre-registered: designed cells whose test "
                    f"accuracy spans >= {SPREAD_MIN}\n\n(cells per design in "
                    "brackets)\n\n" + spread_table(
                        cells, list(dict.fromkeys(survivors + key_stats + [
                            "rankme_last", "combo_default_nuclear"]))))
    stage1_run = [p for p in problem_of_stage if problem_of_stage[p] == 1]
    sections.append("\n## The factorial's factors (median Spearman over the stage-1 "
                    "designed cells)\n\n" + factor_table(cells, stats, stage1_run))
    sections.append("\n## Per problem and model family: median (min) over the "
                    "designs\n\n" + grid_table(cells, key_stats + ["rankme_last"]))
    sections.append("\n## Every designed cell: " + " / ".join(key_stats[:4])
                    + "\n\n" + design_table(cells, key_stats[:4]))
    text = ("\n".join(header) + "\n".join(sections) + "\n" + "\n".join(legend)
            + "\n" + "\n".join(acc_lines)
            + "\n\n## Every designed cell: the winner, the references, the baselines\n\n"
            + cell_table([c for c in cells if c["pool"] in DESIGNED_POOLS], key_stats)
            + "\n\n## Every cell\n\n" + cell_table(cells) + "\n")
    (out / "selection_table.md").write_text(text)
    import csv

    all_rows = []
    for (problem, family), (specs, rows) in per_cell.items():
        for spec, r in zip(specs, rows):
            flat = {"problem": problem, "model": family, "id": spec["id"],
                    "pools": "+".join(spec["pools"]), "arch": spec["arch"],
                    "test_accuracy": r["test_accuracy"]}
            flat.update({name: r[name][0] for name in all_names if name in r})
            all_rows.append(flat)
    fields = list(dict.fromkeys(k for r in all_rows for k in r))
    with open(out / "networks.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows(all_rows)
    with open(out / "cells.json", "w") as f:
        json.dump(cells, f)
    with open(out / "summary.json", "w") as f:
        json.dump({"winner": winner, "criterion": wkey, "survivors": survivors,
                   "summary": summary, "wall_s": wall, "clock": clock}, f)
    print("\n".join(header) + "\n".join(sections))
    print(f"\nfull table: {out / 'selection_table.md'}")
    return cells, summary


if __name__ == "__main__":
    main()
