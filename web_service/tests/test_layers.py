"""The arrows point one way: import-linter's contracts (pyproject.toml)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

WEB_SERVICE = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
IMPORTLINTER = tomllib.loads((WEB_SERVICE / "pyproject.toml").read_text())["tool"]["importlinter"]
# The packages the contracts name, and how many contracts there are.
ROOT_PACKAGES = IMPORTLINTER["root_packages"]
CONTRACTS = len(IMPORTLINTER["contracts"])


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_no_import_runs_from_a_lower_layer_up():
    result = _lint_imports(WEB_SERVICE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert CONTRACTS == 4
    assert f"{CONTRACTS} kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # An app importing one above it: jobs sits below videos.
        ("jobs/services/reaper.py", "from videos.selectors import video_get", "apps: ingest"),
        # videos' services must not reach up into ingest (only its entry points do).
        ("videos/services/videos.py", "from ingest.selectors import uploads_open", "apps: ingest"),
        # Inside an app: a model importing a service.
        ("ingest/models.py", "from ingest.services import uploads", "ingest: entry points"),
    ],
)
def test_an_arrow_the_wrong_way_breaks_a_contract(
    tmp_path: Path, module: str, line: str, broken: str
):
    """A copy of the code with one import running back up must fail lint-imports."""
    shutil.copy(WEB_SERVICE / "pyproject.toml", tmp_path)
    for package in ROOT_PACKAGES:
        shutil.copytree(
            WEB_SERVICE / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("static", "templates", "__pycache__"),
        )
    path = tmp_path / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    assert f"{CONTRACTS - 1} kept, 1 broken" in result.stdout
    assert re.search(rf"^{re.escape(broken)}.* BROKEN\b", result.stdout, re.M), result.stdout
