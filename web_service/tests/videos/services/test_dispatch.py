"""The outbox: a job is sent after the commit, and kept when the broker is down."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery_app import app
from videos.models import DispatchState, JobStatus, TranscodeJob
from videos.services.dispatch import job_dispatch, jobs_dispatch_pending
from videos.services.uploads import video_create

from ...conftest import transcode_queue_drain
from ...factories import video_with_job

pytestmark = pytest.mark.django_db


def _drain_task_ids(connection) -> list[str]:
    return [sent.id for sent in transcode_queue_drain(connection)]


def _use_broker(url: str) -> None:
    """Re-point the web's producer; Celery caches its pools, so drop them."""
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_down():
    """Point the producer at a port where nothing listens, for one test."""
    original = app.conf.broker_url
    _use_broker("amqp://guest:guest@127.0.0.1:1//")
    yield
    _use_broker(original)


def test_upload_is_sent_only_after_commit(memory_broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        video = video_create(
            source_key="sources/a", original_filename="clip.mp4", size_bytes=100, title="t"
        )
        job = video.current_job
        assert job.dispatch_state == DispatchState.PENDING
        assert _drain_task_ids(memory_broker) == []  # nothing before the commit
    for callback in callbacks:
        callback()
    job.refresh_from_db()
    assert job.dispatch_state == DispatchState.SENT
    assert job.sent_at is not None
    assert _drain_task_ids(memory_broker) == [str(job.id)]


def test_broker_down_keeps_the_job_in_the_outbox_and_the_relay_sends_it(
    memory_broker, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        video = video_create(
            source_key="sources/b", original_filename="clip.mp4", size_bytes=100, title=""
        )
    job = video.current_job
    job.refresh_from_db()
    assert job.dispatch_state == DispatchState.PENDING
    assert job.status == JobStatus.QUEUED

    _use_broker("memory://")  # the broker is back
    TranscodeJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    assert jobs_dispatch_pending() == 1
    job.refresh_from_db()
    assert job.dispatch_state == DispatchState.SENT
    assert _drain_task_ids(memory_broker) == [str(job.id)]


def test_dispatch_skips_jobs_already_sent_or_cancelled(memory_broker):
    _, sent = video_with_job(dispatch_state=DispatchState.SENT)
    _, cancelled = video_with_job(status=JobStatus.CANCELLED, dispatch_state=DispatchState.PENDING)
    assert job_dispatch(job_id=sent.id) is False
    assert job_dispatch(job_id=cancelled.id) is False
    assert _drain_task_ids(memory_broker) == []


def test_relay_leaves_fresh_jobs_to_their_on_commit_hook(memory_broker):
    video_with_job(dispatch_state=DispatchState.PENDING)
    assert jobs_dispatch_pending(older_than=timedelta(minutes=5)) == 0
    assert jobs_dispatch_pending(older_than=timedelta(0)) == 1
