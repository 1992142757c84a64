"""Re-analyse a finished study folder with other accuracy thresholds.

The thresholds change only the analysis (which networks pass, hence k* and
the analysed set), never a network's row, so a study can be re-analysed
without training anything: this copies ``config.json`` and
``results.jsonl`` of ``SOURCE`` into ``DEST``, sets the given thresholds in
the copied configuration (and its hash, so the report does not warn about
a foreign folder) and runs the study's report there.

    python benchmarks/reanalyse_study.py SOURCE DEST \\
        --threshold mnist_1_7=0.98 --threshold fashion_sandal_boot=0.95

A sensitivity analysis, not the paper's protocol: say so wherever its
numbers are quoted.
"""

import argparse
import json
import shutil
from pathlib import Path

from sk_ricci.study import StudyConfig, make_report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("dest")
    parser.add_argument("--threshold", action="append", default=[],
                        metavar="PROBLEM=ACC", help="repeatable")
    parser.add_argument("--no-figures", action="store_true")
    args = parser.parse_args(argv)
    source, dest = Path(args.source), Path(args.dest)
    if dest.resolve() == source.resolve():
        parser.error("DEST must differ from SOURCE (SOURCE is left untouched)")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(source / "results.jsonl", dest / "results.jsonl")
    saved = json.loads((source / "config.json").read_text())
    thresholds = dict(saved["config"].get("thresholds", {}))
    for item in args.threshold:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--threshold expects PROBLEM=ACC, got {item!r}")
        thresholds[name] = float(value)
    config = StudyConfig.from_dict({**saved["config"], "thresholds": thresholds})
    saved["config"] = config.to_dict()
    saved["config_hash"] = config.config_hash
    saved["reanalysed_from"] = str(source)
    (dest / "config.json").write_text(json.dumps(saved, indent=2) + "\n")
    analysis = make_report(dest, figures=not args.no_figures)
    print(f"{dest / 'report.md'}: {analysis.counts}")


if __name__ == "__main__":
    main()
