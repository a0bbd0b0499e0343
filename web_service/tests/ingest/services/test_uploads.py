"""Recording a stored upload: rows commit with the key and its owner, or the object goes;
an upload over the quota is refused and its object deleted."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from django.db import DataError

from core import objectstore
from ingest.services.uploads import UploadQuotaExceeded, video_create
from jobs.models import DispatchState, TranscodeJob
from videos.models import Video

from ...factories import video_with_job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_sources")]


def _stored_source(web_s3, bucket: str) -> str:
    key = objectstore.source_key_new()
    web_s3.put_object(Bucket=bucket, Key=key, Body=b"a video")
    return key


def test_creates_the_video_and_a_pending_job_for_the_stored_key(object_store, web_s3, user):
    key = _stored_source(web_s3, object_store.bucket)
    video = video_create(
        owner=user,
        source_key=key,
        original_filename="dir/clip.mp4",
        size_bytes=7,
        title="  Holiday  ",
    )
    video.refresh_from_db()
    assert (video.source_key, video.original_filename, video.title) == (key, "clip.mp4", "Holiday")
    assert video.owner == user
    job = TranscodeJob.objects.get(video=video)
    assert (job.profiles, job.dispatch_state) == (["720p", "hls"], DispatchState.PENDING)


def test_rows_that_fail_to_commit_take_the_stored_object_with_them(
    object_store, web_s3, transcoder_s3, user, settings
):
    settings.USER_QUOTA_BYTES = 2**80  # so that the database, not the quota, refuses it
    settings.SITE_QUOTA_BYTES = 2**80
    key = _stored_source(web_s3, object_store.bucket)
    with pytest.raises(DataError):  # a size over PostgreSQL's bigint
        video_create(
            owner=user, source_key=key, original_filename="a.mp4", size_bytes=2**70, title=""
        )
    assert Video.objects.count() == 0
    with pytest.raises(ClientError) as gone:
        transcoder_s3.head_object(Bucket=object_store.bucket, Key=key)
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_an_upload_over_the_quota_is_refused_and_its_object_deleted(
    object_store, web_s3, transcoder_s3, user, settings
):
    settings.USER_QUOTA_BYTES = 1024**3
    video_with_job(owner=user)  # 10 bytes
    key = _stored_source(web_s3, object_store.bucket)
    with pytest.raises(UploadQuotaExceeded) as refused:
        video_create(
            owner=user, source_key=key, original_filename="a.mp4", size_bytes=1024**3, title=""
        )
    assert str(refused.value) == (
        "This upload needs 1 GiB but only 1024.0 MiB of your 1 GiB quota is left. "
        "Delete videos to make room."
    )
    assert Video.objects.filter(owner=user).count() == 1
    with pytest.raises(ClientError):
        transcoder_s3.head_object(Bucket=object_store.bucket, Key=key)
    # Exactly what is left still fits.
    video_create(
        owner=user, source_key=key, original_filename="a.mp4", size_bytes=1024**3 - 10, title=""
    )
