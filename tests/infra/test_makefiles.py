"""`make help` lists every target of every Makefile, with what it does."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("folder", [".", "web_service", "transcoder_service"])
def test_make_help_lists_every_phony_target(folder: str):
    makefile = (REPO / folder / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.M).group(1).split()
    shown = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO / folder), "help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    # Only this Makefile's own part: the root's help goes on with the services'.
    own = shown.split("web_service/ (make -C")[0]
    listed = re.findall(r"^  make (\S+) +\S", own, re.M)
    assert sorted(listed) == sorted(phony), shown
