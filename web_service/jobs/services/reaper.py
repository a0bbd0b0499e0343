"""The reaper: every job the web accepted ends final, even when a message is lost.

Publisher confirms prove the broker took a job, not that a worker will ever
see it: a broker that crashes before writing it, a queue purged by hand, or a
result that never comes back would leave a job `queued` or `processing`
forever. The collector calls `jobs_reap` between messages:

- a job `sent` but still `queued` for `resend_after` since its last send is
  sent again; re-sending is safe because the transcoder is idempotent per
  job_id (docs/messages.md);
- once it has been re-sent `resend_limit` times and `resend_after` has passed
  since the last, it is failed instead, with a reason a person can act on;
- a `processing` job with no state message for `stalled_after` (above the
  worker's hard time limit, which always ends a live task) is failed; each
  stored state saves the row, so `updated_at` is its last word.

The row counts the re-sends (`resend_count`) and keeps the last send
(`last_sent_at`) beside the first (`sent_at`), so a save for any other
reason (the admin, a preview) moves neither the count nor the give-up point.
A re-send is published here, under the row lock, rather than by marking the
row `pending` for the relay: the relay's send would overwrite `sent_at`, the
first send that the timeline and the give-up reason start from.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from jobs.models import DispatchState, JobStatus, TranscodeJob
from jobs.services.dispatch import PUBLISH_ERRORS, job_send

logger = logging.getLogger(__name__)

NOT_TAKEN_CODE = "NotTaken"
STALLED_CODE = "Stalled"
# Rows handled per call; the next call takes the rest.
BATCH = 100


@dataclass(frozen=True)
class ReapReport:
    resent: int = 0
    given_up: int = 0
    stalled: int = 0


def _minutes(delta: timedelta) -> int:
    return max(1, round(delta.total_seconds() / 60))


def _job_fail(*, job: TranscodeJob, code: str, reason: str, now: datetime) -> None:
    job.status = JobStatus.FAILED
    job.stage = ""
    job.error_code, job.error = code, reason
    job.finished_at = now
    job.save()
    logger.error("job %s given up (%s): %s", job.id, code, reason)


def _queued_job_reap(
    *, job_id: uuid.UUID, resend_after: timedelta, resend_limit: int, now: datetime
) -> str | None:
    """Re-send or give up one stuck queued job. Returns what was done, if anything."""
    with transaction.atomic():
        job = (
            TranscodeJob.objects.select_for_update(skip_locked=True)
            .select_related("video")
            .filter(
                pk=job_id,
                status=JobStatus.QUEUED,
                dispatch_state=DispatchState.SENT,
                last_sent_at__lte=now - resend_after,
            )
            .first()
        )
        if job is None:
            return None  # started, cancelled or locked meanwhile
        if job.resend_count >= resend_limit:
            waited = now - (job.sent_at or job.created_at)
            again = ", even though it was sent again" if job.resend_count else ""
            reason = (
                f"No transcoder took this video in {_minutes(waited)} minutes{again}:"
                " the job was given up. Retry it, or ask an operator whether the"
                " transcoders are running."
            )
            _job_fail(job=job, code=NOT_TAKEN_CODE, reason=reason, now=now)
            return "given_up"
        try:
            job_send(job=job, span_name="transcode.resend")
        except PUBLISH_ERRORS as exc:
            logger.warning("job %s not re-sent, broker unavailable: %s", job.id, exc)
            return "unsent"
        # Under the row lock, so two collectors cannot both count one re-send.
        job.resend_count += 1
        job.last_sent_at = timezone.now()
        job.save(update_fields=["resend_count", "last_sent_at", "updated_at"])
    logger.warning(
        "job %s re-sent (%d of %d): no word from a transcoder for %s",
        job_id,
        job.resend_count,
        resend_limit,
        resend_after,
    )
    return "resent"


def _stalled_job_fail(*, job_id: uuid.UUID, stalled_after: timedelta, now: datetime) -> bool:
    with transaction.atomic():
        job = (
            TranscodeJob.objects.select_for_update(skip_locked=True)
            .filter(pk=job_id, status=JobStatus.PROCESSING, updated_at__lte=now - stalled_after)
            .first()
        )
        if job is None:
            return False
        silent = _minutes(now - job.updated_at)
        reason = (
            f"No word from the transcoder for {silent} minutes: the job was given up. Retry it."
        )
        _job_fail(job=job, code=STALLED_CODE, reason=reason, now=now)
    return True


def jobs_reap(
    *, resend_after: timedelta, stalled_after: timedelta, resend_limit: int
) -> ReapReport:
    """Re-send or fail the jobs no transcoder answers for. Call it only with
    the reply queue drained: a state waiting there would make a live job look
    stuck."""
    now = timezone.now()
    queued = TranscodeJob.objects.filter(
        status=JobStatus.QUEUED,
        dispatch_state=DispatchState.SENT,
        last_sent_at__lte=now - resend_after,
    ).order_by("last_sent_at")
    outcomes: list[str | None] = []
    for job_id in queued.values_list("id", flat=True)[:BATCH]:
        outcomes.append(
            _queued_job_reap(
                job_id=job_id, resend_after=resend_after, resend_limit=resend_limit, now=now
            )
        )
        if outcomes[-1] == "unsent":
            break  # the broker is down: each further try would wait for its timeout
    processing = TranscodeJob.objects.filter(
        status=JobStatus.PROCESSING, updated_at__lte=now - stalled_after
    ).order_by("updated_at")
    stalled = sum(
        _stalled_job_fail(job_id=job_id, stalled_after=stalled_after, now=now)
        for job_id in processing.values_list("id", flat=True)[:BATCH]
    )
    return ReapReport(
        resent=outcomes.count("resent"), given_up=outcomes.count("given_up"), stalled=stalled
    )
