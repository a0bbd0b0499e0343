"""The Celery tasks: the message contract's entry points, and nothing more.

Each task decodes its message, calls the framework-free pipeline, and maps
Celery-specific events (progress, time limit, retry) onto the contract. The
work itself is in pipeline.py, which knows nothing about Celery.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from celery import Task
from celery.app.task import Context
from celery.exceptions import SoftTimeLimitExceeded

from transcoder import contract, pipeline, telemetry
from transcoder.errors import StorageError, TranscodeTimeout
from transcoder.objectstore import ObjectStore, store_connect
from transcoder.payload import ConvertRequest, parse_convert_request, parse_delete_request
from transcoder.settings import Settings, get_settings
from transcoder.worker import app

# StorageError is the only transient failure; the contract promises three
# retries. The delay doubles each time (STORAGE_RETRY_DELAY: 10, 20, 40 s by
# default) to give a restarting store or a disk being cleaned up some room.
STORAGE_MAX_RETRIES = 3
_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@functools.cache
def store_for(settings: Settings) -> ObjectStore:
    """One boto3 client per pool process (and per settings), made on first use.

    Made lazily, in the pool process itself: a client created before the
    fork would share its connection pool with every sibling.
    """
    return store_connect(settings=settings)


def retry_countdown(*, settings: Settings, retries: int) -> float:
    return settings.storage_retry_delay * 2**retries


# `*args, **kwargs` instead of named parameters: Celery would otherwise
# reject a malformed message with a TypeError, an exc_type the contract
# does not know. parse_convert_request refuses it as InvalidPayload instead.
@app.task(bind=True, name=contract.TASK_CONVERT_VIDEO, max_retries=STORAGE_MAX_RETRIES)
def convert_video(self: Task, *args: object, **kwargs: object) -> dict[str, Any]:
    with telemetry.job_observed(
        carrier=_trace_headers(self.request), redelivered=_redelivered(self.request)
    ) as identify:
        request = parse_convert_request(args=args, kwargs=kwargs)
        identify(job_id=request.job_id, video_id=_video_id(self.request))
        return _convert_video(self, request=request)


def _convert_video(self: Task, *, request: ConvertRequest) -> dict[str, Any]:
    settings = get_settings()
    # Taken here, on the task's thread: Celery keeps the current request per
    # thread, and the ladder's publisher (live.py) reports the first
    # playable moment from its own. ProgressReporter sends one report at a time.
    context = self.request

    def on_progress(*, stage: str, percent: int, preview: dict[str, Any] | None = None) -> None:
        meta: dict[str, Any] = {contract.PROGRESS_PERCENT: percent, contract.PROGRESS_STAGE: stage}
        if preview is not None:
            meta[contract.PROGRESS_PREVIEW] = preview
        # Lent to whichever thread reports, so update_state finds this task's
        # id and reply queue there too (on the task's thread it already does).
        self.request_stack.push(context)
        try:
            self.update_state(state=contract.STATE_PROGRESS, meta=meta)
        finally:
            self.request_stack.pop()

    try:
        return pipeline.convert(
            request=request,
            store=store_for(settings),
            on_progress=on_progress,
            settings=settings,
        )
    except SoftTimeLimitExceeded as exc:
        # By the time it reaches us, the runner has killed ffmpeg and the
        # pipeline has removed its scratch folder (both in `finally` blocks).
        raise TranscodeTimeout(
            f"The transcode took longer than {settings.soft_time_limit} s."
        ) from exc
    except StorageError as exc:
        # Once the retries are used up, retry() raises `exc` itself, so the
        # caller gets FAILURE with exc_type StorageError.
        countdown = retry_countdown(settings=settings, retries=self.request.retries)
        raise self.retry(exc=exc, countdown=countdown) from exc


def _trace_headers(request: Context) -> dict[str, Any]:
    """The trace context headers of the message (docs/messages.md, "Trace context").

    Celery puts a message's own headers on its request; a caller's
    send_task(headers=...) may also land in `request.headers`.
    """
    nested = getattr(request, "headers", None)
    nested = nested if isinstance(nested, dict) else {}
    return {
        name: getattr(request, name, None) or nested.get(name)
        for name in telemetry.context_headers()
    }


def _redelivered(request: Context) -> bool:
    # RabbitMQ's flag: an earlier delivery of this message was never acknowledged.
    delivery_info = getattr(request, "delivery_info", None)
    return isinstance(delivery_info, dict) and delivery_info.get("redelivered") is True


def _video_id(request: Context) -> str | None:
    # An optional header, for the span and the logs only: an id, nothing more.
    value = getattr(request, contract.HEADER_VIDEO_ID, None)
    if isinstance(value, str) and _VIDEO_ID.fullmatch(value):
        return value
    return None


# No result (the web has nothing to wait for) and no STARTED: the caller
# sends it and forgets it; a lost store is handled by the retries.
@app.task(
    bind=True,
    name=contract.TASK_DELETE_OUTPUTS,
    max_retries=STORAGE_MAX_RETRIES,
    ignore_result=True,
    track_started=False,
)
def delete_outputs(self: Task, *args: object, **kwargs: object) -> None:
    request = parse_delete_request(args=args, kwargs=kwargs)
    settings = get_settings()
    try:
        pipeline.outputs_delete(request=request, store=store_for(settings))
    except StorageError as exc:
        countdown = retry_countdown(settings=settings, retries=self.request.retries)
        raise self.retry(exc=exc, countdown=countdown) from exc


# No STARTED for a health check: it is answered at once, and the extra
# state message made each ping 12 % slower (bench/results.md, section 2).
@app.task(name=contract.TASK_PING, track_started=False)
def ping() -> dict[str, Any]:
    """Health check: proves a worker consumes the queue and replies arrive."""
    return {"pong": True, "contract_version": contract.CONTRACT_VERSION}
