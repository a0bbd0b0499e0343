"""A plain Celery app with one trivial task: the messaging baseline a Celery user knows.

    BROKER_URL=... python -m celery --app bench.plain_celery worker

Celery's defaults throughout (prefork pool, the `celery` queue, the rpc://
result backend), nothing of the project's: bench/messaging.py times
`task.delay().get()` against it next to `transcode.ping`.
"""

from __future__ import annotations

import os

from celery import Celery

TASK = "bench.plain.ping"


def app_make(broker_url: str) -> Celery:
    app = Celery("bench_plain", broker=broker_url, backend="rpc://")

    @app.task(name=TASK, shared=False)  # each app its own: the client makes a second one
    def ping() -> dict[str, bool]:
        return {"pong": True}

    return app


# For `celery --app bench.plain_celery worker`, which the bench starts with BROKER_URL set.
app = app_make(os.environ.get("BROKER_URL", "memory://"))
