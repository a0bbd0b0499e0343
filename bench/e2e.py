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
- The HLS ladder alone is in bench/ladder.py; the rounds both run are in
  bench/side_by_side.py.
"""

from __future__ import annotations

import functools

from bench.direct import HandJob, plain_job, store_job
from bench.harness import Bench
from bench.side_by_side import Rounds, by_hand, side_by_side, target_row, totals
from bench.table import Row, compared, fmt

# The result's timings, in pipeline order; only the middle three have a by-hand twin.
STAGES = ("download", "probe", "transcode", "poster", "verify", "upload")
PLAIN = (
    "ffprobe, `ffmpeg -c:v libx264 -preset veryfast -crf 23 … -movflags +faststart`"
    " with no -threads, poster"
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
