"""Every link and every repository path the docs name exists.

Two kinds of reference are checked in each tracked Markdown file:
- a relative link, `[text](path#anchor)`: the file exists, and the anchor is
  one of its headings as GitHub spells them;
- a path in backticks that starts at a top-level folder of the repository
  (`tests/e2e/test_traces.py`, `deploy/prometheus/`): it exists, from the
  repository's root, from the Markdown file's own folder, or from a
  service's folder (the README speaks of `bin/start` and `tests/media/` of
  each service as its own repository would).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
_CODE = re.compile(r"`([^`\s]+)`")
_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)
    return out.stdout.split()


def _markdown_files() -> list[Path]:
    return [REPO / name for name in _tracked() if name.endswith(".md")]


TOP_FOLDERS = {name.split("/")[0] for name in _tracked() if "/" in name}
SERVICES = [REPO / "web_service", REPO / "transcoder_service"]
TOP_FOLDERS |= {
    name.split("/")[1]
    for name in _tracked()
    if name.count("/") > 1 and name.startswith(("web_service/", "transcoder_service/"))
}


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*|_(?=\W)|(?<=\W)_", "", heading).strip().lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = _FENCE.sub("", path.read_text())
    return {_slug(heading) for heading in _HEADING.findall(text)}


def _links(path: Path) -> list[str]:
    text = _FENCE.sub("", path.read_text())
    return [a or b for a, b in _LINK.findall(text)]


def _code_paths(path: Path) -> list[str]:
    paths = []
    for token in _CODE.findall(path.read_text()):
        token = token.rstrip(".,:;")
        head = token.split("/")[0]
        if "/" in token and head in TOP_FOLDERS and not re.search(r"[<>*{}$…]|\.\.\.", token):
            paths.append(token.split("::")[0])
    return paths


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(REPO)) for p in paths]


@pytest.mark.parametrize("doc", _markdown_files(), ids=_ids(_markdown_files()))
def test_every_relative_link_resolves(doc: Path):
    broken = []
    for link in _links(doc):
        if re.match(r"[a-z][a-z0-9+.-]*:", link):  # https:, mailto: ...
            continue
        target, _, anchor = link.partition("#")
        path = (doc.parent / target).resolve() if target else doc
        if not path.exists():
            broken.append(f"{link}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{link}: no heading #{anchor} in {path.relative_to(REPO)}")
    assert not broken, f"{doc.relative_to(REPO)}: " + "; ".join(broken)


@pytest.mark.parametrize("doc", _markdown_files(), ids=_ids(_markdown_files()))
def test_every_repository_path_named_exists(doc: Path):
    missing = [
        name
        for name in _code_paths(doc)
        if not any((base / name).exists() for base in [REPO, doc.parent, *SERVICES])
    ]
    assert not missing, f"{doc.relative_to(REPO)} names paths that are not there: {missing}"


def test_the_checks_see_links_anchors_and_paths():
    # Guards the patterns: if one stopped matching, the tests above would check nothing.
    readme = REPO / "README.md"
    assert any(link.startswith("docs/") for link in _links(readme))
    assert "results-and-states" in _anchors(REPO / "docs" / "messages.md")
    assert any(name.startswith("tests/") for name in _code_paths(REPO / "docs" / "reliability.md"))
