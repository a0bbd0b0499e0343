"""1. End to end: upload → ready through the whole system, against the same
outputs made by hand on a local file, side by side in the same run.

The system side starts at the first byte of `POST /api/videos/` and ends at
the first `GET /api/videos/<id>/` that says `ready` (polled every
`poll_interval` near the end): the upload into the store, the queue, the
worker's download, ffprobe, ffmpeg, poster, checks and upload, and the result.
Each round runs the system and every baseline once, rotating who goes first.

- A lone 10 s 720p clip, the web asking for the MP4 alone
  (TRANSCODE_PROFILES=720p), against what a user would type (issue 13,
  bench/direct.py `plain_job`: ffmpeg picks its own threads). The same
  rounds also run the worker's own argv by hand (bench/worker_argv.py): that
  comparison and the stages the system records (job row timestamps, the
  result's timings) are the breakdown.
- A long source alone (2 minutes in full mode), against the same plain ffmpeg.

The ladder's rows (issue 12) are bench/ladder.py's, in this section too.
"""

from __future__ import annotations

import time
from typing import Any

from bench.direct import HandJob, direct_job, plain_job
from bench.harness import Bench
from bench.table import Row, fmt, ratios, verdict
from tests.support.api import FINAL

# The result's timings, in pipeline order; only the middle three have a by-hand twin.
STAGES = ("download", "probe", "transcode", "poster", "verify", "upload")
SLOW_POLL = 0.5
NEAR_PERCENT = 75
TARGET = 1.10
PLAIN = "ffprobe, `ffmpeg -c:v libx264 -preset veryfast -crf 23 … -movflags +faststart` with no -threads, poster"


def system_once(bench: Bench, clip) -> dict[str, Any]:
    api = bench.api
    t0 = time.time()
    video_id = bench.upload(clip, title="bench e2e")
    t_response = time.time()
    polls = 0
    while True:
        body = api.video(video_id)
        polls += 1
        if body["status"] in FINAL:
            break
        # Poll like the page does (about once a second) while the end is far
        # off, then every poll_interval: fast polling of a 2-core machine
        # would steal CPU from the very ffmpeg being timed.
        near = body["status"] != "processing" or body["progress"] >= NEAR_PERCENT
        time.sleep(bench.params.poll_interval if near else SLOW_POLL)
    t_ready = time.time()
    if body["status"] != "ready":
        raise RuntimeError(f"e2e job ended {body['status']}: {body.get('error')}")
    (job,) = bench.jobs([video_id])
    result = job["result"]
    return {
        "t0": t0,
        "response": t_response,
        "created": job["created_at"].timestamp(),
        "sent": job["sent_at"].timestamp(),
        "started": job["started_at"].timestamp(),
        "finished": job["finished_at"].timestamp(),
        "ready_seen": t_ready,
        "elapsed": result["elapsed_seconds"],
        "timings": result["timings"],
        "total": t_ready - t0,
        "polls": polls,
    }


def side_by_side(
    bench: Bench, clip, baselines: dict[str, HandJob], *, repeats: int, warm_up: bool = True
) -> list[dict[str, dict[str, Any]]]:
    """`repeats` rounds of the system and each baseline; who goes first rotates."""
    sides = {"system": lambda: system_once(bench, clip)}
    sides |= {name: (lambda job=job: direct_job(job)) for name, job in baselines.items()}
    if warm_up:  # not counted: first imports, first connections, cold caches
        for side in sides.values():
            side()
    names = list(sides)
    rounds = []
    for i in range(repeats):
        shift = i % len(names)
        rounds.append({name: sides[name]() for name in names[shift:] + names[:shift]})
    return rounds


def totals(rounds: list[dict[str, dict[str, Any]]], side: str) -> list[float]:
    return [r[side]["total"] for r in rounds]


def target_row(label: str, rounds, baseline: str, what: str) -> Row:
    system, hand = totals(rounds, "system"), totals(rounds, baseline)
    r = ratios(system, hand)
    return Row(
        "1",
        label,
        fmt(system, "s"),
        f"{fmt(hand, 's')} ({what})",
        fmt(r),
        f"≤ {TARGET:.2f}",
        verdict(r, lambda x: x <= TARGET),
    )


