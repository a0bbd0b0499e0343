"""The job span of a delivery killed outright is recorded by the redelivery that finds it.

A SIGKILLed pool process never exports its open job span. Its attempt
marker keeps the span's ids (attempts.py); the next delivery, when the
broker flags it as redelivered, records the span for it under those ids
(telemetry.py). Each case runs the real SDK and exporter in a child
process (a tracer provider is global, once per process) against the
test's OTLP receiver. The repository's e2e suite kills a real worker
(tests/e2e/test_trace_redelivery.py); this pins what the marker may hold.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from .otlp_receiver import STATUS_ERROR, ReceivedSpan, Receiver, otlp_receiving

JOB_SPAN = "transcode.convert_video"
SERVICE = Path(__file__).resolve().parents[1]
# One delivery: its job span continues `traceparent`, then it finds `markers`.
DELIVERY = """
import json, sys
from transcoder import telemetry
telemetry.tracing_start()
markers, traceparent, redelivered = json.loads(sys.argv[1])
with telemetry.job_observed(carrier={"traceparent": traceparent}, redelivered=redelivered) as name:
    name(job_id="job-1", video_id="video-1")
    print(json.dumps(telemetry.attempt_begun(attempt="b" * 16, dead=markers)))
telemetry.tracing_stop()
"""


def delivery_run(
    receiver: Receiver, *, markers: list[Any], traceparent: str, redelivered: bool
) -> tuple[dict[str, Any], list[ReceivedSpan]]:
    """This delivery's marker ids, and the job spans received."""
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}
    done = subprocess.run(
        [sys.executable, "-c", DELIVERY, json.dumps([markers, traceparent, redelivered])],
        cwd=SERVICE,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    ids = json.loads(done.stdout.strip().splitlines()[-1])
    # tracing_stop() flushed before the child exited: everything is here.
    return ids, [span for span in receiver.received() if span.name == JOB_SPAN]


def test_a_redelivery_records_the_dead_deliverys_span_under_its_ids() -> None:
    trace_id, sender = secrets.token_hex(16), secrets.token_hex(8)
    dead_span = secrets.token_hex(8)
    dead = {
        "attempt": "a" * 16,
        "host": "host-a",
        "trace": {
            "trace_id": trace_id,
            "span_id": dead_span,
            "parent_span_id": sender,
            "started_ns": 1_700_000_000_000_000_000,
        },
    }
    # Whatever else the folder holds must never cost the job: no span, no error.
    malformed = [
        None,
        "text",
        42,
        {"attempt": "c" * 16, "host": "h"},  # a marker from before tracing
        {"attempt": "d", "host": "h", "trace": "00-x-y-01"},
        {"attempt": "e", "host": "h", "trace": {**dead["trace"], "span_id": "zz"}},
        {"attempt": "f", "host": "h", "trace": {**dead["trace"], "span_id": "-1"}},
        {"attempt": "g", "host": "h", "trace": {**dead["trace"], "trace_id": "f" * 40}},
        {"attempt": "h", "host": "h", "trace": {**dead["trace"], "started_ns": "soon"}},
    ]
    with otlp_receiving() as receiver:
        ids, spans = delivery_run(
            receiver,
            markers=[*malformed, dead],
            traceparent=f"00-{trace_id}-{sender}-01",
            redelivered=True,
        )

    assert len(spans) == 2, [span.attributes for span in spans]
    (lost,) = [span for span in spans if span.span_id == dead_span]
    (own,) = [span for span in spans if span.span_id != dead_span]
    assert (lost.trace_id, lost.parent_span_id) == (trace_id, sender)
    assert (lost.status_code, lost.status_message) == (STATUS_ERROR, "WorkerLost")
    assert lost.attributes == {
        "job.id": "job-1",
        "video.id": "video-1",
        "job.attempt": "a" * 16,
        "error.type": "WorkerLost",
    }
    assert lost.resource["host.name"] == "host-a"  # where it died, not who noticed
    assert lost.resource["service.name"] == "transcoder"
    assert own.attributes["job.attempt"] == "b" * 16
    assert own.attributes["job.redelivered"] is True
    assert own.status_code != STATUS_ERROR
    # What this delivery's own marker keeps: its job span's ids.
    assert ids["trace_id"] == trace_id
    assert (ids["span_id"], ids["parent_span_id"]) == (own.span_id, sender)
    assert ids["started_ns"] > 0


def test_a_first_delivery_records_no_span_for_a_live_siblings_marker() -> None:
    trace_id, sender = secrets.token_hex(16), secrets.token_hex(8)
    sibling = {
        "attempt": "a" * 16,
        "host": "host-a",
        "trace": {
            "trace_id": trace_id,
            "span_id": secrets.token_hex(8),
            "parent_span_id": sender,
            "started_ns": 1_700_000_000_000_000_000,
        },
    }
    with otlp_receiving() as receiver:
        _, spans = delivery_run(
            receiver,
            markers=[sibling],
            traceparent=f"00-{trace_id}-{sender}-01",
            redelivered=False,
        )

    (own,) = spans
    assert own.attributes["job.redelivered"] is False
    assert own.status_code != STATUS_ERROR
