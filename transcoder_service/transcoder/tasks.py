"""The Celery tasks: the message contract's entry points, and nothing more.

Each task decodes its message, calls the framework-free pipeline, and maps
Celery-specific events (progress, time limit, retry) onto the contract. The
work itself is in pipeline.py, which knows nothing about Celery.
"""

from __future__ import annotations

from typing import Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from transcoder import contract, pipeline
from transcoder.errors import StorageError, TranscodeTimeout
from transcoder.payload import parse_convert_request
from transcoder.settings import get_settings
from transcoder.worker import app

# StorageError is the only transient failure; the contract promises three
# retries. The delay doubles each time (10, 20, 40 s) to give a remounting
# volume or a disk being cleaned up some room.
STORAGE_MAX_RETRIES = 3
STORAGE_RETRY_BASE_SECONDS = 10


# `*args, **kwargs` instead of named parameters: Celery would otherwise
# reject a malformed message with a TypeError, an exc_type the contract
# does not know. parse_convert_request refuses it as InvalidPayload instead.
@app.task(bind=True, name=contract.TASK_CONVERT_VIDEO, max_retries=STORAGE_MAX_RETRIES)
def convert_video(self: Task, *args: object, **kwargs: object) -> dict[str, Any]:
    request = parse_convert_request(args=args, kwargs=kwargs)
    settings = get_settings()

    def on_progress(*, stage: str, percent: int) -> None:
        self.update_state(
            state=contract.STATE_PROGRESS,
            meta={contract.PROGRESS_PERCENT: percent, contract.PROGRESS_STAGE: stage},
        )

    try:
        return pipeline.convert(
            request=request,
            media_root=settings.media_root,
            on_progress=on_progress,
            settings=settings,
        )
    except SoftTimeLimitExceeded as exc:
        # By the time it reaches us, the runner has killed ffmpeg and the
        # pipeline has removed its temp files (both in `finally` blocks).
        raise TranscodeTimeout(
            f"The transcode took longer than {settings.soft_time_limit} s."
        ) from exc
    except StorageError as exc:
        # Once the retries are used up, retry() raises `exc` itself, so the
        # caller gets FAILURE with exc_type StorageError.
        countdown = STORAGE_RETRY_BASE_SECONDS * 2**self.request.retries
        raise self.retry(exc=exc, countdown=countdown) from exc


# No STARTED for a health check: it is answered at once, and the extra
# state message made each ping 12 % slower (bench/results.md, section 2).
@app.task(name=contract.TASK_PING, track_started=False)
def ping() -> dict[str, Any]:
    """Health check: proves a worker consumes the queue and replies arrive."""
    return {"pong": True, "contract_version": contract.CONTRACT_VERSION}
