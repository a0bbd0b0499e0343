"""The README is a landing page a newcomer finishes: at most 150 lines, linking
every topic file under docs/ and each service's own README. The facts live in
those files (docs/development.md, "The rules": one place for each fact)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
MOST_LINES = 150
_LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)\s]*)?\)")


def _tracked(pattern: str) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", pattern], cwd=REPO, capture_output=True, text=True, check=True
    )
    return sorted(out.stdout.split())


def _linked(text: str) -> set[str]:
    return {target.removeprefix("./") for target in _LINK.findall(text)}


def test_the_readme_has_at_most_150_lines():
    lines = README.read_text().splitlines()
    assert len(lines) <= MOST_LINES, (
        f"README.md has {len(lines)} lines; keep it a landing page of at most {MOST_LINES}"
        " and move the rest into a file under docs/"
    )


def test_the_readme_links_every_topic_file_and_each_service_readme():
    wanted = [*_tracked("docs/*.md"), "web_service/README.md", "transcoder_service/README.md"]
    missing = [name for name in wanted if name not in _linked(README.read_text())]
    assert not missing, f"README.md does not link {missing}"


def test_the_checks_see_the_topic_files():
    # Guards the patterns: with no docs/ file found, the link test would pass on nothing.
    topics = _tracked("docs/*.md")
    assert "docs/messages.md" in topics
    assert len(topics) >= 10, topics
    assert _linked("[a](docs/x.md#h) and [b](./y/README.md)") == {"docs/x.md", "y/README.md"}
