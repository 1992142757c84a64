"""Every command and code block of README.md and docs/*.md runs as written.

The code blocks are extracted from the Markdown files, so a block added to the
docs is checked (or, if nothing here knows what it is, fails
``test_every_block_is_checked``). What is run for real and what only parsed:

- run for real (cheap): ``sk-ricci --version``, the ``--help`` of every
  subcommand, the study smoke run of ``docs/study.md`` (its report must contain
  analysed networks and a regression), ``sk-ricci flow`` on a small saved
  network, the README's "In ten lines" snippet, every ``>>>`` example of the
  docs (doctest), the ``docs/datasets.md`` snippets that need no downloaded
  files (with their documented shapes and grids checked), the TOML file of
  ``docs/study.md`` (loaded by ``load_config``), and ``docs/study.md``'s Python
  example on a tiny configuration (so that its ``regression is None`` branch
  runs).
- parsed only, through the real argument parser (``sk_ricci.cli`` or the
  example's own ``build_parser``), because they train for minutes to hours or
  need a cluster or the network: ``sk-ricci demo`` (its ``--quick`` form runs
  for real in ``tests/test_cli.py``, the example's in
  ``tests/test_examples.py``, and CI runs the README's command 1 in a fresh
  environment), the full ``sk-ricci study`` commands (whose flags are also
  turned into a validated ``StudyConfig``), the ``pip install`` commands (the
  constraints file and the extras must exist), and the README's
  ``GridSearchCV`` block of ``docs/networks.md`` (its imports must resolve).
- not run: ``pytest`` (this is it), ``dask``/``ray`` cluster commands, and the
  MNIST download loop of ``docs/datasets.md`` (no network at test time; the
  file names it fetches must be the ones the loaders look for).
"""

import ast
import contextlib
import doctest
import importlib
import io
import os
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from sk_ricci.cli import _build_parser, _study_config, main

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


# --------------------------------------------------------------------------- #
# extraction
# --------------------------------------------------------------------------- #
def code_blocks(path):
    """(language, text, line number) of every fenced block of a Markdown file."""
    blocks, lang, lines, start = [], None, [], 0
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("```"):
            if lang is None:
                lang, lines, start = line[3:].strip() or "bare", [], number
            else:
                blocks.append((lang, "\n".join(lines), start))
                lang = None
        elif lang is not None:
            lines.append(line)
    assert lang is None, f"{path.name}: unclosed code block at line {start}"
    return blocks


def all_blocks(lang=None):
    return [
        pytest.param(path, block_lang, text, id=f"{path.name}:{line}")
        for path in DOC_FILES
        for block_lang, text, line in code_blocks(path)
        if lang is None or block_lang in lang
    ]


def shell_commands(text):
    """Commands of a shell block: continuations joined, comments dropped,
    ``&&`` chains split; ``for`` loops are returned whole."""
    text = text.replace("\\\n", " ")
    if text.lstrip().startswith(("mkdir", "for ")):
        return [["<loop>", text]]
    commands = []
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        while words:
            if "&&" in words:
                i = words.index("&&")
                commands.append(words[:i])
                words = words[i + 1:]
            else:
                commands.append(words)
                words = []
    return commands


def command_lines_of_bare_block(text):
    """A bare block is a list of commands when its lines start with sk-ricci."""
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and all(line.startswith("sk-ricci") for line in lines):
        return [shlex.split(line, comments=True) for line in lines]
    return None


# --------------------------------------------------------------------------- #
# checking one command
# --------------------------------------------------------------------------- #
#: (program, first argument) of commands that are run for real; the rest of
#: the sk-ricci commands are parsed only
CHEAP = {("sk-ricci", "--version"), ("sk-ricci", "flow")}


def _parse_sk_ricci(argv):
    """Parse argv with the real parser; return the namespace (None for exits 0)."""
    try:
        args = _build_parser().parse_args(argv)
    except SystemExit as exc:
        assert exc.code == 0, f"sk-ricci {' '.join(argv)}: usage error"
        return None
    if args.command == "study":
        # the flags must also make a valid configuration
        config, options = _study_config(args)
        assert config.networks()
    return args


