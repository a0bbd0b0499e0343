"""What the worker refuses from a message before its task body runs.

Celery lets the sender of a message decide things that are the worker's
to decide. A caller is not trusted with any of them (docs/messages.md,
"What the worker refuses"):

- time limits: the `timelimit` header would replace the worker's soft and
  hard limits, so a job could run for ever, or be killed at once. The
  worker's own limits (TRANSCODE_SOFT_TIME_LIMIT, TRANSCODE_TIME_LIMIT)
  always apply.
- schedules: a message with an `eta` (countdown) is held, unacknowledged,
  by the worker that received it; past RabbitMQ's consumer_timeout the
  broker closes the channel and every job of that worker goes back to the
  queue. Only the worker's own StorageError retries may carry an ETA, and
  no further ahead than the longest retry delay; anything else is refused
  with InvalidPayload at once.
- compression: kombu decompresses a body before Celery sees it, so a few
  kilobytes of zlib could become gigabytes in the worker's memory. Every
  compression kombu knows is refused without decompressing.

Plugged in as Celery documents it: `Task.Request` (a custom request class)
and a `Task` base class (worker.py's `task_cls`). Three things here lean on
internals, checked against the versions in CHECKED_AGAINST (requirements.txt
pins them): Request.__init__ assigns `time_limits` from the header and keeps
the ETA in `_eta` and the retries in `_request_dict`; kombu.compression keeps
its codecs in `_encoders`/`_decoders`. tests/test_guards.py fails when an
upgrade moves one of them; tests/test_untrusted_messages.py checks the
outcome on a real worker.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from celery import Task
from celery.worker.request import Request
from kombu import compression
from kombu.exceptions import ContentDisallowed

from transcoder.errors import InvalidPayload
from transcoder.settings import get_settings

# The versions the internals above were read in; an upgrade re-reads them.
CHECKED_AGAINST = {"celery": "5.7.0", "kombu": "5.7.0"}
SCHEDULE_REFUSED = (
    "This worker does not accept scheduled jobs (eta/countdown): send the job when it should run."
)
# Clocks of two hosts differ (a retry may be taken by another worker), and
# the retry's message takes a moment to travel.
ETA_MARGIN_SECONDS = 60.0


def eta_allowed(*, eta: datetime, retries: int, now: datetime, max_delay_seconds: float) -> bool:
    """Whether a message's ETA is the worker's own retry delay (the only ETA honoured)."""
    if retries <= 0:
        return False
    return eta <= now + timedelta(seconds=max_delay_seconds + ETA_MARGIN_SECONDS)


def longest_retry_delay(*, max_retries: int | None) -> float:
    """The countdown of the last retry (tasks.retry_countdown): base * 2**(max_retries-1)."""
    return get_settings().storage_retry_delay * 2 ** max((max_retries or 0) - 1, 0)


class GuardedRequest(Request):
    """The worker's side of a received message (runs in the worker's main process)."""

    @property
    def time_limits(self) -> tuple[None, None]:
        # (None, None) makes the pool use the task's own limits, which come
        # from the worker's settings (worker.py). Celery stores the
        # message's `timelimit` header here; it is dropped.
        return (None, None)

    @time_limits.setter
    def time_limits(self, value: object) -> None:
        pass

    @property
    def eta(self) -> datetime | None:
        # A refused ETA is not held: the job runs at once, and GuardedTask
        # refuses it there with a FAILURE the caller sees (InvalidPayload).
        eta: datetime | None = self._eta
        if eta is None:
            return None
        allowed = eta_allowed(
            eta=eta,
            retries=int(self._request_dict.get("retries") or 0),
            now=datetime.now(UTC),
            max_delay_seconds=longest_retry_delay(max_retries=self._task.max_retries),
        )
        return eta if allowed else None


class GuardedTask(Task):
    """Base of every task: refuses a scheduled job before the body runs (in the pool)."""

    Request = "transcoder.guards:GuardedRequest"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        eta = self.request.eta
        if eta is not None:
            when = datetime.fromisoformat(eta) if isinstance(eta, str) else eta
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            if not eta_allowed(
                eta=when,
                retries=self.request.retries or 0,
                now=datetime.now(UTC),
                max_delay_seconds=longest_retry_delay(max_retries=self.max_retries),
            ):
                raise InvalidPayload(SCHEDULE_REFUSED)
        # run() directly, as Celery's docs do for a custom __call__: the base
        # __call__ would push a fresh request without retries or headers.
        return self.run(*args, **kwargs)


def compression_refuse() -> None:
    """Make every compression kombu knows fail before decompressing anything.

    kombu.message.Message records the decoder's exception as a decode error,
    and Celery's consumer then logs it and acknowledges the message: it is
    dropped like a pickled one, never run, never requeued.
    """
    # Aliases ("zlib", "bzip2") resolve to these content types.
    for content_type in list(compression._decoders):
        compression.register(
            compression._encoders[content_type], _refuse_decompression, content_type
        )


def _refuse_decompression(body: bytes) -> bytes:
    raise ContentDisallowed(
        "Refusing a compressed message: this worker accepts only uncompressed JSON."
    )
