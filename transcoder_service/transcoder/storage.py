"""The shared media root: safe paths, atomic writes, the per-job lock and manifest.

Layout, relative to the media root (docs/messages.md, "Output paths"):

    outputs/<job_id>/<profile>.mp4   renditions
    outputs/<job_id>/poster.jpg      poster
    outputs/<job_id>/result.json     manifest of a finished job, written last
    outputs/<job_id>/.lock           flock()ed while a delivery works on the job
    outputs/<job_id>/.<name>.<random>.tmp   files being written

An OSError from the storage becomes `StorageError`, the one failure the task
retries: a full disk or a flaky network mount may well recover.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from transcoder import contract
from transcoder.errors import InvalidPayload, StorageError
from transcoder.payload import ConvertRequest

logger = logging.getLogger(__name__)

LOCK_FILENAME = ".lock"
MANIFEST_FILENAME = "result.json"
TEMP_SUFFIX = ".tmp"


@contextlib.contextmanager
def storage_errors(action: str) -> Iterator[None]:
    """Turn an OSError raised inside the block into `StorageError`."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise StorageError(f"The media storage failed while {action}: {reason}.") from exc


def real_media_root(media_root: Path) -> Path:
    """The media root with symlinks resolved; refuses a root that is not there."""
    root = Path(os.path.realpath(media_root))
    # A missing root usually means a volume that is not mounted (yet), which
    # is worth retrying, unlike a bad path inside a healthy root.
    if not root.is_dir():
        raise StorageError(f"The media storage is not available: {root} is not a directory.")
    return root


def resolve_source(*, media_root: Path, source_path: str) -> Path:
    """The absolute path of an existing regular file inside the media root."""
    root = real_media_root(media_root)
    # realpath() follows every symlink, so the containment check below sees
    # where the file really is, not where its name pretends it is.
    resolved = Path(os.path.realpath(root / source_path))
    if not resolved.is_relative_to(root):
        raise InvalidPayload(f"The source_path {source_path!r} points outside the media root.")
    try:
        mode = resolved.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        # NotADirectoryError: a path through a file ("a.mp4/b.mp4").
        raise InvalidPayload(f"The source file {source_path!r} does not exist.") from None
    except OSError as exc:
        # These say something about the path, not about the storage's health:
        # retrying them (as StorageError) could never succeed.
        if exc.errno == errno.ELOOP:
            raise InvalidPayload(
                f"The source_path {source_path!r} is a loop of symbolic links."
            ) from None
        if exc.errno == errno.ENAMETOOLONG:
            raise InvalidPayload("The source_path is too long for the file system.") from None
        raise StorageError(f"The media storage failed while reading the source: {exc}.") from exc
    if not stat.S_ISREG(mode):
        raise InvalidPayload(f"The source_path {source_path!r} is not a regular file.")
    return resolved


def job_directory(*, media_root: Path, job_id: str) -> Path:
    """outputs/<job_id>/, created if needed. job_id is already validated."""
    path = real_media_root(media_root) / contract.OUTPUTS_DIR / job_id
    with storage_errors("creating the output folder"):
        path.mkdir(parents=True, exist_ok=True)
    return path


def relative_output_path(*, job_id: str, filename: str) -> str:
    """The path of an output as written in messages: relative to the media root."""
    return f"{contract.OUTPUTS_DIR}/{job_id}/{filename}"


@contextlib.contextmanager
def job_lock(job_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the job for the duration of the block.

    Two deliveries of the same job (a redelivery after a lost connection, or
    the web sending twice) would otherwise write the same files at once.
    flock() is released by the kernel when the process dies, so a killed
    worker never leaves the job locked.
    """
    with storage_errors("locking the job"):
        fd = os.open(job_dir / LOCK_FILENAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        with storage_errors("locking the job"):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                logger.info("waiting for another delivery of job %s", job_dir.name)
                fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # also releases the lock


def remove_stale_temp_files(job_dir: Path) -> None:
    """Remove temp files a crashed earlier attempt left behind.

    Only call this while holding the job lock: then no other attempt can be
    writing, so every temp file in the folder is garbage.
    """
    with storage_errors("cleaning up old temporary files"):
        for path in job_dir.glob(f".*{TEMP_SUFFIX}"):
            logger.info("removing stale temporary file %s", path)
            path.unlink(missing_ok=True)


class TempFiles:
    """Temporary names for this attempt's outputs, in the folder they end up in.

    Same folder, so `publish` is a rename on one file system, which is atomic:
    a reader sees either no file or the whole file, never a partial one.
    """

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._paths: list[Path] = []

    def new(self, final_name: str) -> Path:
        path = self._directory / f".{final_name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
        self._paths.append(path)
        return path

    def remove_all(self) -> None:
        for path in self._paths:
            # Cleanup runs while another exception may be propagating (a time
            # limit, a failed encode); failing here must not replace it.
            try:
                path.unlink(missing_ok=True)
            except OSError:
                logger.warning("could not remove temporary file %s", path, exc_info=True)


@contextlib.contextmanager
def temp_files(directory: Path) -> Iterator[TempFiles]:
    """Yield a `TempFiles`; whatever was not published is removed on the way out."""
    temps = TempFiles(directory)
    try:
        yield temps
    finally:
        temps.remove_all()


def publish(*, temp: Path, final: Path) -> None:
    """Move a finished temp file to its final name, atomically."""
    with storage_errors(f"saving {final.name}"):
        os.replace(temp, final)


def read_manifest(*, job_dir: Path, request: ConvertRequest) -> dict[str, Any] | None:
    """The result of an earlier, finished delivery of this same request, if any."""
    with storage_errors("reading the job manifest"):
        try:
            text = (job_dir / MANIFEST_FILENAME).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
    try:
        manifest = json.loads(text)
    except ValueError:
        # Cannot happen through write_manifest (atomic rename), but a damaged
        # manifest must cost a re-transcode, not a permanently failing job.
        logger.warning("ignoring unreadable manifest in %s", job_dir)
        return None
    if not isinstance(manifest, dict) or manifest.get("request") != _request_fingerprint(request):
        return None
    expected = [contract.rendition_filename(p) for p in request.profiles]
    expected.append(contract.POSTER_FILENAME)
    with storage_errors("checking earlier outputs"):
        if not all((job_dir / name).is_file() for name in expected):
            return None
    result = manifest.get("result")
    return result if isinstance(result, dict) else None


def write_manifest(*, job_dir: Path, request: ConvertRequest, result: dict[str, Any]) -> None:
    """Record a finished job. Written last: its presence means "all outputs are in place"."""
    manifest = {"request": _request_fingerprint(request), "result": result}
    with storage_errors("writing the job manifest"), temp_files(job_dir) as temps:
        temp = temps.new(MANIFEST_FILENAME)
        with temp.open("w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=2)
            handle.flush()
            # Without fsync a crash right after the rename can leave an empty
            # manifest on disk, which would claim a job is done when it is not.
            os.fsync(handle.fileno())
        os.replace(temp, job_dir / MANIFEST_FILENAME)


def _request_fingerprint(request: ConvertRequest) -> dict[str, Any]:
    # Everything that decides what the outputs look like; job_id is implied
    # by the folder.
    return {
        "source_path": request.source_path,
        "profiles": list(request.profiles),
        "contract_version": request.contract_version,
    }
