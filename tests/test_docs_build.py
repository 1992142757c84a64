"""The documentation site's sources: the API reference covers the public API,
the gallery's CNN example runs, and conf.py's title fix-up works.

The site itself is built by ``.ci/docs`` (Sphinx, warnings as errors)."""

import importlib
import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PUBLIC_MODULES = [
    "sk_ricci",
    "sk_ricci.nn",
    "sk_ricci.plotting",
    "sk_ricci.datasets",
    "sk_ricci.study",
    "sk_ricci.exceptions",
]


def _documented_names():
    """(module, name) of every entry of an autosummary table in api.rst."""
    text = (DOCS / "api.rst").read_text(encoding="utf-8")
    names, module = set(), None
    in_table = False
    for line in text.splitlines():
        match = re.match(r"\.\. currentmodule:: (\S+)", line)
        if match:
            module = match.group(1)
        if line.startswith(".. autosummary::"):
            in_table = True
            continue
        if in_table:
            if line.startswith("   :") or not line.strip():
                continue
            if line.startswith("   "):
                names.add((module, line.strip()))
            else:
                in_table = False
    return names


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_api_reference_lists_every_public_class_and_function(module_name):
    if module_name == "sk_ricci.nn":
        pytest.importorskip("torch")
    module = importlib.import_module(module_name)
    documented = _documented_names()
    documented_anywhere = {name for _, name in documented}
    missing = [
        name
        for name in module.__all__
        if (inspect.isclass(getattr(module, name))
            or inspect.isfunction(getattr(module, name)))
        and name not in documented_anywhere
    ]
    assert not missing, (
        f"{module_name} exports {missing}, which docs/api.rst does not list; "
        "add them to its autosummary tables"
    )
    # and every entry listed under this module exists there
    for mod, name in documented:
        if mod == module_name:
            assert hasattr(module, name), f"docs/api.rst lists {mod}.{name}"


def _conf():
    spec = importlib.util.spec_from_file_location("sk_ricci_docs_conf",
                                                  DOCS / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


def test_conf_titles_untitled_examples_only():
    pytest.importorskip("sphinx")
    conf = _conf()
    label = ".. _sphx_glr_auto_examples_demo.py:"
    untitled = [f"{label}\n\nRank things by flow.\n\nMore text.\n"]
    conf._title_untitled_examples(None, "auto_examples/demo", untitled)
    assert untitled[0] == (
        f"{label}\n\nRank things by flow.\n====================\n\nMore text.\n"
    )
    titled = f"{label}\n\nA title\n=======\n\nText.\n"
    source = [titled]
    conf._title_untitled_examples(None, "auto_examples/demo", source)
    assert source[0] == titled
    other = ["Some page\n\ntext\n"]
    conf._title_untitled_examples(None, "method", other)
    assert other == ["Some page\n\ntext\n"]
    assert conf.sphinx_gallery_conf["reset_argv"](
        {}, {"src_file": str(DOCS / "examples" / "plot_cnn_digits.py")}
    ) == []


def test_cnn_example_runs():
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    pytest.importorskip("pandas")
    env = {**os.environ, "MPLBACKEND": "agg"}
    root = str(DOCS.parent)
    env["PYTHONPATH"] = os.pathsep.join(
        [root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    out = subprocess.run(
        [sys.executable, str(DOCS / "examples" / "plot_cnn_digits.py")],
        capture_output=True, text=True, env=env, check=True, timeout=600,
    ).stdout
    accuracy = float(re.search(r"test accuracy: ([0-9.]+)", out).group(1))
    assert accuracy > 0.9
    # the default reads the ReLU layers and names the LeakyReLU it leaves out
    assert "['block2.act', 'block3.act', 'fc1.1', 'fc2.1']" in out
    assert "LeakyReLU 'block1.act'" in out
    assert re.search(r"block1.act\s+\(400, 512\)", out)
    assert re.search(r"block2.pool\s+\(400, 256\)", out)
    assert out.count("RicciFlowResult(n_neighbors=") == 3
