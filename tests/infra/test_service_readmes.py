"""Each service's README names every module of that service in its "Layout" table.

The transcoder's table once lacked guards.py, redact.py and media/playlists.py
(issue 27): a module a newcomer cannot find in the table is a module they do
not know exists. A module is named when a row of the table names its file
(`guards.py`, or `guards` in a row about its folder) next to its folder
(`transcoder/`, `videos/views/`).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICES = {
    "web_service": ["config", "accounts", "ratelimits", "core", "ingest", "jobs", "videos"],
    "transcoder_service": ["transcoder"],
}
# Django's and Python's boilerplate, which says nothing a reader looks for.
BOILERPLATE = {"__init__.py", "apps.py", "manage.py"}


def _modules(service: str, packages: list[str]) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", *(f"{package}/**.py" for package in packages)],
        cwd=REPO / service,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [
        path for path in out if Path(path).name not in BOILERPLATE and "/migrations/" not in path
    ]


def _rows(readme: str) -> list[str]:
    layout = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    return [line for line in layout.splitlines() if line.startswith("|")]


def _named(module: str, rows: list[str]) -> bool:
    folder, _, name = module.rpartition("/")
    stem = name.removesuffix(".py")
    return any(f"{folder}/" in row and (name in row or f"`{stem}`" in row) for row in rows)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_layout_table_names_every_module(service: str):
    rows = _rows((REPO / service / "README.md").read_text())
    missing = [m for m in _modules(service, SERVICES[service]) if not _named(m, rows)]
    assert not missing, f"{service}/README.md, Layout: no row names {missing}"


def test_the_check_sees_a_module_that_is_not_named():
    rows = ["| `transcoder/pipeline.py` | one job |", "| `transcoder/media/` | `probe`, `runner` |"]
    assert _named("transcoder/pipeline.py", rows)
    assert _named("transcoder/media/probe.py", rows)
    assert not _named("transcoder/guards.py", rows)
    assert not _named("transcoder/media/verify.py", rows)
    assert _modules("transcoder_service", ["transcoder"]), "no module found to check"
