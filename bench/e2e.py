"""1. End to end: upload → ready through the whole system, against the same
outputs made by hand on a local file (bench/direct.py), side by side.

The system side runs from the start of `POST /api/videos/` (sent by curl,
which streams the file as a browser does) to the moment the collector stores
`ready` (the job's `finished_at`, written in the transaction that makes every
later GET say `ready`). How soon a poll then sees it depends on the poller:
the page's own figure is in section 8 (bench/browser.py).
Each round runs the system and every baseline once, taking turns to go first.

- A lone 10 s 720p clip, MP4 only, against what a user would type
  (`plain_job`: ffmpeg picks its own threads). The same rounds run the same
  commands through the store by hand (`store_job`: what a remote worker
  adds, done with boto3's defaults) and the worker's own argv by hand: those,
  the job row's timestamps and the result's timings are the breakdown.
- A long source alone (2 minutes in full mode), against the same plain ffmpeg.
- The HLS ladder alone, against the worker's own ladder argv by hand (`ladder_run`).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.direct import (
    HandJob,
    direct_job,
    plain_job,
    plain_poster,
    store_job,
    without_threads,
)
from bench.harness import Bench, rounds_rotated
from bench.table import Row, compared, fmt
from tests.support.api import FINAL

# The result's timings, in pipeline order; only the middle three have a by-hand twin.
STAGES = ("download", "probe", "transcode", "poster", "verify", "upload")
POLL_SECONDS = 1.0
TARGET = 1.10
LADDER_ONLY = "hls"  # the web's TRANSCODE_PROFILES for the ladder rows
PLAIN = (
    "ffprobe, `ffmpeg -c:v libx264 -preset veryfast -crf 23 … -movflags +faststart`"
    " with no -threads, poster"
)

Rounds = list[dict[str, dict[str, Any]]]
Side = Callable[[], dict[str, Any]]


def system_once(bench: Bench, clip: Path) -> dict[str, Any]:
    t0 = time.time()
    video_id = bench.upload(clip, title="bench e2e")
    while True:
        body = bench.api.video(video_id)
        if body["status"] in FINAL:
            break
        # Slowly: the end is read from the job row, and fast polling of a
        # 2-core machine would steal CPU from the very ffmpeg being timed.
        time.sleep(POLL_SECONDS)
    if body["status"] != "ready":
        raise RuntimeError(f"e2e job ended {body['status']}: {body.get('error')}")
    (job,) = bench.jobs([video_id])
    stamps = ("created", "sent", "started", "finished")
    return {
        "t0": t0,
        **{name: job[f"{name}_at"].timestamp() for name in stamps},
        "elapsed": job["result"]["elapsed_seconds"],
        "timings": job["result"]["timings"],
        "total": job["finished_at"].timestamp() - t0,
    }


def by_hand(job: HandJob) -> Side:
    return functools.partial(direct_job, job)


def side_by_side(
    bench: Bench,
    clip: Path,
    baselines: dict[str, Side],
    *,
    repeats: int,
    warm_up: bool = True,
    system: Side | None = None,
) -> Rounds:
    """`repeats` rounds of the system and each baseline, taking turns to go first."""
    sides: dict[str, Side] = {
        "system": system or (lambda: system_once(bench, clip)),
        **baselines,
    }
    if warm_up:  # not counted: first imports, first connections, cold caches
        for side in sides.values():
            side()
    return [
        {name: sides[name]() for name in order}
        for order in rounds_rotated(list(sides), repeats=repeats)
    ]


def totals(rounds: Rounds, side: str) -> list[float]:
    return [r[side]["total"] for r in rounds]


def target_row(label: str, rounds: Rounds, *, baseline: str, what: str) -> Row:
    return compared(
        "1",
        label,
        totals(rounds, "system"),
        totals(rounds, baseline),
        unit="s",
        baseline_note=what,
        target=f"≤ {TARGET:.2f}",
        ok=lambda x: x <= TARGET,
    )


def run(bench: Bench) -> list[Row]:
    p = bench.params
    w, h = p.clip_size
    bench.web()
    bench.worker()  # concurrency = cores, every other setting at the service default
    clip = bench.main_clip()
    worker = bench.argv_for(clip, bench.scratch("e2e-worker-argv"))
    plain = plain_job(clip, bench.scratch("e2e-plain"), duration=p.clip_seconds)
    copy = bench.scratch("e2e-store") / "source.mp4"
    remote = plain_job(copy, copy.parent, duration=p.clip_seconds)
    env = {**bench.stack.processes["web"].env, **bench.stack.processes["worker"].env}
    baselines = {
        "plain": by_hand(plain),
        "store": functools.partial(store_job, remote, source=clip, copy=copy, env=env),
        "worker": by_hand(worker),
    }
    lone = side_by_side(bench, clip, baselines, repeats=p.lone_repeats)
    rows = [
        target_row(
            f"upload → `ready` stored, lone job, MP4 only "
            f"({p.clip_seconds:g} s {w}×{h} clip, n={len(lone)})",
            lone,
            baseline="plain",
            what=PLAIN,
        ),
        *breakdown_rows(lone, worker=worker, source_bytes=clip.stat().st_size),
    ]

    long_clip = bench.clip(seconds=p.long_clip_seconds, width=w, height=h)
    long_plain = plain_job(long_clip, bench.scratch("e2e-long"), duration=p.long_clip_seconds)
    # No warm-up: the lone rounds warmed everything, and a round here is minutes long.
    long = side_by_side(
        bench, long_clip, {"plain": by_hand(long_plain)}, repeats=p.long_repeats, warm_up=False
    )
    short = "" if p.long_clip_seconds >= 120 else f", {p.mode}: shorter than the 2 min target"
    rows.append(
        target_row(
            f"upload → `ready`, long source alone, MP4 only ({p.long_clip_seconds:g} s {w}×{h}"
            f"{short}, n={len(long)})",
            long,
            baseline="plain",
            what="the same plain commands",
        )
    )
    bench.raw["e2e"] = {
        "argv": {"plain": plain.transcode, "worker": worker.raw},
        "lone": lone,
        "long": long,
    }
    return rows


def breakdown_rows(rounds: Rounds, *, worker: HandJob, source_bytes: int) -> list[Row]:
    """Where the lone job's time goes, in pipeline order, against the worker's
    own commands run by hand where there is a by-hand twin."""
    system = [r["system"] for r in rounds]
    hand = [r["worker"] for r in rounds]

    def span(start: str, end: str) -> list[float]:
        return [(s[end] - s[start]) * 1000 for s in system]

    def ms_row(label: str, values: list[float], twin: list[float] | None = None) -> Row:
        if twin is None:
            return Row("1", label, fmt(values, "ms", digits=0))
        return compared("1", label, values, twin, unit="ms", digits=0)

    pipeline = [s["elapsed"] * 1000 for s in system]
    mb = source_bytes / 1e6
    store = [r["store"] for r in rounds]
    return [
        compared(
            "1",
            "· same system vs the plain commands through the store by hand (boto3 defaults: "
            "`upload_file` the source, `download_file` it, the commands, `upload_file` the "
            "MP4 and the poster)",
            totals(rounds, "system"),
            totals(rounds, "store"),
            unit="s",
        ),
        Row(
            "1",
            "· by hand through the store: source in / source out / outputs in",
            " / ".join(
                fmt([s[k] * 1000 for s in store], "ms", digits=0)
                for k in ("upload_source", "download", "upload_outputs")
            ),
        ),
        compared(
            "1",
            f"· same system vs the worker's own argv by hand (-threads {worker.threads})",
            totals(rounds, "system"),
            totals(rounds, "worker"),
            unit="s",
        ),
        ms_row(f"· POST start → job row created ({mb:.1f} MB to the store)", span("t0", "created")),
        ms_row("· created → sent (commit, on_commit publish)", span("created", "sent")),
        ms_row(
            "· sent → STARTED stored (queue, pickup, reply, collector)", span("sent", "started")
        ),
        ms_row(
            "· worker pipeline `elapsed_seconds` vs by hand",
            pipeline,
            [t * 1000 for t in totals(rounds, "worker")],
        ),
        *(
            ms_row(
                f"·· stage `{name}` (result timings{' vs by hand' if name in hand[0] else ''})",
                [s["timings"].get(name, float("nan")) * 1000 for s in system],
                [d[name] * 1000 for d in hand] if name in hand[0] else None,
            )
            for name in STAGES
        ),
        ms_row(
            "· STARTED → SUCCESS stored, minus pipeline (task wrapper, reply, collector)",
            [a - b for a, b in zip(span("started", "finished"), pipeline, strict=True)],
        ),
    ]


def ladder_run(bench: Bench) -> list[Row]:
    """The HLS ladder alone against the worker's one-pass ladder argv by hand, without its
    -threads so that ffmpeg sizes itself as a user's command would, and a user's poster
    command. The system's pass also makes the storyboard, and it checks every output.

    A third side is the same system with the ladder published only at the end
    (HLS_PROGRESSIVE=false, the worker restarted for it): publishing while the
    pass runs must not make the job slower (issue 26, ≤ 1.03×)."""
    p = bench.params
    bench.worker()
    clip = bench.main_clip()
    worker = bench.argv_for(clip, bench.scratch("ladder"), profile="hls")
    hand = dataclasses.replace(
        worker,
        transcode=without_threads(worker.transcode),
        poster=plain_poster(clip, bench.scratch("ladder-poster"), duration=p.clip_seconds),
    )

    def system_with(**env: str) -> Side:
        def side() -> dict[str, Any]:
            bench.worker(**env)  # restarts the worker only when its settings change
            return system_once(bench, clip)

        return side

    bench.web(LADDER_ONLY)
    try:
        rounds = side_by_side(
            bench,
            clip,
            {"hand": by_hand(hand), "at_end": system_with(HLS_PROGRESSIVE="false")},
            repeats=p.lone_repeats,
            system=system_with(),
        )
    finally:
        bench.web()
        bench.worker()
    bench.raw["ladder"] = {"argv": hand.transcode, "rounds": rounds}

    system = [r["system"] for r in rounds]
    at_end = [r["at_end"] for r in rounds]
    hand_ms = [r["hand"]["transcode"] * 1000 for r in rounds]
    rungs = "/".join(worker.raw["profile"]["rungs"])
    w, h = p.clip_size

    def stages(sides: list[dict[str, Any]]) -> str:
        return " / ".join(
            fmt([s["timings"].get(k, float("nan")) * 1000 for s in sides], "ms", digits=0)
            for k in ("download", "poster", "verify", "upload")
        )

    return [
        target_row(
            f"upload → `ready`, ladder only ({rungs}; {p.clip_seconds:g} s {w}×{h}, "
            f"published while it is made, n={len(rounds)})",
            rounds,
            baseline="hand",
            what="ffprobe, the worker's one-pass ladder argv without -threads, poster",
        ),
        compared(
            "1",
            "upload → `ready`, ladder only: published while it is made vs at the end "
            "(HLS_PROGRESSIVE=false), alternating",
            totals(rounds, "system"),
            totals(rounds, "at_end"),
            unit="s",
            target="≤ 1.03",
            ok=lambda x: x <= 1.03,
        ),
        compared(
            "1",
            "· published at the end vs the same by hand",
            totals(rounds, "at_end"),
            totals(rounds, "hand"),
            unit="s",
        ),
        compared(
            "1",
            "· ladder pass: result timing `transcode` vs by hand",
            [s["timings"]["transcode"] * 1000 for s in system],
            hand_ms,
            unit="ms",
            digits=0,
        ),
        compared(
            "1",
            "· ladder pass, published at the end: `transcode` vs by hand",
            [s["timings"]["transcode"] * 1000 for s in at_end],
            hand_ms,
            unit="ms",
            digits=0,
        ),
        compared(
            "1",
            "· worker `elapsed_seconds` vs by hand (ffprobe, pass, poster)",
            [s["elapsed"] * 1000 for s in system],
            [r["hand"]["total"] * 1000 for r in rounds],
            unit="ms",
            digits=0,
        ),
        Row(
            "1",
            "· system stages: download / poster (0 unless the pass wrote none) / verify / upload"
            " (after the pass)",
            stages(system),
        ),
        Row("1", "· the same, published at the end", stages(at_end)),
    ]
