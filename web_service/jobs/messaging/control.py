"""Cancelling a transcode: the contract's cancel message (docs/messages.md, "Cancelling a job").

Not Celery's remote control (`app.control.revoke`): that is a broadcast on
the `celery.pidbox` fanout exchange, and whoever may publish there may also
send `cancel_consumer transcode_queue`, `shutdown` or `pool_shrink` to every
worker. RabbitMQ cannot limit a user to some commands on a fanout exchange,
so the web publishes to an exchange that can only mean "cancel this job",
and its broker user in docker-compose.yml has no right on `celery.pidbox`.
"""

from __future__ import annotations

from django.conf import settings

from config.celery_app import app
from jobs.messaging import contract


def transcode_cancel_publish(*, job_id: str) -> None:
    """Ask every worker to drop the job, and to kill it if it is running.

    Each worker handles it as Celery's `revoke(job_id, terminate=True,
    signal="SIGTERM")`: a queued job is dropped when it is delivered, and the
    pool process of a running one gets SIGTERM, which kills ffmpeg and
    removes partial files. A worker that is offline now never hears it; if it
    runs the job later, its result arrives for a job that is already final,
    and the collector ignores it.

    Raises kombu's/amqp's errors when the broker cannot take the message
    (jobs.services.dispatch.PUBLISH_ERRORS).
    """
    exchange = contract.cancel_exchange()
    with app.producer_or_acquire() as producer:
        producer.publish(
            contract.cancel_body(job_id=job_id),
            exchange=exchange,
            routing_key="",
            serializer="json",
            # Declared with transcode_queue, by the web or by the broker
            # (compose, where the web's user may only publish to it).
            declare=[exchange] if settings.TRANSCODE_QUEUE_DECLARE else [],
            retry=True,
            retry_policy=app.conf.task_publish_retry_policy,
            # Ignored by transports without confirms (memory://, filesystem://).
            confirm_timeout=settings.BROKER_CONFIRM_TIMEOUT,
        )
