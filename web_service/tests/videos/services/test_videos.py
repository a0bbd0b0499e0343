"""Recording a stored upload: rows commit with the key and its owner, or the object goes.
Deleting a video deletes its source, and asks the transcoder to delete its outputs."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from django.db import DataError
from kombu import Consumer, Queue

from core import objectstore
from jobs.messaging import contract
from jobs.models import DispatchState, JobStatus, TranscodeJob
from videos.models import Video
from videos.selectors import user_storage_used
from videos.services.videos import UploadQuotaExceeded, video_create, video_delete

from ...conftest import transcode_queue_drain
from ...factories import hls_result, success_result, user_make, video_with_job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_sources")]


def sent_tasks(connection) -> list[tuple[str, dict]]:
    """(task name, kwargs) of every message on transcode_queue, drained."""
    return [(sent.task, sent.kwargs) for sent in transcode_queue_drain(connection)]


def stored_video(object_store, web_s3, **job_fields) -> tuple[Video, TranscodeJob]:
    key = objectstore.source_key_new()
    web_s3.put_object(Bucket=object_store.bucket, Key=key, Body=b"a video")
    return video_with_job(source_key=key, **job_fields)


def source_exists(object_store, transcoder_s3, key: str) -> bool:
    try:
        transcoder_s3.head_object(Bucket=object_store.bucket, Key=key)
    except ClientError as exc:
        if exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return False
        raise
    return True


def test_deletes_rows_then_the_source_and_sends_delete_outputs_for_every_job(
    memory_broker, object_store, web_s3, transcoder_s3, django_capture_on_commit_callbacks
):
    video, first = stored_video(object_store, web_s3, status=JobStatus.FAILED)
    second = TranscodeJob.objects.create(video=video, status=JobStatus.READY)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        video_delete(video=video)
        assert source_exists(object_store, transcoder_s3, video.source_key)  # not before commit
    assert not Video.objects.filter(pk=video.pk).exists()
    assert not TranscodeJob.objects.filter(video_id=video.pk).exists()

    for callback in callbacks:
        callback()
    assert not source_exists(object_store, transcoder_s3, video.source_key)
    sent = sorted(sent_tasks(memory_broker), key=lambda task: task[1]["job_id"])
    assert sent == [
        ("transcode.delete_outputs", {"job_id": job_id, "contract_version": 2})
        for job_id in sorted([str(first.id), str(second.id)])
    ]


def test_a_video_deleted_while_transcoding_is_revoked_first(
    memory_broker, object_store, web_s3, django_capture_on_commit_callbacks
):
    video, job = stored_video(object_store, web_s3, status=JobStatus.PROCESSING)
    # The cancel goes to a fanout exchange; listen like a worker.
    control = Queue("test.transcode_cancel", contract.cancel_exchange(), auto_delete=True)
    control(memory_broker.default_channel).declare()
    with django_capture_on_commit_callbacks(execute=True):
        video_delete(video=video)
    broadcasts = []
    with Consumer(
        memory_broker.default_channel,
        queues=[control],
        accept=["json"],
        callbacks=[lambda body, message: broadcasts.append(body)],
    ):
        memory_broker.drain_events(timeout=2)
    assert broadcasts == [{"job_id": str(job.id), "contract_version": 2}]
    assert sent_tasks(memory_broker) == [
        ("transcode.delete_outputs", {"job_id": str(job.id), "contract_version": 2})
    ]
    assert not Video.objects.filter(pk=video.pk).exists()


def test_the_store_being_down_does_not_undo_the_delete(
    memory_broker, object_store, web_s3, settings, django_capture_on_commit_callbacks
):
    video, job = stored_video(object_store, web_s3, status=JobStatus.READY)
    settings.S3_ENDPOINT_URL = "http://127.0.0.1:1"
    with django_capture_on_commit_callbacks(execute=True):
        video_delete(video=video)  # logged, not raised: the rows are gone for good
    assert not Video.objects.filter(pk=video.pk).exists()
    assert sent_tasks(memory_broker) == [
        ("transcode.delete_outputs", {"job_id": str(job.id), "contract_version": 2})
    ]


# ---- video_create ----------------------------------------------------------


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


def test_storage_used_counts_sources_and_reported_outputs_of_the_owner_only(user, other_user):
    _, ready = video_with_job(owner=user, status=JobStatus.READY)
    ready.result = success_result(job_id=str(ready.id))  # one output of 734003 bytes
    ready.save()
    video_with_job(owner=user, status=JobStatus.FAILED, result={"outputs": "not a list"})
    video_with_job(owner=other_user)
    assert user_storage_used(owner=user) == 10 + 734003 + 10
    assert user_storage_used(owner=user_make()) == 0


def test_storage_used_counts_the_hls_ladder_and_storyboard(user):
    _, ready = video_with_job(owner=user, status=JobStatus.READY)
    ready.result = hls_result(job_id=str(ready.id))  # MP4 734003, ladder 5242880, sprite 40960
    ready.save()
    assert user_storage_used(owner=user) == 10 + 734003 + 5242880 + 40960


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
