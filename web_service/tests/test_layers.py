"""The arrows point one way: import-linter's contracts (pyproject.toml)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

WEB_SERVICE = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# The packages the contracts name (pyproject.toml, root_packages).
ROOT_PACKAGES = re.findall(
    r'"(\w+)"',
    re.search(r"root_packages = \[(.*)\]", (WEB_SERVICE / "pyproject.toml").read_text())[1],
)
CONTRACTS = len(
    re.findall(
        r"^\[\[tool\.importlinter\.contracts\]\]",
        (WEB_SERVICE / "pyproject.toml").read_text(),
        re.M,
    )
)


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
    assert CONTRACTS == 3
    assert f"{CONTRACTS} kept, 0 broken" in result.stdout


def test_an_arrow_the_wrong_way_breaks_a_contract(tmp_path: Path):
    """A copy of the code where jobs imports videos (below to above) must fail."""
    shutil.copy(WEB_SERVICE / "pyproject.toml", tmp_path)
    for package in ROOT_PACKAGES:
        shutil.copytree(
            WEB_SERVICE / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("static", "templates"),
        )
    reaper = tmp_path / "jobs" / "services" / "reaper.py"
    reaper.write_text(reaper.read_text() + "\nfrom videos.selectors import video_get  # noqa\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    assert "apps: videos -> jobs -> core BROKEN" in result.stdout
    assert "jobs.services.reaper -> videos.selectors" in result.stdout
