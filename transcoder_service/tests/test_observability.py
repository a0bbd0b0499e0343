"""Traces, metrics and JSON logs of a real worker (bin/start worker) on a real RabbitMQ.

One worker runs with everything on: OTLP export to the test's own receiver
(tests/otlp_receiver.py), /metrics on a loopback port, LOG_FORMAT=json. The
test plays the web's part and sends W3C trace context as message headers,
as docs/messages.md ("Trace context") says a caller may.
"""

from __future__ import annotations

import json
import secrets
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .broker import FINAL_STATES, Caller, running_worker
from .clips import Clips, SourceKeys
from .otlp_receiver import STATUS_ERROR, ReceivedSpan, Receiver, otlp_receiving
from .seaweed import SeaweedStore
from .support import new_job_id
from .worker_process import WorkerProcess

pytestmark = pytest.mark.broker

JOB_SPAN = "transcode.convert_video"
# A job asking for one MP4 and the HLS ladder passes through every stage.
STAGE_SPANS = {
    "download",
    "probe",
    "transcode",
    "encode",
    "ladder",
    "storyboard",
    "poster",
    "verify",
    "upload",
    "manifest",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with otlp_receiving() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def metrics_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def worker(
    broker_url: str,
    seaweed: SeaweedStore,
    receiver: Receiver,
    metrics_port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WorkerProcess]:
    env = {
        **seaweed.transcoder_env(),
        "SCRATCH_DIR": str(tmp_path_factory.mktemp("observed") / "scratch"),
        "TRANSCODER_CONCURRENCY": "2",  # two pool processes behind one /metrics
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # ms: spans reach the receiver quickly
        "TRANSCODER_METRICS_PORT": str(metrics_port),
        "LOG_FORMAT": "json",
    }
    with running_worker(broker_url=broker_url, env=env) as process:
        yield process


def traceparent() -> tuple[str, str, str]:
    """A sender's trace id, span id, and the header naming them (sampled)."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, span_id, f"00-{trace_id}-{span_id}-01"


def convert(caller: Caller, *, source_key: str, headers: dict[str, Any]) -> tuple[str, dict]:
    job_id = new_job_id()
    task_id = caller.send_with_options(
        "transcode.convert_video",
        kwargs={
            "job_id": job_id,
            "source_key": source_key,
            "profiles": ["480p", "hls"],
            "contract_version": 2,
        },
        headers=headers,
    )
    return job_id, caller.wait(task_id, until=FINAL_STATES)[-1]


def job_spans(receiver: Receiver, job_id: str) -> list[ReceivedSpan]:
    """Every span of the trace holding `job_id`'s job span, once that span has arrived."""

    def job_span(spans: list[ReceivedSpan]) -> ReceivedSpan | None:
        return next(
            (s for s in spans if s.name == JOB_SPAN and s.attributes.get("job.id") == job_id),
            None,
        )

    # The job span ends last: once it is here, its children are too.
    spans = receiver.spans_wait(lambda spans: job_span(spans) is not None)
    root = job_span(spans)
    assert root is not None
    return [span for span in spans if span.trace_id == root.trace_id]


def test_a_job_is_one_trace_continuing_the_senders(
    caller: Caller, receiver: Receiver, sources: SourceKeys, worker: WorkerProcess
) -> None:
    trace_id, sender_span, header = traceparent()
    job_id, final = convert(
        caller,
        source_key=sources["clip.mp4"],
        headers={"traceparent": header, "video_id": "video-42"},
    )
    assert final["status"] == "SUCCESS"

    spans = job_spans(receiver, job_id)
    assert {span.trace_id for span in spans} == {trace_id}
    ids = {span.span_id for span in spans}
    for span in spans:
        assert span.parent_span_id in ids | {sender_span}, span.name
    (job,) = [span for span in spans if span.name == JOB_SPAN]
    assert job.parent_span_id == sender_span
    assert job.attributes["job.id"] == job_id
    assert job.attributes["video.id"] == "video-42"
    assert job.resource["service.name"] == "transcoder"
    assert job.resource["host.name"] == socket.gethostname()
    assert STAGE_SPANS <= {span.name for span in spans}
    assert [s.attributes["profile"] for s in spans if s.name == "encode"] == ["480p"]
    assert all(span.status_code != STATUS_ERROR for span in spans)
    # Never a file path: no attribute names the scratch folder or the source key.
    for span in spans:
        for value in span.attributes.values():
            assert "/" not in str(value), (span.name, value)

    # JSON logs: every line of every process is one object; the job's lines
    # carry its trace.
    lines = [line for line in worker.log_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert all(isinstance(record, dict) for record in records)
    mine = [r for r in records if r.get("trace_id") == trace_id]
    assert mine, "no log line of the job carries its trace id"
    assert {r.get("job_id") for r in mine} == {job_id}
    assert all(r["span_id"] in ids for r in mine)


def test_a_failed_job_carries_error_and_its_code(
    caller: Caller, receiver: Receiver, sources: SourceKeys
) -> None:
    trace_id, _, header = traceparent()
    job_id, final = convert(
        caller, source_key=sources["notes.txt"], headers={"traceparent": header}
    )
    assert final["status"] == "FAILURE"
    assert final["result"]["exc_type"] == "InvalidMedia"

    spans = job_spans(receiver, job_id)
    assert {span.trace_id for span in spans} == {trace_id}
    failed = {span.name: span for span in spans if span.status_code == STATUS_ERROR}
    assert set(failed) == {JOB_SPAN, "probe"}
    for span in failed.values():
        assert span.attributes["error.type"] == "InvalidMedia"
        assert span.status_message == "InvalidMedia"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"traceparent": "00-not-a-trace-01", "tracestate": "=;=,"},
        {"traceparent": 42, "tracestate": ["x"]},
    ],
    ids=["no-header", "malformed", "not-text"],
)
def test_a_job_without_a_usable_header_starts_a_new_trace(
    caller: Caller, receiver: Receiver, sources: SourceKeys, headers: dict[str, Any]
) -> None:
    job_id, final = convert(caller, source_key=sources["clip.mp4"], headers=headers)
    assert final["status"] == "SUCCESS"
    (job,) = [span for span in job_spans(receiver, job_id) if span.name == JOB_SPAN]
    assert job.parent_span_id == ""


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_two_jobs_exactly(
    caller: Caller, sources: SourceKeys, metrics_port: int, clips: Clips
) -> None:
    before = scrape(metrics_port)
    _, good = convert(caller, source_key=sources["clip.mp4"], headers={})
    _, bad = convert(caller, source_key=sources["notes.txt"], headers={})
    assert (good["status"], bad["status"]) == ("SUCCESS", "FAILURE")
    after = scrape(metrics_port)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("transcode_jobs_total", outcome="succeeded", code="") == 1
    assert grew("transcode_jobs_total", outcome="failed", code="InvalidMedia") == 1
    assert grew("transcode_stage_seconds_count", stage="download") == 2
    assert grew("transcode_stage_seconds_count", stage="probe") == 2
    assert grew("transcode_stage_seconds_count", stage="encode") == 1
    assert grew("transcode_stage_seconds_count", stage="ladder") == 1
    assert grew("transcode_stage_seconds_count", stage="manifest") == 1
    assert grew("transcode_encode_speed_count", stage="encode") == 1
    sizes = sum(clips.path(name).stat().st_size for name in ("clip.mp4", "notes.txt"))
    assert grew("transcode_transfer_bytes_total", direction="downloaded") == sizes
    assert grew("transcode_transfer_bytes_total", direction="uploaded") > 0
    assert after[("transcode_jobs_in_progress", ())] == 0


def test_metrics_listen_on_loopback_only(worker: WorkerProcess, metrics_port: int) -> None:
    # The kernel's own table of listening TCP sockets: local address, in hex.
    listening = [
        fields[1]
        for fields in (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:])
        if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == metrics_port
    ]
    assert listening == [f"0100007F:{metrics_port:04X}"]  # 127.0.0.1 only
    assert not [
        line
        for line in Path("/proc/net/tcp6").read_text().splitlines()[1:]
        if line.split()[3] == "0A" and int(line.split()[1].split(":")[1], 16) == metrics_port
    ]
