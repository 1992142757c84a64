"""Start-up: ``import sk_ricci`` and ``sk-ricci --version``/``--help`` import
nothing heavy, and the lazy names and the lazy subcommand flags behave as the
eager ones did.

Each import check runs in a fresh interpreter (``sys.modules`` of the test
process already holds everything).
"""

import importlib
import json
import subprocess
import sys

import pytest

from sk_ricci.cli import _build_parser

#: What ``import sk_ricci`` must not import (the package docstring says so).
HEAVY = ("torch", "skorch", "matplotlib", "numba", "sklearn", "scipy", "pynndescent")

#: The public modules whose ``__all__`` must resolve.
PUBLIC = ("sk_ricci", "sk_ricci.datasets", "sk_ricci.nn", "sk_ricci.study",
          "sk_ricci.plotting", "sk_ricci.exceptions")


def _fresh(code):
    """Run ``code`` in a new interpreter; return its last stdout line as JSON."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _loaded(roots):
    return (
        "import json, sys\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & "
        f"set({list(roots)!r}))))\n"
    )


def test_import_sk_ricci_imports_nothing_heavy():
    assert _fresh("import sk_ricci\n" + _loaded(HEAVY + ("numpy",))) == []


def test_subpackages_are_attributes_on_first_use():
    """``sk_ricci.datasets`` (and the other subpackages) work after a bare
    ``import sk_ricci``, as they did when the package imported them."""
    got = _fresh(
        "import json, sys, sk_ricci\n"
        "before = [m for m in ('datasets', 'study', 'plotting', 'exceptions') if "
        "'sk_ricci.' + m in sys.modules]\n"
        "names = [sk_ricci.datasets.__name__, sk_ricci.study.__name__, "
        "sk_ricci.plotting.__name__, sk_ricci.exceptions.__name__]\n"
        "print(json.dumps([before, names, 'datasets' in dir(sk_ricci)]))\n"
    )
    assert got == [[], ["sk_ricci.datasets", "sk_ricci.study", "sk_ricci.plotting",
                        "sk_ricci.exceptions"], True]


def test_first_use_imports_the_submodule():
    """``sk_ricci.ricci_flow`` imports its module (and numba) on first use,
    without compiling a kernel: numba's dispatchers have no signature yet."""
    got = _fresh(
        "import json, sys, sk_ricci\n"
        "f = sk_ricci.ricci_flow\n"
        "from sk_ricci._kernels import csr\n"
        "print(json.dumps([f.__module__, 'numba' in sys.modules, 'torch' in "
        "sys.modules, csr.forman_total.signatures]))\n"
    )
    assert got == ["sk_ricci._flow", True, False, []]


@pytest.mark.parametrize("argv", [["--version"], ["--help"], []])
def test_version_and_help_import_no_library_code(argv):
    """``sk-ricci --version`` and ``--help`` (and a bare ``sk-ricci``, a usage
    error) import neither numpy nor torch nor any sk_ricci module but the CLI."""
    got = _fresh(
        "import json, sys\n"
        "from sk_ricci.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{HEAVY + ('numpy',)!r} or m.startswith('sk_ricci.'))))\n"
    )
    assert got == ["sk_ricci.cli"]


def test_version_through_python_m():
    out = subprocess.run([sys.executable, "-m", "sk_ricci.cli", "--version"],
                         capture_output=True, text=True, timeout=120, check=False)
    import sk_ricci

    assert out.returncode == 0
    assert out.stdout.strip() == f"sk-ricci {sk_ricci.__version__}"


@pytest.mark.parametrize("module_name", PUBLIC)
def test_every_public_name_resolves(module_name):
    """Every name of ``__all__`` resolves, by attribute and by ``from ...
    import``, in a fresh interpreter, and ``dir()`` lists it."""
    if module_name == "sk_ricci.nn":
        pytest.importorskip("torch")
    module = importlib.import_module(module_name)
    names = list(module.__all__)
    assert names
    got = _fresh(
        "import importlib, json\n"
        f"m = importlib.import_module({module_name!r})\n"
        "bad = [n for n in m.__all__ if getattr(m, n, None) is None]\n"
        "for n in m.__all__:\n"
        f"    exec(f'from {module_name} import {{n}}')\n"
        "print(json.dumps([bad, sorted(set(m.__all__) - set(dir(m)))]))\n"
    )
    assert got == [[], []]


def test_every_lazy_name_is_public():
    import sk_ricci

    assert sorted(sk_ricci._LAZY) == sorted(sk_ricci.__all__)


def test_lazy_names_are_the_defining_modules_objects():
    import sk_ricci
    from sk_ricci import _flow, _graph, exceptions

    assert sk_ricci.ricci_flow is _flow.ricci_flow
    assert sk_ricci.KNNGraph is _graph.KNNGraph
    assert sk_ricci.SkRicciWarning is exceptions.SkRicciWarning
    assert sk_ricci.datasets is importlib.import_module("sk_ricci.datasets")


def test_unknown_name_is_an_attribute_error():
    import sk_ricci

    with pytest.raises(AttributeError, match="has no attribute 'ricci_flo'"):
        getattr(sk_ricci, "ricci_flo")  # noqa: B009
    with pytest.raises(ImportError):
        from sk_ricci import ricci_flo  # noqa: F401
    assert not hasattr(sk_ricci, "_flow_") and hasattr(sk_ricci, "__version__")


def _subparsers(parser):
    return parser._subparsers._group_actions[0].choices


@pytest.mark.parametrize("command", ["demo", "study", "report", "flow"])
def test_lazy_subcommand_is_the_eager_one(command):
    """The flags a subcommand gets when it is chosen (what ``main`` does) are
    those it gets at once: same help text, same parsed namespace."""
    eager = _subparsers(_build_parser())[command]
    lazy_parser = _build_parser(lazy=True)
    lazy = _subparsers(lazy_parser)[command]
    assert [a.dest for a in lazy._actions] == ["help"]  # not built yet
    assert lazy.format_usage() == eager.format_usage()  # builds them
    assert lazy.format_help() == eager.format_help()
    fresh = _subparsers(_build_parser(lazy=True))[command]
    assert fresh.format_help() == eager.format_help()
    argv = {"demo": ["demo", "--quick", "--n-jobs", "2"],
            "study": ["study", "--repeats", "2", "--depths", "5"],
            "report": ["report", "out"],
            "flow": ["flow", "x.npz", "--n-neighbors", "3,5"]}[command]
    a, b = vars(_build_parser().parse_args(argv)), vars(lazy_parser.parse_args(argv))
    assert a == b


def test_lazy_subcommand_reports_its_own_usage(capsys):
    """A misspelt flag is still answered with the subcommand's usage and the
    closest flag (its flags are built before the hint is looked up)."""
    from sk_ricci.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["study", "--reapets", "2"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage: sk-ricci study" in err and "did you mean --repeats" in err
