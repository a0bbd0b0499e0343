"""How many jobs are encoding on this host, so each ffmpeg is sized as it starts.

    SCRATCH_DIR/<job_id>.<attempt>/encoding.lock   flock()ed while the job's ffmpegs run

A lone job's ffmpeg is as fast as plain ffmpeg only with ffmpeg's own
threads (-threads 0), while jobs running side by side must share the cores
or each sizes itself for the whole machine (docs/performance.md, "Why
`-threads` is sized when each ffmpeg starts"). Only the moment an ffmpeg
starts tells which case it is in.

Why an flock in the attempt folder, rather than a counter or pid files:
- every pool process, and every worker sharing SCRATCH_DIR, sees the same
  files, with no shared memory or server;
- the kernel drops a flock when its holder dies, however it dies, so a
  SIGKILLed job is never counted: nothing stale to repair;
- the attempt folder is already removed when the job ends, and swept when
  its owner died (scratch.py), so SCRATCH_DIR still holds nothing once every
  job has ended, and counting only reads.
Workers with different SCRATCH_DIRs on one host do not see each other.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from transcoder.scratch import scratch_errors
from transcoder.settings import usable_cores

logger = logging.getLogger(__name__)

ENCODING_FILENAME = "encoding.lock"


@contextlib.contextmanager
def encoding_slot(*, folder: Path) -> Iterator[None]:
    """Count the job of attempt folder `folder` as encoding until the block ends."""
    path = folder / ENCODING_FILENAME
    with scratch_errors("starting to encode"):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        # Blocking: a count in another process may hold it for a moment.
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        # The folder lives on through the upload; a leftover file would only
        # cost each count an open, and goes with the folder anyway.
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


def slots_count(*, scratch_dir: Path) -> int:
    """How many jobs under `scratch_dir` hold an encoding slot now, the caller's included."""
    try:
        entries = list(os.scandir(scratch_dir))
    except FileNotFoundError:
        return 0  # no attempt yet
    except OSError:
        logger.warning("cannot list the scratch folder to count running jobs", exc_info=True)
        return 0
    running = 0
    for entry in entries:
        try:
            fd = os.open(os.path.join(entry.path, ENCODING_FILENAME), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue  # not encoding, ended, or not an attempt folder at all
        try:
            # Shared: two counts at once do not see each other as a job.
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            running += 1
        finally:
            os.close(fd)
    return running


def threads_for_start(*, configured: int | None, running: int, cores: int) -> int:
    """ffmpeg's -threads for a run starting while `running` jobs (this one too) encode.

    `configured` is FFMPEG_THREADS: a number is kept (0: ffmpeg decides);
    None sizes it here: alone, exactly what plain ffmpeg would choose;
    otherwise an equal share of the cores, at least one thread.
    """
    if configured is not None:
        return configured
    if running <= 1:
        return 0
    return max(1, cores // running)


def threads_now(*, configured: int | None, scratch_dir: Path) -> int:
    """`threads_for_start` for an ffmpeg starting now, counting only when it must."""
    if configured is not None:
        return configured
    running = slots_count(scratch_dir=scratch_dir)
    threads = threads_for_start(configured=None, running=running, cores=usable_cores())
    logger.info("ffmpeg threads=%d: %d job(s) encoding on this host", threads, running)
    return threads
