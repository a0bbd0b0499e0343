"""The job's timeline as the detail page draws it: one SVG bar per stage on one time axis.

The page's Content-Security-Policy forbids inline styles, so each bar's place
and length are SVG attributes (x, width) on a 0-1000 axis, which the policy
allows, rather than a style or a script setting widths.

Bars need not follow each other: `verify` and `upload` overlap, as they run
side by side (videos/timelines.py), so each row has its own track and the
axis runs from the first bar's start to the last bar's end.
"""

from __future__ import annotations

from typing import Any

from videos.timelines import ENCODE_PREFIX, TimelineBar

AXIS = 1000
# A bar of a few milliseconds in a job of a minute would be invisible.
MIN_WIDTH = 2.0
LABELS = {
    "queued": "Waiting in the queue",
    "downloading": "Download",
    "probing": "Probe",
    "transcoding": "Encode",
    "poster": "Poster",
    # The worker verifies its outputs while it uploads them (docs/messages.md).
    "uploading": "Verify and upload",
    "retrying": "Waiting to retry",
    "collected": "Collected",
    "verify": "Verify",
    "upload": "Upload",
}
# An encode pass's bar is "encode:<pass>": the MP4 profile, or the ladder's one pass.
PASS_LABELS = {"hls": "HLS ladder"}


def seconds_text(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def bar_label(*, stage: str) -> str:
    if stage.startswith(ENCODE_PREFIX):
        name = stage.removeprefix(ENCODE_PREFIX)
        return f"Encode {PASS_LABELS.get(name, name)}"
    return LABELS.get(stage, stage.capitalize())


def timeline_to_dict(*, bars: list[TimelineBar]) -> dict[str, Any]:
    """Rows with their place on the axis, and the host of each attempt."""
    if not bars:
        return {"rows": [], "attempts": [], "total_text": ""}
    origin = bars[0].started_at
    span = max((bar.started_at - origin).total_seconds() + bar.seconds for bar in bars)
    total = span or 1.0
    rows = []
    for bar in bars:
        x = (bar.started_at - origin).total_seconds() / total * AXIS
        x = min(max(x, 0.0), AXIS - MIN_WIDTH)
        width = max(bar.seconds / total * AXIS, MIN_WIDTH)
        rows.append(
            {
                "stage": bar.stage,
                # Each encode pass is drawn as the transcoding it is part of.
                "kind": "transcoding" if bar.stage.startswith(ENCODE_PREFIX) else bar.stage,
                "label": bar_label(stage=bar.stage),
                "attempt": bar.attempt,
                "seconds": f"{bar.seconds:.6f}",
                "seconds_text": seconds_text(bar.seconds),
                "x": f"{x:.2f}",
                "width": f"{min(width, AXIS - x):.2f}",
            }
        )
    hosts: dict[int, str] = {}
    for bar in bars:
        if bar.host is not None:
            hosts.setdefault(bar.attempt, bar.host)
    attempts = [{"attempt": n, "host": hosts.get(n, "")} for n in sorted({b.attempt for b in bars})]
    return {
        "rows": rows,
        "attempts": attempts,
        "total_text": seconds_text(span),
    }


# The API's detail answer, for the OpenAPI schema: the video's fields, and
# its `timeline` (job_timeline's bars, TimelineBar.as_dict).
VIDEO_DETAIL_SCHEMA = {
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "timeline": {
            "type": "array",
            "description": (
                "How the current job went, one entry per stage in time order: queued, the"
                " worker's stages, collected; a redelivered job repeats queued and the stages"
                " with the next attempt. Where the worker's result times them, the attempt that"
                " succeeded has one `encode:<pass>` entry per encode pass (its MP4 profile, or"
                " `hls`) for `transcoding`, and `verify` and `upload` for `uploading`: those"
                " two start together, as the worker runs them side by side. Empty until a"
                " worker has reported on the job."
            ),
            "items": {
                "type": "object",
                "required": ["stage", "started_at", "seconds", "attempt", "host"],
                "properties": {
                    "stage": {"type": "string", "example": "encode:720p"},
                    "started_at": {"type": "string", "format": "date-time"},
                    "seconds": {"type": "number", "minimum": 0},
                    "attempt": {"type": "integer", "minimum": 1},
                    "host": {
                        "type": "string",
                        "nullable": True,
                        "description": "The worker's host; null for the queue and the collector.",
                    },
                },
            },
        }
    },
    "required": ["timeline"],
}
