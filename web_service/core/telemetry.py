"""Traces of the web and the collector: one trace per upload, across the broker.

    upload request (Django's span, the root)
      └─ transcode.dispatch        the outbox sends the job, with the trace in its headers
           └─ transcode.convert_video ...   the transcoder continues it
      └─ collector.reply_store     each reply the collector stores

The job row keeps the trace context of the request that created it
(`TranscodeJob.trace_context`), so whoever touches the job later joins the
same trace: the outbox relay sending it after a broker outage, the reaper
re-sending it, the collector storing its replies, in another process and
possibly hours later. A re-send publishes the same context, so the worker's
second attempt is another child in that one trace.

Configured only by the standard OTEL_* variables, which the SDK reads itself
(so they are not in config/settings.py). With no OTLP endpoint set, nothing
is installed: the API's default tracer makes non-recording spans, nothing is
exported, and `trace_context_current` returns None, so no row stores any.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import socket
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

_tracer = trace.get_tracer("videos")
# The job a job_span is about, for the log lines written inside it.
_current_job: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "current_job", default=None
)
_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def _blank_otel_variables_drop() -> None:
    # docker-compose passes a blank `OTEL_X=` line of .env as an empty value,
    # which the SDK would take as a value (and warn about); blank means unset
    # here, as in config/settings.py.
    for name in [k for k, v in os.environ.items() if k.startswith("OTEL_") and not v.strip()]:
        del os.environ[name]


def tracing_configured() -> bool:
    """Whether an OTLP endpoint is set and the SDK is not disabled."""
    _blank_otel_variables_drop()
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(os.environ.get(name) for name in _ENDPOINT_VARIABLES)


def tracing_instrument_web() -> None:
    """Django's, psycopg2's and botocore's spans in the web; before the app loads.

    Django's instrumentation adds a middleware, so this runs before the WSGI
    handler reads MIDDLEWARE (config/wsgi.py). The spans go to whatever tracer
    provider is installed later, in each gunicorn worker (`tracing_start`).
    The collector does not call this: its housekeeping queries, outside any
    job, would each make a one-span trace every few seconds.
    """
    if not tracing_configured():
        return
    # Imported here: a web without an endpoint never loads them.
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg2 import Psycopg2Instrumentor

    DjangoInstrumentor().instrument()
    Psycopg2Instrumentor().instrument(skip_dep_check=True)  # psycopg2-binary is psycopg2
    BotocoreInstrumentor().instrument()


def tracing_start(*, service_name: str) -> None:
    """Install the SDK's tracer provider with an OTLP/HTTP exporter, if configured.

    Called in the process whose spans it sends (after gunicorn's fork): the
    batch processor's thread must live there. OTEL_SERVICE_NAME, when set,
    wins over `service_name`.
    """
    if not tracing_configured():
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Resource.create adds OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; the
    # SDK also reads OTEL_TRACES_SAMPLER and the OTLP settings itself.
    resource = Resource.create({"host.name": socket.gethostname()})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": service_name}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def tracing_stop() -> None:
    """Send what is still queued before the process exits."""
    shutdown = getattr(trace.get_tracer_provider(), "shutdown", None)  # the API's has none
    if shutdown is not None:
        shutdown()


def trace_context_current() -> dict[str, str] | None:
    """The current span's W3C context (traceparent, tracestate), or None without one."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier or None


def trace_headers(*, video_id: str) -> dict[str, str]:
    """The message headers of a job sent now (docs/messages.md, "Trace context")."""
    return {**(trace_context_current() or {}), "video_id": video_id}


@contextlib.contextmanager
def job_span(
    name: str,
    *,
    trace_context: Mapping[str, str] | None,
    job_id: str,
    video_id: str,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[trace.Span]:
    """A span of a job, child of the context stored with it (or a new trace without one).

    An exception marks it ERROR with the exception's type only: its message
    may name a broker URL or a key.
    """
    parent = _context_extracted(trace_context)
    job_token = _current_job.set({"job_id": job_id, "video_id": video_id})
    try:
        with _tracer.start_as_current_span(
            name,
            context=parent,
            kind=kind,
            attributes={"job.id": job_id, "video.id": video_id, **(attributes or {})},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except BaseException as exc:
                span_failed(span, code=type(exc).__name__)
                raise
    finally:
        _current_job.reset(job_token)


def span_failed(span: trace.Span, *, code: str) -> None:
    """Status ERROR with the failure code (never the error's sentence)."""
    span.set_attribute("error.type", code)
    span.set_status(Status(StatusCode.ERROR, code))


def _context_extracted(carrier: Mapping[str, str] | None) -> otel_context.Context:
    if not carrier:
        return otel_context.Context()  # a new trace, not the caller's current span
    try:
        return propagate.extract(dict(carrier))
    except Exception:
        # Whatever the row holds, it must never cost the job its dispatch or reply.
        return otel_context.Context()


class LogContext(logging.Filter):
    """Adds trace_id, span_id, job_id and video_id to a log record, those that exist."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_current_job.get() or {}).items():
            setattr(record, key, value)
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            record.trace_id = trace.format_trace_id(span_context.trace_id)
            record.span_id = trace.format_span_id(span_context.span_id)
        return True
