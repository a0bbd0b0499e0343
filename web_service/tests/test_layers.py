"""The arrows point one way: import-linter's layers contract (pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

WEB_SERVICE = Path(__file__).resolve().parents[1]


def test_no_import_runs_from_a_lower_layer_up():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=WEB_SERVICE,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout
