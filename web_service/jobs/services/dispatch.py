"""The transactional outbox for transcode jobs.

A job row is created `pending` in the same transaction as its video. After
the commit, `job_dispatch` publishes it and marks it `sent`. If the broker is
down, the row simply stays `pending` and the collector's relay
(`jobs_dispatch_pending`) sends it later. So an upload never fails because of
the broker, and no job is left unsent.

The delivery guarantee is at-least-once: if the process dies between the
publish and the commit that marks the row `sent`, the relay sends it again.
That is safe because the transcoder is idempotent per `job_id`.

Nothing that fails after the commit may escape the on_commit hook: the
request would answer 5xx and its clean-up would delete a source whose rows
are committed, leaving an orphan job. Any failure leaves the job `pending`.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from amqp.exceptions import AMQPError, MessageNacked
from django.db import models, transaction
from django.utils import timezone
from kombu.exceptions import KombuError
from opentelemetry.trace import SpanKind

from core import telemetry
from jobs.messaging.publisher import transcode_request_publish
from jobs.models import DispatchState, JobStatus, TranscodeJob

logger = logging.getLogger(__name__)

# What a broker outage looks like from the producer: kombu's OperationalError
# (a KombuError) wraps most of them, plain socket errors are OSErrors, and a
# publish whose confirm times out raises socket.timeout (an OSError too).
BROKER_DOWN_ERRORS = (KombuError, OSError)
# Plus what a reachable broker answers when it will not take the message:
# a refusal (AccessRefused, NotFound: AMQPErrors) or a nack with confirms on.
PUBLISH_ERRORS = (*BROKER_DOWN_ERRORS, AMQPError, MessageNacked)


def job_create(*, video: models.Model, profiles: list[str]) -> TranscodeJob:
    """Create a pending job for `video` and send it once the transaction commits.

    `video` is a videos.models.Video, which becomes the job's `current_job`.
    Typed loosely on purpose: jobs sits below videos and imports nothing from
    it (pyproject.toml, import-linter), as its model names the video by string.
    """
    # The upload's trace context: whoever sends or stores this job later,
    # in whatever process, continues that trace (core/telemetry.py).
    job = TranscodeJob.objects.create(
        video=video, profiles=list(profiles), trace_context=telemetry.trace_context_current()
    )
    video.current_job = job
    video.save(update_fields=["current_job"])
    # Only after the commit: a worker must never receive a job_id whose row
    # (and source file) it cannot see yet.
    transaction.on_commit(lambda: job_dispatch(job_id=job.id))
    return job


def job_dispatch(*, job_id: uuid.UUID) -> bool:
    """Publish one pending job. Returns True when this call sent it.

    Never raises: whatever goes wrong (the broker refuses or does not
    confirm, the database blips after the publish, a bug), the row stays
    `pending` and the relay sends it later. At worst the job goes out twice,
    which the transcoder's idempotency per job_id absorbs.
    """
    try:
        return _job_publish(job_id=job_id)
    except BROKER_DOWN_ERRORS as exc:
        logger.warning("job %s stays in the outbox: broker unavailable (%s)", job_id, exc)
    except Exception:
        # Not an outage we expect (AccessRefused, NotFound, a nack, a
        # database error): the traceback is what an operator needs.
        logger.exception("job %s stays in the outbox: dispatch failed", job_id)
    return False


def _job_publish(*, job_id: uuid.UUID) -> bool:
    with transaction.atomic():
        job = (
            TranscodeJob.objects.select_for_update(skip_locked=True)
            .select_related("video")
            .filter(pk=job_id, dispatch_state=DispatchState.PENDING, status=JobStatus.QUEUED)
            .first()
        )
        if job is None:
            # Sent already, cancelled, or another process holds it right now.
            return False
        job_send(job=job, span_name="transcode.dispatch")
        job.dispatch_state = DispatchState.SENT
        # The first send is also the last so far: the reaper counts from it.
        job.sent_at = job.last_sent_at = timezone.now()
        job.save(update_fields=["dispatch_state", "sent_at", "last_sent_at", "updated_at"])
    logger.info("job %s sent", job_id)
    return True


def job_send(*, job: TranscodeJob, span_name: str) -> None:
    """Publish `job` in a span of its upload's trace, carrying that span to the worker.

    The outbox's first send and the reaper's re-sends all come through here,
    so each attempt of the worker is a child of a send in the same trace.
    """
    with telemetry.job_span(
        span_name,
        trace_context=job.trace_context,
        job_id=job.job_id,
        video_id=str(job.video_id),
        kind=SpanKind.PRODUCER,
    ):
        transcode_request_publish(
            job_id=job.job_id,
            source_key=job.video.source_key,
            profiles=job.profiles,
            headers=telemetry.trace_headers(video_id=str(job.video_id)),
        )


def jobs_dispatch_pending(*, older_than: timedelta = timedelta(seconds=2), limit: int = 100) -> int:
    """Relay: send jobs left in the outbox. Returns how many were sent.

    `older_than` leaves fresh rows to the on_commit hook of the request that
    created them; row locks make a race between the two harmless anyway.
    """
    cutoff = timezone.now() - older_than
    pending = TranscodeJob.objects.filter(
        dispatch_state=DispatchState.PENDING, status=JobStatus.QUEUED, created_at__lte=cutoff
    ).order_by("created_at")
    sent = 0
    for job_id in pending.values_list("id", flat=True)[:limit]:
        if not job_dispatch(job_id=job_id):
            break  # the broker is down again (or the row is busy): try on the next sweep
        sent += 1
    return sent
