"""Recording a stored upload as a video (with its first job), the end of both
upload paths, and the quota an upload must fit."""

from __future__ import annotations

import logging
import os
import unicodedata

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, transaction

from core import objectstore
from ingest.limits import over_quota_message, site_full_message
from ingest.selectors import uploads_open_bytes
from jobs.messaging import contract
from jobs.services.dispatch import job_create
from videos.models import Video
from videos.selectors import site_storage_used, user_storage_used

logger = logging.getLogger(__name__)


def display_filename(*, name: str) -> str:
    """The client's file name, made safe to store and show (never used as a key)."""
    name = os.path.basename(name.replace("\\", "/"))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:255] or "upload"


class UploadQuotaExceeded(Exception):
    """The upload would take its owner over USER_QUOTA_BYTES; the message says by how much."""


def upload_quota_refusal(*, owner: AbstractBaseUser, size_bytes: int) -> str | None:
    """The sentence refusing `size_bytes` more for this owner, or None if it fits.

    Uploads in progress hold their declared size (a direct upload's parts
    are in the store before it completes), against the owner's quota and
    against the site's.
    """
    held = uploads_open_bytes(owner=owner)
    left = max(0, settings.USER_QUOTA_BYTES - user_storage_used(owner=owner) - held)
    if size_bytes > left:
        return over_quota_message(size_bytes=size_bytes, left_bytes=left, held_bytes=held)
    site_left = settings.SITE_QUOTA_BYTES - site_storage_used() - uploads_open_bytes()
    if size_bytes > site_left:
        return site_full_message(size_bytes=size_bytes, left_bytes=site_left)
    return None


def _source_unrecorded(*, key: str) -> bool:
    try:
        return not Video.objects.filter(source_key=key).exists()
    except DatabaseError:  # unknown, so kept: the orphan sweep deletes it if no video has it
        return False


def video_create(
    *,
    owner: AbstractBaseUser,
    source_key: str,
    original_filename: str,
    size_bytes: int,
    title: str,
    profiles: list[str] | None = None,
) -> Video:
    """Record a source already stored at `source_key` and queue its transcode.

    The file type is not judged here: the transcoder probes the content, and
    a file that is not a video fails its job with a reason a person can read.
    Raises UploadQuotaExceeded when the real size does not fit the owner's
    quota; the stored object is deleted then too.
    """
    try:
        with transaction.atomic():
            # Locks the owner's row, so two uploads at once cannot both fit
            # the space that only one of them has.
            get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
            refusal = upload_quota_refusal(owner=owner, size_bytes=size_bytes)
            if refusal:
                raise UploadQuotaExceeded(refusal)
            video = Video.objects.create(
                owner=owner,
                title=title.strip()[:200],
                original_filename=display_filename(name=original_filename),
                source_key=source_key,
                size_bytes=size_bytes,
            )
            job_create(video=video, profiles=list(profiles or contract.DEFAULT_PROFILES))
    except Exception:
        # The rows did not commit, so the stored object must not stay behind,
        # unless a committed video records it (source_key is unique): then
        # this was a second video of one source, and the first plays it.
        if _source_unrecorded(key=source_key):
            try:
                objectstore.source_delete(key=source_key)
            except objectstore.ObjectStoreError as exc:
                logger.error("source %s of an uncommitted video not deleted: %s", source_key, exc)
        raise
    return video
