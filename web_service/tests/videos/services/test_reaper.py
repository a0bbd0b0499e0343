"""The reaper: a job no transcoder answers for is sent again, then given up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from videos.models import DispatchState, JobStatus, TranscodeJob
from videos.services.reaper import jobs_reap

from ...conftest import transcode_queue_drain
from ...factories import video_with_job

pytestmark = pytest.mark.django_db

RESEND_AFTER = timedelta(hours=1)
STALLED_AFTER = timedelta(minutes=30)


def _reap():
    return jobs_reap(resend_after=RESEND_AFTER, stalled_after=STALLED_AFTER, resend_limit=3)


def _age(job: TranscodeJob, **fields: timedelta) -> None:
    """Move timestamps into the past (`updated_at` is auto_now on save, not on update)."""
    now = timezone.now()
    TranscodeJob.objects.filter(pk=job.pk).update(**{k: now - v for k, v in fields.items()})


def test_a_queued_job_nobody_took_is_sent_again(memory_broker):
    _, job = video_with_job(status=JobStatus.QUEUED, dispatch_state=DispatchState.SENT)
    _age(job, sent_at=timedelta(minutes=61), updated_at=timedelta(minutes=61))
    first_sent_at = TranscodeJob.objects.get(pk=job.pk).sent_at

    report = _reap()

    assert (report.resent, report.given_up, report.stalled) == (1, 0, 0)
    assert [sent.id for sent in transcode_queue_drain(memory_broker)] == [str(job.id)]
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert job.sent_at == first_sent_at  # the first send, which bounds the re-sends
    assert job.updated_at > timezone.now() - timedelta(minutes=1)
    assert _reap().resent == 0  # not again until another RESEND_AFTER has passed


def test_a_job_waiting_through_every_re_send_is_given_up(memory_broker):
    _, job = video_with_job(status=JobStatus.QUEUED, dispatch_state=DispatchState.SENT)
    # Sent four hours ago, last re-sent an hour ago: three re-sends are spent.
    _age(job, sent_at=timedelta(hours=4, minutes=1), updated_at=timedelta(minutes=61))

    report = _reap()

    assert (report.resent, report.given_up) == (0, 1)
    assert transcode_queue_drain(memory_broker) == []
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "NotTaken")
    assert job.error.startswith("No transcoder took this video in 241 minutes")
    assert job.finished_at is not None


def test_a_processing_job_without_word_is_failed_with_a_reason(memory_broker):
    _, job = video_with_job(status=JobStatus.PROCESSING, dispatch_state=DispatchState.SENT)
    _age(job, started_at=timedelta(minutes=40), updated_at=timedelta(minutes=31))

    assert _reap().stalled == 1

    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "Stalled")
    assert job.error == (
        "No word from the transcoder for 31 minutes: the job was given up. Retry it."
    )


def test_live_pending_and_final_jobs_are_left_alone(memory_broker):
    _, fresh_queued = video_with_job(status=JobStatus.QUEUED, dispatch_state=DispatchState.SENT)
    _age(fresh_queued, sent_at=timedelta(minutes=59), updated_at=timedelta(minutes=59))
    _, working = video_with_job(status=JobStatus.PROCESSING)
    _age(working, updated_at=timedelta(minutes=29))
    # Pending is the relay's: it has never reached the broker.
    _, pending = video_with_job(dispatch_state=DispatchState.PENDING)
    _age(pending, updated_at=timedelta(hours=5))
    _, done = video_with_job(status=JobStatus.READY)
    _age(done, updated_at=timedelta(hours=5))

    assert _reap() == type(_reap())()  # nothing resent, given up or stalled
    assert transcode_queue_drain(memory_broker) == []
    statuses = dict(TranscodeJob.objects.values_list("id", "status"))
    assert statuses == {
        fresh_queued.id: JobStatus.QUEUED,
        working.id: JobStatus.PROCESSING,
        pending.id: JobStatus.QUEUED,
        done.id: JobStatus.READY,
    }
