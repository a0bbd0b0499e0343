"""1. The HLS ladder alone: upload → ready through the whole system, against
a user's own one-command ladder by hand (the target), the worker's own
ladder argv by hand, and the same system publishing the ladder only at the
end (rounds as in bench/side_by_side.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bench.direct import HandJob, plain_ladder, plain_poster, plain_probe, without_threads
from bench.harness import Bench
from bench.side_by_side import Side, by_hand, side_by_side, system_once, target_row, totals
from bench.table import Row, compared, fmt

LADDER_ONLY = "hls"  # the web's TRANSCODE_PROFILES for the ladder rows


def run(bench: Bench) -> list[Row]:
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

    folder = bench.scratch("ladder-plain")
    plain = HandJob(
        probe=plain_probe(clip),
        transcode=plain_ladder(
            clip,
            folder,
            rungs=worker.raw["profile"]["rung_settings"],
            audio=worker.raw["profile"]["audio"],
        ),
        poster=plain_poster(clip, folder, duration=p.clip_seconds),
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
            {
                "plain": by_hand(plain),
                "hand": by_hand(hand),
                "at_end": system_with(HLS_PROGRESSIVE="false"),
            },
            repeats=p.lone_repeats,
            system=system_with(),
        )
    finally:
        bench.web()
        bench.worker()
    bench.raw["ladder"] = {"argv": hand.transcode, "plain": plain.transcode, "rounds": rounds}

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
            baseline="plain",
            what="ffprobe, a user's one-command ladder (split, scale, -var_stream_map, "
            "4 s fMP4 VOD; the worker's rungs, preset and rates; no -threads), poster",
        ),
        compared(
            "1",
            "· same system vs the worker's own one-pass ladder argv by hand (without -threads)",
            totals(rounds, "system"),
            totals(rounds, "hand"),
            unit="s",
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
