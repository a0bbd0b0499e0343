"""Local scratch folders: one per attempt, removed however the attempt ends.

    SCRATCH_DIR/<job_id>.<attempt>/lock     flock()ed while the attempt lives
    SCRATCH_DIR/<job_id>.<attempt>/...      the source and the outputs
    SCRATCH_DIR/<job_id>.<attempt>/encoding.lock   flock()ed while its ffmpegs run (slots.py)

An attempt removes its folder in `finally`. A SIGKILLed one cannot, so
`scratch_sweep` (at worker start and before each job) removes every folder
whose lock nobody holds. The kernel drops a flock when its holder dies, so a
dead attempt's folder is free, while a live attempt of another pool process
or another worker on this host keeps its lock and its folder.

A folder is built under a dot-name and renamed into place only once its lock
is held: a sweep never sees an attempt folder that is not yet locked.

A failing scratch disk (ENOSPC, EIO) is `StorageError`, retried like a store
fault: another delivery, maybe on another host, may well have room.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from transcoder.errors import StorageError

logger = logging.getLogger(__name__)

LOCK_FILENAME = "lock"
_BUILDING_PREFIX = "."
# A dot-folder older than this belongs to an attempt killed while creating
# its folder (a few microseconds' window): no live attempt is that slow.
_BUILDING_GRACE_SECONDS = 60


@contextlib.contextmanager
def attempt_folder(*, scratch_dir: Path, name: str) -> Iterator[Path]:
    """Yield a new, locked folder `scratch_dir/name`; remove it on the way out."""
    building = scratch_dir / f"{_BUILDING_PREFIX}{name}"
    folder = scratch_dir / name
    with scratch_errors("creating the scratch folder"):
        scratch_dir.mkdir(parents=True, exist_ok=True)
        building.mkdir()
        fd = os.open(building / LOCK_FILENAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        with scratch_errors("creating the scratch folder"):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(building, folder)
        yield folder
    finally:
        # Removed while still locked, so no sweep can race us for it; then
        # closing the descriptor releases the lock. Errors are logged, not
        # raised: another exception (a time limit, a failed encode) may be
        # on its way out, and a leftover is swept later anyway.
        for path in (folder, building):
            shutil.rmtree(path, onerror=_log_removal_error)
        os.close(fd)


def scratch_sweep(*, scratch_dir: Path) -> list[str]:
    """Remove every attempt folder whose lock nobody holds; return their names."""
    try:
        entries = list(os.scandir(scratch_dir))
    except FileNotFoundError:
        return []
    except OSError:
        logger.warning("cannot list the scratch folder", exc_info=True)
        return []
    removed = []
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        if entry.name.startswith(_BUILDING_PREFIX):
            if _older_than(entry, seconds=_BUILDING_GRACE_SECONDS):
                shutil.rmtree(entry.path, onerror=_log_removal_error)
                removed.append(entry.name)
            continue
        if _remove_if_unlocked(Path(entry.path)):
            removed.append(entry.name)
    if removed:
        logger.info("removed %d scratch folder(s) of dead attempts", len(removed))
    return removed


@contextlib.contextmanager
def scratch_errors(action: str) -> Iterator[None]:
    """Turn an OSError of the scratch disk (ENOSPC, EIO, ...) into `StorageError`."""
    try:
        yield
    except OSError as exc:
        # strerror only ("No space left on device"): the path is the
        # worker's business, not the person's.
        reason = exc.strerror or type(exc).__name__
        raise StorageError(f"The worker's scratch disk failed while {action}: {reason}.") from exc


def _remove_if_unlocked(folder: Path) -> bool:
    try:
        fd = os.open(folder / LOCK_FILENAME, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        # Its owner is removing it right now (the lock file goes first
        # with the rest of the folder), or it is not one of ours.
        return False
    except OSError:
        logger.warning("cannot open the lock of %s", folder.name, exc_info=True)
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live attempt
        shutil.rmtree(folder, onerror=_log_removal_error)
        return True
    finally:
        os.close(fd)


def _older_than(entry: os.DirEntry[str], *, seconds: float) -> bool:
    try:
        return time.time() - entry.stat(follow_symlinks=False).st_mtime > seconds
    except OSError:
        return False


def _log_removal_error(function: object, path: str, exc_info: object) -> None:
    if isinstance(exc_info, tuple) and isinstance(exc_info[1], FileNotFoundError):
        return  # already gone: another sweep or the owner got there first
    error = exc_info[1] if isinstance(exc_info, tuple) else None
    logger.warning("could not remove %s from scratch", os.path.basename(path), exc_info=error)
