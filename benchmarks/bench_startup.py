"""Start-up time of ``import sk_ricci`` and of ``sk-ricci --version``/``--help``.

Every command runs in a fresh interpreter (``python -c`` / ``python -m``), in
the source tree under test and with ``PYTHONPATH`` set to it; the trees are interleaved
(tree 1, tree 2, tree 1, ...) so that both see the same machine load, and the
median of ``--repeats`` runs is reported, with the modules each command left in
``sys.modules`` (of torch, skorch, matplotlib, numba, sklearn, scipy, numpy).

    python benchmarks/bench_startup.py                       # this tree only
    git archive c87591c | tar -x -C /tmp/before_startup      # an older tree
    python benchmarks/bench_startup.py --before /tmp/before_startup
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("torch", "skorch", "matplotlib", "numba", "sklearn", "scipy", "numpy")

#: (label, python arguments); the -c programs print the heavy modules loaded
_REPORT = (
    "import json, sys; print(json.dumps(sorted({m.split('.')[0] for m in "
    f"sys.modules}} & set({list(HEAVY)!r}))))"
)
COMMANDS = (
    ("python -c pass (the interpreter alone)", ["-c", "pass"]),
    ("import sk_ricci", ["-c", "import sk_ricci; " + _REPORT]),
    ("sk-ricci --version", ["-m", "sk_ricci.cli", "--version"]),
    ("sk-ricci --help", ["-m", "sk_ricci.cli", "--help"]),
    ("sk-ricci flow --help", ["-m", "sk_ricci.cli", "flow", "--help"]),
    ("sk-ricci study --help", ["-m", "sk_ricci.cli", "study", "--help"]),
    ("from sk_ricci import ricci_flow",
     ["-c", "from sk_ricci import ricci_flow; " + _REPORT]),
)


def _modules_of(args, tree):
    """The heavy modules a command imports (for -m commands: run through
    runpy in a -c program, so that sys.modules can be printed after it)."""
    if args[0] == "-m":
        code = (
            "import runpy, sys\n"
            f"sys.argv = {['sk-ricci', *args[2:]]!r}\n"
            "try:\n"
            f"    runpy.run_module({args[1]!r}, run_name='__main__')\n"
            "except SystemExit:\n"
            "    pass\n" + _REPORT.replace("; ", "\n")
        )
        args = ["-c", code]
    if "import json" not in args[1]:
        return []
    out = _run(args, tree, capture=True)
    return json.loads(out.strip().splitlines()[-1])


def _run(args, tree, capture=False):
    # run in the tree: python -c and -m put the working folder first on the path
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.run([sys.executable, *args], env=env, check=True, cwd=tree,
                          capture_output=True, text=True)
    return proc.stdout if capture else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="TREE",
                        help="an older source tree to time side by side")
    parser.add_argument("--repeats", type=int, default=7,
                        help="runs of each command per tree (default: 7)")
    args = parser.parse_args(argv)
    here = Path(__file__).resolve().parents[1]
    trees = {"after": here} if args.before is None else {
        "before": Path(args.before).resolve(), "after": here}
    for tree in trees.values():  # warm the caches (numba's, the file system's)
        for _, cmd in COMMANDS:
            _run(cmd, tree)
    times = {(name, label): [] for name in trees for label, _ in COMMANDS}
    for _ in range(args.repeats):
        for label, cmd in COMMANDS:
            for name, tree in trees.items():
                start = time.perf_counter()
                _run(cmd, tree)
                times[name, label].append(time.perf_counter() - start)
    print(f"median of {args.repeats} runs, seconds; load average "
          f"{os.getloadavg()[0]:.2f}\n")
    header = " | ".join(f"{name} (s) | {name}: heavy modules" for name in trees)
    print(f"| command | {header} |" + (" after / before |" if len(trees) == 2 else ""))
    print("|---" * (1 + 2 * len(trees) + (len(trees) == 2)) + "|")
    for label, cmd in COMMANDS:
        cells, medians = [], []
        for name, tree in trees.items():
            med = statistics.median(times[name, label])
            medians.append(med)
            mods = _modules_of(cmd, tree)
            cells.append(f"{med:.3f} | {', '.join(mods) or '-'}")
        ratio = f" {medians[1] / medians[0]:.2f} |" if len(trees) == 2 else ""
        print(f"| {label} | {' | '.join(cells)} |{ratio}")


if __name__ == "__main__":
    main()
