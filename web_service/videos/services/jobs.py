"""What a person can do to a job: cancel it, or try it again."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from jobs.messaging import contract
from jobs.messaging.control import transcode_cancel_publish
from jobs.models import JobStatus, TranscodeJob
from jobs.services.dispatch import PUBLISH_ERRORS, job_create
from videos.models import Video

logger = logging.getLogger(__name__)

CANCELLABLE = frozenset({JobStatus.QUEUED, JobStatus.PROCESSING})
RETRYABLE = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})


class JobActionError(Exception):
    """The job is not in a state that allows the action; the message says why."""


def _cancel_after_commit(job_id: str) -> None:
    try:
        transcode_cancel_publish(job_id=job_id)
    except PUBLISH_ERRORS as exc:
        # The job is cancelled in the database either way; a result that
        # still arrives is ignored because the job is final.
        logger.warning("could not send the cancel of job %s: %s", job_id, exc)


@transaction.atomic
def job_cancel(*, video: Video) -> TranscodeJob:
    job = TranscodeJob.objects.select_for_update().filter(pk=video.current_job_id).first()
    if job is None or job.status not in CANCELLABLE:
        state = job.status if job else "without a job"
        raise JobActionError(
            f"Only a queued or processing video can be cancelled; this one is {state}."
        )
    job.status = JobStatus.CANCELLED
    job.stage = ""
    job.error = "Cancelled."
    job.error_code = "Cancelled"
    job.finished_at = timezone.now()
    job.save()
    transaction.on_commit(lambda: _cancel_after_commit(job.job_id))
    return job


@transaction.atomic
def job_retry(*, video: Video) -> TranscodeJob:
    """A new attempt is a new job (with a new job_id), so each keeps its history."""
    video = Video.objects.select_for_update().get(pk=video.pk)
    current = video.current_job
    if current is not None and current.status not in RETRYABLE:
        raise JobActionError(
            f"Only a failed or cancelled video can be retried; this one is {current.status}."
        )
    profiles = (current.profiles if current else None) or list(contract.DEFAULT_PROFILES)
    return job_create(video=video, profiles=profiles)
