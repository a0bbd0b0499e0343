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

What one person, and everyone, may hold (issue 23): each part URL is signed
for the part's exact length and only for the parts the declared size needs,
so the store cannot be sent more than was declared; an upload in progress
holds its declared size against the quotas; and the uploads in progress
are capped per person and for the site. Completing claims the upload with
a conditional UPDATE, so two `complete` calls at once make one video.
"""

from __future__ import annotations

import logging
import math
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import objectstore
from ingest import direct_store
from ingest.content_types import content_type_is_video, not_a_video_message
from ingest.limits import (
    EMPTY_MESSAGE,
    SITE_BUSY_MESSAGE,
    upload_size_refusal,
    uploads_open_message,
)
from ingest.models import Upload, UploadState
from ingest.selectors import uploads_open
from ingest.services.uploads import (
    UploadQuotaExceeded,
    display_filename,
    upload_quota_refusal,
    video_create,
)
from videos.models import Video

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
MIN_PART_BYTES = 8 * MiB  # S3's floor is 5 MiB (except the last part)
# Parts go up eight at a time (static/videos/uploader.js, `limit`): one
# stream of big parts sent a 512 MiB file at 0.73x a boto3 upload, four at a
# time 0.79x, eight 0.82-0.85x (bench/results.md, section 8). Parts are a
# sixteenth of the file, so the eight in flight, which a dropped connection
# sends again, are at most half of it; and at most 32 MiB each, at least 8.
PARTS_PER_FILE = 16
PREFERRED_MAX_PART_BYTES = 32 * MiB
MAX_PARTS = 10_000  # S3's ceiling
# Part URLs signed by one request (direct_upload_part_urls): the page asks
# for the next ones together instead of one signing round trip per part.
PART_URLS_PER_REQUEST = 16

# The collector drops abandoned uploads once a minute (consumers/collector.py).
SWEEP_SECONDS = 60

PARTS_MISMATCH_MESSAGE = (
    "The store does not hold the parts listed. List the uploaded parts, send the"
    " missing ones, and complete again."
)
COMPLETING_MESSAGE = (
    "This upload is already being completed by another request; its video appears"
    " in your list once that is done."
)
CANCEL_COMPLETING_MESSAGE = (
    "This upload is being completed, so it can no longer be cancelled; delete its video instead."
)


class DirectUploadRefused(Exception):
    """A request the person can correct; `status` is the HTTP status to answer with.

    `retry_after` (seconds) when waiting is enough: it becomes `Retry-After`.
    """

    def __init__(self, message: str, *, status: int = 400, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def direct_upload_part_size(*, size_bytes: int) -> int:
    """A sixteenth of the file in whole MiB, from 8 to 32 MiB; more only if S3's 10,000 parts
    need it.

    static/videos/uploader.js (partSize) computes the same.
    """
    share = math.ceil(size_bytes / PARTS_PER_FILE / MiB) * MiB
    return max(
        MIN_PART_BYTES,
        min(PREFERRED_MAX_PART_BYTES, share),
        math.ceil(size_bytes / MAX_PARTS),
    )


def direct_upload_part_count(*, size_bytes: int) -> int:
    return math.ceil(size_bytes / direct_upload_part_size(size_bytes=size_bytes))


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
    too_large = upload_size_refusal(size_bytes=size_bytes)
    if too_large:
        raise DirectUploadRefused(too_large, status=413)
    if not content_type_is_video(content_type):
        raise DirectUploadRefused(not_a_video_message(content_type))
    # First without a lock, so a refusal costs the store nothing; then again
    # under the owner's row lock, so starts at once cannot share one room.
    _upload_start_check(owner=owner, size_bytes=size_bytes)
    key = objectstore.source_key_new()
    store_upload_id = objectstore.multipart_create(key=key)
    try:
        with transaction.atomic():
            get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
            _upload_start_check(owner=owner, size_bytes=size_bytes)
            return Upload.objects.create(
                owner=owner,
                key=key,
                upload_id=store_upload_id,
                filename=display_filename(name=filename),
                content_type=content_type[:255],
                size_bytes=size_bytes,
                title=title.strip()[:200],
            )
    except BaseException:
        objectstore.multipart_abort(key=key, upload_id=store_upload_id)
        raise


def _upload_start_check(*, owner: AbstractBaseUser, size_bytes: int) -> None:
    """Refuse a start over the caps on uploads in progress, or over a quota.

    The site's caps are read without a lock: starts at the same moment can
    pass them together, by at most the web's threads (WEB_CONCURRENCY x
    WEB_THREADS), which a bound on the whole site can afford.
    """
    mine = uploads_open(owner=owner)
    if mine.count() >= settings.USER_OPEN_UPLOADS_MAX:
        oldest = mine.order_by("created_at").values_list("created_at", flat=True).first()
        wait = _seconds_until_dropped(started=oldest)
        raise DirectUploadRefused(
            uploads_open_message(wait_seconds=wait), status=429, retry_after=wait
        )
    if uploads_open().count() >= settings.SITE_OPEN_UPLOADS_MAX:
        raise DirectUploadRefused(SITE_BUSY_MESSAGE, status=429, retry_after=SWEEP_SECONDS)
    refusal = upload_quota_refusal(owner=owner, size_bytes=size_bytes)
    if refusal:
        raise DirectUploadRefused(refusal, status=413)


def _seconds_until_dropped(*, started: datetime | None) -> int:
    """Until the collector's sweep drops an upload started then (UPLOAD_ABANDONED_AFTER)."""
    if started is None:  # gone meanwhile: a retry may already pass
        return 1
    ends = started + timedelta(seconds=settings.UPLOAD_ABANDONED_AFTER + SWEEP_SECONDS)
    return max(1, math.ceil((ends - timezone.now()).total_seconds()))


