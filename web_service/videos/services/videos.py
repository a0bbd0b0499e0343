"""Creating a video from a stored upload (with its first job), and deleting one
with the objects it owns in the store."""

from __future__ import annotations

import logging
import os
import unicodedata

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, transaction

from core import objectstore
from jobs.messaging import contract
from jobs.messaging.control import transcode_cancel_publish
from jobs.messaging.publisher import outputs_delete_publish
from jobs.models import FINAL_STATUSES
from jobs.services.dispatch import PUBLISH_ERRORS, job_create
from videos.limits import over_quota_message, site_full_message
from videos.models import Video
from videos.selectors import site_storage_used, uploads_open_bytes, user_storage_used

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


def _video_objects_delete(*, source_key: str, job_ids: list[str], running: list[str]) -> None:
    for job_id in running:
        try:
            # Otherwise a running transcode would write outputs after their deletion.
            transcode_cancel_publish(job_id=job_id)
        except PUBLISH_ERRORS as exc:
            logger.warning("could not cancel job %s of a deleted video: %s", job_id, exc)
    try:
        objectstore.source_delete(key=source_key)
    except objectstore.ObjectStoreError as exc:
        logger.error("source %s of a deleted video not deleted: %s", source_key, exc)
    for job_id in job_ids:
        # The web's key may read outputs but never delete them (docs/storage.md,
        # "Least privilege"): the transcoder, which owns outputs/, deletes them.
        try:
            outputs_delete_publish(job_id=job_id)
        except PUBLISH_ERRORS as exc:
            logger.error("outputs of job %s not deleted, broker unavailable: %s", job_id, exc)


def video_delete(*, video: Video) -> None:
    """Delete the video and its jobs; after the commit, its source and every job's outputs.

    Objects are deleted only once the rows are gone for good: a rolled-back
    delete must not leave a video whose files are missing.
    """
    with transaction.atomic():
        jobs = list(video.jobs.values_list("id", "status"))
        source_key = video.source_key
        video.delete()
        transaction.on_commit(
            lambda: _video_objects_delete(
                source_key=source_key,
                job_ids=[str(job_id) for job_id, _ in jobs],
                running=[str(job_id) for job_id, status in jobs if status not in FINAL_STATUSES],
            )
        )
