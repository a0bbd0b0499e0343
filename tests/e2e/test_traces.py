"""One trace per upload, across the web, the broker, the transcoder and the collector;
and the collector's metrics after the same two jobs.

A stack of its own exports to a small OTLP/HTTP receiver (tests/support/otlp.py),
configured only by the standard OTEL_* variables, as an operator would. The
upload request's span is the trace's root; the outbox's dispatch carries it in
the message headers (docs/messages.md, "Trace context"); the collector finds
it on the job row when it stores each reply.

One stack and two uploads for the whole module (CI time): one clip that
becomes ready, one text file that fails.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.api import ApiClient
from tests.support.media import clip_make
from tests.support.otlp import KIND_SERVER, STATUS_ERROR, ReceivedSpan, Receiver, otlp_receiving
from tests.support.stack import Stack, free_port, stack_running

JOB_SPAN = "transcode.convert_video"
STORE_SPAN = "collector.reply_store"
# The web's default profiles (720p and the HLS ladder) pass through these.
STAGE_SPANS = {"download", "probe", "encode", "ladder", "verify", "upload", "manifest"}


@dataclass(frozen=True)
class Uploads:
    stack: Stack
    receiver: Receiver
    metrics_url: str
    before: dict[tuple[str, tuple[tuple[str, str], ...]], float]  # collector metrics at start
    web_before: dict[tuple[str, tuple[tuple[str, str], ...]], float]  # the web's, at start
    worker_url: str
    worker_before: dict[tuple[str, tuple[tuple[str, str], ...]], float]  # the worker's, at start
    sources_bytes: int  # the two uploads' sizes together
    ready: dict  # the API's final answer for the clip
    failed: dict  # ... and for the text file


def metrics_samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics, by name and labels."""
    text = requests.get(url, timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture(scope="module")
def uploads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Uploads]:
    workdir = tmp_path_factory.mktemp("traces")
    port, worker_port = free_port(), free_port()
    with (
        otlp_receiving() as receiver,
        stack_running(
            workdir,
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            # Export within 0.1 s of a span's end, not the default 5 s.
            OTEL_BSP_SCHEDULE_DELAY="100",
            COLLECTOR_METRICS_PORT=str(port),
            TRANSCODER_METRICS_PORT=str(worker_port),
        ) as stack,
    ):
        metrics_url = f"http://127.0.0.1:{port}/metrics"
        before = metrics_samples(metrics_url)
        # From loopback: no token needed.
        web_before = metrics_samples(f"{stack.base_url}/metrics")
        worker_url = f"http://127.0.0.1:{worker_port}/metrics"
        worker_before = metrics_samples(worker_url)
        api = ApiClient(stack.base_url)
        clip = api.upload(clip_make(workdir / "clip.mp4", seconds=2), title="traced")
        fake = workdir / "notes.mp4"
        fake.write_text("these are not moving pictures\n" * 100)
        text = api.upload(fake)
        assert (clip.status_code, text.status_code) == (201, 201), (clip.text, text.text)
        ready, _ = api.wait_final(clip.json()["id"], timeout=180)
        failed, _ = api.wait_final(text.json()["id"], timeout=120)
        assert (ready["status"], failed["status"]) == ("ready", "failed"), stack.logs()
        yield Uploads(
            stack,
            receiver,
            metrics_url,
            before,
            web_before,
            worker_url,
            worker_before,
            (workdir / "clip.mp4").stat().st_size + fake.stat().st_size,
            ready,
            failed,
        )


def _stored(spans: list[ReceivedSpan], *, video_id: str, status: str) -> bool:
    return any(
        span.name == STORE_SPAN
        and span.attributes.get("video.id") == video_id
        and span.attributes.get("reply.status") == status
        for span in spans
    )


def _whole(spans: list[ReceivedSpan], *, video_id: str, final: str) -> bool:
    """The final reply is stored, and each process has exported its part of the
    trace: the worker's job span, say, may arrive after the collector's last one."""
    if not _stored(spans, video_id=video_id, status=final):
        return False
    traces = {span.trace_id for span in spans if span.attributes.get("video.id") == video_id}
    trace = [span for span in spans if span.trace_id in traces]
    ids = {span.span_id for span in trace}
    return any(span.name == JOB_SPAN for span in trace) and (
        sum(span.parent_span_id not in ids for span in trace) == len(traces)
    )


