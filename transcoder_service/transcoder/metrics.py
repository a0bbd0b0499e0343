"""The worker's Prometheus metrics, correct under Celery's prefork pool.

Jobs run in pool processes, each with its own memory, and the endpoint is
served by the main process. prometheus-client's multiprocess mode joins
them: every process writes its samples to files in PROMETHEUS_MULTIPROC_DIR
and the endpoint sums those files when scraped
(https://prometheus.github.io/client_python/multiprocess/).

prometheus-client picks that mode when it is first imported, so the folder
is made (fresh, at each worker start: files left by an earlier run would be
counted again) before anything imports it: `multiprocess_dir_prepare` runs
in transcoder/worker.py's body, and this module imports prometheus_client
only inside functions. Without an endpoint (TRANSCODER_METRICS_PORT unset
or 0) no folder is made; each process then counts in its own memory, which
nobody reads, at the cost of a dictionary update per stage.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Stages last from milliseconds (a probe) to many minutes (a long encode).
_STAGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800)
# Media seconds per wall second: well below 1 for 1080p on a small host,
# tens for a small rendition on a big one.
_SPEED_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)


@dataclass(frozen=True)
class _Metrics:
    jobs: Any
    stage_seconds: Any
    encode_speed: Any
    transferred: Any
    in_progress: Any


def multiprocess_dir_prepare() -> str:
    """Make a fresh folder for this worker's metric files; set PROMETHEUS_MULTIPROC_DIR."""
    if "prometheus_client" in sys.modules:
        # Too late: its mode is already chosen, and the endpoint would only
        # ever see the main process, where no job runs.
        raise RuntimeError("prometheus_client was imported before its multiprocess folder")
    folder = tempfile.mkdtemp(prefix="transcoder-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    return folder


def multiprocess_dir_remove() -> None:
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def metrics_serve(*, host: str, port: int) -> None:
    """Serve /metrics from a thread of this (the main) process."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    start_http_server(port, addr=host, registry=registry)


def process_dead(pid: int) -> None:
    """Drop a finished pool process's live gauges (jobs in progress)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


@functools.cache
def _metrics() -> _Metrics:
    from prometheus_client import Counter, Gauge, Histogram

    return _Metrics(
        jobs=Counter(
            "transcode_jobs",
            "Deliveries of transcode.convert_video that ended, by outcome and failure code.",
            ["outcome", "code"],
        ),
        stage_seconds=Histogram(
            "transcode_stage_seconds",
            "Wall time of each stage of a job.",
            ["stage"],
            buckets=_STAGE_BUCKETS,
        ),
        encode_speed=Histogram(
            "transcode_encode_speed",
            "Media seconds made per wall second, per encode or ladder pass.",
            ["stage"],
            buckets=_SPEED_BUCKETS,
        ),
        transferred=Counter(
            "transcode_transfer_bytes",
            "Bytes moved to and from the object store.",
            ["direction"],
        ),
        # livesum: the sum over the pool processes that are alive now.
        in_progress=Gauge(
            "transcode_jobs_in_progress",
            "Jobs being worked on.",
            multiprocess_mode="livesum",
        ),
    )


def job_finished(*, outcome: str, code: str) -> None:
    _metrics().jobs.labels(outcome=outcome, code=code).inc()


def jobs_in_progress() -> AbstractContextManager[Any]:
    return _metrics().in_progress.track_inprogress()


def stage_observed(*, stage: str, seconds: float) -> None:
    _metrics().stage_seconds.labels(stage=stage).observe(seconds)


def encode_speed_observed(*, stage: str, speed: float) -> None:
    _metrics().encode_speed.labels(stage=stage).observe(speed)


def bytes_transferred(*, direction: str, count: int) -> None:
    """`direction` is "downloaded" or "uploaded"."""
    _metrics().transferred.labels(direction=direction).inc(count)
