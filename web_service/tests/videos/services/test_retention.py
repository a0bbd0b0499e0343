"""The retention sweep against the real store (SeaweedFS) and PostgreSQL."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_results.models import TaskResult

from core import objectstore
from jobs.models import JobStatus, TranscodeJob

from ...conftest import multipart_keys, source_keys, transcode_queue_drain
from ...factories import video_with_job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_sources")]


def _finished(status: str, *, days_ago: float) -> TranscodeJob:
    _, job = video_with_job(status=status)
    TranscodeJob.objects.filter(pk=job.pk).update(
        finished_at=timezone.now() - timedelta(days=days_ago)
    )
    return job


def _output_put(client, bucket: str, job: TranscodeJob) -> str:
    key = f"outputs/{job.id}/9f2c4e1a7b3d5f60/720p.mp4"
    client.put_object(Bucket=bucket, Key=key, Body=b"partial")
    return key


def _task_result(task_id: str, *, days_ago: int) -> None:
    TaskResult.objects.create(task_id=task_id, status="SUCCESS")
    TaskResult.objects.filter(task_id=task_id).update(
        date_done=timezone.now() - timedelta(days=days_ago)
    )


def _sweep() -> str:
    out = io.StringIO()
    call_command("retention_sweep", stdout=out)
    return out.getvalue().strip()


def test_the_sweep_removes_old_leftovers_and_keeps_the_rest(
    memory_broker, settings, object_store, transcoder_s3, web_s3
):
    settings.FAILED_OUTPUTS_RETENTION_DAYS = 7
    settings.RESULTS_RETENTION_DAYS = 30
    settings.UPLOAD_ABANDONED_AFTER = 1
    settings.ORPHAN_SOURCE_GRACE = 1
    bucket = object_store.bucket

    old_failed = _finished(JobStatus.FAILED, days_ago=8)
    old_cancelled = _finished(JobStatus.CANCELLED, days_ago=8)
    recent_failed = _finished(JobStatus.FAILED, days_ago=1)
    old_ready = _finished(JobStatus.READY, days_ago=100)
    outputs = {
        job.id: _output_put(transcoder_s3, bucket, job)
        for job in (old_failed, old_cancelled, recent_failed, old_ready)
    }
    _task_result("old", days_ago=31)
    _task_result("recent", days_ago=2)
    # An upload a dead web process left, an orphan source and a video's own.
    upload_key = objectstore.source_key_new()
    objectstore.multipart_create(key=upload_key)
    web_s3.put_object(Bucket=bucket, Key="sources/orphan", Body=b"x")
    video, _ = video_with_job(source_key="sources/kept")
    web_s3.put_object(Bucket=bucket, Key=video.source_key, Body=b"x")
    time.sleep(1.1)  # the store's clock counts whole seconds

    summary = _sweep()

    assert summary == (
        "retention sweep: sent 2 output deletion(s) for failed or cancelled jobs,"
        " deleted 1 task result(s), aborted 1 abandoned upload(s), deleted 1 orphan source(s)"
    )
    sent = transcode_queue_drain(memory_broker)
    assert {(s.task, s.kwargs["job_id"]) for s in sent} == {
        ("transcode.delete_outputs", str(old_failed.id)),
        ("transcode.delete_outputs", str(old_cancelled.id)),
    }
    assert list(TaskResult.objects.values_list("task_id", flat=True)) == ["recent"]
    assert multipart_keys(transcoder_s3, bucket) == []
    assert source_keys(transcoder_s3, bucket) == ["sources/kept"]

    # The transcoder deleted them: the next sweep has nothing to send.
    for job in (old_failed, old_cancelled):
        transcoder_s3.delete_object(Bucket=bucket, Key=outputs[job.id])
    assert _sweep().startswith("retention sweep: sent 0 output deletion(s)")
    assert transcode_queue_drain(memory_broker) == []
    for job in (recent_failed, old_ready):
        transcoder_s3.delete_object(Bucket=bucket, Key=outputs[job.id])


def test_an_unreachable_store_fails_the_command_with_a_clear_error(settings):
    settings.S3_ENDPOINT_URL = "http://127.0.0.1:1"
    with pytest.raises(CommandError, match="retention sweep stopped, the object store refused"):
        _sweep()