def _upload_trace(receiver: Receiver, *, video_id: str, final: str) -> list[ReceivedSpan]:
    """Every span of the one trace that names `video_id`, once all of it has arrived."""
    spans = receiver.spans_wait(lambda spans: _whole(spans, video_id=video_id, final=final))
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


def test_one_upload_is_one_trace_through_web_transcoder_and_collector(uploads):
    video_id = uploads.ready["id"]

    trace = _upload_trace(uploads.receiver, video_id=video_id, final="SUCCESS")

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


def test_a_failing_job_is_marked_error_with_its_failure_code(uploads):
    trace = _upload_trace(uploads.receiver, video_id=uploads.failed["id"], final="FAILURE")

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


def test_the_collector_counts_the_two_jobs_exactly(uploads):
    ids = {uploads.ready["id"], uploads.failed["id"]}
    for video_id, final in ((uploads.ready["id"], "SUCCESS"), (uploads.failed["id"], "FAILURE")):
        _upload_trace(uploads.receiver, video_id=video_id, final=final)
    # One store span per reply stored: the count the collector's metric must reach.
    replies = sum(
        1
        for span in uploads.receiver.received()
        if span.name == STORE_SPAN and span.attributes.get("video.id") in ids
    )

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return metrics_samples(uploads.metrics_url).get(key, 0.0) - uploads.before.get(key, 0.0)

    deadline = time.monotonic() + 10  # the ack (then the count) follows the span by a moment
    while grew("video_replies_total", outcome="stored") < replies and time.monotonic() < deadline:
        time.sleep(0.1)
    assert grew("video_replies_total", outcome="stored") == replies
    assert grew("video_replies_total", outcome="dead_lettered") == 0
    assert grew("video_replies_total", outcome="requeued") == 0
    assert grew("video_jobs_finished_total", status="ready") == 1
    assert grew("video_jobs_finished_total", status="failed") == 1
    assert grew("video_jobs_finished_total", status="cancelled") == 0
    assert grew("video_job_queued_to_ready_seconds_count") == 1
    assert 0 < grew("video_job_queued_to_ready_seconds_sum") < 180
    for action in ("resent", "given_up", "stalled"):
        assert grew("video_reaper_actions_total", action=action) == 0
    assert metrics_samples(uploads.metrics_url)[("video_outbox_pending", ())] == 0


def test_the_web_counts_the_two_uploads_across_its_gunicorn_workers(uploads):
    after = metrics_samples(f"{uploads.stack.base_url}/metrics")

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - uploads.web_before.get(key, 0.0)

    # Both were accepted (201): the text file fails later, in the transcoder.
    assert grew("web_uploads_started_total") == 2
    assert grew("web_uploads_completed_total") == 2
    assert sum(v for (name, _), v in after.items() if name == "web_uploads_refused_total") == 0
    created = {"view": "videos:api-list", "method": "POST", "status": "201"}
    assert grew("web_request_duration_seconds_count", **created) == 2


def test_the_worker_counts_the_two_jobs_exactly_across_its_pool_processes(uploads):
    after = metrics_samples(uploads.worker_url)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - uploads.worker_before.get(key, 0.0)

    assert grew("transcode_jobs_total", outcome="succeeded", code="") == 1
    assert grew("transcode_jobs_total", outcome="failed", code="InvalidMedia") == 1
    ended = sum(v for (name, _), v in after.items() if name == "transcode_jobs_total")
    assert (
        ended
        - sum(v for (name, _), v in uploads.worker_before.items() if name == "transcode_jobs_total")
        == 2
    )
    # Both were downloaded and probed; only the clip got as far as encoding and uploading.
    assert grew("transcode_stage_seconds_count", stage="download") == 2
    assert grew("transcode_stage_seconds_count", stage="probe") == 2
    assert grew("transcode_stage_seconds_count", stage="upload") == 1
    # Each source downloaded whole, once.
    assert grew("transcode_transfer_bytes_total", direction="downloaded") == uploads.sources_bytes
    assert grew("transcode_transfer_bytes_total", direction="uploaded") > 0
    assert after[("transcode_jobs_in_progress", ())] == 0