def run(bench: Bench) -> list[Row]:
    p = bench.params
    w, h = p.clip_size
    bench.web()
    bench.worker()  # concurrency = cores, every other knob at the service default
    clip = bench.main_clip()
    worker = bench.argv_for(clip, bench.scratch("e2e-worker-argv"))
    plain = plain_job(clip, bench.scratch("e2e-plain"), duration=p.clip_seconds)
    lone = side_by_side(bench, clip, {"plain": plain, "worker": worker}, repeats=p.e2e_repeats)
    rows = [
        target_row(
            f"upload → first GET `ready`, lone job, MP4 only ({p.clip_seconds:g} s {w}×{h} clip, n={len(lone)})",
            lone,
            "plain",
            PLAIN,
        ),
        *breakdown_rows(lone, p, worker, clip.stat().st_size),
    ]

    long_clip = bench.clip("testsrc2", seconds=p.long_clip_seconds, width=w, height=h)
    long_plain = plain_job(long_clip, bench.scratch("e2e-long"), duration=p.long_clip_seconds)
    # No warm-up: the lone rounds warmed everything, and a round here is minutes long.
    long = side_by_side(
        bench, long_clip, {"plain": long_plain}, repeats=p.long_repeats, warm_up=False
    )
    short = "" if p.long_clip_seconds >= 120 else f", {p.mode}: shorter than the 2 min target"
    rows.append(
        target_row(
            f"upload → `ready`, long source alone, MP4 only ({p.long_clip_seconds:g} s {w}×{h}"
            f"{short}, n={len(long)})",
            long,
            "plain",
            "the same plain commands",
        )
    )

    bench.raw["e2e"] = {
        "argv": {"plain": plain.transcode, "worker": worker.raw},
        "lone": lone,
        "long": long,
    }
    return rows


def breakdown_rows(rounds, p, worker: HandJob, source_bytes: int) -> list[Row]:
    """Where the lone job's time goes, against the worker's own commands run by hand."""
    system = [r["system"] for r in rounds]
    hand = [r["worker"] for r in rounds]

    def ms(values: list[float]) -> str:
        return fmt(values, "ms", digits=0)

    def span(key_from: str, key_to: str) -> str:
        return ms([(s[key_to] - s[key_from]) * 1000 for s in system])

    sys_total, hand_total = totals(rounds, "system"), totals(rounds, "worker")
    pipeline, hand_ms = [s["elapsed"] * 1000 for s in system], [t * 1000 for t in hand_total]
    overhead = [(s - d) * 1000 for s, d in zip(sys_total, hand_total, strict=True)]
    rows = [
        Row(
            "1",
            f"· same system vs the worker's own argv by hand (-threads {worker.threads})",
            fmt(sys_total, "s"),
            fmt(hand_total, "s"),
            fmt(ratios(sys_total, hand_total)),
        ),
        Row("1", "· overhead: system − worker's argv by hand", ms(overhead)),
        Row(
            "1",
            f"· POST start → job row created ({source_bytes / 1e6:.1f} MB streamed to the store)",
            span("t0", "created"),
        ),
        Row("1", "· created → sent (commit, on_commit publish)", span("created", "sent")),
        Row("1", "· (POST response seen, after send)", span("t0", "response")),
        Row(
            "1",
            "· sent → STARTED stored (queue, pickup, reply, collector)",
            span("sent", "started"),
        ),
        Row(
            "1",
            "· worker pipeline `elapsed_seconds` vs by hand",
            ms(pipeline),
            ms(hand_ms),
            fmt(ratios(pipeline, hand_ms)),
        ),
    ]
    for name in STAGES:
        sys_ms = [s["timings"].get(name, float("nan")) * 1000 for s in system]
        hand_stage = [d[name] * 1000 for d in hand] if name in hand[0] else []
        twin = (ms(hand_stage), fmt(ratios(sys_ms, hand_stage))) if hand_stage else ("—", "—")
        label = f"·· stage `{name}` (result timings{' vs by hand' if hand_stage else ''})"
        rows.append(Row("1", label, ms(sys_ms), *twin))
    rest = [((s["finished"] - s["started"]) - s["elapsed"]) * 1000 for s in system]
    return rows + [
        Row(
            "1",
            "· STARTED → SUCCESS stored, minus pipeline (task wrapper, reply, collector)",
            ms(rest),
        ),
        Row(
            "1",
            f"· SUCCESS stored → GET says ready (poll every {p.poll_interval * 1000:.0f} ms from {NEAR_PERCENT} %)",
            span("finished", "ready_seen"),
        ),
    ]
