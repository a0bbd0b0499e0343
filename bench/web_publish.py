"""The web's side of the messaging bench (section 2), in the web's own venv.

`bench/messaging.py` starts this as `web_service/.venv/bin/python -m
bench.web_publish VIDEO_ID` with the web's environment: it imports the web's
code, which the bench's venv cannot. For each line on stdin ("job" or "ping")
it times one trip and writes on stdout its milliseconds, then those until the
publish returned (the broker's confirm):

- job: the web's own `job_create` for VIDEO_ID (a video uploaded through the
  API), in a transaction: the outbox row, then on commit `job_dispatch`
  publishes it with publisher confirms (as the web's settings have them) and
  marks it sent. It asks for no profile, so the worker refuses it before any
  download or ffmpeg, publishing STARTED then FAILURE; the clock stops when
  the collector has stored the job's final state in PostgreSQL.
- ping: `transcode.ping` from the web's Celery app (confirms, the same reply
  queue), one SUCCESS, stored by the collector as a TaskResult: the same
  path without the outbox, the job row and the worker's STARTED.

The end is seen by polling the stored row on one open connection: the web
has no LISTEN/NOTIFY to wait on.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable

import django

POLL_INTERVAL = 0.001  # the end is seen at most this late (plus one indexed query)


def main(video_id: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from config.celery_app import app
    from django.conf import settings
    from django.db import connection, transaction
    from django_celery_results.models import TaskResult
    from jobs.messaging import contract
    from jobs.models import FINAL_STATUSES, TranscodeJob
    from jobs.services.dispatch import job_create
    from videos.models import Video

    video = Video.objects.get(pk=video_id)

    def job() -> str:
        with transaction.atomic():  # job_dispatch runs at the commit, as after an upload
            created = job_create(video=video, profiles=[])
        return str(created.pk)

    def ping() -> str:
        task_id = str(uuid.uuid4())
        app.send_task(
            "transcode.ping",
            task_id=task_id,
            reply_to=settings.RESULTS_QUEUE,
            declare=[contract.results_queue()],
            confirm_timeout=settings.BROKER_CONFIRM_TIMEOUT,
        )
        return task_id

    # Raw SQL on one cursor: the ORM would build the same query on every poll.
    cursor = connection.cursor()
    final_row = {
        "job": (TranscodeJob._meta.db_table, "id", list(FINAL_STATUSES)),
        "ping": (TaskResult._meta.db_table, "task_id", list(contract.FINAL_STATES)),
    }
    send: dict[str, Callable[[], str]] = {"job": job, "ping": ping}

    def stored(kind: str, row_id: str) -> bool:
        table, key, final = final_row[kind]
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE {key} = %s AND status = ANY(%s)", [row_id, final]
        )
        return cursor.fetchone() is not None

    for line in sys.stdin:
        kind = line.strip()
        start = time.perf_counter()
        row_id = send[kind]()
        confirmed = time.perf_counter()
        deadline = time.monotonic() + 30
        while not stored(kind, row_id):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no final state stored for {kind} {row_id}")
            time.sleep(POLL_INTERVAL)
        end = time.perf_counter()
        print(f"{(end - start) * 1000:.3f} {(confirmed - start) * 1000:.3f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
