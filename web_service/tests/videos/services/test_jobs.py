from __future__ import annotations

import pytest

from jobs.models import DispatchState, JobStatus
from videos.services.jobs import JobActionError, job_cancel, job_retry

from ...factories import video_with_job

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.PROCESSING])
def test_cancel_a_queued_or_running_job(memory_broker, status, django_capture_on_commit_callbacks):
    video, job = video_with_job(status=status)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job_cancel(video=video)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert job.finished_at is not None
    assert len(callbacks) == 1  # the cancel message, after the commit


@pytest.mark.parametrize("status", [JobStatus.READY, JobStatus.FAILED, JobStatus.CANCELLED])
def test_cancel_refuses_finished_jobs(status):
    video, _ = video_with_job(status=status)
    with pytest.raises(JobActionError, match=f"this one is {status}"):
        job_cancel(video=video)


@pytest.mark.parametrize("status", [JobStatus.FAILED, JobStatus.CANCELLED])
def test_retry_creates_a_new_pending_job(status):
    video, old = video_with_job(status=status)
    new = job_retry(video=video)
    video.refresh_from_db()
    assert video.current_job_id == new.id != old.id
    assert (new.status, new.dispatch_state, new.profiles) == (
        JobStatus.QUEUED,
        DispatchState.PENDING,
        ["720p"],
    )


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.PROCESSING, JobStatus.READY])
def test_retry_refuses_jobs_that_did_not_fail(status):
    video, _ = video_with_job(status=status)
    with pytest.raises(JobActionError, match="Only a failed or cancelled video"):
        job_retry(video=video)
