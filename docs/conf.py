"""Sphinx configuration of the sk_ricci documentation site.

Build it with ``.ci/docs`` (warnings are errors) or
``sphinx-build -b html docs docs/_build/html``; the packages are in the
``docs`` extra: ``pip install -e ".[docs]"``.
"""

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sk_ricci  # noqa: E402  (this checkout's copy, from ROOT)
# the gallery's figures are drawn without a display
os.environ.setdefault("MPLBACKEND", "agg")

project = "sk_ricci"
author = "the sk_ricci developers"
copyright = "2024-2026, the sk_ricci developers"
release = sk_ricci.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = [
    "_build",
    "generated/*.examples",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.json",
    "auto_examples/*.md5",
    "examples/GALLERY_HEADER.rst",
]

# -- API reference: autosummary stubs from the docstrings (numpydoc) ----------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# Docstrings are written for scikit-learn users, who know these words.
numpydoc_validation_checks = set()

# -- Markdown pages (docs/*.md) ----------------------------------------------
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
# The markdown pages link to files of the repository outside docs/ (the
# README, the benchmarks); those links are kept as they are. The gallery's
# configuration holds a function, so Sphinx cannot cache it between builds
# (each build reads everything again, which is what CI does anyway).
suppress_warnings = ["myst.xref_missing", "config.cache"]
templates_path = ["_templates"]

# -- Gallery -------------------------------------------------------------------


def _reset_argv(gallery_conf, script_vars):
    """Examples with a ``--quick`` flag run their quick version in the build."""
    source = Path(script_vars["src_file"]).read_text(encoding="utf-8")
    return ["--quick"] if "--quick" in source else []


sphinx_gallery_conf = {
    "examples_dirs": ["examples"],
    "gallery_dirs": ["auto_examples"],
    # run every example (not only plot_*.py): the gallery shows their output
    "filename_pattern": r".*\.py$",
    "reset_argv": _reset_argv,
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "reference_url": {"sk_ricci": None},
    "backreferences_dir": None,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
}

# -- HTML ------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sk_ricci {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = ["_static"]
html_css_files = ["sk_ricci.css"]
#: The user-guide pages are leaves of the top-level table of contents, so the
#: theme's "Section Navigation" would be an empty box on them: those pages use
#: the page's own table of contents (on the right) instead.
_GUIDE = ["method", "networks", "datasets", "study", "selection",
          "reproduction", "contributing"]
html_sidebars = {page: [] for page in _GUIDE}


# -- Example pages whose docstring has no reStructuredText title -------------------


def _title_untitled_examples(app, docname, source):
    """Promote the first line of an untitled example's docstring to its title.

    sphinx-gallery takes an example's title from the first paragraph of its
    docstring, but the page only has a title when that paragraph is underlined
    (``=====``). A one-line first paragraph without the underline is made a
    title here, so the page has a name in the table of contents.
    """
    if not docname.startswith("auto_examples/") or docname.endswith("index"):
        return
    lines = source[0].split("\n")
    label = f".. _sphx_glr_{docname.replace('/', '_')}.py:"
    if label not in lines:
        return
    i = lines.index(label) + 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i + 1 >= len(lines) or lines[i].startswith(".."):
        return
    following = lines[i + 1].strip()
    if following and len(set(following)) == 1 and not following[0].isalnum():
        return  # already underlined
    if following:
        return  # a first paragraph of several lines: leave it alone
    title = lines[i].strip()
    lines[i : i + 1] = [title, "=" * len(title)]
    source[0] = "\n".join(lines)


def _skip_generated_request_methods(app, what, name, obj, skip, options):
    """Leave out the ``set_*_request`` methods scikit-learn generates for
    metadata routing: their docstrings are scikit-learn's, written for its own
    site (its glossary and labels), and say nothing specific to sk_ricci."""
    module = getattr(obj, "__module__", "") or ""
    if name.startswith("set_") and name.endswith("_request") and (
        module.startswith("sklearn.")
    ):
        return True
    return None


#: ``docs/<page>.md`` as written in docstrings and pages -> a link to the page
_PAGE_REF = re.compile(r"``docs/(" + "|".join(_GUIDE) + r")\.md``")
_MD_REF = re.compile(r"`docs/(" + "|".join(_GUIDE) + r")\.md`")


def _link_pages_in_docstrings(app, what, name, obj, options, lines):
    """``docs/method.md`` in a docstring becomes a link to that page."""
    for i, line in enumerate(lines):
        lines[i] = _PAGE_REF.sub(r":doc:`docs/\1.md </\1>`", line)


def _link_pages_in_markdown(app, docname, source):
    """`docs/method.md` (inline code) in a page becomes a link to that page."""
    if app.env.doc2path(docname).suffix == ".md":
        source[0] = _MD_REF.sub(r"[docs/\1.md](\1.md)", source[0])


def setup(app):
    app.connect("autodoc-process-docstring", _link_pages_in_docstrings)
    app.connect("source-read", _link_pages_in_markdown)
    app.connect("source-read", _title_untitled_examples)
    app.connect("autodoc-skip-member", _skip_generated_request_methods)
