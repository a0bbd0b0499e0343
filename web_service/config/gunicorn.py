"""gunicorn settings, read from the environment (`--config python:config.gunicorn`).

https://docs.gunicorn.org/en/stable/settings.html
"""

import contextlib
import ctypes
import os
import shutil
import tempfile


def _setting(name: str, default: str) -> str:
    """The variable, or `default` when it is unset or blank: compose passes a
    `KEY=` line of .env as an empty value, which must not crash-loop gunicorn."""
    return os.environ.get(name, "").strip() or default


# The web's /metrics (core/metrics.py) in prometheus-client's multiprocess
# mode: each worker writes its numbers to files in this folder, and whichever
# worker answers a scrape sums them. A fresh folder per start (stale files
# would add old counts), set before anything imports prometheus_client.
_METRICS_DIR = tempfile.mkdtemp(prefix="web-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _METRICS_DIR

bind = f"{_setting('WEB_HOST', '127.0.0.1')}:{_setting('WEB_PORT', '8000')}"
workers = int(_setting("WEB_CONCURRENCY", "2"))
# Threads let one worker keep answering status polls while another thread
# streams a large upload into the object store.
worker_class = "gthread"
threads = int(_setting("WEB_THREADS", "4"))
# Long enough for a slow multi-GiB upload on one request.
timeout = 300
graceful_timeout = 20
accesslog = "-"
# Load the app once in the master, so workers fork with it ready.
preload_app = True
# gunicorn >= 24 opens a control socket at one fixed path per user
# (~/.gunicorn/gunicorn.ctl); two servers on one machine (a `make run` and a
# test run) would fight over it, and nothing here uses it.
control_socket_disable = True

# Uploads pass through 8 MiB part buffers (ingest/multipart.py). glibc raises
# its mmap threshold after the first such buffer is freed, so later ones come
# from the heap, which fragments: a 1 GiB upload grew a worker by 65 MiB. A
# fixed 4 MiB threshold keeps each part in its own mapping, returned when
# freed (51 MiB), while the 1 MiB body chunks still reuse heap memory (1 MiB
# made every chunk a fresh mapping: 1.5x the CPU). Set here, in the master
# before it forks: the workers inherit it.
# https://man7.org/linux/man-pages/man3/mallopt.3.html (M_MMAP_THRESHOLD)
# Not glibc (musl, macOS)? Their allocators have no such moving threshold.
_M_MMAP_THRESHOLD = -3
with contextlib.suppress(OSError, AttributeError):
    ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, 4 * 1024 * 1024)


def post_fork(server: object, worker: object) -> None:
    """Install the tracer provider in each worker: its export thread must live there."""
    from core.telemetry import tracing_start

    tracing_start(service_name="web")


def worker_exit(server: object, worker: object) -> None:
    """Send the spans still queued before the worker goes."""
    from core.telemetry import tracing_stop

    tracing_stop()


def child_exit(server: object, worker: object) -> None:
    """Drop a dead worker's live gauges from the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def on_exit(server: object) -> None:
    shutil.rmtree(_METRICS_DIR, ignore_errors=True)
