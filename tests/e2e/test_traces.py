"""One trace per upload, across the web, the broker, the transcoder and the collector.

A stack of its own exports to a small OTLP/HTTP receiver (tests/support/otlp.py),
configured only by the standard OTEL_* variables, as an operator would. The
upload request's span is the trace's root; the outbox's dispatch carries it in
the message headers (docs/messages.md, "Trace context"); the collector finds
it on the job row when it stores each reply.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.api import ApiClient
from tests.support.media import clip_make
from tests.support.otlp import KIND_SERVER, STATUS_ERROR, ReceivedSpan, Receiver, otlp_receiving
from tests.support.stack import Stack, stack_running

JOB_SPAN = "transcode.convert_video"
STORE_SPAN = "collector.reply_store"
# The web's default profiles (720p and the HLS ladder) pass through these.
STAGE_SPANS = {"download", "probe", "encode", "ladder", "verify", "upload", "manifest"}


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Receiver]]:
    with (
        otlp_receiving() as receiver,
        stack_running(
            tmp_path_factory.mktemp("traces"),
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            # Export within 0.1 s of a span's end, not the default 5 s.
            OTEL_BSP_SCHEDULE_DELAY="100",
        ) as stack,
    ):
        yield stack, receiver


def _stored(spans: list[ReceivedSpan], *, video_id: str, status: str) -> bool:
    return any(
        span.name == STORE_SPAN
        and span.attributes.get("video.id") == video_id
        and span.attributes.get("reply.status") == status
        for span in spans
    )


def _upload_trace(receiver: Receiver, *, video_id: str, final: str) -> list[ReceivedSpan]:
    """Every span of the one trace that names `video_id`, once its final reply is stored."""
    receiver.spans_wait(lambda spans: _stored(spans, video_id=video_id, status=final))
    spans = receiver.received()
    trace_ids = {span.trace_id for span in spans if span.attributes.get("video.id") == video_id}
    assert len(trace_ids) == 1, trace_ids
    (trace_id,) = trace_ids
    return [span for span in spans if span.trace_id == trace_id]


def _only_root(trace: list[ReceivedSpan]) -> ReceivedSpan:
    """The trace's one span without a parent in it; every other one has its parent there."""
    ids = {span.span_id for span in trace}
    roots = [span for span in trace if span.parent_span_id not in ids]
    assert len(roots) == 1, [(span.name, span.resource["service.name"]) for span in roots]
    return roots[0]


def test_one_upload_is_one_trace_through_web_transcoder_and_collector(traced, tmp_path):
    stack, receiver = traced
    api = ApiClient(stack.base_url)
    response = api.upload(clip_make(tmp_path / "clip.mp4", seconds=2), title="traced")
    assert response.status_code == 201, response.text
    video_id = response.json()["id"]
    final, _ = api.wait_final(video_id, timeout=180)
    assert final["status"] == "ready", (final, stack.logs())

    trace = _upload_trace(receiver, video_id=video_id, final="SUCCESS")

    services = {span.resource["service.name"] for span in trace}
    assert services == {"web", "transcoder", "collector"}
    root = _only_root(trace)
    assert root.parent_span_id == ""
    assert root.kind == KIND_SERVER
    assert root.resource["service.name"] == "web"
    assert root.attributes.get("http.request.method", root.attributes.get("http.method")) == "POST"
    names = {span.name for span in trace}
    assert {"transcode.dispatch", JOB_SPAN, STORE_SPAN} <= names
    assert STAGE_SPANS <= names, names
    (job_span,) = [span for span in trace if span.name == JOB_SPAN]
    assert job_span.attributes["video.id"] == video_id
    assert job_span.resource["host.name"]
    # Each reply stored (started, progress..., success) is a span of this trace.
    stored = {span.attributes["reply.status"] for span in trace if span.name == STORE_SPAN}
    assert {"STARTED", "SUCCESS"} <= stored
    assert not [span.name for span in trace if span.status_code == STATUS_ERROR]


def test_a_failing_job_is_marked_error_with_its_failure_code(traced, tmp_path):
    stack, receiver = traced
    api = ApiClient(stack.base_url)
    fake = Path(tmp_path / "notes.mp4")
    fake.write_text("these are not moving pictures\n" * 100)
    response = api.upload(fake)
    assert response.status_code == 201, response.text
    video_id = response.json()["id"]
    final, _ = api.wait_final(video_id, timeout=120)
    assert final["status"] == "failed", final

    trace = _upload_trace(receiver, video_id=video_id, final="FAILURE")

    assert {span.resource["service.name"] for span in trace} == {"web", "transcoder", "collector"}
    _only_root(trace)
    (job_span,) = [span for span in trace if span.name == JOB_SPAN]
    (failed_store,) = [
        span
        for span in trace
        if span.name == STORE_SPAN and span.attributes["reply.status"] == "FAILURE"
    ]
    code = job_span.attributes["error.type"]
    assert code == "InvalidMedia"
    for span in (job_span, failed_store):
        assert span.status_code == STATUS_ERROR
        assert span.status_message == code
        assert span.attributes["error.type"] == code
