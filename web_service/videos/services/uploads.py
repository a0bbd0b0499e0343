"""Turning an uploaded file into a stored video and its first transcode job."""

from __future__ import annotations

import logging
import os
import time
import unicodedata
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.move import file_move_safe
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.db import transaction

from videos.messaging import contract
from videos.models import Video
from videos.services.dispatch import job_create

logger = logging.getLogger(__name__)

SOURCES_DIR = "sources"


def display_filename(*, name: str) -> str:
    """The client's file name, made safe to store and show (never used as a path)."""
    name = os.path.basename(name.replace("\\", "/"))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:255] or "upload"


def _upload_store(*, upload: UploadedFile, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(upload, TemporaryUploadedFile):
        # The temporary file lives under MEDIA_ROOT, so this is a rename on
        # the same filesystem: a 2 GiB upload is never copied a second time.
        file_move_safe(upload.temporary_file_path(), str(destination))
        return
    with open(destination, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)


def video_create(*, upload: UploadedFile, title: str, profiles: list[str] | None = None) -> Video:
    """Store `upload` under a server-generated name and queue its transcode.

    The file type is not judged here: the transcoder probes the content, and
    a file that is not a video fails its job with a reason a person can read.
    """
    video_id = uuid.uuid4()
    source_path = f"{SOURCES_DIR}/{video_id}"
    destination = Path(settings.MEDIA_ROOT) / source_path
    _upload_store(upload=upload, destination=destination)
    try:
        with transaction.atomic():
            video = Video.objects.create(
                id=video_id,
                title=title.strip()[:200],
                original_filename=display_filename(name=upload.name or ""),
                source_path=source_path,
                size_bytes=upload.size,
            )
            job_create(video=video, profiles=list(profiles or contract.DEFAULT_PROFILES))
    except Exception:
        # The rows did not commit, so the stored file must not stay behind.
        destination.unlink(missing_ok=True)
        raise
    return video


def abandoned_uploads_remove(*, idle_seconds: float) -> list[Path]:
    """Remove upload temp files that nobody has written for `idle_seconds`.

    Django streams each upload into FILE_UPLOAD_TEMP_DIR and removes the file
    itself however the request ends, as long as Python runs to see it: stored,
    refused, or the client gone (TemporaryFileUploadHandler.upload_interrupted).
    Only a web process that dies without running Python (SIGKILL, the OOM
    killer, gunicorn killing a stuck worker, a host crash) leaves one behind.

    A live upload writes its file with every chunk, so an idle one belongs to
    no running request. Judging by idleness instead of "remove everything at
    start-up" keeps the uploads of other web processes (other containers on
    the same volume) safe. A client that stalls for longer than `idle_seconds`
    and then resumes gets an error instead of leaking a file.
    """
    removed: list[Path] = []
    cutoff = time.time() - idle_seconds
    try:
        entries = list(os.scandir(settings.FILE_UPLOAD_TEMP_DIR))
    except FileNotFoundError:
        return removed
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except FileNotFoundError:  # finished or removed by its request meanwhile
            continue
    for path in removed:
        logger.warning("removed abandoned upload %s", path)
    return removed
