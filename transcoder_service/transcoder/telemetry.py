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

A delivery killed outright (SIGKILL, the OOM killer) never exports its job
span, and the stage spans it did export would hang from a parent the trace
lacks. So each delivery keeps its job span's ids in its attempt marker
(attempts.py); the redelivery that finds the marker of a dead one records
that span for it, under its own ids, ended when the death was noticed,
ERROR "WorkerLost". A redelivered job is then two job spans in one trace.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

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
LOST = "WorkerLost"  # the error.type of a dead delivery's job span


@dataclass(frozen=True)
class _Delivery:
    span: trace.Span
    redelivered: bool  # RabbitMQ's flag: an earlier delivery was not acknowledged


_delivery: contextvars.ContextVar[_Delivery | None] = contextvars.ContextVar(
    "delivery", default=None
)
# What tracing_start installed, for the spans of dead deliveries (None: no tracing).
_processor: Any = None
_resource: Any = None


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
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    global _processor, _resource
    _processor, _resource = BatchSpanProcessor(OTLPSpanExporter()), resource
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(_processor)
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
def job_observed(*, carrier: Mapping[str, Any], redelivered: bool = False) -> Iterator[JobIdentify]:
    """The span, the counters and the log context of one delivery of a job."""
    ids: dict[str, str] = {}
    job_token = current_job.set(ids)
    delivery_token = _delivery.set(None)
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
            span.set_attribute("job.redelivered", redelivered)
            _delivery.set(_Delivery(span=span, redelivered=redelivered))

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
        _delivery.reset(delivery_token)
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


def attempt_begun(*, attempt: str, dead: Sequence[Any]) -> dict[str, Any]:
    """Name this delivery's attempt on its span, and record the job spans of `dead` ones.

    `dead` are the markers of earlier deliveries found at the start; they
    count as dead only on a redelivery (a live duplicate leaves one too).
    Returns the ids this attempt's own marker keeps: {} without tracing.
    """
    delivery = _delivery.get()
    if delivery is None or not delivery.span.is_recording():
        return {}
    delivery.span.set_attribute("job.attempt", attempt)
    for marker in dead if delivery.redelivered else ():
        try:
            _lost_attempt_record(marker=marker)
        except Exception:  # a span is never worth a job
            logger.warning("could not record a dead attempt's span", exc_info=True)
    context = delivery.span.get_span_context()
    parent = getattr(delivery.span, "parent", None)  # the SDK's span has one
    return {
        "trace_id": trace.format_trace_id(context.trace_id),
        "span_id": trace.format_span_id(context.span_id),
        "parent_span_id": trace.format_span_id(parent.span_id) if parent else "",
        "started_ns": getattr(delivery.span, "start_time", None) or time.time_ns(),
    }


def _lost_attempt_record(*, marker: Any) -> None:
    """The job span a dead delivery could not export, under its own ids."""
    try:
        ids = marker["trace"]
        trace_id, span_id = int(ids["trace_id"], 16), int(ids["span_id"], 16)
        parent_id = int(ids["parent_span_id"] or "0", 16)
        started = int(ids["started_ns"])
        attempt, host = str(marker["attempt"]), str(marker["host"])
    except (KeyError, TypeError, ValueError):
        return  # a marker from before tracing was on, or not ours to read
    if _processor is None or min(trace_id, span_id, started) <= 0:
        return
    if trace_id >> 128 or span_id >> 64:
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    sampled = TraceFlags(TraceFlags.SAMPLED)
    job = current_job.get() or {}
    attributes = {
        f"{name}.id": job[f"{name}_id"] for name in ("job", "video") if job.get(f"{name}_id")
    }
    parent = (
        SpanContext(trace_id, parent_id, is_remote=True, trace_flags=sampled)
        if parent_id and not parent_id >> 64
        else None
    )
    _processor.on_end(
        ReadableSpan(
            name=JOB_SPAN,
            context=SpanContext(trace_id, span_id, is_remote=False, trace_flags=sampled),
            parent=parent,
            # The dead delivery's host, not the one that noticed the death.
            resource=_resource.merge(Resource({"host.name": host[:255]})),
            attributes={**attributes, "job.attempt": attempt[:64], "error.type": LOST},
            kind=SpanKind.CONSUMER,
            status=Status(StatusCode.ERROR, LOST),
            start_time=started,
            end_time=max(started, time.time_ns()),
            instrumentation_scope=InstrumentationScope("transcoder"),
        )
    )


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