def check_command(argv, tmp_path, ran):
    program = Path(argv[0]).name
    if program == "python3" and argv[1:3] == ["-m", "venv"]:
        return "parsed"
    if program == "pip":
        _check_pip_install(argv)
        return "parsed"
    if program == "pytest":
        return "not run"
    if program in ("dask", "ray"):
        return "not run"
    if argv[0] == ".ci/docs":  # the site build; .ci/run builds it in CI
        script = ROOT / ".ci" / "docs"
        assert script.is_file() and os.access(script, os.X_OK)
        return "not run"
    if program in ("python", "python3"):
        script = ROOT / argv[1]
        assert script.is_file(), f"{argv[1]} does not exist"
        source = script.read_text()
        compile(source, str(script), "exec")
        if "build_parser" in source:
            spec = importlib.util.spec_from_file_location("example", script)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            module.build_parser().parse_args(argv[2:])
        return "parsed"
    assert program == "sk-ricci", f"unknown command {argv!r}: teach test_docs.py"
    args = _parse_sk_ricci(argv[1:])
    if args is None:  # --help, --version: exited 0 while parsing
        ran.append(argv)
        return "ran"
    if (program, argv[1]) in CHEAP:
        run_flow(argv[1:], tmp_path)
        ran.append(argv)
        return "ran"
    return "parsed"


def _check_pip_install(argv):
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    assert argv[1] == "install"
    constraints = argv[argv.index("-c") + 1]
    assert (ROOT / constraints).is_file(), f"{constraints} does not exist"
    spec = argv[argv.index("-e") + 1]
    assert spec.startswith("."), spec
    extras = re.findall(r"\[([^\]]*)\]", spec)
    known = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for extra in ",".join(extras).split(","):
        if extra:
            assert extra in known, f"extra {extra!r} is not in pyproject.toml"


