"""A second worker type for the seed-pattern test: its own queue, its own prefix."""

from __future__ import annotations

import os

from celery import Celery
from kombu import Exchange, Queue

app = Celery("other_worker", broker=os.environ["BROKER_URL"], backend="rpc://")
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    task_queues=[
        Queue(
            "thumbnail_queue",
            Exchange("thumbnail_queue", type="direct"),
            routing_key="thumbnail_queue",
        )
    ],
    task_create_missing_queues=False,
)


@app.task(name="thumbnail.echo")
def echo(*, value: str) -> dict[str, str]:
    return {"echo": value}
