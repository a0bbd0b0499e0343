"""Sending transcode tasks by name: the one place the web publishes to RabbitMQ."""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from kombu import Queue

from config.celery_app import app
from jobs.messaging import contract


def _jobs_queue() -> list[Queue]:
    """transcode_queue, to declare before publishing, unless the broker declares it."""
    return [contract.transcode_queue()] if settings.TRANSCODE_QUEUE_DECLARE else []


def transcode_request_publish(
    *, job_id: str, source_key: str, profiles: list[str], headers: Mapping[str, str] | None = None
) -> None:
    """Publish `transcode.convert_video` by name, with the fixed reply queue.

    `headers` are the optional message headers of docs/messages.md (trace
    context, video_id): Celery adds them to the message's own headers.

    Returns once the broker has the message: with the AMQP transports,
    publisher confirms are on (config/settings.py), so a nack raises
    MessageNacked and no answer within BROKER_CONFIRM_TIMEOUT raises
    socket.timeout. Raises kombu's/amqp's errors when the broker cannot take
    the message; the caller keeps the job in the outbox in that case.
    """
    app.send_task(
        contract.TASK_CONVERT_VIDEO,
        kwargs=contract.convert_video_kwargs(
            job_id=job_id, source_key=source_key, profiles=profiles
        ),
        # The job id doubles as the task id: redelivery and outbox re-sends
        # carry the same id, and the collector finds the job by it.
        task_id=job_id,
        headers=dict(headers or {}),
        reply_to=settings.RESULTS_QUEUE,
        # Declare the reply queue together with the task queue, so the result
        # has somewhere to go even if the collector has never run.
        declare=[*_jobs_queue(), contract.dead_letter_queue(), contract.results_queue()],
        # Ignored by transports without confirms (memory://, filesystem://).
        confirm_timeout=settings.BROKER_CONFIRM_TIMEOUT,
    )


def outputs_delete_publish(*, job_id: str) -> None:
    """Publish `transcode.delete_outputs` by name: the transcoder owns outputs/.

    It publishes no result, so no reply queue is named. Raises like
    `transcode_request_publish` when the broker cannot take the message.
    """
    app.send_task(
        contract.TASK_DELETE_OUTPUTS,
        kwargs=contract.delete_outputs_kwargs(job_id=job_id),
        # An explicit list, even empty: with None, Celery declares the route's queue.
        declare=_jobs_queue(),
        confirm_timeout=settings.BROKER_CONFIRM_TIMEOUT,
    )