def run_flow(argv, tmp_path):
    """``sk-ricci flow FILE.npz ...`` on a small saved ReLU network."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 3))
    layers, h = {}, X
    for i in range(5):
        h = np.maximum(h @ rng.normal(size=(h.shape[1], 10)), 0)
        layers[f"layer{i}"] = h
    path = tmp_path / Path(argv[1]).name
    np.savez(path, **layers)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main([argv[0], str(path), *argv[2:]]) == 0
    text = out.getvalue()
    assert "5 layers of 120 points" in text
    ks = [int(k) for k in argv[argv.index("--n-neighbors") + 1].split(",")]
    for k in ks:
        assert re.search(rf"^\s*{k}\s+-?\d", text, re.M), text


# --------------------------------------------------------------------------- #
# the tests
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("path, lang, text", all_blocks({"bash", "bare"}))
def test_shell_blocks(path, lang, text, tmp_path, monkeypatch):
    # commands run in a scratch folder holding the page's TOML file, if any
    monkeypatch.chdir(tmp_path)
    for toml_lang, toml_text, _ in code_blocks(path):
        if toml_lang == "toml":
            name = re.match(r"# (\S+\.toml)", toml_text).group(1)
            (tmp_path / name).write_text(toml_text)
    if lang == "bare":
        commands = command_lines_of_bare_block(text)
        if commands is None:  # sample output, not commands
            assert "sk-ricci" not in text or "[" in text
            return
    else:
        commands = shell_commands(text)
    ran = []
    for argv in commands:
        if argv[0] == "<loop>":
            check_download_loop(argv[1])
            continue
        if argv[:2] == ["sk-ricci", "study"] and "/tmp/smoke" in argv:
            continue  # test_study_smoke_run
        check_command(argv, tmp_path, ran)


def check_download_loop(text):
    """The manual download fetches what the loaders read: train and test."""
    from sk_ricci import datasets

    names = set(re.findall(r"[\w-]+-idx\d-ubyte", text))
    expected = {
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
    }
    assert names == expected
    package = Path(datasets.__file__).parent
    source = "".join(p.read_text() for p in sorted(package.glob("*.py")))
    for name in expected:
        assert name in source, f"the loaders do not look for {name}"
    assert "mnist/$f.gz" in text and "fashion-mnist/$f.gz" in text


def test_commands_of_the_readme_command_line(capsys):
    """`sk-ricci --version` and the --help of every listed subcommand."""
    (text,) = [t for lang, t, _ in code_blocks(ROOT / "README.md") if lang == "bare"]
    commands = command_lines_of_bare_block(text)
    subcommands = {argv[1] for argv in commands if not argv[1].startswith("-")}
    assert subcommands == {"demo", "study", "report", "flow"}
    for sub in sorted(subcommands):
        with pytest.raises(SystemExit) as exc:
            main([sub, "--help"])
        assert exc.value.code == 0
        assert f"usage: sk-ricci {sub}" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--version"])
    assert re.fullmatch(r"sk-ricci \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)


def _smoke_argv():
    for lang, text, _ in code_blocks(ROOT / "docs" / "study.md"):
        if lang == "bash":
            for argv in shell_commands(text):
                if argv[:2] == ["sk-ricci", "study"] and "/tmp/smoke" in argv:
                    return argv
    raise AssertionError("docs/study.md has no smoke run")


def test_study_smoke_run(tmp_path, capsys):
    """The documented smoke run ends with analysed networks and a regression."""
    argv = _smoke_argv()
    argv[argv.index("/tmp/smoke")] = str(tmp_path / "smoke")
    assert main([*argv[1:], "--quiet"]) == 0
    out = capsys.readouterr().out
    trained, passed = re.search(
        r"(\d+)/\d+ networks trained, (\d+) passing", out).groups()
    analysed = int(re.search(r"(\d+) analysed", out).group(1))
    assert int(trained) == 12
    assert int(passed) >= 8 and analysed >= 8, out
    # the numbers the text quotes
    study_md = " ".join((ROOT / "docs" / "study.md").read_text().split())
    summary = re.search(r"12/12 networks trained, .*? with negative rho", out).group()
    assert summary in study_md, summary
    assert "Regression of accuracy on rho" in out
    report = (tmp_path / "smoke" / "report.md").read_text()
    assert "| rho |" in report
    for name in ("fig3_aggregated_coefficient.png", "fig4_flow.png"):
        assert (tmp_path / "smoke" / name).stat().st_size > 10_000
    epochs = argv[argv.index("--epochs") + 1]
    assert f"for {epochs} epochs" in study_md


def _statements(text):
    """Lines joined while brackets are open."""
    statements, current, depth = [], [], 0
    for line in text.splitlines():
        current.append(line)
        code = line.split("#")[0]
        depth += sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")
        if depth <= 0:
            statements.append("\n".join(current))
            current, depth = [], 0
    return statements


def check_signature(statement):
    """A documented signature (``name(a, *, b=1)``) equals the real one."""
    import inspect

    import sk_ricci
    import sk_ricci.datasets
    import sk_ricci.nn

    match = re.fullmatch(r"(?:X, y = )?(\w+)\((.*)\)", " ".join(statement.split()),
                         re.S)
    assert match, f"neither Python nor a signature: {statement!r}"
    name, params = match.groups()
    for module in (sk_ricci, sk_ricci.nn, sk_ricci.datasets):
        if hasattr(module, name):
            real = str(inspect.signature(getattr(module, name)))
            break
    else:
        raise AssertionError(f"{name} is not in sk_ricci, sk_ricci.nn or datasets")

    def parameters(text):
        args = ast.parse(f"def f{text}: pass").body[0].args
        names = [a.arg for a in args.args] + ["*"] + [a.arg for a in args.kwonlyargs]
        defaults = [ast.literal_eval(d) for d in args.defaults] + [
            None if d is None else ast.literal_eval(d) for d in args.kw_defaults
        ]
        return names, defaults

    assert parameters(f"({params})") == parameters(real), (statement, real)


@pytest.mark.parametrize("path, lang, text", all_blocks({"python"}))
def test_python_blocks_parse_and_import(path, lang, text):
    """Plain Python blocks parse (a signature must equal the real one), and
    what they import from sk_ricci exists."""
    if ">>>" in text:
        return  # test_doctests
    try:
        tree = ast.parse(text)
    except SyntaxError:
        code = []
        for statement in _statements(text):
            try:
                ast.parse(statement)
                code.append(statement)
            except SyntaxError:
                check_signature(statement)
        tree = ast.parse("\n".join(code))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module.startswith("sk_ricci"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module}.{alias.name}"


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.name)
def test_doctests(path):
    """Every ``>>>`` example, with the following plain blocks of the same page
    that use its names and are cheap (``ricci_flow`` on its activations)."""
    parser = doctest.DocTestParser()
    globs = {}
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    for lang, text, line in code_blocks(path):
        if ">>>" not in text:
            continue
        test = parser.get_doctest(text, globs, f"{path.name}:{line}", str(path), line)
        runner.run(test, clear_globs=False)
        globs = test.globs
    assert runner.failures == 0, f"{runner.failures} doctest failure(s) in {path.name}"
    if path.name == "networks.md":
        (flow_block,) = [t for lang, t, _ in code_blocks(path)
                         if lang == "python" and "result = ricci_flow" in t]
        exec(flow_block, globs)
        assert globs["result"].n_layers == 3


def test_readme_ten_lines(capsys):
    (text,) = [t for lang, t, _ in code_blocks(ROOT / "README.md")
               if lang == "python"]
    assert len(text.strip().splitlines()) <= 11
    namespace = {}
    exec(text, namespace)
    out = capsys.readouterr().out
    match = re.search(r"RicciFlowResult\(n_neighbors=30, n_layers=5, "
                      r"coefficient=(\S+),", out)
    assert match, out
    assert np.isfinite(float(match.group(1)))
    search = namespace["search"]
    assert search.param_grid == {"depth": [5, 11]}
    assert set(search.scoring) == {"acc", "flow"}


def test_datasets_blocks():
    """The snippets of docs/datasets.md that need no downloaded files run, and
    give the shapes and grids their comments state."""
    import sk_ricci.datasets as ds

    ran, checked = 0, 0
    for lang, text, _ in code_blocks(ROOT / "docs" / "datasets.md"):
        if lang != "python" or re.search(r"load_(fashion_)?mnist_pair", text):
            continue  # these need the downloaded files
        namespace = {name: getattr(ds, name) for name in dir(ds)
                     if not name.startswith("_")}
        statements = []
        for statement in _statements(text):
            try:
                ast.parse(statement)
                statements.append(statement)
            except SyntaxError:  # a signature: test_python_blocks_parse_and_import
                pass
        text = "\n".join(statements)
        exec(text, namespace)
        lines = text.splitlines()
        for i, line in enumerate(lines):
            shape = re.search(r"^X, y = (.*?)\s*#\s*\((\d+), (\d+)\)", line)
            if shape:
                X, _ = eval(shape.group(1), namespace)
                assert X.shape == (int(shape.group(2)), int(shape.group(3))), line
                checked += 1
            if i + 1 < len(lines) and lines[i + 1].startswith("# ["):
                literal = lines[i + 1][2:lines[i + 1].index("]") + 1]
                assert list(eval(line, namespace)) == ast.literal_eval(literal)
                checked += 1
            value = re.search(r"^(paper_accuracy_threshold\(.*\))\s*#\s*(\S+)", line)
            if value:
                assert eval(value.group(1), namespace) == float(value.group(2))
                checked += 1
        ran += 1
    # 4 blocks; 2 digits shapes, 2 grids and 1 threshold stated in comments
    assert (ran, checked) == (4, 5)


def test_study_toml_block(tmp_path):
    from sk_ricci.study import load_config

    (text,) = [t for lang, t, _ in code_blocks(ROOT / "docs" / "study.md")
               if lang == "toml"]
    path = tmp_path / "study.toml"
    path.write_text(text)
    config, run = load_config(path)
    assert config.problems[:3] == ("A", "B", "C") or list(config.problems)[:3] == [
        "A", "B", "C"]
    assert config.thresholds["C"] == 0.90
    assert run["output"] == "results/paper"
    # the command beside it: flags override the file
    args = _build_parser().parse_args(
        ["study", "--config", str(path), "--repeats", "4"])
    config, options = _study_config(args)
    assert config.repeats == 4 and options["n_jobs"] == 2


def test_study_python_example(tmp_path, monkeypatch, capsys):
    """docs/study.md's Python example, on a configuration small enough that no
    network passes: the ``regression is None`` branch must not crash."""
    import sk_ricci.study as study

    real_config, real_run = study.StudyConfig, study.run_study

    class SmallConfig(real_config):
        def __init__(self, **kwargs):
            super().__init__(**{**kwargs, "n_train": 60, "n_test": 40,
                                "max_epochs": 1, "architectures": ["narrow"],
                                "depths": [5], "n_neighbors": [6, 10]})

    def run_here(config, output, **kwargs):
        kwargs.update(n_jobs=1, quiet=True)
        return real_run(config, tmp_path / Path(output).name, **kwargs)

    monkeypatch.setattr(study, "StudyConfig", SmallConfig)
    monkeypatch.setattr(study, "run_study", run_here)
    (text,) = [t for lang, t, _ in code_blocks(ROOT / "docs" / "study.md")
               if lang == "python"]
    exec(text, {})
    out = capsys.readouterr().out
    assert "'trained': 8" in out
    assert "no regression:" in out


def test_every_block_is_checked():
    """No code block of another language slips through unchecked."""
    known = {"bash", "bare", "python", "toml"}
    for path in DOC_FILES:
        for lang, _, line in code_blocks(path):
            assert lang in known, f"{path.name}:{line}: ```{lang} is not checked"
