"""A bare Celery client that knows only the message contract (docs/messages.md).

It imports nothing from either service: the task name, queue and exchange
are written out here, which is all any other codebase needs to call the
transcoder.
"""

from __future__ import annotations

from celery import Celery
from kombu import Exchange, Queue

TRANSCODE_QUEUE = Queue(
    "transcode_queue",
    Exchange("transcode_queue", type="direct"),
    routing_key="transcode_queue",
    durable=True,
)


def bare_client(broker_url: str) -> Celery:
    client = Celery("contract-client", broker=broker_url, backend="rpc://")
    client.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_routes={"transcode.*": {"queue": "transcode_queue"}},
        task_queues=[TRANSCODE_QUEUE],
        task_create_missing_queues=False,
        result_persistent=True,
    )
    return client
