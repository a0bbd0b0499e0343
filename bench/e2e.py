"""1. End-to-end overhead: upload → ready through the whole system, against
the same ffmpeg work run by hand on a local file, in the same run.

The system side starts at the first byte of `POST /api/videos/` and ends at
the first `GET /api/videos/<id>/` that says `ready` (polled every
`poll_interval`): the upload into the store, the queue, the worker's
download, ffprobe, ffmpeg, poster, checks and upload, and the result. The
by-hand side is what a user would run on the file already on disk: ffprobe,
then the worker's own transcode argv (bench/worker_argv.py), then the poster.

Pairs alternate which side goes first. The stage breakdown comes from what
the system records itself: the job row's created_at/sent_at/started_at/
finished_at (web database) and the result's elapsed_seconds and timings.
"""

from __future__ import annotations

import time
from typing import Any

from bench.direct import direct_job
from bench.harness import Bench
from bench.table import Row, fmt, ratios, verdict
from tests.support.api import FINAL

# The result's timings, in pipeline order; only the middle three have a by-hand twin.
STAGES = ("download", "probe", "transcode", "poster", "verify", "upload")
SLOW_POLL = 0.5
NEAR_PERCENT = 75


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


def run(bench: Bench) -> list[Row]:
    p = bench.params
    bench.worker()  # concurrency = cores, every other knob at the service default
    clip = bench.main_clip()
    cmds = bench.argv_for(clip, bench.scratch("e2e-by-hand"))
    # Warm-up, not counted: first imports, first connections, cold caches.
    system_once(bench, clip)
    direct_job(cmds)
    pairs = []
    for i in range(p.e2e_repeats):
        if i % 2 == 0:
            system = system_once(bench, clip)
            direct = direct_job(cmds)
        else:
            direct = direct_job(cmds)
            system = system_once(bench, clip)
        pairs.append((system, direct))
    bench.raw["e2e"] = {"argv": cmds.raw, "pairs": [{"system": s, "direct": d} for s, d in pairs]}

    sys_total = [s["total"] for s, _ in pairs]
    dir_total = [d["total"] for _, d in pairs]
    overhead_ms = [(s - d) * 1000 for s, d in zip(sys_total, dir_total, strict=True)]
    r = ratios(sys_total, dir_total)
    w, h = p.clip_size
    label = f"{p.clip_seconds:g} s {w}×{h} clip, n={len(pairs)}"

    def stage(key_from: str, key_to: str) -> list[float]:
        return [(s[key_to] - s[key_from]) * 1000 for s, _ in pairs]

    rows = [
        Row(
            "1",
            f"upload → first GET `ready` ({label})",
            fmt(sys_total, "s"),
            fmt(dir_total, "s") + " (ffprobe, ffmpeg, poster by hand on a local file)",
            fmt(r),
            "≤ 1.15",
            verdict(r, lambda x: x <= 1.15),
        ),
        Row("1", "· overhead: system − by hand", fmt(overhead_ms, "ms", digits=0)),
        Row(
            "1",
            f"· POST start → job row created ({clip.stat().st_size / 1e6:.1f} MB streamed to the store)",
            fmt(stage("t0", "created"), "ms", digits=0),
        ),
        Row(
            "1",
            "· created → sent (commit, on_commit publish)",
            fmt(stage("created", "sent"), "ms", digits=0),
        ),
        Row(
            "1", "· (POST response seen, after send)", fmt(stage("t0", "response"), "ms", digits=0)
        ),
        Row(
            "1",
            "· sent → STARTED stored (queue, pickup, reply, collector)",
            fmt(stage("sent", "started"), "ms", digits=0),
        ),
    ]
    pipeline = [s["elapsed"] * 1000 for s, _ in pairs]
    direct_ms = [d["total"] * 1000 for _, d in pairs]
    rows.append(
        Row(
            "1",
            "· worker pipeline `elapsed_seconds` vs by hand",
            fmt(pipeline, "ms", digits=0),
            fmt(direct_ms, "ms", digits=0),
            fmt(ratios(pipeline, direct_ms)),
        )
    )
    for name in STAGES:
        sys_ms = [s["timings"].get(name, float("nan")) * 1000 for s, _ in pairs]
        dir_ms = [d[name] * 1000 for _, d in pairs] if name in pairs[0][1] else []
        rows.append(
            Row(
                "1",
                f"·· stage `{name}` (result timings" + (" vs by hand)" if dir_ms else ")"),
                fmt(sys_ms, "ms", digits=0),
                fmt(dir_ms, "ms", digits=0) if dir_ms else "—",
                fmt(ratios(sys_ms, dir_ms)) if dir_ms else "—",
            )
        )
    rest = [((s["finished"] - s["started"]) - s["elapsed"]) * 1000 for s, _ in pairs]
    rows += [
        Row(
            "1",
            "· STARTED → SUCCESS stored, minus pipeline (task wrapper, reply, collector)",
            fmt(rest, "ms", digits=0),
        ),
        Row(
            "1",
            f"· SUCCESS stored → GET says ready (poll every {p.poll_interval * 1000:.0f} ms from {NEAR_PERCENT} %)",
            fmt(stage("finished", "ready_seen"), "ms", digits=0),
        ),
    ]
    return rows
