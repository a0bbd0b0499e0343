"""LOG_FORMAT=json: one JSON object per line, with the trace and the job in each.

Celery still sets up the loggers (worker_hijack_root_logger), including the
redirection of stray prints to the log; worker.py then swaps the formatter
of each handler it made, in the main process and, by inheritance through
the fork, in every pool process. python-json-logger writes the objects.
"""

from __future__ import annotations

import logging

from pythonjsonlogger.json import JsonFormatter

from transcoder.telemetry import log_context

_FIELDS = ("asctime", "levelname", "name", "processName", "process", "message")


class _Context(logging.Filter):
    """Adds trace_id, span_id, job_id and video_id to a record, those that exist."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in log_context().items():
            setattr(record, key, value)
        return True


def json_logging_install(logger: logging.Logger) -> None:
    """Make every handler of `logger` write JSON lines."""
    formatter = JsonFormatter(
        _FIELDS, rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}
    )
    for handler in logger.handlers:
        handler.setFormatter(formatter)
        if not any(isinstance(f, _Context) for f in handler.filters):
            handler.addFilter(_Context())
