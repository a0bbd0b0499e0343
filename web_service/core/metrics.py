"""Prometheus metrics: the collector's, on COLLECTOR_METRICS_PORT, and the web's, at /metrics.

The names are those docs/operating.md and deploy/prometheus/ rely on:

    video_jobs_finished_total{status}      jobs the collector (or its reaper) made final
    video_job_queued_to_ready_seconds      from the upload's commit to ready
    video_replies_total{outcome}           stored, dead_lettered, requeued
    video_reaper_actions_total{action}     resent, given_up, stalled
    video_outbox_pending                   job rows not yet sent to the broker

The collector is one process, so prometheus-client's default registry is
enough (no multiprocess mode). Other processes import this module too (the
services count as they go) but never serve it, so there the numbers stay
in memory and cost a few nanoseconds.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.multiprocess import MultiProcessCollector

jobs_finished = Counter(
    "video_jobs_finished", "Jobs made final by the collector, by status.", ["status"]
)
queued_to_ready = Histogram(
    "video_job_queued_to_ready_seconds",
    "Seconds from a job's creation (the upload's commit) to ready.",
    buckets=(5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600),
)
replies = Counter(
    "video_replies", "Worker replies taken off the reply queue, by outcome.", ["outcome"]
)
reaper_actions = Counter(
    "video_reaper_actions", "What the reaper did to stuck jobs, by action.", ["action"]
)
# Only the collector sets it; "livemax" keeps one series when the web's
# gunicorn workers (multiprocess mode) import it too.
outbox_pending = Gauge(
    "video_outbox_pending",
    "Job rows waiting in the outbox to be sent.",
    multiprocess_mode="livemax",
)

# The web's (videos/middleware.py, RequestMetricsMiddleware).
request_duration = Histogram(
    "web_request_duration_seconds",
    "Seconds to answer a request, by view and status.",
    ["view", "method", "status"],
)
uploads_started = Counter("web_uploads_started", "Upload requests received (form, API, direct).")
uploads_completed = Counter("web_uploads_completed", "Uploads that made a video.")
uploads_refused = Counter(
    "web_uploads_refused",
    "Upload requests refused, by reason (from the answer's status).",
    ["reason"],
)

REPLY_OUTCOMES = ("stored", "dead_lettered", "requeued")
REAPER_ACTIONS = ("resent", "given_up", "stalled")
FINAL_STATUSES = ("ready", "failed", "cancelled")

# Every label value exists from the start, at 0: a rate() over a series
# that appears only at its first event misses that event.
for _outcome in REPLY_OUTCOMES:
    replies.labels(outcome=_outcome)
for _action in REAPER_ACTIONS:
    reaper_actions.labels(action=_action)
for _status in FINAL_STATUSES:
    jobs_finished.labels(status=_status)


def metrics_serve(*, host: str, port: int) -> None:
    """Serve /metrics from a thread of this process."""
    start_http_server(port, addr=host)


def metrics_exposition() -> tuple[bytes, str]:
    """This process's metrics as Prometheus text, and its content type.

    Under gunicorn (config/gunicorn.py sets PROMETHEUS_MULTIPROC_DIR) each
    worker writes its own files and this sums them, whichever worker answers.
    """
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST
