"""The "Repository layout" of docs/development.md names every top-level entry,
and every path it names exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAYOUT_DOC = REPO / "docs" / "development.md"


def _layout() -> list[tuple[int, list[str]]]:
    """(indent, path names) for each line of the layout block that names paths."""
    doc = LAYOUT_DOC.read_text()
    block = doc.split("## Repository layout", 1)[1].split("```")[1]
    rows = []
    for line in block.splitlines():
        names = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0] if line.strip() else ""
        indent = len(line) - len(line.lstrip(" "))
        # A line of only description (indented far) names nothing.
        if names and indent < 20:
            rows.append((indent // 2, [n for n in re.split(r"[ ,]+", names) if n]))
    return rows


def test_every_path_in_the_layout_exists():
    parents: dict[int, Path] = {-1: REPO}
    for level, names in _layout():
        base = parents[level - 1]
        for name in names:
            path = base / name
            assert path.exists(), (
                f"the layout in docs/development.md names {path.relative_to(REPO)}, "
                "which is not there"
            )
            if name.endswith("/") and "/" not in name.rstrip("/"):
                parents[level] = path


def test_every_top_level_entry_is_in_the_layout():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    top = {name.split("/")[0] for name in tracked}
    named = {n.rstrip("/").split("/")[0] for level, names in _layout() if level == 0 for n in names}
    # Dotfiles and the root's own config files are not part of the layout.
    unlisted = {
        t
        for t in top - named
        if not t.startswith(".")
        and t
        not in {
            "README.md",
            "pyproject.toml",
            "requirements-dev.txt",
            "package.json",
            "package-lock.json",
        }
    }
    assert not unlisted, (
        f"top-level entries missing from the layout in docs/development.md: {sorted(unlisted)}"
    )
