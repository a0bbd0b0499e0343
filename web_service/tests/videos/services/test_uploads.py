"""Recording a stored upload: rows commit with the key, or the object goes."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from django.db import DataError

from videos import objectstore
from videos.models import DispatchState, TranscodeJob, Video
from videos.services.uploads import video_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_sources")]


def _stored_source(web_s3, bucket: str) -> str:
    key = objectstore.source_key_new()
    web_s3.put_object(Bucket=bucket, Key=key, Body=b"a video")
    return key


def test_creates_the_video_and_a_pending_job_for_the_stored_key(object_store, web_s3):
    key = _stored_source(web_s3, object_store.bucket)
    video = video_create(
        source_key=key, original_filename="dir/clip.mp4", size_bytes=7, title="  Holiday  "
    )
    video.refresh_from_db()
    assert (video.source_key, video.original_filename, video.title) == (key, "clip.mp4", "Holiday")
    job = TranscodeJob.objects.get(video=video)
    assert (job.profiles, job.dispatch_state) == (["720p"], DispatchState.PENDING)


def test_rows_that_fail_to_commit_take_the_stored_object_with_them(
    object_store, web_s3, transcoder_s3
):
    key = _stored_source(web_s3, object_store.bucket)
    with pytest.raises(DataError):  # a size over PostgreSQL's bigint
        video_create(source_key=key, original_filename="a.mp4", size_bytes=2**70, title="")
    assert Video.objects.count() == 0
    with pytest.raises(ClientError) as gone:
        transcoder_s3.head_object(Bucket=object_store.bucket, Key=key)
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
