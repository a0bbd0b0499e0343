"""The upload's trace follows its job: into the message headers and into the stored replies.

The SDK records into memory here (the e2e suite, tests/e2e/test_traces.py,
checks the same across real processes and a real OTLP receiver).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection, Consumer
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from core import telemetry
from ingest.services.uploads import video_create
from jobs.messaging import contract
from jobs.messaging.reply_decoding import reply_decode
from jobs.services.dispatch import job_dispatch
from jobs.services.replies import reply_apply

from ..factories import user_make, video_with_job

pytestmark = pytest.mark.django_db

_exporter = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def _sdk_installed() -> None:
    # The global provider can be set once per process: the first test module wins.
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_exporter))
        trace.set_tracer_provider(provider)
    assert isinstance(trace.get_tracer_provider(), TracerProvider)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    _exporter.clear()
    yield _exporter
    _exporter.clear()


def _message_headers(connection: Connection) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def on_message(body: Any, message: Any) -> None:
        found.append(dict(message.headers))
        message.ack()

    with Consumer(
        connection.default_channel, queues=[contract.transcode_queue()], callbacks=[on_message]
    ):
        while True:
            try:
                connection.drain_events(timeout=0.2)
            except TimeoutError:
                return found


def test_the_dispatch_continues_the_uploads_trace_and_hands_it_to_the_worker(
    memory_broker, spans, django_capture_on_commit_callbacks
):
    tracer = trace.get_tracer("test")
    with (
        tracer.start_as_current_span("POST /api/videos/", kind=SpanKind.SERVER) as upload,
        django_capture_on_commit_callbacks(execute=False),
    ):
        video = video_create(
            owner=user_make(),
            source_key="sources/traced",
            original_filename="clip.mp4",
            size_bytes=100,
            title="t",
        )
    job = video.current_job
    upload_context = upload.get_span_context()
    trace_id = trace.format_trace_id(upload_context.trace_id)
    assert job.trace_context["traceparent"].split("-")[1] == trace_id

    # Sent later, outside any request (as the outbox relay does): still that trace.
    assert job_dispatch(job_id=job.id) is True

    (dispatch,) = [span for span in spans.get_finished_spans() if span.name == "transcode.dispatch"]
    assert dispatch.kind == SpanKind.PRODUCER
    assert dispatch.context.trace_id == upload_context.trace_id
    assert dispatch.parent.span_id == upload_context.span_id
    assert dispatch.attributes["job.id"] == str(job.id)
    (headers,) = _message_headers(memory_broker)
    _, sent_trace, sent_parent, _ = headers["traceparent"].split("-")
    assert (sent_trace, sent_parent) == (trace_id, trace.format_span_id(dispatch.context.span_id))
    assert headers["video_id"] == str(video.id)


def test_without_a_current_span_no_context_is_stored_or_sent(memory_broker, spans):
    video = video_create(
        owner=user_make(),
        source_key="sources/untraced",
        original_filename="clip.mp4",
        size_bytes=100,
        title="t",
    )
    assert video.current_job.trace_context is None
    assert telemetry.trace_headers(video_id="v") == {"video_id": "v"}


def test_a_stored_failure_is_a_span_of_the_uploads_trace_marked_error(spans):
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    _, job = video_with_job(trace_context={"traceparent": traceparent})
    failure = {"exc_type": "InvalidMedia", "exc_message": ["Not a video."], "exc_module": "x"}
    body = {"task_id": str(job.id), "status": "FAILURE", "result": failure}

    reply_apply(reply=reply_decode(body=body))

    (stored,) = spans.get_finished_spans()
    assert stored.name == "collector.reply_store"
    assert trace.format_trace_id(stored.context.trace_id) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert trace.format_span_id(stored.parent.span_id) == "00f067aa0ba902b7"
    assert stored.status.status_code == StatusCode.ERROR
    assert stored.status.description == "InvalidMedia"
    assert stored.attributes["error.type"] == "InvalidMedia"
    assert stored.attributes["video.id"] == str(job.video_id)


def test_an_unreadable_stored_context_starts_a_new_trace_and_stores_the_reply(spans):
    _, job = video_with_job(trace_context={"traceparent": "00-not-a-trace-01"})

    reply_apply(reply=reply_decode(body={"task_id": str(job.id), "status": "STARTED"}))

    job.refresh_from_db()
    assert job.status == "processing"
    (stored,) = spans.get_finished_spans()
    assert stored.parent is None


def _manage_shell(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_log_format_json_writes_one_object_a_line_with_the_trace_and_the_job():
    code = (
        "import logging\n"
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "from core import telemetry\n"
        "trace.set_tracer_provider(TracerProvider())\n"
        "with telemetry.job_span('x', trace_context={'traceparent': '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'}, job_id='job-1', video_id='video-1'):\n"  # noqa: E501
        "    logging.getLogger('videos.test').warning('inside the job')\n"
        "logging.getLogger('videos.test').warning('outside')\n"
    )
    run = _manage_shell(code, LOG_FORMAT="json")
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    inside = next(line for line in lines if line["message"] == "inside the job")
    assert inside["level"] == "WARNING"
    assert inside["logger"] == "videos.test"
    assert inside["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert len(inside["span_id"]) == 16
    assert (inside["job_id"], inside["video_id"]) == ("job-1", "video-1")
    outside = next(line for line in lines if line["message"] == "outside")
    assert not {"trace_id", "span_id", "job_id", "video_id"} & set(outside)


def test_an_unknown_log_format_stops_the_start_with_a_sentence():
    run = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_FORMAT": "yaml"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert "LOG_FORMAT must be text or json, got 'yaml'." in run.stderr
