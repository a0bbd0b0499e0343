"""The web's Celery app: a producer only.

It never runs tasks and has no result backend. It sends `transcode.*` tasks
by name to the transcoder's queue, and results come back to the fixed reply
queue that the collector (`manage.py run_collector`) consumes. That keeps the
web free of Celery's per-process rpc consumer, which a multi-process web
server cannot use and which loses results when the process dies.
"""

from __future__ import annotations

from celery import Celery
from django.conf import settings

from videos.messaging import contract

app = Celery("web_service")
app.conf.update(
    broker_url=settings.BROKER_URL,
    broker_transport_options=settings.BROKER_TRANSPORT_OPTIONS,
    # JSON only on the wire; pickle is never produced or accepted.
    # https://docs.celeryq.dev/en/stable/userguide/security.html#serializers
    task_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    # Route by task-name prefix, one queue per worker type.
    # https://docs.celeryq.dev/en/stable/userguide/routing.html#automatic-routing
    task_routes={contract.TASK_PREFIX_PATTERN: {"queue": contract.QUEUE}},
    task_queues=[contract.transcode_queue()],
    # A route naming a queue that is not declared above raises QueueNotFound
    # instead of silently creating a queue that nobody consumes.
    task_create_missing_queues=False,
    # Fail an upload's dispatch fast when the broker is down: the job stays in
    # the outbox and the collector's relay sends it once the broker is back.
    broker_connection_timeout=3,
    task_publish_retry_policy={
        "max_retries": 2,
        "interval_start": 0,
        "interval_step": 0.5,
        "interval_max": 1,
    },
)
