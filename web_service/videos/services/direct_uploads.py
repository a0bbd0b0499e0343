"""Direct, resumable uploads: the browser sends the parts to the store itself.

The web starts a multipart upload under a key of its own choosing, signs one
PUT URL per part, lists what the store holds (so a client that lost its
place resumes without sending a part twice), and completes it. At the
completion the stored object is checked against what was declared and the
quota, then recorded through `video_create`, exactly like a streamed upload
(services/videos.py), so the job is sent after the commit as always.

Why through the store and not the web: a dropped connection costs one part,
not the whole file, and no gunicorn thread is held for the length of an
upload. The refusals are the streamed upload's own sentences.
"""

from __future__ import annotations

import logging
import math
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from videos import objectstore
from videos.content_types import content_type_is_video, not_a_video_message
from videos.models import Upload, Video
from videos.services.videos import (
    UploadQuotaExceeded,
    display_filename,
    upload_quota_refusal,
    video_create,
)
from videos.upload_handlers import upload_too_large_message

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
MIN_PART_BYTES = 8 * MiB  # S3's floor is 5 MiB (except the last part)
# One part in flight, as big as is reasonable: each part costs a signing call
# and a new PUT, so 8 MiB parts sent a 256 MiB file at 0.56x a boto3 upload
# and 32 MiB parts at 0.85x (bench/results.md, section 8). Parts stay at most
# an eighth of the file and 64 MiB, which bounds what a dropped connection
# sends again.
PREFERRED_MAX_PART_BYTES = 64 * MiB
MAX_PARTS = 10_000  # S3's ceiling

EMPTY_MESSAGE = "The file is empty."
PART_RANGE_MESSAGE = f"Part numbers run from 1 to {MAX_PARTS}."
PARTS_MISMATCH_MESSAGE = (
    "The store does not hold the parts listed. List the uploaded parts, send the"
    " missing ones, and complete again."
)


class DirectUploadRefused(Exception):
    """A request the person can correct; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def direct_upload_part_size(*, size_bytes: int) -> int:
    """An eighth of the file in whole MiB, from 8 to 64 MiB; more only if S3's 10,000 parts need it.

    static/videos/uploader.js (partSize) computes the same.
    """
    eighth = math.ceil(size_bytes / 8 / MiB) * MiB
    return max(
        MIN_PART_BYTES,
        min(PREFERRED_MAX_PART_BYTES, eighth),
        math.ceil(size_bytes / MAX_PARTS),
    )


def direct_upload_get(*, owner: AbstractBaseUser, upload_id: uuid.UUID) -> Upload | None:
    """The owner's upload with this id; None for anyone else's, as for a missing one."""
    return Upload.objects.filter(owner=owner, pk=upload_id).first()


def direct_upload_create(
    *,
    owner: AbstractBaseUser,
    filename: str,
    size_bytes: int,
    content_type: str,
    title: str,
) -> Upload:
    """Check what is declared, then start a multipart upload of a fresh sources/ key."""
    if size_bytes <= 0:
        raise DirectUploadRefused(EMPTY_MESSAGE)
    if size_bytes > settings.UPLOAD_MAX_BYTES:
        raise DirectUploadRefused(upload_too_large_message(), status=413)
    if not content_type_is_video(content_type):
        raise DirectUploadRefused(not_a_video_message(content_type))
    refusal = upload_quota_refusal(owner=owner, size_bytes=size_bytes)
    if refusal:
        raise DirectUploadRefused(refusal, status=413)
    key = objectstore.source_key_new()
    store_upload_id = objectstore.multipart_create(key=key)
    return Upload.objects.create(
        owner=owner,
        key=key,
        upload_id=store_upload_id,
        filename=display_filename(name=filename),
        content_type=content_type[:255],
        size_bytes=size_bytes,
        title=title.strip()[:200],
    )


def _part_number_check(number: int) -> None:
    if not 1 <= number <= MAX_PARTS:
        raise DirectUploadRefused(PART_RANGE_MESSAGE)


def direct_upload_part_url(*, upload: Upload, number: int) -> str:
    """A short-lived PUT URL for part `number` of this upload."""
    _part_number_check(number)
    return objectstore.multipart_part_url_presign(
        key=upload.key, upload_id=upload.upload_id, number=number
    )


def direct_upload_parts_list(*, upload: Upload) -> list[dict]:
    """What the store holds of this upload, for a client resuming it."""
    return objectstore.multipart_parts_list(key=upload.key, upload_id=upload.upload_id)


def direct_upload_complete(*, upload: Upload, parts: list[tuple[int, str]]) -> Video:
    """Assemble the parts, check the object, and record the video (its job is sent after commit).

    A wrong parts list leaves the upload as it was, so the client can list
    and try again. An object whose size is not the declared one, or that no
    longer fits the quota, is deleted with the row: nothing is kept.
    """
    if not parts:
        raise DirectUploadRefused(PARTS_MISMATCH_MESSAGE)
    for number, _etag in parts:
        _part_number_check(number)
    try:
        objectstore.multipart_complete_parts(
            key=upload.key, upload_id=upload.upload_id, parts=sorted(parts)
        )
    except objectstore.ObjectStoreUnavailable:
        raise
    except objectstore.ObjectStoreError as exc:
        logger.info("upload %s not completed: %s", upload.pk, exc)
        raise DirectUploadRefused(PARTS_MISMATCH_MESSAGE) from exc
    stored = objectstore.object_size(key=upload.key)
    if stored != upload.size_bytes:
        _discard(upload=upload)
        raise DirectUploadRefused(
            f"The uploaded file has {stored or 0} bytes, but {upload.size_bytes} were declared."
            " Nothing was kept; upload it again."
        )
    try:
        with transaction.atomic():
            video = video_create(
                owner=upload.owner,
                source_key=upload.key,
                original_filename=upload.filename,
                size_bytes=stored,
                title=upload.title,
            )
            upload.delete()
    except UploadQuotaExceeded as exc:  # video_create deleted the object
        upload.delete()
        raise DirectUploadRefused(str(exc), status=413) from exc
    return video


def direct_upload_abort(*, upload: Upload) -> None:
    """Drop the upload and whatever parts the store holds of it."""
    objectstore.multipart_abort(key=upload.key, upload_id=upload.upload_id)
    upload.delete()


def _discard(*, upload: Upload) -> None:
    try:
        objectstore.source_delete(key=upload.key)
    except objectstore.ObjectStoreError as exc:  # the retention sweep removes orphans
        logger.error("refused upload %s not deleted: %s", upload.key, exc)
    upload.delete()


def direct_uploads_forget_abandoned(*, older_than: timedelta, aborted_keys: list[str]) -> int:
    """Delete the rows of uploads the store sweep aborted, or that are past the same age.

    Called after `objectstore.multipart_uploads_abort_abandoned`: a row
    whose multipart upload is gone could only answer a client with errors.
    """
    cutoff = timezone.now() - older_than
    deleted, _ = Upload.objects.filter(Q(created_at__lte=cutoff) | Q(key__in=aborted_keys)).delete()
    return deleted
