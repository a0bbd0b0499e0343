"""The job's timeline: where its time went, stage by stage (a selector: reads only).

Built from what the collector stored as the worker reported (the stage
transitions in TranscodeJob.stage_events, services/replies.py) and the job's
own times, so it needs no tracing backend. Every time is the collector's
clock: bars from different hosts line up without trusting their clocks.

The bars follow each other with no gap, from the moment the broker took the
message (sent_at) to the moment the final state was stored (finished_at):
    queued -> the worker's stages -> [queued again -> stages, on a redelivery] -> collected
so their durations add up to the job's whole span.

A SUCCESS result says more than the stages the worker reports (its
`timings`, docs/messages.md), so the attempt that produced it has its
`transcoding` bar broken into one `encode:<pass>` bar per encode pass, and
its `uploading` bar into `verify` and `upload` (_breakdown). Those two run
side by side, so they start together: the one overlap in the timeline.
Older results, and failures, keep the reported stages.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from jobs.models import TIMELINE_STARTED, TranscodeJob

QUEUED = "queued"
COLLECTED = "collected"
TRANSCODING = "transcoding"
UPLOADING = "uploading"
ENCODE_PREFIX = "encode:"
VERIFY = "verify"
UPLOAD = "upload"
# A result's per-pass timing, "encode:<n>:<pass>" (docs/messages.md): n says
# the order, as the stored result (jsonb) keeps no key order.
_ENCODE_TIMING = re.compile(r"encode:([1-9][0-9]{0,3}):([A-Za-z0-9_.-]{1,32})")


@dataclass(frozen=True)
class TimelineBar:
    stage: str
    started_at: datetime
    seconds: float
    attempt: int
    # The worker's host for its own stages; None for the queue and the collector.
    host: str | None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "started_at": self.started_at.isoformat()}


@dataclass(frozen=True)
class _Event:
    stage: str
    at: datetime
    last_at: datetime
    host: str


def _events_parse(raw: object) -> list[_Event]:
    """The stored events; one that cannot be read is left out rather than failing the page."""
    events = []
    for item in raw if isinstance(raw, list) else []:
        try:
            at = datetime.fromisoformat(item["at"])
            last_at = datetime.fromisoformat(item.get("last_at") or item["at"])
            events.append(_Event(str(item["stage"]), at, last_at, str(item.get("host") or "")))
        except (KeyError, TypeError, ValueError):
            continue
    return events


def _bar(
    *, stage: str, start: datetime, end: datetime, attempt: int, host: str | None
) -> TimelineBar:
    # Two collectors on two hosts could store consecutive states with a
    # little clock skew between them; a bar never runs backwards.
    seconds = max(0.0, (end - start).total_seconds())
    return TimelineBar(stage=stage, started_at=start, seconds=seconds, attempt=attempt, host=host)


def job_timeline(*, job: TranscodeJob | None) -> list[TimelineBar]:
    """The job's bars in time order; [] without a job, or until a worker has reported on it.

    Each STARTED begins an attempt: a redelivered job shows its first
    attempt, the time it waited to be delivered again, then the second.
    A stage ends where the next begins; an attempt's last stage ends at its
    last report, or for a SUCCESS where the worker says it finished
    (_worker_end), and `collected` is the time from there to the final
    state stored.
    """
    events = _events_parse(job.stage_events) if job is not None else []
    if job is None or not events:
        return []
    bars: list[TimelineBar] = []
    attempt, host = 0, None
    current: tuple[str, datetime] | None = None  # the open stage and its start
    last_report = worker_from = job.sent_at or job.created_at

    def close(end: datetime) -> None:
        if current is not None:
            stage, start = current
            bars.append(_bar(stage=stage, start=start, end=end, attempt=attempt, host=host))

    for event in events:
        if event.stage == TIMELINE_STARTED or attempt == 0:
            # A STARTED lost on the way still leaves its stages an attempt.
            close(last_report)
            attempt += 1
            host = event.host if event.stage == TIMELINE_STARTED else None
            queued = _bar(stage=QUEUED, start=last_report, end=event.at, attempt=attempt, host=None)
            bars.append(queued)
            current = None if event.stage == TIMELINE_STARTED else (event.stage, event.at)
            last_report = event.last_at
            worker_from = event.at
            continue
        close(event.at)
        # The first stage starts when the worker took the job, not at its first report.
        current = (event.stage, worker_from if current is None else event.at)
        last_report = event.last_at
    worker_end = last_report
    if job.finished_at is not None:
        worker_end = _worker_end(job=job, worker_from=worker_from, last_report=last_report)
    close(worker_end)
    if job.finished_at is not None:
        collected = _bar(
            stage=COLLECTED, start=worker_end, end=job.finished_at, attempt=attempt, host=None
        )
        bars.append(collected)
    return _breakdown(bars=bars, result=job.result, attempt=attempt)


def _worker_end(*, job: TranscodeJob, worker_from: datetime, last_report: datetime) -> datetime:
    """When the worker finished the last attempt, on the collector's clock.

    The worker reports a stage when it begins, so its last report comes
    before the end of its last stage (the upload). A SUCCESS result says how
    long the job took on the worker's own monotonic clock, counted from just
    after its STARTED: that added to the STARTED's arrival is its end, with
    no trust in the worker's wall clock (both messages take about the same
    way to the collector). Without it (a failure), the last report is the
    best known end.
    """
    result = job.result if isinstance(job.result, dict) else {}
    elapsed = result.get("elapsed_seconds")
    if isinstance(elapsed, bool) or not isinstance(elapsed, int | float):
        return last_report
    end = worker_from + timedelta(seconds=max(0.0, float(elapsed)))
    return min(max(end, last_report), job.finished_at)


def result_timing_seconds(*, result: object, key: str) -> float | None:
    """One of a result's `timings` (seconds), or None where it is missing or not a duration."""
    timings = result.get("timings") if isinstance(result, dict) else None
    value = timings.get(key) if isinstance(timings, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def result_encode_passes(*, result: object) -> list[tuple[str, float]]:
    """The result's encode passes and their seconds, in the order they ran; [] in older results."""
    timings = result.get("timings") if isinstance(result, dict) else None
    found = []
    for key in timings if isinstance(timings, dict) else {}:
        match = _ENCODE_TIMING.fullmatch(key) if isinstance(key, str) else None
        seconds = result_timing_seconds(result=result, key=key) if match else None
        if match and seconds is not None:
            found.append((int(match[1]), match[2], seconds))
    return [(name, seconds) for _, name, seconds in sorted(found)]


def _breakdown(*, bars: list[TimelineBar], result: object, attempt: int) -> list[TimelineBar]:
    """The last attempt's transcoding and uploading bars, broken down by its result's timings.

    The result's seconds are on the worker's clock, the bars on the
    collector's; each breakdown is scaled to fill its bar, so it starts and
    ends where the reported stage did and nothing moves around it.

    The encode passes ran one after the other: they follow each other. Verify
    and upload ran side by side (docs/messages.md): both start where the
    stage began, and the longer one ends where it ended. Drawn one after the
    other they would claim a job spent their sum there, and would not fit.
    """
    passes = result_encode_passes(result=result)
    verify = result_timing_seconds(result=result, key=VERIFY)
    upload = result_timing_seconds(result=result, key=UPLOAD)
    out: list[TimelineBar] = []
    for bar in bars:
        if bar.attempt == attempt and bar.stage == TRANSCODING and sum(s for _, s in passes) > 0:
            parts = [(f"{ENCODE_PREFIX}{name}", seconds) for name, seconds in passes]
            out.extend(_scaled(bar=bar, parts=parts, in_turn=True))
        elif (
            bar.attempt == attempt
            and bar.stage == UPLOADING
            and verify is not None
            and upload is not None
            and max(verify, upload) > 0
        ):
            parts = [(VERIFY, verify), (UPLOAD, upload)]
            out.extend(_scaled(bar=bar, parts=parts, in_turn=False))
        else:
            out.append(bar)
    return out


def _scaled(
    *, bar: TimelineBar, parts: list[tuple[str, float]], in_turn: bool
) -> list[TimelineBar]:
    """`parts` laid over `bar`: one after the other filling it, or side by side from its start."""
    seconds = [part for _, part in parts]
    total = sum(seconds) if in_turn else max(seconds)

    def at(offset: float) -> datetime:
        return bar.started_at + timedelta(seconds=bar.seconds * offset / total)

    if in_turn:
        # Each pass ends at the very datetime the next begins: no rounding gap.
        spans = list(
            itertools.pairwise(at(edge) for edge in itertools.accumulate(seconds, initial=0))
        )
    else:
        spans = [(bar.started_at, at(part)) for part in seconds]
    return [
        _bar(stage=stage, start=start, end=end, attempt=bar.attempt, host=bar.host)
        for (stage, _), (start, end) in zip(parts, spans, strict=True)
    ]
