"""bin/apt-get-waiting: `make setup` waits for another apt instead of failing.

The other apt is played by this test: it holds apt's lists lock as apt does
(an fcntl lock on /var/lib/apt/lists/lock) for a few seconds. The update
reads no source list, so it needs no network and changes nothing.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LISTS_LOCK = Path("/var/lib/apt/lists/lock")
NO_SOURCES = ["-o", "Dir::Etc::sourcelist=/dev/null", "-o", "Dir::Etc::sourceparts=/nonexistent"]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not LISTS_LOCK.parent.is_dir(), reason="needs root and apt"
)


def _hold_lists_lock(*, seconds: float, held: threading.Event) -> None:
    fd = os.open(LISTS_LOCK, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        held.set()
        time.sleep(seconds)
    finally:
        os.close(fd)  # releases the lock


def test_an_update_waits_for_the_lists_lock_and_then_succeeds() -> None:
    held = threading.Event()
    holder = threading.Thread(target=_hold_lists_lock, kwargs={"seconds": 4, "held": held})
    holder.start()
    assert held.wait(timeout=30)
    started = time.monotonic()
    result = subprocess.run(
        [REPO_ROOT / "bin" / "apt-get-waiting", *NO_SOURCES, "update", "-qq"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    holder.join(timeout=30)
    assert result.returncode == 0, result.stderr
    assert "waiting" in result.stderr  # it met the lock, and did not fail on it
    assert time.monotonic() - started >= 3


def test_any_other_failure_is_not_retried() -> None:
    started = time.monotonic()
    result = subprocess.run(
        [REPO_ROOT / "bin" / "apt-get-waiting", "no-such-command"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "waiting" not in result.stderr
    assert time.monotonic() - started < 10
