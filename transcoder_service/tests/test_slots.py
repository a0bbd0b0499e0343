"""Encoding slots: how many jobs of this host are encoding, and each ffmpeg's threads.

The other jobs here are real processes (`python -c`), as pool processes and
other workers are: a flock belongs to its holder's open file, and the kernel
drops it when the holder dies, however it dies.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from transcoder.scratch import attempt_folder, scratch_sweep
from transcoder.slots import (
    ENCODING_FILENAME,
    encoding_slot,
    slots_count,
    threads_for_start,
    threads_now,
)

from .support import AttemptHolders, attempt_kill, attempt_stop, scratch_entries


@pytest.mark.parametrize(
    ("configured", "running", "cores", "threads"),
    [
        (None, 1, 2, 0),  # alone: what plain ffmpeg gets
        (None, 0, 2, 0),  # counted before its own slot: still alone
        (None, 2, 2, 1),
        (None, 2, 8, 4),
        (None, 3, 8, 2),
        (None, 5, 2, 1),  # never below one thread
        (3, 1, 8, 3),  # a set number is kept, alone or not
        (3, 4, 8, 3),
        (0, 1, 2, 0),  # 0: ffmpeg decides, alone or not
        (0, 2, 2, 0),
    ],
)
def test_threads_for_start(configured: int | None, running: int, cores: int, threads: int) -> None:
    assert threads_for_start(configured=configured, running=running, cores=cores) == threads


def test_jobs_of_other_processes_count_and_a_killed_one_stops_counting(
    scratch_dir: Path, attempt_holders: AttemptHolders
) -> None:
    dead = attempt_holders.start(name="job-a.00000000000000aa", encoding=True)
    live = attempt_holders.start(name="job-b.00000000000000bb", encoding=True)
    with attempt_folder(scratch_dir=scratch_dir, name="job-c.00000000000000cc") as folder:
        assert slots_count(scratch_dir=scratch_dir) == 2  # not encoding yet
        with encoding_slot(folder=folder):
            assert slots_count(scratch_dir=scratch_dir) == 3

            attempt_kill(dead)  # no finally, no cleanup: like the OOM killer
            # Its folder and slot file are still there, but nobody holds them.
            assert (scratch_dir / "job-a.00000000000000aa" / ENCODING_FILENAME).is_file()
            assert slots_count(scratch_dir=scratch_dir) == 2

            assert scratch_sweep(scratch_dir=scratch_dir) == ["job-a.00000000000000aa"]
            assert slots_count(scratch_dir=scratch_dir) == 2
            attempt_stop(live)  # SIGTERM -> SystemExit: its `finally` ends the slot
            assert slots_count(scratch_dir=scratch_dir) == 1
        assert slots_count(scratch_dir=scratch_dir) == 0
        assert not (folder / ENCODING_FILENAME).exists()
    assert scratch_entries(scratch_dir) == []  # nothing left once every job has ended


def test_jobs_in_threads_of_one_process_count_each(scratch_dir: Path) -> None:
    # Each slot is its own open file, so even two of one process exclude each other.
    inside = threading.Barrier(3)
    done = threading.Event()

    def job(name: str) -> None:
        with (
            attempt_folder(scratch_dir=scratch_dir, name=name) as folder,
            encoding_slot(folder=folder),
        ):
            inside.wait(timeout=10)
            done.wait(timeout=10)

    threads = [threading.Thread(target=job, args=(f"job-{n}.0{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    try:
        inside.wait(timeout=10)
        assert slots_count(scratch_dir=scratch_dir) == 2
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert slots_count(scratch_dir=scratch_dir) == 0


def test_threads_are_sized_from_the_jobs_encoding_now(
    scratch_dir: Path, attempt_holders: AttemptHolders, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("transcoder.slots.usable_cores", lambda: 2)
    with (
        attempt_folder(scratch_dir=scratch_dir, name="job-a.00000000000000aa") as folder,
        encoding_slot(folder=folder),
    ):
        assert threads_now(configured=None, scratch_dir=scratch_dir) == 0  # alone
        assert threads_now(configured=3, scratch_dir=scratch_dir) == 3
        attempt_holders.start(name="job-b.00000000000000bb", encoding=True)
        assert threads_now(configured=None, scratch_dir=scratch_dir) == 1  # 2 cores, 2 jobs
        assert threads_now(configured=0, scratch_dir=scratch_dir) == 0


def test_a_count_of_a_missing_or_foreign_scratch_folder_is_zero(tmp_path: Path) -> None:
    assert slots_count(scratch_dir=tmp_path / "absent") == 0
    (tmp_path / "notes.txt").write_text("not an attempt folder")
    (tmp_path / "empty").mkdir()
    assert slots_count(scratch_dir=tmp_path) == 0
