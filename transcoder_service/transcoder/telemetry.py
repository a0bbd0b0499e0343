"""Traces and the per-stage metrics of a job, behind two context managers.

    job_observed(carrier=<the message's headers>, ...)  one span per delivery
        stage("download") ... stage("manifest")           one child span each

The pipeline only calls `stage`; tasks.py calls `job_observed`. Nothing else
imports OpenTelemetry, so the core stays free of it.

The caller may send W3C trace context (`traceparent`, `tracestate`) as
message headers (docs/messages.md, "Trace context"). We extract it ourselves
with the propagator API rather than rely on a Celery instrumentation: the
caller sends by name from another codebase (`send_task`), and the worker
must take whatever arrives. A message without it, or with a malformed one,
starts a new trace and the job runs as usual.

Traces are exported only when an OTLP endpoint is set (the standard OTEL_*
variables, read by the SDK itself). Otherwise no tracer provider is ever
installed: the API's default tracer makes non-recording spans, which cost
a few microseconds a stage and send nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import socket
import time
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import SpanKind, Status, StatusCode

from transcoder import metrics
from transcoder.errors import StorageError, TranscodeError

logger = logging.getLogger(__name__)
_tracer = trace.get_tracer("transcoder")
# The job this thread is working on, for log lines (logs.py).
current_job: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "current_job", default=None
)
SERVICE_NAME = "transcoder"
JOB_SPAN = "transcode.convert_video"


def context_headers() -> frozenset[str]:
    """The message headers the configured propagators read (traceparent, tracestate...)."""
    return frozenset(propagate.get_global_textmap().fields)


class _HeaderGetter(Getter[Mapping[str, Any]]):
    """Reads a header only if it is text: anything else counts as absent."""

    def get(self, carrier: Mapping[str, Any], key: str) -> list[str] | None:
        value = carrier.get(key)
        return [value] if isinstance(value, str) else None

    def keys(self, carrier: Mapping[str, Any]) -> list[str]:
        return [key for key in carrier if isinstance(key, str)]


def tracing_start() -> None:
    """Install the SDK's tracer provider with an OTLP/HTTP exporter (per pool process).

    Called after the fork: the batch processor's thread must live in the
    process whose spans it sends.
    """
    # Imported here: a worker without an endpoint never loads the SDK.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # docker-compose passes a blank `OTEL_X=` of .env as an empty value, which
    # the SDK would take as a value (and warn about); blank means unset here
    # as in settings.py.
    for name in [k for k, v in os.environ.items() if k.startswith("OTEL_") and not v.strip()]:
        del os.environ[name]
    # Resource.create lets OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES add
    # to these; the SDK also reads OTEL_TRACES_SAMPLER and the OTLP settings.
    resource = Resource.create({"host.name": socket.gethostname()})
    if resource.attributes.get("service.name", "").startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def tracing_stop() -> None:
    """Send what is still queued before the process exits."""
    provider = trace.get_tracer_provider()
    shutdown = getattr(provider, "shutdown", None)  # the API's default has none
    if shutdown is not None:
        shutdown()


def context_extracted(carrier: Mapping[str, Any]) -> otel_context.Context:
    """The caller's trace context, or an empty one (a new trace) if absent or malformed."""
    try:
        return propagate.extract(carrier, getter=_HeaderGetter())
    except Exception:
        # A header nobody can parse must never cost the job.
        logger.warning("ignoring an unreadable trace context header", exc_info=True)
        return otel_context.Context()


class JobIdentify(Protocol):
    """Names the job once its message is validated (before that, it has no name)."""

    def __call__(self, *, job_id: str, video_id: str | None) -> None: ...


@contextlib.contextmanager
def job_observed(*, carrier: Mapping[str, Any]) -> Iterator[JobIdentify]:
    """The span, the counters and the log context of one delivery of a job."""
    ids: dict[str, str] = {}
    job_token = current_job.set(ids)
    span_cm = _tracer.start_as_current_span(
        JOB_SPAN,
        context=context_extracted(carrier),
        kind=SpanKind.CONSUMER,
        record_exception=False,  # its message or traceback may name a scratch path
        set_status_on_exception=False,
    )
    in_progress = metrics.jobs_in_progress()
    try:
        with span_cm as span, in_progress:

            def identify(*, job_id: str, video_id: str | None) -> None:
                ids["job_id"] = job_id
                span.set_attribute("job.id", job_id)
                if video_id:
                    ids["video_id"] = video_id
                    span.set_attribute("video.id", video_id)

            try:
                yield identify
            except BaseException as exc:
                outcome, code = job_failure(exc)
                _failed(span, code)
                metrics.job_finished(outcome=outcome, code=code)
                raise
            metrics.job_finished(outcome="succeeded", code="")
    finally:
        current_job.reset(job_token)


def job_failure(exc: BaseException) -> tuple[str, str]:
    """The outcome ("failed" or "retried") and contract code of a job that raised `exc`.

    Celery's retry raises its own exception `from` the StorageError it retries.
    """
    if isinstance(exc, TranscodeError):
        return "failed", type(exc).__name__
    if isinstance(exc.__cause__, StorageError):
        return "retried", type(exc.__cause__).__name__
    return "failed", type(exc).__name__


@contextlib.contextmanager
def stage(name: str, *, media_seconds: float | None = None, **attributes: Any) -> Iterator[None]:
    """A child span of the job and a `transcode_stage_seconds` observation.

    With `media_seconds` (an encode pass), also the pass's speed: media
    seconds made per wall second.
    """
    started = time.monotonic()
    with _tracer.start_as_current_span(
        name,
        attributes={"stage": name, **attributes},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield
        except BaseException as exc:
            _failed(span, job_failure(exc)[1])
            raise
        finally:
            elapsed = time.monotonic() - started
            metrics.stage_observed(stage=name, seconds=elapsed)
        if media_seconds is not None and elapsed > 0:
            metrics.encode_speed_observed(stage=name, speed=media_seconds / elapsed)


def log_context() -> dict[str, str]:
    """trace_id, span_id, job_id and video_id, those that exist, for a log line."""
    found = dict(current_job.get() or {})
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        found["trace_id"] = trace.format_trace_id(span_context.trace_id)
        found["span_id"] = trace.format_span_id(span_context.span_id)
    return found


def _failed(span: trace.Span, code: str) -> None:
    # The code only: the error's sentence may hold a path (redact.py).
    span.set_attribute("error.type", code)
    span.set_status(Status(StatusCode.ERROR, code))
