"""The transcoder's Celery app with `track_started=False` on `transcode.ping` only (experiment only)."""

import transcoder.tasks  # noqa: F401 - registers the tasks
from transcoder.worker import app

app.tasks["transcode.ping"].track_started = False
