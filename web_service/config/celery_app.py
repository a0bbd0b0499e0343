"""The web's Celery app: a producer only.

It never runs tasks and has no result backend. It sends `transcode.*` tasks
by name to the transcoder's queue, and results come back to the fixed reply
queue that the collector (`manage.py run_collector`) consumes. That keeps the
web free of Celery's per-process rpc consumer, which a multi-process web
server cannot use and which loses results when the process dies.

Its configuration, routes included, is the CELERY_* settings
(config/settings.py), as in cookiecutter-django.
"""

from __future__ import annotations

from celery import Celery

app = Celery("web_service")
app.config_from_object("django.conf:settings", namespace="CELERY")
