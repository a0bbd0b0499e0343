"""1. (continued) The HLS ladder end to end (issue 12): upload → ready with the
web asking for the ladder alone (TRANSCODE_PROFILES=hls), against the same
one-pass ladder run by hand on a local file: ffprobe, the worker's own ladder
argv (bench/worker_argv.py --profile hls) without its -threads, so that ffmpeg
sizes itself as a user's command would, and the poster. Rounds alternate who
goes first, like the MP4's (bench/e2e.py).

The system also makes a storyboard (in its `poster` stage) and checks every
output; the by-hand side does neither, as for the MP4.
"""

from __future__ import annotations

import dataclasses

from bench.direct import without_threads
from bench.e2e import side_by_side, target_row
from bench.harness import Bench
from bench.table import Row, fmt, ratios

LADDER_ONLY = "hls"


def run(bench: Bench) -> list[Row]:
    p = bench.params
    bench.worker()
    clip = bench.main_clip()
    worker = bench.argv_for(clip, bench.scratch("ladder"), profile="hls")
    by_hand = dataclasses.replace(worker, transcode=without_threads(worker.transcode))
    bench.web(LADDER_ONLY)
    try:
        rounds = side_by_side(bench, clip, {"hand": by_hand}, repeats=p.e2e_repeats)
    finally:
        bench.web()
    bench.raw["ladder"] = {"argv": by_hand.transcode, "rounds": rounds}

    system = [r["system"] for r in rounds]
    ladder_ms = [s["timings"]["transcode"] * 1000 for s in system]
    hand_ms = [r["hand"]["transcode"] * 1000 for r in rounds]
    rungs = "/".join(worker.raw["profile"]["rungs"])
    w, h = p.clip_size
    return [
        target_row(
            f"upload → `ready`, ladder only ({rungs}; {p.clip_seconds:g} s {w}×{h}, n={len(rounds)})",
            rounds,
            "hand",
            "ffprobe, the worker's one-pass ladder argv without -threads, poster",
        ),
        Row(
            "1",
            "· ladder pass: result timing `transcode` vs by hand",
            fmt(ladder_ms, "ms", digits=0),
            fmt(hand_ms, "ms", digits=0),
            fmt(ratios(ladder_ms, hand_ms)),
        ),
        Row(
            "1",
            "· system stages: download / poster + storyboard / verify / upload",
            " / ".join(
                fmt([s["timings"].get(k, float("nan")) * 1000 for s in system], "ms", digits=0)
                for k in ("download", "poster", "verify", "upload")
            ),
        ),
    ]
