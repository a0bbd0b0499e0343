"""Scratch folders: removed when an attempt ends, and swept when their owner died.

The owners here are real processes (`python -c`), as pool processes are: a
flock belongs to its holder's open file, and the kernel drops it when the
holder dies, however it dies.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from transcoder.scratch import LOCK_FILENAME, attempt_folder, scratch_sweep

from .support import AttemptHolders, attempt_kill, attempt_stop


def test_the_folder_is_locked_while_in_use_and_removed_after(scratch_dir: Path) -> None:
    with attempt_folder(scratch_dir=scratch_dir, name="job.0123456789abcdef") as folder:
        assert folder == scratch_dir / "job.0123456789abcdef"
        assert (folder / LOCK_FILENAME).is_file()
        (folder / "720p.mp4").write_bytes(b"x")
        # A sweep from here (another open file, as another process has) sees it locked.
        assert scratch_sweep(scratch_dir=scratch_dir) == []
        assert folder.is_dir()
    assert os.listdir(scratch_dir) == []


def test_the_folder_is_removed_when_the_attempt_fails(scratch_dir: Path) -> None:
    def fail_midway() -> None:
        with attempt_folder(scratch_dir=scratch_dir, name="job.1") as folder:
            (folder / "720p.mp4").write_bytes(b"partial")
            raise RuntimeError("ffmpeg died")

    with pytest.raises(RuntimeError, match="ffmpeg died"):
        fail_midway()
    assert os.listdir(scratch_dir) == []


def test_a_killed_attempt_is_swept_and_a_live_one_is_kept(
    scratch_dir: Path, attempt_holders: AttemptHolders
) -> None:
    dead = attempt_holders.start(name="job-a.00000000000000aa")
    live = attempt_holders.start(name="job-b.00000000000000bb")
    attempt_kill(dead)  # no finally, no cleanup: like the OOM killer
    assert sorted(os.listdir(scratch_dir)) == ["job-a.00000000000000aa", "job-b.00000000000000bb"]

    assert scratch_sweep(scratch_dir=scratch_dir) == ["job-a.00000000000000aa"]

    assert os.listdir(scratch_dir) == ["job-b.00000000000000bb"]
    assert (scratch_dir / "job-b.00000000000000bb" / "source.mp4").is_file()
    attempt_stop(live)  # SIGTERM -> SystemExit: its own `finally` removes the folder
    assert os.listdir(scratch_dir) == []


def test_a_sweep_of_a_missing_scratch_folder_does_nothing(tmp_path: Path) -> None:
    assert scratch_sweep(scratch_dir=tmp_path / "absent") == []
