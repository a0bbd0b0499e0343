"""A job redelivered after a worker SIGKILL shows both attempts in the upload's one trace.

A killed process exports nothing more: its job span, still open, is lost,
while the stage spans it had finished (download, probe) are already out
(OTEL_BSP_SCHEDULE_DELAY=100 sends them within 0.1 s). The delivery's attempt
marker keeps the job span's ids, and the redelivery that finds the marker
records that span for the dead one (transcoder/telemetry.py). So the trace
shows what a person looks for: two `transcode.convert_video` spans under the
dispatch, the first ERROR "WorkerLost" with its finished stages under it,
the second with every stage through to the manifest.

A stack of its own (not test_traces.py's): one pool process, and a kill that
would upset that module's exact counts.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.api import ApiClient
from tests.support.media import clip_make
from tests.support.observe import job_of, wait_until
from tests.support.otlp import STATUS_ERROR, ReceivedSpan, Receiver, otlp_receiving
from tests.support.processes import alive, ffmpeg_pids, parent_of
from tests.support.stack import stack_running

JOB_SPAN = "transcode.convert_video"
STORE_SPAN = "collector.reply_store"
# Long enough (several seconds of ffmpeg on two cores) for a kill to land mid-encode.
LONG_CLIP_SECONDS = 30


def _spans_settled(
    receiver: Receiver, done: Callable[[list[ReceivedSpan]], bool], *, timeout: float
) -> list[ReceivedSpan]:
    """The spans once `done` holds, or what arrived by `timeout`: the asserts then say why."""
    deadline = time.monotonic() + timeout
    while not done(spans := receiver.received()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return spans


def _in_trace(spans: list[ReceivedSpan], trace_id: str) -> list[ReceivedSpan]:
    return [span for span in spans if span.trace_id == trace_id]


def test_a_job_redelivered_after_a_sigkill_shows_both_attempts_in_its_one_trace(tmp_path: Path):
    with (
        otlp_receiving() as receiver,
        stack_running(
            tmp_path,
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_BSP_SCHEDULE_DELAY="100",  # ms: a finished span is out before the kill
            TRANSCODER_CONCURRENCY="1",
        ) as stack,
    ):
        api = ApiClient(stack.base_url)
        worker = stack.processes["worker"]
        response = api.upload(clip_make(tmp_path / "long.mp4", seconds=LONG_CLIP_SECONDS))
        assert response.status_code == 201, response.text
        video_id = response.json()["id"]
        job_id = job_of(stack.database_url, video_id)["id"]

        (ffmpeg,) = wait_until(
            lambda: ffmpeg_pids(worker.pid, mentioning=job_id), timeout=60, what="ffmpeg runs"
        )
        (dispatch,) = [
            span
            for span in receiver.received()
            if span.name == "transcode.dispatch" and span.attributes.get("video.id") == video_id
        ]
        trace_id = dispatch.trace_id
        # The first attempt's finished stages are out; its job span is still open.
        _spans_settled(
            receiver,
            lambda spans: {"download", "probe"} <= {s.name for s in _in_trace(spans, trace_id)},
            timeout=10,
        )
        pool_process = parent_of(ffmpeg)
        assert parent_of(pool_process) == worker.pid  # the pool process, not the main one
        os.kill(pool_process, signal.SIGKILL)
        wait_until(lambda: not alive(ffmpeg), timeout=10, what=f"ffmpeg {ffmpeg} is gone")

        final, _ = api.wait_final(video_id, timeout=180)
        assert final["status"] == "ready", (final, stack.logs("worker"))

        def whole(spans: list[ReceivedSpan]) -> bool:
            trace = _in_trace(spans, trace_id)
            ids = {span.span_id for span in trace}
            stored = {s.attributes.get("reply.status") for s in trace if s.name == STORE_SPAN}
            jobs = [span for span in trace if span.name == JOB_SPAN]
            orphans = [span for span in trace if span.parent_span_id not in ids]
            return "SUCCESS" in stored and len(jobs) >= 2 and len(orphans) == 1

        spans = _spans_settled(receiver, whole, timeout=30)

    # One trace for the upload, whoever made the spans naming the video.
    assert {span.trace_id for span in spans if span.attributes.get("video.id") == video_id} == {
        trace_id
    }
    trace = _in_trace(spans, trace_id)
    by_id = {span.span_id: span for span in trace}
    jobs = [span for span in trace if span.name == JOB_SPAN]
    assert len(jobs) == 2, [(s.attributes, s.status_message) for s in jobs]
    lost, redelivered = sorted(jobs, key=lambda span: span.status_code != STATUS_ERROR)
    # Two attempts, each a child of a span in this trace: the dispatch that sent the job.
    assert lost.attributes["job.attempt"] != redelivered.attributes["job.attempt"]
    for job in jobs:
        assert by_id[job.parent_span_id].name == "transcode.dispatch", job
        assert job.attributes["job.id"] == job_id
        assert job.attributes["video.id"] == video_id
        assert job.resource["host.name"]
        assert job.resource["service.name"] == "transcoder"
    assert (lost.status_code, lost.status_message) == (STATUS_ERROR, "WorkerLost")
    assert lost.attributes["error.type"] == "WorkerLost"
    assert redelivered.status_code != STATUS_ERROR
    assert redelivered.attributes["job.redelivered"] is True

    # Each attempt's stages hang under its own job span, the dead one's included.
    def stages(job: ReceivedSpan) -> set[str]:
        return {span.name for span in trace if span.parent_span_id == job.span_id}

    assert {"download", "probe"} <= stages(lost)
    assert "manifest" not in stages(lost)
    assert {"download", "probe", "verify", "upload", "manifest"} <= stages(redelivered)
    # Nothing hangs from a span the trace lacks: the upload request is its only root.
    roots = [span for span in trace if span.parent_span_id not in by_id]
    assert len(roots) == 1, [(span.name, span.resource["service.name"]) for span in roots]
    assert roots[0].resource["service.name"] == "web"
    assert roots[0].parent_span_id == ""
    # The collector stored each attempt's STARTED: two, in this trace too.
    started = [
        span
        for span in trace
        if span.name == STORE_SPAN and span.attributes["reply.status"] == "STARTED"
    ]
    assert len(started) == 2
