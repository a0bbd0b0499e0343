"""Scripts keep LF line endings in every checkout (.gitattributes).

A Windows checkout (core.autocrlf=true) without these rules turns bin/start
into "#!/bin/sh\\r", which the images then fail to run.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# Everything that runs in a container or a shell, or is parsed line by line.
SCRIPTS = sorted(
    path
    for path in {
        *REPO_ROOT.glob("bin/*"),
        *REPO_ROOT.glob("*_service/bin/*"),
        *REPO_ROOT.glob("deploy/**/*.sh"),
        *REPO_ROOT.glob("**/Procfile"),
        *REPO_ROOT.glob("*/Dockerfile"),
        *REPO_ROOT.glob("deploy/**/Dockerfile"),
        REPO_ROOT / ".ci" / "run",
    }
    # Not ours: virtualenvs and npm packages.
    if not {".venv", "node_modules", "__pycache__"} & set(path.parts)
)


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=30
    ).stdout


def test_there_are_scripts_to_check():
    names = {str(p.relative_to(REPO_ROOT)) for p in SCRIPTS}
    assert {"web_service/bin/start", "transcoder_service/bin/start", "bin/run"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_scripts_are_checked_out_with_lf(script):
    relative = str(script.relative_to(REPO_ROOT))
    assert f"{relative}: eol: lf" in _git(REPO_ROOT, "check-attr", "eol", "--", relative)
    assert b"\r\n" not in script.read_bytes()


@pytest.mark.parametrize("with_rules", [True, False], ids=["with-gitattributes", "without"])
def test_a_crlf_platform_checks_out_bin_start_with_lf_only_with_the_rules(tmp_path, with_rules):
    # A throwaway repository with core.autocrlf=true, as on Windows: bin/start
    # goes into the index and back out through the line-ending conversion.
    _git(tmp_path, "init", "--quiet")
    _git(tmp_path, "config", "core.autocrlf", "true")
    if with_rules:
        shutil.copy2(REPO_ROOT / ".gitattributes", tmp_path / ".gitattributes")
    start = tmp_path / "web_service" / "bin" / "start"
    start.parent.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "web_service" / "bin" / "start", start)
    _git(tmp_path, "update-index", "--add", "web_service/bin/start")
    start.unlink()
    _git(tmp_path, "checkout-index", "--force", "web_service/bin/start")
    has_crlf = b"\r\n" in start.read_bytes()
    assert has_crlf is not with_rules
