"""Deleting a video deletes its source, and asks the transcoder to delete its outputs;
what a person keeps in the store. Recording one: tests/ingest/services/test_uploads.py."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from kombu import Consumer, Queue

from core import objectstore
from jobs.messaging import contract
from jobs.models import JobStatus, TranscodeJob
from videos.models import Video
from videos.selectors import user_storage_used
from videos.services.videos import video_delete

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
