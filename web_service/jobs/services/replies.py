"""Applying the worker's state messages (from the reply queue) to the database.

Every message is stored twice, in one transaction: in django-celery-results'
TaskResult (the generic, admin-visible record of task states) and in the
app's own TranscodeJob (what pages and the API read). The collector acks the
message only after this transaction commits.

Messages can arrive late or twice (a redelivered job publishes its states
again), so the rule is simple: once a job or a TaskResult is final, nothing
moves it back.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_celery_results.models import TaskResult
from opentelemetry.trace import SpanKind

from core import metrics, telemetry
from jobs.messaging import contract
from jobs.messaging.reply_decoding import Reply
from jobs.models import TIMELINE_STARTED, JobStatus, TranscodeJob

logger = logging.getLogger(__name__)

UNEXPECTED_RESULT = "The transcoder returned a result this site does not understand."
PREVIEW_RETIRED_KEPT = 16


def _task_result_store(*, reply: Reply, task_name: str | None) -> None:
    current = TaskResult.objects.select_for_update().filter(task_id=reply.task_id).first()
    if current is not None and current.status in contract.FINAL_STATES:
        return
    extra = {"date_started": timezone.now()} if reply.status == contract.STATE_STARTED else {}
    TaskResult.objects.store_result(
        content_type="application/json",
        content_encoding="utf-8",
        task_id=reply.task_id,
        result=json.dumps(reply.result),
        status=reply.status,
        traceback=reply.traceback,
        task_name=task_name,
        **extra,
    )


def _result_is_valid(result: Any) -> bool:
    if not isinstance(result, dict):
        return False
    outputs = result.get("outputs")
    # A job that asked only for "hls" has no MP4: the ladder is its output.
    playable = bool(outputs) or contract.result_hls_master_key(result=result) is not None
    return (
        isinstance(outputs, list)
        and playable
        and all(isinstance(o, dict) and contract.result_output_key(output=o) for o in outputs)
        and isinstance(result.get("source"), dict)
    )


def _stage_event_record(*, job: TranscodeJob, reply: Reply, now: datetime) -> bool:
    """Append a stage transition to job.stage_events, or mark the last one as reported again.

    True when the reply is a STARTED that begins a new attempt.

    Times are the collector's clock, not the worker's, so the bars of jobs
    run on different hosts are comparable. `last_at` (the latest report in
    that stage) lets the timeline end the worker's part where its last
    report arrived, and show the rest as the time the result took to be
    collected (videos/timelines.py).
    """
    events = job.stage_events if isinstance(job.stage_events, list) else []
    last = events[-1] if events else None
    at = now.isoformat()
    if reply.status == contract.STATE_STARTED:
        meta = reply.result if isinstance(reply.result, dict) else {}
        hostname = meta.get("hostname")
        host = hostname if isinstance(hostname, str) else ""
        pid = meta.get("pid") if isinstance(meta.get("pid"), int) else None
        # The same STARTED stored twice (a reply redelivered after the
        # collector stopped between commit and ack) is not a new attempt; a
        # redelivered job starts in another process, so its pid differs.
        started = [e for e in events if e.get("stage") == TIMELINE_STARTED]
        if started and (started[-1].get("host"), started[-1].get("pid")) == (host[:255], pid):
            return False
        event = {"stage": TIMELINE_STARTED, "at": at, "last_at": at, "host": host[:255]}
        events.append({**event, "pid": pid})
        job.stage_events = events
        return True
    stage = reply.stage if reply.status == contract.STATE_PROGRESS else "retrying"
    if last is not None and last.get("stage") == stage:
        last["last_at"] = at
    else:
        events.append({"stage": stage or "working", "at": at, "last_at": at})
    job.stage_events = events
    return False


def _preview_retire(*, job: TranscodeJob) -> None:
    """Forget the stored preview; a late PROGRESS of its attempt will not bring it back."""
    attempt = job.preview_attempt
    retired = job.preview_retired if isinstance(job.preview_retired, list) else []
    if attempt and attempt not in retired:
        # Bounded: deliveries are few, and only the newest ones matter.
        job.preview_retired = [*retired, attempt][-PREVIEW_RETIRED_KEPT:]
    job.preview_master_key = ""
    job.preview_encoded_seconds = job.preview_duration = None


def _preview_store(*, job: TranscodeJob, reply: Reply) -> None:
    """Keep the newest attempt's playable ladder from a PROGRESS; ignore a forged one.

    The collector can tell attempts apart only by their keys: a preview of
    an attempt not seen before is the newest one, and replaces (retires)
    the stored one; a retired attempt's preview is a late message, ignored.
    """
    try:
        preview = contract.progress_preview(result=reply.result, job_id=job.job_id)
    except ValueError as exc:
        logger.warning("job %s: PROGRESS preview ignored: %s", job.id, exc)
        return
    if preview is None or preview.attempt in (job.preview_retired or []):
        return
    if job.preview_attempt == preview.attempt:
        # Replies of one attempt can be stored out of order (a requeued
        # message): how far it is encoded never goes back.
        encoded = max(job.preview_encoded_seconds or 0.0, preview.encoded_seconds)
    else:
        _preview_retire(job=job)
        encoded = preview.encoded_seconds
    job.preview_master_key = preview.master_key
    job.preview_encoded_seconds = encoded
    job.preview_duration = preview.duration


def _job_apply(*, job: TranscodeJob, reply: Reply) -> None:
    now = timezone.now()
    if reply.status in (contract.STATE_STARTED, contract.STATE_PROGRESS, contract.STATE_RETRY):
        new_attempt = _stage_event_record(job=job, reply=reply, now=now)
        job.status = JobStatus.PROCESSING
        job.started_at = job.started_at or now
        if reply.status == contract.STATE_PROGRESS:
            job.progress = reply.percent
            job.stage = reply.stage
            _preview_store(job=job, reply=reply)
        elif reply.status == contract.STATE_RETRY or new_attempt:
            # That attempt is over (a retry is a new delivery, with new keys),
            # and its objects are being deleted: nothing of it is served.
            _preview_retire(job=job)
            if reply.status == contract.STATE_RETRY:
                job.stage = "retrying"
    elif reply.status == contract.STATE_SUCCESS and _result_is_valid(reply.result):
        job.status = JobStatus.READY
        job.progress = 100
        job.stage = ""
        job.result = reply.result
        job.source_metadata = reply.result["source"]
        job.finished_at = now
    elif reply.status == contract.STATE_SUCCESS:
        logger.error("job %s: malformed SUCCESS result %r", job.id, reply.result)
        job.status = JobStatus.FAILED
        job.error_code, job.error = "UnexpectedResult", UNEXPECTED_RESULT
        job.finished_at = now
    elif reply.status == contract.STATE_FAILURE:
        job.status = JobStatus.FAILED
        job.error_code, job.error = reply.failure_reason
        if job.error_code not in contract.FAILURE_CODES:
            # Its own text is not shown to the person; keep it for the operator.
            logger.error("job %s: failed outside the contract: %r", job.id, reply.result)
        job.finished_at = now
    elif reply.status == contract.STATE_REVOKED:
        # The web never asked for it: job_cancel makes a job final before it
        # sends the cancel, so an asked-for REVOKED is ignored as late. Celery
        # sends one unasked when it stops a running job on a lost broker link
        # (docs/messages.md, "Results and states"); the job is delivered again,
        # and the reaper fails it if no state ever comes (JOB_STALLED_AFTER).
        logger.warning("job %s: REVOKED without a cancel; waiting for its redelivery", job.id)
        _preview_retire(job=job)
        job.stage = "retrying"
    if job.is_final:
        # A ready job serves its result's attempt; no job serves a preview once final.
        _preview_retire(job=job)
    job.save()


def _job_id_parse(task_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(task_id)
    except ValueError:
        return None


@transaction.atomic
def reply_apply(*, reply: Reply) -> None:
    """Store one state message. Idempotent; never moves a final state back."""
    job_id = _job_id_parse(reply.task_id)
    # Lock the job first, so two collectors handling two states of one task
    # apply them one after the other.
    job = (
        TranscodeJob.objects.select_for_update().filter(pk=job_id).first()
        if job_id is not None
        else None
    )
    _task_result_store(reply=reply, task_name=contract.TASK_CONVERT_VIDEO if job else None)
    if job is None:
        logger.info(
            "reply for unknown task %s (%s) stored in TaskResult only", reply.task_id, reply.status
        )
        return
    # A child of the upload's trace, which the worker's spans share.
    with telemetry.job_span(
        "collector.reply_store",
        trace_context=job.trace_context,
        job_id=job.job_id,
        video_id=str(job.video_id),
        kind=SpanKind.CONSUMER,
        attributes={"reply.status": reply.status},
    ) as span:
        if job.is_final:
            logger.info("job %s is %s already; ignoring late %s", job.id, job.status, reply.status)
            return
        _job_apply(job=job, reply=reply)
        if job.status == JobStatus.FAILED:
            telemetry.span_failed(span, code=job.error_code)
    if job.is_final:
        # Counted once the state is committed: a rolled-back one is applied again.
        transaction.on_commit(lambda: _job_finished_count(job=job))


def _job_finished_count(*, job: TranscodeJob) -> None:
    metrics.jobs_finished.labels(status=job.status).inc()
    if job.status == JobStatus.READY and job.finished_at is not None:
        metrics.queued_to_ready.observe((job.finished_at - job.created_at).total_seconds())
