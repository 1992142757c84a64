"""The documentation's local links resolve: every Markdown link to a file and
every ``docs/<page>.md`` named in a docstring or page is a page of the site
(the site's build turns those names into links, see docs/conf.py)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_markdown_links_resolve(page):
    text = page.read_text(encoding="utf-8")
    missing = []
    for target, _ in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("docs/_build/"):
            continue  # web addresses; the built site (made by .ci/docs)
        if not (page.parent / target).exists():
            missing.append(target)
    assert missing == [], f"{page.name} links to missing files: {missing}"


def test_named_pages_exist_and_are_linked_by_the_build():
    sys_path = ROOT / "docs" / "conf.py"
    conf = sys_path.read_text(encoding="utf-8")
    guide = re.search(r"_GUIDE = \[([^\]]*)\]", conf).group(1)
    pages = set(re.findall(r'"(\w+)"', guide))
    named = set()
    for path in list((ROOT / "sk_ricci").rglob("*.py")) + PAGES:
        named |= set(re.findall(r"docs/(\w+)\.md", path.read_text(encoding="utf-8")))
    assert named - {"README"} <= pages, named - pages
    for page in pages:
        assert (ROOT / "docs" / f"{page}.md").exists(), page
    index = (ROOT / "docs" / "index.rst").read_text(encoding="utf-8")
    assert all(re.search(rf"^   {p}$", index, re.M) for p in pages)
