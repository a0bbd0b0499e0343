"""Turning a stored upload into a video and its first transcode job."""

from __future__ import annotations

import logging
import os
import unicodedata

from django.db import transaction

from videos import objectstore
from videos.messaging import contract
from videos.models import Video
from videos.services.dispatch import job_create

logger = logging.getLogger(__name__)


def display_filename(*, name: str) -> str:
    """The client's file name, made safe to store and show (never used as a key)."""
    name = os.path.basename(name.replace("\\", "/"))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:255] or "upload"


def video_create(
    *,
    source_key: str,
    original_filename: str,
    size_bytes: int,
    title: str,
    profiles: list[str] | None = None,
) -> Video:
    """Record a source already stored at `source_key` and queue its transcode.

    The file type is not judged here: the transcoder probes the content, and
    a file that is not a video fails its job with a reason a person can read.
    """
    try:
        with transaction.atomic():
            video = Video.objects.create(
                title=title.strip()[:200],
                original_filename=display_filename(name=original_filename),
                source_key=source_key,
                size_bytes=size_bytes,
            )
            job_create(video=video, profiles=list(profiles or contract.DEFAULT_PROFILES))
    except Exception:
        # The rows did not commit, so the stored object must not stay behind.
        try:
            objectstore.source_delete(key=source_key)
        except objectstore.ObjectStoreError as exc:
            logger.error("source %s of an uncommitted video not deleted: %s", source_key, exc)
        raise
    return video
