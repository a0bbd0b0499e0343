"""The reaper: a job no transcoder answers for is sent again, then given up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import DispatchState, JobStatus, TranscodeJob
from jobs.services.dispatch import job_dispatch
from jobs.services.reaper import jobs_reap

from ...conftest import transcode_queue_drain
from ...factories import video_with_job

pytestmark = pytest.mark.django_db

RESEND_AFTER = timedelta(hours=1)
STALLED_AFTER = timedelta(minutes=30)
RESEND_LIMIT = 3


def _reap():
    return jobs_reap(
        resend_after=RESEND_AFTER, stalled_after=STALLED_AFTER, resend_limit=RESEND_LIMIT
    )


def _age(job: TranscodeJob, **fields: timedelta) -> None:
    """Move timestamps into the past (`updated_at` is auto_now on save, not on update)."""
    now = timezone.now()
    TranscodeJob.objects.filter(pk=job.pk).update(**{k: now - v for k, v in fields.items()})


def test_a_queued_job_nobody_took_is_sent_again(memory_broker):
    _, job = video_with_job(status=JobStatus.QUEUED, dispatch_state=DispatchState.SENT)
    _age(job, sent_at=timedelta(minutes=61), last_sent_at=timedelta(minutes=61))
    first_sent_at = TranscodeJob.objects.get(pk=job.pk).sent_at

    report = _reap()

    assert (report.resent, report.given_up, report.stalled) == (1, 0, 0)
    assert [sent.id for sent in transcode_queue_drain(memory_broker)] == [str(job.id)]
    job.refresh_from_db()
    assert (job.status, job.resend_count) == (JobStatus.QUEUED, 1)
    assert job.sent_at == first_sent_at  # the first send, for the timeline
    assert job.last_sent_at > timezone.now() - timedelta(minutes=1)
    assert _reap().resent == 0  # not again until another RESEND_AFTER has passed


def test_a_job_waiting_through_every_re_send_is_given_up(memory_broker):
    _, job = video_with_job(
        status=JobStatus.QUEUED, dispatch_state=DispatchState.SENT, resend_count=RESEND_LIMIT
    )
    # Sent four hours ago, last re-sent an hour ago: three re-sends are spent.
    _age(job, sent_at=timedelta(hours=4, minutes=1), last_sent_at=timedelta(minutes=61))

    report = _reap()

    assert (report.resent, report.given_up) == (0, 1)
    assert transcode_queue_drain(memory_broker) == []
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "NotTaken")
    assert job.error.startswith("No transcoder took this video in 241 minutes")
    assert job.finished_at is not None


def test_a_job_is_re_sent_resend_limit_times_then_given_up_whatever_else_saves_it(
    memory_broker,
):
    # Sent by the outbox, as every job is; then, between the reaper's turns,
    # saved for other reasons (the admin, a preview), which bumps updated_at.
    _, job = video_with_job(dispatch_state=DispatchState.PENDING)
    assert job_dispatch(job_id=job.id)
    outcomes = []
    for _ in range(RESEND_LIMIT + 2):
        _age(job, last_sent_at=RESEND_AFTER + timedelta(minutes=1))
        TranscodeJob.objects.get(pk=job.pk).save()
        report = _reap()
        outcomes.append((report.resent, report.given_up))

    assert outcomes == [(1, 0)] * RESEND_LIMIT + [(0, 1), (0, 0)]
    assert len(transcode_queue_drain(memory_broker)) == 1 + RESEND_LIMIT
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "NotTaken")
    assert job.resend_count == RESEND_LIMIT


def test_a_save_after_the_last_re_send_does_not_put_off_giving_up(memory_broker):
    _, job = video_with_job(
        status=JobStatus.QUEUED, dispatch_state=DispatchState.SENT, resend_count=RESEND_LIMIT
    )
    _age(job, sent_at=timedelta(hours=4, minutes=1), last_sent_at=timedelta(minutes=61))
    TranscodeJob.objects.get(pk=job.pk).save()  # the admin, say: updated_at is now

    assert _reap().given_up == 1
    assert transcode_queue_drain(memory_broker) == []


def test_with_no_re_sends_allowed_the_reason_does_not_claim_one(memory_broker):
    _, job = video_with_job(status=JobStatus.QUEUED, dispatch_state=DispatchState.SENT)
    _age(job, sent_at=timedelta(minutes=61), last_sent_at=timedelta(minutes=61))

    report = jobs_reap(resend_after=RESEND_AFTER, stalled_after=STALLED_AFTER, resend_limit=0)

    assert (report.resent, report.given_up) == (0, 1)
    job.refresh_from_db()
    assert job.error.startswith("No transcoder took this video in 61 minutes: the job was")


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
    _age(fresh_queued, sent_at=timedelta(minutes=59), last_sent_at=timedelta(minutes=59))
    _, working = video_with_job(status=JobStatus.PROCESSING)
    _age(working, updated_at=timedelta(minutes=29))
    # Pending is the relay's: it has never reached the broker.
    _, pending = video_with_job(dispatch_state=DispatchState.PENDING)
    _age(pending, updated_at=timedelta(hours=5))
    _, done = video_with_job(status=JobStatus.READY)
    _age(done, updated_at=timedelta(hours=5), last_sent_at=timedelta(hours=5))

    assert _reap() == type(_reap())()  # nothing resent, given up or stalled
    assert transcode_queue_drain(memory_broker) == []
    statuses = dict(TranscodeJob.objects.values_list("id", "status"))
    assert statuses == {
        fresh_queued.id: JobStatus.QUEUED,
        working.id: JobStatus.PROCESSING,
        pending.id: JobStatus.QUEUED,
        done.id: JobStatus.READY,
    }