def _part_length(*, upload: Upload, number: int) -> int:
    """The exact length of part `number`; only the parts the declared size needs exist."""
    count = direct_upload_part_count(size_bytes=upload.size_bytes)
    if not 1 <= number <= count:
        parts = "1 part" if count == 1 else f"{count} parts"
        raise DirectUploadRefused(f"This upload has {parts}: part numbers run from 1 to {count}.")
    part_size = direct_upload_part_size(size_bytes=upload.size_bytes)
    return part_size if number < count else upload.size_bytes - part_size * (count - 1)


def direct_upload_part_url(*, upload: Upload, number: int) -> str:
    """A short-lived PUT URL for part `number`, which the store accepts only at its exact length."""
    return direct_store.multipart_part_url_presign(
        key=upload.key,
        upload_id=upload.upload_id,
        number=number,
        length=_part_length(upload=upload, number=number),
    )


def direct_upload_part_urls(*, upload: Upload, first: int, count: int) -> list[dict]:
    """PUT URLs for parts `first`.. (at most `count`, PART_URLS_PER_REQUEST, and no part the
    declared size does not need), each signed for its part's exact length:
    [{"PartNumber", "url"}]. One request instead of one per part."""
    if not 1 <= count <= PART_URLS_PER_REQUEST:
        raise DirectUploadRefused(
            f"Ask for 1 to {PART_URLS_PER_REQUEST} part URLs at a time, not {count}."
        )
    _part_length(upload=upload, number=first)  # refuses a first part the upload does not have
    last = min(first + count - 1, direct_upload_part_count(size_bytes=upload.size_bytes))
    return [
        {"PartNumber": number, "url": direct_upload_part_url(upload=upload, number=number)}
        for number in range(first, last + 1)
    ]


def direct_upload_parts_list(*, upload: Upload) -> list[dict]:
    """What the store holds of this upload, for a client resuming it."""
    return direct_store.multipart_parts_list(key=upload.key, upload_id=upload.upload_id)


def direct_upload_complete(*, upload: Upload, parts: list[tuple[int, str]]) -> Video:
    """Assemble the parts, check the object, and record the video (its job is sent after commit).

    Only one call completes an upload: it claims the row (open ->
    completing, a conditional UPDATE); a call at the same moment finds it
    claimed and is refused with a 409, so one upload makes one video.

    A wrong parts list leaves the upload as it was, so the client can list
    and try again. An object whose size is not the declared one, or that no
    longer fits the quota, is deleted with the row: nothing is kept.
    """
    if not parts:
        raise DirectUploadRefused(PARTS_MISMATCH_MESSAGE)
    for number, _etag in parts:
        _part_length(upload=upload, number=number)
    claimed = Upload.objects.filter(pk=upload.pk, state=UploadState.OPEN).update(
        state=UploadState.COMPLETING
    )
    if not claimed:
        raise DirectUploadRefused(COMPLETING_MESSAGE, status=409)
    try:
        stored = _parts_assemble(upload=upload, parts=parts)
    except BaseException:
        # Open again, as it was: the client may list the parts and complete again.
        Upload.objects.filter(pk=upload.pk).update(state=UploadState.OPEN)
        raise
    if stored != upload.size_bytes:
        _discard(upload=upload)
        raise DirectUploadRefused(
            f"The uploaded file has {stored or 0} bytes, but {upload.size_bytes} were declared."
            " Nothing was kept; upload it again."
        )
    try:
        with transaction.atomic():
            # Gone first, in the same transaction: its declared size stops
            # holding quota just as the video starts to.
            Upload.objects.filter(pk=upload.pk).delete()
            video = video_create(
                owner=upload.owner,
                source_key=upload.key,
                original_filename=upload.filename,
                size_bytes=upload.size_bytes,  # what was stored, checked above
                title=upload.title,
            )
    except BaseException as exc:
        # video_create deleted the object, so the upload cannot be completed again.
        Upload.objects.filter(pk=upload.pk).delete()
        if isinstance(exc, UploadQuotaExceeded):
            raise DirectUploadRefused(str(exc), status=413) from exc
        raise
    return video


def _parts_assemble(*, upload: Upload, parts: list[tuple[int, str]]) -> int | None:
    """Complete the multipart upload; the size of the object it made."""
    try:
        direct_store.multipart_complete_parts(
            key=upload.key, upload_id=upload.upload_id, parts=sorted(parts)
        )
    except objectstore.ObjectStoreUnavailable:
        raise
    except objectstore.ObjectStoreError as exc:
        logger.info("upload %s not completed: %s", upload.pk, exc)
        raise DirectUploadRefused(PARTS_MISMATCH_MESSAGE) from exc
    return objectstore.object_size(key=upload.key)


def direct_upload_abort(*, upload: Upload) -> None:
    """Drop the upload and whatever parts the store holds of it; not one being completed."""
    deleted, _ = Upload.objects.filter(pk=upload.pk, state=UploadState.OPEN).delete()
    if not deleted:
        raise DirectUploadRefused(CANCEL_COMPLETING_MESSAGE, status=409)
    objectstore.multipart_abort(key=upload.key, upload_id=upload.upload_id)


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
